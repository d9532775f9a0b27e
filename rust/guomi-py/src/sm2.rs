//! Python bindings for SM2 keys, signatures, encryption and key exchange.
//!
//! `Sm2PrivateKey` / `Sm2PublicKey` wrap the validated core keys; the
//! public Python classes in `guomi.primitives.sm2` hold one of these each.
//! Randomness (key generation, signature hedging, encryption k) comes from
//! the OS CSPRNG through `getrandom`, read here because guomi-core does no
//! I/O. Z_A for the default user ID is computed once per key and cached.
//! Bulk encryption/decryption runs with the GIL released.
#![forbid(unsafe_code)]

use std::sync::OnceLock;

use guomi_core::sm2::encrypt::{self, Layout};
use guomi_core::sm2::sign::{self, Signature};
use guomi_core::sm2::{self as core_sm2, asn1, exchange, PrivateKey, PublicKey, DEFAULT_USER_ID};
use guomi_core::Error;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use zeroize::Zeroize;

use crate::buffers::{self, ByteView};
use crate::errors::{self, IntoPy};

/// 32 bytes from the OS CSPRNG.
fn os_random(buf: &mut [u8; 32]) -> guomi_core::Result<()> {
    getrandom::fill(buf).map_err(|_| Error::rng())
}

/// The digest's integer e, for a digest of any length as OpenSSL takes it
/// (see `guomi_core::sm2::sign::digest_to_e`).
fn digest_e(view: &ByteView<'_>) -> [u8; 32] {
    sign::digest_to_e(view.as_slice())
}

fn sig_bytes<'py>(
    py: Python<'py>,
    sig: &Signature,
    encoding: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    match encoding {
        "der" => Ok(PyBytes::new(py, &asn1::signature_to_der(sig))),
        "raw" => Ok(PyBytes::new(py, &sig.to_raw())),
        _ => Err(bad_encoding(encoding)),
    }
}

fn bad_encoding(encoding: &str) -> PyErr {
    errors::invalid_argument(format!(
        "unknown SM2 signature encoding {encoding:?}; expected \"der\" or \"raw\""
    ))
}

/// Parses a signature for verification; any malformed input is simply an
/// invalid signature (as pyca does), never a different exception.
fn parse_sig(data: &[u8], encoding: &str) -> PyResult<Signature> {
    let r = match encoding {
        "der" => asn1::signature_from_der(data),
        "raw" => Signature::from_raw(data),
        _ => return Err(bad_encoding(encoding)),
    };
    r.map_err(|_| errors::to_py(Error::invalid_signature()))
}

/// A validated SM2 public key.
#[pyclass(name = "Sm2PublicKey", module = "guomi._rust", frozen)]
pub struct PySm2PublicKey {
    key: PublicKey,
    za_default: OnceLock<[u8; 32]>,
}

impl PySm2PublicKey {
    fn wrap(key: PublicKey) -> Self {
        PySm2PublicKey {
            key,
            za_default: OnceLock::new(),
        }
    }

    fn za(&self, user_id: &[u8]) -> PyResult<[u8; 32]> {
        if user_id == DEFAULT_USER_ID {
            if let Some(z) = self.za_default.get() {
                return Ok(*z);
            }
            let z = core_sm2::compute_za(&self.key, user_id).py()?;
            let _ = self.za_default.set(z);
            return Ok(z);
        }
        core_sm2::compute_za(&self.key, user_id).py()
    }
}

#[pymethods]
impl PySm2PublicKey {
    /// Parses 65-byte `04||x||y`, 33-byte compressed or 64-byte raw `x||y`.
    #[staticmethod]
    fn from_encoded_point(data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let view = ByteView::new(data)?;
        Ok(PySm2PublicKey::wrap(
            PublicKey::from_sec1_bytes(view.as_slice()).py()?,
        ))
    }

