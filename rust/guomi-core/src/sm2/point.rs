//! Points of the SM2 curve y^2 = x^3 − 3x + b over GF(p) (GB/T 32918.5-2017):
//! affine and Jacobian coordinates, the a = −3 doubling, additions with
//! constant-time handling of the special cases, SEC1 point encodings and
//! the three scalar multiplications the protocols need:
//!
//! - [`mul_base`]: k·G for a secret k, by the comb table of [`super::table`]
//!   scanned in constant time;
//! - [`mul_var`]: k·P for a secret k and any validated P, by a fixed 5-bit
//!   signed window with a constant-time table select;
//! - [`mul_double_vartime`]: a·G + b·P for PUBLIC a, b (verification only),
//!   which may branch on the scalars.
//!
//! The curve has cofactor 1 and prime order n, so every point that passes
//! [`Affine::from_sec1`] other than the identity has order n.

use subtle::{Choice, ConditionallySelectable, ConstantTimeEq};

use super::field::{Fe, Limbs};
use super::table;

/// b in Montgomery form.
pub(crate) const B: Fe = Fe([
    0x90d2_3063_2bc0_dd42,
    0x71cf_379a_e9b5_37ab,
    0x5279_8150_5ea5_1c3c,
    0x240f_e188_ba20_e2c8,
]);
/// The base point G in Montgomery form.
pub(crate) const G: Affine = Affine {
    x: Fe([
        0x6132_8990_f418_029e,
        0x3e79_81ed_dca6_c050,
        0xd6a1_ed99_ac24_c3c3,
        0x9116_7a5e_e1c1_3b05,
    ]),
    y: Fe([
        0xc135_4e59_3c2d_0ddd,
        0xc1f5_e578_8d32_95fa,
        0x8d4c_fb06_6e2a_48f8,
        0x63cd_65d4_81d7_35bd,
    ]),
};

/// An affine point (never the identity where this type is used).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Affine {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
}

/// A point in Jacobian coordinates (X/Z^2, Y/Z^3); Z = 0 is the identity.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Jacobian {
    pub(crate) x: Fe,
    pub(crate) y: Fe,
    pub(crate) z: Fe,
}

impl ConditionallySelectable for Affine {
    #[inline(always)]
    fn conditional_select(a: &Self, b: &Self, c: Choice) -> Self {
        Affine {
            x: Fe::conditional_select(&a.x, &b.x, c),
            y: Fe::conditional_select(&a.y, &b.y, c),
        }
    }
}

impl ConditionallySelectable for Jacobian {
    #[inline(always)]
    fn conditional_select(a: &Self, b: &Self, c: Choice) -> Self {
        Jacobian {
            x: Fe::conditional_select(&a.x, &b.x, c),
            y: Fe::conditional_select(&a.y, &b.y, c),
            z: Fe::conditional_select(&a.z, &b.z, c),
        }
    }
}

impl Affine {
    /// y^2 == x^3 − 3x + b.
    pub(crate) fn is_on_curve(&self) -> Choice {
        let x2 = self.x.square();
        let x3 = x2.mul(&self.x);
        let three_x = self.x.double().add(&self.x);
        let rhs = x3.sub(&three_x).add(&B);
        self.y.square().ct_eq(&rhs)
    }

