//! The bit-matrix algebra behind the two SM4 SIMD kernels, evaluated at
//! compile time. A matrix is 8 row masks: output bit `i` of `M·x` is the
//! parity of `row[i] & x` (bit 0 = least significant = coefficient of 1).
#![forbid(unsafe_code)]

/// An 8×8 matrix over GF(2), as row masks.
pub(in crate::sm4) type Mat = [u8; 8];

/// SM4's field polynomial x^8+x^7+x^6+x^5+x^4+x^2+1 (GB/T 32907 S-box).
const SM4_POLY: u16 = 0x1F5;
/// AES's field polynomial x^8+x^4+x^3+x+1 (FIPS 197 §4.2).
const AES_POLY: u16 = 0x11B;
/// SM4's affine constant C.
pub(in crate::sm4) const SM4_C: u8 = 0xD3;
/// AES's affine constant (FIPS 197 §5.1.1).
const AES_C: u8 = 0x63;

const fn rotl8(v: u8, n: u32) -> u8 {
    v.rotate_left(n)
}

const fn circulant(first: u8) -> Mat {
    let mut m = [0u8; 8];
    let mut i = 0;
    while i < 8 {
        m[i] = rotl8(first, i as u32);
        i += 1;
    }
    m
}

/// SM4's A: row i is 0xA7 rotated left by i.
pub(in crate::sm4) const SM4_A: Mat = circulant(0xA7);
/// AES's affine matrix: bit i = b_i ^ b_{i+4} ^ b_{i+5} ^ b_{i+6} ^ b_{i+7}.
const AES_A: Mat = circulant(0xF1);

/// `M·x` over GF(2).
pub(in crate::sm4) const fn mat_vec(m: &Mat, x: u8) -> u8 {
    let mut r = 0u8;
    let mut i = 0;
    while i < 8 {
        r |= (((m[i] & x).count_ones() & 1) as u8) << i;
        i += 1;
    }
    r
}

const fn from_columns(cols: &[u8; 8]) -> Mat {
    let mut m = [0u8; 8];
    let mut row = 0;
    while row < 8 {
        let mut col = 0;
        while col < 8 {
            m[row] |= ((cols[col] >> row) & 1) << col;
            col += 1;
        }
        row += 1;
    }
    m
}

/// `P·Q` (apply Q first).
pub(in crate::sm4) const fn mat_mul(p: &Mat, q: &Mat) -> Mat {
    let mut cols = [0u8; 8];
    let mut i = 0;
    while i < 8 {
        cols[i] = mat_vec(p, mat_vec(q, 1 << i));
        i += 1;
    }
    from_columns(&cols)
}

/// Inverse by exhaustive search per unit vector (compile time only).
pub(in crate::sm4) const fn mat_inv(m: &Mat) -> Mat {
    let mut cols = [0u8; 8];
    let mut i = 0;
    while i < 8 {
        let mut x = 0u16;
        let mut found = false;
        while x < 256 {
            if mat_vec(m, x as u8) == 1 << i {
                cols[i] = x as u8;
                found = true;
                break;
            }
            x += 1;
        }
        assert!(found, "singular matrix");
        i += 1;
    }
    from_columns(&cols)
}

/// Multiplication in GF(2^8) modulo `poly`.
pub(in crate::sm4) const fn gf_mul(a: u8, b: u8, poly: u16) -> u8 {
    let mut a = a as u16;
    let mut b = b;
    let mut r = 0u16;
    while b != 0 {
        if b & 1 != 0 {
            r ^= a;
        }
        a <<= 1;
        if a & 0x100 != 0 {
            a ^= poly;
        }
        b >>= 1;
    }
    r as u8
}

/// A root of SM4's polynomial in AES's field: the image of `x` under a
/// field isomorphism (any of the 8 conjugate roots gives one).
const fn sm4_root_in_aes_field() -> u8 {
    let mut b = 2u16;
    while b < 256 {
        // Evaluate sum of b^i over the set bits i of SM4_POLY.
        let mut acc = 0u8;
        let mut pow = 1u8;
        let mut i = 0;
        while i < 9 {
            if (SM4_POLY >> i) & 1 != 0 {
                acc ^= pow;
            }
            pow = gf_mul(pow, b as u8, AES_POLY);
            i += 1;
        }
        if acc == 0 {
            return b as u8;
        }
        b += 1;
    }
    panic!("no root")
}