    /// The point as `04||x||y` (65 bytes) or compressed (33 bytes).
    #[pyo3(signature = (compressed = false))]
    fn encode<'py>(&self, py: Python<'py>, compressed: bool) -> Bound<'py, PyBytes> {
        if compressed {
            PyBytes::new(py, &self.key.to_compressed())
        } else {
            PyBytes::new(py, &self.key.to_uncompressed())
        }
    }

    /// Z_A for `user_id`.
    fn compute_za<'py>(
        &self,
        py: Python<'py>,
        user_id: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let uid = ByteView::new(user_id)?;
        Ok(PyBytes::new(py, &self.za(uid.as_slice())?))
    }

    /// Verifies `signature` on `data`; raises InvalidSignature.
    fn verify(
        &self,
        py: Python<'_>,
        signature: &Bound<'_, PyAny>,
        data: &Bound<'_, PyAny>,
        user_id: &Bound<'_, PyAny>,
        encoding: &str,
    ) -> PyResult<()> {
        let sig_view = ByteView::new(signature)?;
        let sig = parse_sig(sig_view.as_slice(), encoding)?;
        let uid = ByteView::new(user_id)?;
        let za = self.za(uid.as_slice())?;
        let msg = ByteView::new(data)?;
        let msg = msg.as_slice();
        let key = &self.key;
        buffers::run(py, msg.len(), || {
            let e = core_sm2::compute_e(&za, msg);
            sign::verify_digest(key, &e, &sig)
        })
        .py()
    }

    /// Verifies `signature` on a precomputed digest, normally e = SM3(Z_A || M);
    /// any length is accepted and read as OpenSSL reads it.
    fn verify_digest(
        &self,
        signature: &Bound<'_, PyAny>,
        digest: &Bound<'_, PyAny>,
        encoding: &str,
    ) -> PyResult<()> {
        let sig_view = ByteView::new(signature)?;
        let sig = parse_sig(sig_view.as_slice(), encoding)?;
        let e = digest_e(&ByteView::new(digest)?);
        sign::verify_digest(&self.key, &e, &sig).py()
    }

    /// Encrypts `plaintext` with a fresh k from the OS CSPRNG.
    fn encrypt<'py>(
        &self,
        py: Python<'py>,
        plaintext: &Bound<'_, PyAny>,
        layout: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let layout = Layout::from_name(layout).py()?;
        let view = ByteView::new(plaintext)?;
        let msg = view.as_slice();
        let key = &self.key;
        let out = buffers::run(py, msg.len(), || {
            encrypt::encrypt(key, msg, layout, os_random)
        })
        .py()?;
        Ok(PyBytes::new(py, &out))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PySm2PublicKey>() {
            Ok(o) => o.get().key == self.key,
            Err(_) => false,
        }
    }

    fn __hash__(&self) -> u64 {
        let b = self.key.to_uncompressed();
        // FNV-1a over the encoding: stable and cheap; the key is public.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for x in b {
            h ^= u64::from(x);
            h = h.wrapping_mul(0x100_0000_01b3);
        }
        h
    }
}

/// An SM2 private key (Zeroized on drop, never shown).
#[pyclass(name = "Sm2PrivateKey", module = "guomi._rust", frozen)]
pub struct PySm2PrivateKey {
    key: PrivateKey,
    public: Py<PySm2PublicKey>,
}

impl PySm2PrivateKey {
    fn wrap(py: Python<'_>, key: PrivateKey) -> PyResult<Self> {
        let public = Py::new(py, PySm2PublicKey::wrap(key.public_key().clone()))?;
        Ok(PySm2PrivateKey { key, public })
    }
}

#[pymethods]
impl PySm2PrivateKey {
    /// A new key from the OS CSPRNG (rejection sampling into [1, n-2]).
    #[staticmethod]
    fn generate(py: Python<'_>) -> PyResult<Self> {
        let key = PrivateKey::random(os_random).py()?;
        PySm2PrivateKey::wrap(py, key)
    }

    /// From the 32-byte big-endian scalar, which must be in [1, n-2].
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<Self> {
        let view = ByteView::new(data)?;
        let key = PrivateKey::from_bytes(view.as_slice()).py()?;
        PySm2PrivateKey::wrap(py, key)
    }

    /// The 32-byte big-endian private scalar.
    fn private_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        let mut b = self.key.to_bytes();
        let out = PyBytes::new(py, &b);
        b.zeroize();
        out
    }

    /// The matching public key (the same object every time).
    fn public_key(&self, py: Python<'_>) -> Py<PySm2PublicKey> {
        self.public.clone_ref(py)
    }

    /// Signs `data` for `user_id` (hedged nonce; see guomi_core::sm2::sign).
    fn sign<'py>(
        &self,
        py: Python<'py>,
        data: &Bound<'_, PyAny>,
        user_id: &Bound<'_, PyAny>,
        encoding: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        if encoding != "der" && encoding != "raw" {
            return Err(bad_encoding(encoding));
        }
        let uid = ByteView::new(user_id)?;
        let za = self.public.get().za(uid.as_slice())?;
        let msg = ByteView::new(data)?;
        let mut entropy = [0u8; 32];
        os_random(&mut entropy).py()?;
        let msg = msg.as_slice();
        let key = &self.key;
        let sig = buffers::run(py, msg.len(), || {
            let e = core_sm2::compute_e(&za, msg);
            sign::sign_digest(key, &e, &entropy)
        });
        entropy.zeroize();
        sig_bytes(py, &sig, encoding)
    }

    /// Signs a precomputed digest, normally e = SM3(Z_A || M) (32 bytes); any
    /// length is accepted and read as OpenSSL reads it.
    fn sign_digest<'py>(
        &self,
        py: Python<'py>,
        digest: &Bound<'_, PyAny>,
        encoding: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        if encoding != "der" && encoding != "raw" {
            return Err(bad_encoding(encoding));
        }
        let e = digest_e(&ByteView::new(digest)?);
        let mut entropy = [0u8; 32];
        os_random(&mut entropy).py()?;
        let sig = sign::sign_digest(&self.key, &e, &entropy);
        entropy.zeroize();
        sig_bytes(py, &sig, encoding)
    }

    /// Decrypts; every failure raises the same DecryptionError.
    fn decrypt<'py>(
        &self,
        py: Python<'py>,
        ciphertext: &Bound<'_, PyAny>,
        layout: &str,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let layout = Layout::from_name(layout).py()?;
        let view = ByteView::new(ciphertext)?;
        let ct = view.as_slice();
        let key = &self.key;
        let mut out = buffers::run(py, ct.len(), || encrypt::decrypt(key, ct, layout)).py()?;
        let b = PyBytes::new(py, &out);
        out.zeroize();
        Ok(b)
    }
}