    /// Decodes a public point: 65 bytes `04‖x‖y`, 33 bytes `02|03‖x`, or
    /// 64 bytes raw `x‖y` (as several peers emit). Rejects wrong lengths and
    /// prefixes (encoding error), coordinates ≥ p, points off the curve and
    /// the identity (key error). Public data: may branch.
    pub(crate) fn from_sec1(bytes: &[u8]) -> crate::Result<Affine> {
        use crate::Error;
        let (xb, yb): (&[u8], Option<&[u8]>) = match bytes.len() {
            65 => {
                if bytes[0] != 0x04 {
                    return Err(Error::invalid_encoding(
                        "65-byte SM2 point must start with 0x04 (uncompressed)",
                    ));
                }
                (&bytes[1..33], Some(&bytes[33..65]))
            }
            64 => (&bytes[..32], Some(&bytes[32..])),
            33 => {
                if bytes[0] != 0x02 && bytes[0] != 0x03 {
                    return Err(Error::invalid_encoding(
                        "33-byte SM2 point must start with 0x02 or 0x03 (compressed)",
                    ));
                }
                (&bytes[1..33], None)
            }
            1 if bytes[0] == 0 => {
                return Err(Error::invalid_key(
                    "the point at infinity is not a valid SM2 public key",
                ))
            }
            n => {
                return Err(Error::invalid_encoding(format!(
                    "SM2 point must be 65 (04||x||y), 64 (x||y) or 33 (compressed) bytes, got {n}"
                )))
            }
        };
        let xb: [u8; 32] = xb.try_into().expect("32 bytes");
        let (x, okx) = Fe::from_bytes(&xb);
        if !bool::from(okx) {
            return Err(Error::invalid_key("SM2 point x coordinate is not below p"));
        }
        let y = match yb {
            Some(yb) => {
                let yb: [u8; 32] = yb.try_into().expect("32 bytes");
                let (y, oky) = Fe::from_bytes(&yb);
                if !bool::from(oky) {
                    return Err(Error::invalid_key("SM2 point y coordinate is not below p"));
                }
                y
            }
            None => {
                let rhs = x.square().mul(&x).sub(&x.double().add(&x)).add(&B);
                let (y, ok) = rhs.sqrt();
                if !bool::from(ok) {
                    return Err(Error::invalid_key(
                        "compressed SM2 point is not on the curve",
                    ));
                }
                let want_odd = Choice::from(bytes[0] & 1);
                let flip = y.is_odd() ^ want_odd;
                Fe::conditional_select(&y, &y.neg(), flip)
            }
        };
        let p = Affine { x, y };
        if !bool::from(p.is_on_curve()) {
            return Err(Error::invalid_key("SM2 point is not on the curve"));
        }
        Ok(p)
    }

    /// `04‖x‖y`.
    pub(crate) fn to_uncompressed(self) -> [u8; 65] {
        let mut out = [0u8; 65];
        out[0] = 4;
        out[1..33].copy_from_slice(&self.x.to_bytes());
        out[33..].copy_from_slice(&self.y.to_bytes());
        out
    }

    /// `02|03‖x`.
    pub(crate) fn to_compressed(self) -> [u8; 33] {
        let mut out = [0u8; 33];
        out[0] = 2 | self.y.is_odd().unwrap_u8();
        out[1..].copy_from_slice(&self.x.to_bytes());
        out
    }

    #[inline(always)]
    pub(crate) fn neg(&self) -> Affine {
        Affine {
            x: self.x,
            y: self.y.neg(),
        }
    }
}

impl Jacobian {
    pub(crate) const IDENTITY: Jacobian = Jacobian {
        x: Fe::ONE,
        y: Fe::ONE,
        z: Fe::ZERO,
    };

    #[inline(always)]
    pub(crate) fn from_affine(a: &Affine) -> Jacobian {
        Jacobian {
            x: a.x,
            y: a.y,
            z: Fe::ONE,
        }
    }

    #[inline(always)]
    pub(crate) fn is_identity(&self) -> Choice {
        self.z.is_zero()
    }

    #[inline(always)]
    pub(crate) fn neg(&self) -> Jacobian {
        Jacobian {
            x: self.x,
            y: self.y.neg(),
            z: self.z,
        }
    }

    /// 2·self, "dbl-2001-b" for a = −3 (4M + 4S in this variant). The identity (Z = 0) maps
    /// to Z = 0; no point of order 2 exists (prime order), so no other case.
    #[inline(always)]
    pub(crate) fn double(&self) -> Jacobian {
        let delta = self.z.square();
        let gamma = self.y.square();
        let beta = self.x.mul(&gamma);
        let t = self.x.sub(&delta).mul(&self.x.add(&delta));
        // Small multiples with one reduction each (Fe::mul_small) instead
        // of chains of modular doublings; Z3 = 2·Y·Z directly rather than
        // (Y + Z)² − γ − δ (one M for one S and three additions).
        let alpha = t.mul_small(3);
        let beta4 = beta.mul_small(4);
        let x3 = alpha.square().sub(&beta.mul_small(8));
        let z3 = self.y.mul(&self.z).double();
        let g8 = gamma.square().mul_small(8);
        let y3 = alpha.mul(&beta4.sub(&x3)).sub(&g8);
        Jacobian {
            x: x3,
            y: y3,
            z: z3,
        }
    }

