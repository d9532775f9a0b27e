//! Which implementation path the SIMD-capable algorithms use.
//!
//! The path is chosen once, on first use, from the CPU's features. A caller
//! (the Python glue reads `GUOMI_BACKEND`) may force the portable path before
//! first use, so tests and benchmarks exercise both paths on one machine.
//! Every path is constant time; they differ only in speed.
#![forbid(unsafe_code)]

use std::sync::atomic::{AtomicU8, Ordering};

use crate::{Error, Result};

/// An implementation path for SM4 (and the modes built on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Bit-sliced / table-free code in plain Rust; runs everywhere.
    Portable,
    /// x86-64 AES-NI + AVX2 (SM4 S-box through the AES S-box by an affine
    /// isomorphism), with VAES when present.
    AesNiAvx2,
    /// x86-64 GFNI + AVX-512 (SM4 S-box as two GF(2^8) affine transforms around an inversion).
    GfniAvx512,
}

impl Backend {
    /// A short, stable name (`"portable"`, `"aesni-avx2"`, `"gfni-avx512"`).
    pub fn name(self) -> &'static str {
        match self {
            Backend::Portable => "portable",
            Backend::AesNiAvx2 => "aesni-avx2",
            Backend::GfniAvx512 => "gfni-avx512",
        }
    }

    /// Parses a backend name: one of the [`Backend::name`]s or the short
    /// aliases `"aesni"` and `"gfni"`, ASCII case-insensitive, surrounding
    /// spaces ignored. The one place a name becomes a backend (the Python
    /// glue's `GUOMI_BACKEND` and `set_backend` both call it).
    pub fn from_name(name: &str) -> Result<Backend> {
        match name.trim().to_ascii_lowercase().as_str() {
            "portable" => Ok(Backend::Portable),
            "aesni-avx2" | "aesni" => Ok(Backend::AesNiAvx2),
            "gfni-avx512" | "gfni" => Ok(Backend::GfniAvx512),
            _ => Err(Error::invalid_argument(format!(
                "unknown backend {name:?}: expected \"portable\", \"aesni-avx2\" or \"gfni-avx512\""
            ))),
        }
    }
}

const UNSET: u8 = 0;
const PORTABLE: u8 = 1;
const AESNI: u8 = 2;
const GFNI: u8 = 3;

static CHOSEN: AtomicU8 = AtomicU8::new(UNSET);

fn encode(b: Backend) -> u8 {
    match b {
        Backend::Portable => PORTABLE,
        Backend::AesNiAvx2 => AESNI,
        Backend::GfniAvx512 => GFNI,
    }
}

/// The fastest path this CPU supports, ignoring any override.
pub fn detect() -> Backend {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("gfni")
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && crate::sm4::gfni_available()
        {
            return Backend::GfniAvx512;
        }
        if std::arch::is_x86_feature_detected!("aes")
            && std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("ssse3")
            && crate::sm4::aesni_available()
        {
            return Backend::AesNiAvx2;
        }
    }
    Backend::Portable
}

/// Forces `backend` for the rest of the process if it is supported here.
/// Returns the path that is in force afterwards (the fallback is always
/// `Portable`). Intended to be called once, at start-up.
pub fn force(backend: Backend) -> Backend {
    let supported = match backend {
        Backend::Portable => true,
        Backend::AesNiAvx2 => {
            matches!(detect(), Backend::AesNiAvx2 | Backend::GfniAvx512) && aesni_supported()
        }
        Backend::GfniAvx512 => detect() == Backend::GfniAvx512,
    };
    let chosen = if supported {
        backend
    } else {
        Backend::Portable
    };
    CHOSEN.store(encode(chosen), Ordering::Relaxed);
    chosen
}

fn aesni_supported() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("aes")
            && std::arch::is_x86_feature_detected!("avx2")
            && crate::sm4::aesni_available()
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The path in use. The first call fixes it from [`detect`] unless
/// [`force`] was called before.
pub fn active() -> Backend {
    match CHOSEN.load(Ordering::Relaxed) {
        PORTABLE => Backend::Portable,
        AESNI => Backend::AesNiAvx2,
        GFNI => Backend::GfniAvx512,
        _ => {
            let b = detect();
            // A racing `force` wins over detection: only store if still unset.
            let _ = CHOSEN.compare_exchange(UNSET, encode(b), Ordering::Relaxed, Ordering::Relaxed);
            active()
        }
    }
}