/// Z_A = SM3(ENTL || ID || a || b || xG || yG || xA || yA).
#[pyfunction]
fn sm2_compute_za<'py>(
    py: Python<'py>,
    public_key: &Bound<'_, PySm2PublicKey>,
    user_id: &Bound<'_, PyAny>,
) -> PyResult<Bound<'py, PyBytes>> {
    let uid = ByteView::new(user_id)?;
    Ok(PyBytes::new(py, &public_key.get().za(uid.as_slice())?))
}

/// One side of GB/T 32918.3 key exchange: returns (K, S_B, S_A).
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn sm2_key_exchange<'py>(
    py: Python<'py>,
    private_key: &Bound<'_, PySm2PrivateKey>,
    ephemeral_private_key: &Bound<'_, PySm2PrivateKey>,
    peer_public_key: &Bound<'_, PySm2PublicKey>,
    peer_ephemeral_public_key: &Bound<'_, PySm2PublicKey>,
    initiator: bool,
    length: usize,
    user_id: &Bound<'_, PyAny>,
    peer_user_id: &Bound<'_, PyAny>,
) -> PyResult<(
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
    Bound<'py, PyBytes>,
)> {
    if length > (1 << 30) {
        return Err(errors::invalid_argument(
            "key exchange length must be at most 2^30 bytes",
        ));
    }
    let sk = private_key.get();
    let uid = ByteView::new(user_id)?;
    let puid = ByteView::new(peer_user_id)?;
    let z_self = sk.public.get().za(uid.as_slice())?;
    let z_peer = peer_public_key.get().za(puid.as_slice())?;
    let (za, zb) = if initiator {
        (z_self, z_peer)
    } else {
        (z_peer, z_self)
    };
    let ex = exchange::key_exchange(
        &sk.key,
        &ephemeral_private_key.get().key,
        &peer_public_key.get().key,
        &peer_ephemeral_public_key.get().key,
        initiator,
        &za,
        &zb,
        length,
    )
    .py()?;
    Ok((
        PyBytes::new(py, &ex.key),
        PyBytes::new(py, &ex.s_b),
        PyBytes::new(py, &ex.s_a),
    ))
}

/// TEST HOOK ONLY (cargo feature `test-hooks`): signs digest e with a caller-chosen nonce k, to
/// reproduce the standard's examples. A known k reveals the private key.
#[cfg(feature = "test-hooks")]
#[pyfunction]
fn sm2_sign_digest_with_k_for_tests<'py>(
    py: Python<'py>,
    private_key: &Bound<'_, PySm2PrivateKey>,
    digest: &Bound<'_, PyAny>,
    k: &Bound<'_, PyAny>,
    encoding: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let e = digest_e(&ByteView::new(digest)?);
    let kv = ByteView::new(k)?;
    let k: [u8; 32] = kv
        .as_slice()
        .try_into()
        .map_err(|_| errors::invalid_argument("k must be 32 bytes"))?;
    let sig = sign::sign_digest_with_k_for_tests(&private_key.get().key, &e, &k).py()?;
    sig_bytes(py, &sig, encoding)
}

/// TEST HOOK ONLY (cargo feature `test-hooks`): encrypts with a
/// caller-chosen k (reproduces examples).
#[cfg(feature = "test-hooks")]
#[pyfunction]
fn sm2_encrypt_with_k_for_tests<'py>(
    py: Python<'py>,
    public_key: &Bound<'_, PySm2PublicKey>,
    plaintext: &Bound<'_, PyAny>,
    k: &Bound<'_, PyAny>,
    layout: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let layout = Layout::from_name(layout).py()?;
    let kv = ByteView::new(k)?;
    let k: [u8; 32] = kv
        .as_slice()
        .try_into()
        .map_err(|_| errors::invalid_argument("k must be 32 bytes"))?;
    let view = ByteView::new(plaintext)?;
    let out = encrypt::encrypt_with_k_for_tests(&public_key.get().key, view.as_slice(), layout, &k)
        .py()?;
    Ok(PyBytes::new(py, &out))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    core_sm2::precompute();
    m.add_class::<PySm2PublicKey>()?;
    m.add_class::<PySm2PrivateKey>()?;
    m.add_function(wrap_pyfunction!(sm2_compute_za, m)?)?;
    m.add_function(wrap_pyfunction!(sm2_key_exchange, m)?)?;
    #[cfg(feature = "test-hooks")]
    {
        m.add_function(wrap_pyfunction!(sm2_sign_digest_with_k_for_tests, m)?)?;
        m.add_function(wrap_pyfunction!(sm2_encrypt_with_k_for_tests, m)?)?;
    }
    Ok(())
}