    /// The "add-1998-cmo-2" sum (12M + 4S; one multiplication more than
    /// "add-2007-bl" but six fewer modular additions, faster here) without
    /// special cases; also returns H and r
    /// so callers can detect P == Q (H = r = 0). When P == −Q, Z3 = 0.
    #[inline(always)]
    fn add_raw(&self, o: &Jacobian) -> (Jacobian, Fe, Fe) {
        let z1z1 = self.z.square();
        let z2z2 = o.z.square();
        let u1 = self.x.mul(&z2z2);
        let u2 = o.x.mul(&z1z1);
        let s1 = self.y.mul(&o.z).mul(&z2z2);
        let s2 = o.y.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&u1);
        let r = s2.sub(&s1);
        let hh = h.square();
        let hhh = h.mul(&hh);
        let v = u1.mul(&hh);
        let x3 = r.square().sub(&hhh).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&s1.mul(&hhh));
        let z3 = self.z.mul(&o.z).mul(&h);
        (
            Jacobian {
                x: x3,
                y: y3,
                z: z3,
            },
            h,
            r,
        )
    }

    /// self + o, correct for every input (identity, equal, opposite), in
    /// constant time: the doubling is always computed and selected by mask.
    pub(crate) fn add_complete(&self, o: &Jacobian) -> Jacobian {
        let (sum, h, r) = self.add_raw(o);
        let dbl = self.double();
        let mut out = Jacobian::conditional_select(&sum, &dbl, h.is_zero() & r.is_zero());
        out = Jacobian::conditional_select(&out, o, self.is_identity());
        Jacobian::conditional_select(&out, self, o.is_identity())
    }

    /// self + o where the caller guarantees self ≠ o unless both are the
    /// identity; identities are handled (constant time). P + (−P) gives Z = 0.
    #[inline(always)]
    pub(crate) fn add_distinct(&self, o: &Jacobian) -> Jacobian {
        let (sum, _, _) = self.add_raw(o);
        let out = Jacobian::conditional_select(&sum, o, self.is_identity());
        Jacobian::conditional_select(&out, self, o.is_identity())
    }

    /// The mixed sum self + q (q affine) in the "add-1998-cmo-2" style with
    /// Z2 = 1 (8M + 3S; six fewer modular additions than "madd-2007-bl"'s
    /// 7M + 4S, faster here), without special
    /// cases; also returns H and r (H = r = 0 iff self == q).
    #[inline(always)]
    fn add_affine_raw(&self, q: &Affine) -> (Jacobian, Fe, Fe) {
        let z1z1 = self.z.square();
        let u2 = q.x.mul(&z1z1);
        let s2 = q.y.mul(&self.z).mul(&z1z1);
        let h = u2.sub(&self.x);
        let r = s2.sub(&self.y);
        let hh = h.square();
        let hhh = h.mul(&hh);
        let v = self.x.mul(&hh);
        let x3 = r.square().sub(&hhh).sub(&v.double());
        let y3 = r.mul(&v.sub(&x3)).sub(&self.y.mul(&hhh));
        let z3 = self.z.mul(&h);
        (
            Jacobian {
                x: x3,
                y: y3,
                z: z3,
            },
            h,
            r,
        )
    }

    /// self + q (q affine, not the identity). The caller guarantees
    /// self ≠ q; self = identity is handled in constant time; self = −q
    /// yields Z = 0.
    #[inline(always)]
    pub(crate) fn add_affine_distinct(&self, q: &Affine) -> Jacobian {
        let (sum, _, _) = self.add_affine_raw(q);
        Jacobian::conditional_select(&sum, &Jacobian::from_affine(q), self.is_identity())
    }

    /// self + q (q affine, not the identity), correct for every self
    /// (identity, q, −q), constant time: the doubling is computed and
    /// selected by mask.
    #[inline(always)]
    pub(crate) fn add_affine_complete(&self, q: &Affine) -> Jacobian {
        let (sum, h, r) = self.add_affine_raw(q);
        let dbl = self.double();
        let out = Jacobian::conditional_select(&sum, &dbl, h.is_zero() & r.is_zero());
        Jacobian::conditional_select(&out, &Jacobian::from_affine(q), self.is_identity())
    }

    /// Variable-time self + q for public points (q affine, not the identity).
    #[inline(always)]
    pub(crate) fn add_affine_vartime(&self, q: &Affine) -> Jacobian {
        if bool::from(self.is_identity()) {
            return Jacobian::from_affine(q);
        }
        let (sum, h, r) = self.add_affine_raw(q);
        if bool::from(h.is_zero()) {
            if bool::from(r.is_zero()) {
                return self.double();
            }
            return Jacobian::IDENTITY;
        }
        sum
    }

    /// Variable-time complete addition, for public points only.
    pub(crate) fn add_vartime(&self, o: &Jacobian) -> Jacobian {
        if bool::from(self.is_identity()) {
            return *o;
        }
        if bool::from(o.is_identity()) {
            return *self;
        }
        let (sum, h, r) = self.add_raw(o);
        if bool::from(h.is_zero()) {
            if bool::from(r.is_zero()) {
                return self.double();
            }
            return Jacobian::IDENTITY;
        }
        sum
    }

    /// Affine coordinates with one inversion; the Choice is 1 for the
    /// identity (then the coordinates are meaningless zeros).
    pub(crate) fn to_affine(self) -> (Affine, Choice) {
        let zi = self.z.invert();
        let zi2 = zi.square();
        let zi3 = zi2.mul(&zi);
        (
            Affine {
                x: self.x.mul(&zi2),
                y: self.y.mul(&zi3),
            },
            self.is_identity(),
        )
    }
}

