//! The x86-64 SM4 kernels, one job per file:
//! - [`affine`]: the GF(2) bit-matrix algebra (const fn) that turns the SM4
//!   S-box into the AES S-box (AESENCLAST) or a GF(2^8) inversion (GFNI),
//!   shared by both kernels;
//! - [`avx2`]: the 8-blocks-per-YMM kernel (S-box paths AES-NI split-lane,
//!   VAES, and GFNI on YMM), its CTR and ECB loops;
//! - [`avx512`]: the 16-blocks-per-ZMM GFNI kernel;
//! - [`chain`]: the one sequential-mode loop (CBC-encrypt/CFB/OFB), generic
//!   over either kernel.
//!
//! `sm4::Sm4` picks a kernel once per key (`avx2::available()`,
//! `avx512::available()`) and dispatches to it.

pub(in crate::sm4) mod affine;
pub(in crate::sm4) mod avx2;
pub(in crate::sm4) mod avx512;
pub(in crate::sm4) mod chain;