/// The isomorphism T: SM4 field → AES field, `x^i ↦ β^i`.
const ISO: Mat = {
    let beta = sm4_root_in_aes_field();
    let mut cols = [0u8; 8];
    let mut p = 1u8;
    let mut i = 0;
    while i < 8 {
        cols[i] = p;
        p = gf_mul(p, beta, AES_POLY);
        i += 1;
    }
    from_columns(&cols)
};
const ISO_INV: Mat = mat_inv(&ISO);

/// Into AES's field, before the inversion: `T·A`.
pub(in crate::sm4) const PRE: Mat = mat_mul(&ISO, &SM4_A);
/// `T·C`.
pub(in crate::sm4) const PRE_C: u8 = mat_vec(&ISO, SM4_C);
/// After the full AES S-box (AESENCLAST): `A·T⁻¹·Aaes⁻¹`.
pub(in crate::sm4) const POST_AES: Mat = mat_mul(&mat_mul(&SM4_A, &ISO_INV), &mat_inv(&AES_A));
/// `POST_AES·0x63 ⊕ C`.
pub(in crate::sm4) const POST_AES_C: u8 = mat_vec(&POST_AES, AES_C) ^ SM4_C;
/// After a bare AES-field inversion (GF2P8AFFINEINVQB): `A·T⁻¹` (constant C).
pub(in crate::sm4) const POST_INV: Mat = mat_mul(&SM4_A, &ISO_INV);

/// `P ⊕ Q` (sum of linear maps).
pub(in crate::sm4) const fn mat_add(p: &Mat, q: &Mat) -> Mat {
    let mut m = [0u8; 8];
    let mut i = 0;
    while i < 8 {
        m[i] = p[i] ^ q[i];
        i += 1;
    }
    m
}

/// The identity.
pub(in crate::sm4) const ID: Mat = [1, 2, 4, 8, 16, 32, 64, 128];
/// `v ↦ (v << 2) mod 2^8`: a byte's own part of a 32-bit `<<< 2`.
const SHL2: Mat = [0, 0, 1, 2, 4, 8, 16, 32];
/// `v ↦ v >> 6`: the part of `<<< 2` that spills into the next byte.
const SHR6: Mat = [64, 128, 0, 0, 0, 0, 0, 0];

/// Byte maps splitting SM4's `L` (GB/T 32907 §6.2.2) by source byte:
/// with `B` a word of bytes `B_k` (k = 0 least significant),
/// `L(B)_k = G0·B_k ⊕ G1·B_{k-1} ⊕ G1·B_{k-2} ⊕ G3·B_{k-3}` (indices mod 4),
/// i.e. `L(B) = G0(B) ⊕ G1(B)<<<8 ⊕ G1(B)<<<16 ⊕ G3(B)<<<24` bytewise.
pub(in crate::sm4) const L_G0: Mat = mat_add(&ID, &SHL2);
/// See [`L_G0`].
pub(in crate::sm4) const L_G1: Mat = mat_add(&SHL2, &SHR6);
/// See [`L_G0`].
pub(in crate::sm4) const L_G3: Mat = mat_add(&ID, &SHR6);

/// PSHUFB tables for `x ↦ M·x ⊕ c`, split by nibble: `lo[n] ⊕ hi[m]` for
/// the byte `m<<4 | n`. Each table is repeated for two 128-bit lanes.
pub(in crate::sm4) const fn nibble_tables(m: &Mat, c: u8) -> ([u8; 32], [u8; 32]) {
    let mut lo = [0u8; 32];
    let mut hi = [0u8; 32];
    let mut n = 0;
    while n < 32 {
        lo[n] = mat_vec(m, (n % 16) as u8) ^ c;
        hi[n] = mat_vec(m, ((n % 16) as u8) << 4);
        n += 1;
    }
    (lo, hi)
}