/// Converts many Jacobian points (none the identity) to affine with one
/// inversion (Montgomery's trick). Public data only (table building).
pub(crate) fn batch_to_affine(pts: &[Jacobian]) -> Vec<Affine> {
    let mut prefix = Vec::with_capacity(pts.len());
    let mut acc = Fe::ONE;
    for p in pts {
        prefix.push(acc);
        acc = acc.mul(&p.z);
    }
    let mut inv = acc.invert();
    let mut out = vec![Affine::default(); pts.len()];
    for i in (0..pts.len()).rev() {
        let zi = inv.mul(&prefix[i]);
        inv = inv.mul(&pts[i].z);
        let zi2 = zi.square();
        out[i] = Affine {
            x: pts[i].x.mul(&zi2),
            y: pts[i].y.mul(&zi2.mul(&zi)),
        };
    }
    out
}

/// Booth recoding of one (w+1)-bit window (the w bits plus the bit below):
/// returns (|digit|, negative) with digit in [−2^(w−1), 2^(w−1)].
/// Branch-free (the window value is secret in the constant-time paths).
#[inline(always)]
pub(crate) fn booth(w: u32, v: u64) -> (u64, u64) {
    let s = !((v >> w).wrapping_sub(1)); // all ones if the top bit is set
    let d = (1u64 << (w + 1)) - v - 1;
    let d = (d & s) | (v & !s);
    ((d >> 1) + (d & 1), s & 1)
}

/// Bits [start, start + len) of a 256-bit integer (bits ≥ 256 read as 0);
/// `start` may be −1 (reads a 0 below bit 0). Positions are public.
#[inline(always)]
pub(crate) fn window_bits(k: &Limbs, start: i32, len: u32) -> u64 {
    let mask = (1u64 << len) - 1;
    if start < 0 {
        return (k[0] << 1) & mask;
    }
    let start = start as u32;
    let limb = (start / 64) as usize;
    let off = start % 64;
    if limb >= 4 {
        return 0;
    }
    let mut v = k[limb] >> off;
    if off + len > 64 && limb + 1 < 4 {
        v |= k[limb + 1] << (64 - off);
    }
    v & mask
}

