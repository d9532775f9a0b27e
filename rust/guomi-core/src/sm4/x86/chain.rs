//! The sequential SM4 modes (CBC encryption, CFB encryption, OFB) on the
//! x86-64 kernels: ONE block-by-block loop, generic over the kernel's
//! "P-domain block" operations ([`ChainKernel`]), shared by the AVX2
//! (`avx2.rs`, YMM) and AVX-512 (`avx512.rs`, ZMM) kernels.
//!
//! Why the P domain: the kernels compute the S-box as `T(P·x)` with an
//! invertible GF(2) map `P`, so the cipher state can stay mapped between
//! blocks (`P·(E ⊕ d) = P·E ⊕ P·d`): the data term is mapped off the
//! block-to-block dependency chain, and only the rounds sit on it. The
//! output is mapped back (`P⁻¹`) and stored off the chain too.
//!
//! Everything here is `#[inline(always)]`: the loop is compiled inside each
//! kernel's `#[target_feature]` entry point, with that kernel's registers.

/// The sequential modes: CBC encryption, CFB encryption, OFB.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(in crate::sm4) enum Chain {
    /// `C_i = E(P_i ⊕ C_{i-1})`; the register ends as the last ciphertext.
    CbcEncrypt,
    /// `C_i = P_i ⊕ E(C_{i-1})`; the register ends as the last ciphertext.
    CfbEncrypt,
    /// `O_i = E(O_{i-1})`, `C_i = P_i ⊕ O_i`; the register ends as `O_last`.
    Ofb,
}

/// What a kernel provides for the chain loop: one block's four 32-bit words,
/// each broadcast into a vector register `Reg`, mapped into and out of the
/// P domain, and the 32 rounds on P-domain words.
pub(in crate::sm4) trait ChainKernel {
    /// The kernel's vector register (`__m256i` or `__m512i`).
    type Reg: Copy;
    /// `P·w` for the four big-endian words of a 16-byte block.
    ///
    /// # Safety
    /// The kernel's CPU features are enabled in the caller.
    unsafe fn p_words(&self, block: &[u8]) -> [Self::Reg; 4];
    /// Lane-wise XOR.
    ///
    /// # Safety
    /// As [`ChainKernel::p_words`].
    unsafe fn xor(a: Self::Reg, b: Self::Reg) -> Self::Reg;
    /// The 32 rounds on a P-domain state; returns E's output words in the P
    /// domain, in output order (x35, x34, x33, x32).
    ///
    /// # Safety
    /// As [`ChainKernel::p_words`].
    unsafe fn encrypt_p(&self, state: [Self::Reg; 4]) -> [Self::Reg; 4];
    /// `P⁻¹` of a P-domain word, read from lane 0.
    ///
    /// # Safety
    /// As [`ChainKernel::p_words`].
    unsafe fn word(&self, reg: Self::Reg) -> u32;
    /// Wipes the kernel's copy of the (pre-mapped) round keys.
    fn wipe(&mut self);
}

/// Runs `mode` over the whole blocks of `data` in place, `reg` being the IV
/// / feedback register on entry and the value to continue from on return.
/// A trailing partial block is left untouched.
///
/// # Safety
/// The kernel's CPU features are enabled in the caller (a
/// `#[target_feature]` function that inlines this loop).
#[inline(always)]
pub(in crate::sm4) unsafe fn run<K: ChainKernel>(
    kernel: &mut K,
    reg: &mut [u8; 16],
    data: &mut [u8],
    mode: Chain,
) {
    // SAFETY: the caller enables the kernel's features; every memory
    // access below is through slices.
    unsafe {
        let mut s = kernel.p_words(reg);
        for block in data.chunks_exact_mut(16) {
            // The E input: CBC folds in this block's plaintext.
            if mode == Chain::CbcEncrypt {
                let d = kernel.p_words(block);
                for (sj, dj) in s.iter_mut().zip(d) {
                    *sj = K::xor(*sj, dj);
                }
            }
            let e = kernel.encrypt_p(s);
            let mut out = [0u8; 16];
            for (o, ej) in out.chunks_exact_mut(4).zip(e) {
                o.copy_from_slice(&kernel.word(ej).to_be_bytes());
            }
            match mode {
                Chain::CbcEncrypt => {
                    block.copy_from_slice(&out);
                    s = e;
                }
                Chain::CfbEncrypt => {
                    let d = kernel.p_words(block);
                    for (b, o) in block.iter_mut().zip(out) {
                        *b ^= o;
                    }
                    for ((sj, ej), dj) in s.iter_mut().zip(e).zip(d) {
                        *sj = K::xor(ej, dj);
                    }
                }
                Chain::Ofb => {
                    for (b, o) in block.iter_mut().zip(out) {
                        *b ^= o;
                    }
                    s = e;
                }
            }
            *reg = match mode {
                Chain::Ofb => out,
                _ => block.try_into().expect("16-byte block"),
            };
        }
    }
    kernel.wipe();
}