/// Defines `pub(crate) fn $name` running `$body` compiled for BMI2/ADX
/// (MULX: fewer moves per limb product, ~3-5% faster field arithmetic)
/// when the CPU has them, else the portable build of the same body. The
/// branch depends only on the CPU, never on data. Everything the body
/// calls on its hot path is `#[inline(always)]` so it is compiled with the
/// enabled features.
macro_rules! bmi2_dispatch {
    ($(#[$m:meta])* fn $name:ident($($a:ident: $t:ty),*) -> $r:ty $body:block) => {
        $(#[$m])*
        pub(crate) fn $name($($a: $t),*) -> $r {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "bmi2,adx")]
                unsafe fn fast($($a: $t),*) -> $r $body
                if std::arch::is_x86_feature_detected!("bmi2")
                    && std::arch::is_x86_feature_detected!("adx")
                {
                    // SAFETY: the CPU supports BMI2 and ADX (checked just
                    // above), the only requirement of a target_feature fn.
                    return unsafe { fast($($a),*) };
                }
            }
            $body
        }
    };
}

bmi2_dispatch! {
    /// k·G for a secret scalar k in [0, n), constant time (see [`table`]).
    fn mul_base(k: &Limbs) -> Jacobian {
        table::mul_base(k)
    }
}

const VW: u32 = 5; // variable-base window width
const VWINDOWS: usize = 52; // ceil(257 / 5): enough for the Booth carry out of bit 255

/// k·P for a secret k in [0, n) and a point P of order n, constant time:
/// Booth-recoded 5-bit signed windows, a table of 1P..16P read by a full
/// masked scan, 5 doublings and one addition per window.
///
/// Doubling inside an addition cannot happen before the last window: there
/// the accumulator is 32·A·P with |32·A| < n and 32·A ≠ ±digit unless both
/// are 0 (the identity case, handled by select). The last addition can meet
/// P == Q (e.g. k = n − 6), so it uses the complete formula.
pub(crate) fn mul_var(k: &Limbs, p: &Affine) -> Jacobian {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("bmi2") && std::arch::is_x86_feature_detected!("adx") {
        // SAFETY: the CPU supports BMI2 and ADX (checked just above), the
        // only requirement of a `target_feature` function.
        return unsafe { mul_var_bmi2(k, p) };
    }
    mul_var_impl(k, p)
}

/// [`mul_var_impl`] compiled with BMI2/ADX (MULX frees the flags and RDX,
/// fewer moves per limb product). The CPU-feature branch is public.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "bmi2,adx")]
unsafe fn mul_var_bmi2(k: &Limbs, p: &Affine) -> Jacobian {
    mul_var_impl(k, p)
}

/// The window multiplication itself (see [`mul_var`]).
#[inline(always)]
pub(crate) fn mul_var_impl(k: &Limbs, p: &Affine) -> Jacobian {
    // tbl[i] = (i + 1)·P: even multiples by doubling (cheaper than an
    // addition), odd ones as (i)·P + P with a mixed addition (P is affine).
    // No sum meets equal or opposite operands: the multiples are ≤ 16 and P
    // has order n.
    let pj = Jacobian::from_affine(p);
    let mut tbl = [pj; 16];
    for i in 1..16 {
        let m = i + 1;
        tbl[i] = if m % 2 == 0 {
            tbl[m / 2 - 1].double()
        } else {
            tbl[i - 1].add_affine_distinct(p)
        };
    }
    // Flattened copy of the table for the masked scan.
    let flat: [[u64; 12]; 16] = core::array::from_fn(|i| {
        let t = &tbl[i];
        let mut f = [0u64; 12];
        f[..4].copy_from_slice(&t.x.0);
        f[4..8].copy_from_slice(&t.y.0);
        f[8..].copy_from_slice(&t.z.0);
        f
    });
    // Reads entry d (1..=16) by a full scan: every entry is loaded and
    // combined under a mask, so the access pattern is independent of d.
    // d = 0 selects nothing: Z = 0, the identity.
    let select = |d: u64, neg: u64| -> Jacobian {
        let d = core::hint::black_box(d);
        let mut acc = [0u64; 12];
        for (i, e) in flat.iter().enumerate() {
            let x = (i as u64 + 1) ^ d;
            // all ones iff x == 0, branch-free
            // The mask goes through black_box as well: hiding d alone let
            // LLVM see that m is 0 or all ones and turn the masked OR into a
            // branch on j + 1 == d (a secret-dependent jump and load, found
            // by the dudect harness in rust/guomi-ct).
            let m = core::hint::black_box((((x | x.wrapping_neg()) >> 63) ^ 1).wrapping_neg());
            for (a, v) in acc.iter_mut().zip(e) {
                *a |= v & m;
            }
        }
        let mut q = Jacobian {
            x: Fe([acc[0], acc[1], acc[2], acc[3]]),
            y: Fe([acc[4], acc[5], acc[6], acc[7]]),
            z: Fe([acc[8], acc[9], acc[10], acc[11]]),
        };
        let ny = q.y.neg();
        q.y = Fe::conditional_select(&q.y, &ny, Choice::from(neg as u8));
        q
    };
    // The top window starts from the identity: no doublings or addition
    // needed, its digit's entry (the identity when d = 0) is the accumulator.
    // The loop structure depends only on public constants.
    let top = VWINDOWS - 1;
    let v = window_bits(k, (top as i32) * VW as i32 - 1, VW + 1);
    let (d, neg) = booth(VW, v);
    let mut acc = select(d, neg);
    for w in (0..top).rev() {
        let v = window_bits(k, (w as i32) * VW as i32 - 1, VW + 1);
        let (d, neg) = booth(VW, v);
        for _ in 0..VW {
            acc = acc.double();
        }
        let q = select(d, neg);
        // q is the identity (Z = 0) when d = 0: add_distinct keeps acc then.
        acc = if w == 0 {
            acc.add_complete(&q)
        } else {
            acc.add_distinct(&q)
        };
    }
    acc
}

/// a·G + b·P for PUBLIC scalars (signature verification): the comb for
/// a·G (direct table indexing, allowed on public data) and a width-5 wNAF
/// for b·P. Variable time.
pub(crate) fn mul_double_vartime(a: &Limbs, b: &Limbs, p: &Affine) -> Jacobian {
    let ag = table::mul_base_vartime(a);
    // Odd multiples P, 3P, ..., 15P.
    let pj = Jacobian::from_affine(p);
    let p2 = pj.double();
    let mut odd = [pj; 8];
    for i in 1..8 {
        odd[i] = odd[i - 1].add_vartime(&p2);
    }
    let naf = wnaf(b, 5);
    let mut acc = Jacobian::IDENTITY;
    let mut started = false;
    for i in (0..naf.len()).rev() {
        if started {
            acc = acc.double();
        }
        let d = naf[i];
        if d != 0 {
            let q = odd[(d.unsigned_abs() as usize) >> 1];
            let q = if d < 0 { q.neg() } else { q };
            acc = if started { acc.add_vartime(&q) } else { q };
            started = true;
        }
    }
    acc.add_vartime(&ag)
}

bmi2_dispatch! {
    /// a·G + b·P for PUBLIC scalars with a precomputed comb for P.
    fn mul_double_vartime_comb(a: &Limbs, b: &Limbs, comb: &table::PointComb) -> Jacobian {
        table::mul_base_vartime(a).add_vartime(&comb.mul_vartime(b))
    }
}

/// Width-w NAF digits (least significant first) of a public 256-bit integer.
fn wnaf(k: &Limbs, w: u32) -> Vec<i32> {
    let mut x = [k[0], k[1], k[2], k[3], 0u64];
    let mut out = Vec::with_capacity(258);
    let full = 1i64 << w;
    let half = 1i64 << (w - 1);
    while x.iter().any(|&l| l != 0) {
        let mut d = 0i64;
        if x[0] & 1 == 1 {
            d = (x[0] & (full as u64 - 1)) as i64;
            if d >= half {
                d -= full;
            }
            // x -= d
            if d >= 0 {
                let mut borrow = d as u64;
                for l in x.iter_mut() {
                    let (v, b) = l.overflowing_sub(borrow);
                    *l = v;
                    borrow = b as u64;
                    if borrow == 0 {
                        break;
                    }
                }
            } else {
                let mut carry = (-d) as u64;
                for l in x.iter_mut() {
                    let (v, c) = l.overflowing_add(carry);
                    *l = v;
                    carry = c as u64;
                    if carry == 0 {
                        break;
                    }
                }
            }
        }
        out.push(d as i32);
        // x >>= 1
        for i in 0..5 {
            x[i] = (x[i] >> 1) | if i < 4 { x[i + 1] << 63 } else { 0 };
        }
    }
    out
}
