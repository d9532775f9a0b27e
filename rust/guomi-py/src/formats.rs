//! Python bindings for the SM2 key formats (`guomi_core::formats`).
//!
//! Used by `guomi.primitives.serialization`, which adds the pyca-shaped API
//! and the curve checks (point on the curve, public key = d*G). Plaintext
//! PKCS#8 never crosses into Python on the encrypted paths: encoding,
//! encryption and PEM armour happen in one call. PBKDF2 runs with the GIL
//! released (it takes tens to hundreds of milliseconds by design).
#![forbid(unsafe_code)]

use guomi_core::formats::{self, PrivateKeyContainer, SCALAR_LEN};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};
use zeroize::Zeroizing;

use crate::buffers::ByteView;
use crate::errors::{self, IntoPy};

fn scalar_array(view: &ByteView<'_>) -> PyResult<Zeroizing<[u8; SCALAR_LEN]>> {
    let s = view.as_slice();
    if s.len() != SCALAR_LEN {
        return Err(errors::invalid_key(format!(
            "SM2 private value must be {SCALAR_LEN} bytes, got {}",
            s.len()
        )));
    }
    let mut d = Zeroizing::new([0u8; SCALAR_LEN]);
    d.copy_from_slice(s);
    Ok(d)
}

fn container_name(c: PrivateKeyContainer) -> &'static str {
    match c {
        PrivateKeyContainer::Pkcs8 => "pkcs8",
        PrivateKeyContainer::EncryptedPkcs8 => "encrypted-pkcs8",
        PrivateKeyContainer::Sec1 => "sec1",
    }
}

type LoadedPrivate<'py> = (
    Bound<'py, PyByteArray>,
    Option<Bound<'py, PyBytes>>,
    &'static str,
);

/// Decodes a private key (PEM if `pem`, else DER) and returns
/// `(scalar32, public_point_or_None, container)`. The scalar comes back as a
/// `bytearray` so the caller can wipe it once the key object is built.
/// Curve checks are the caller's.
#[pyfunction]
#[pyo3(signature = (data, password, pem))]
fn formats_load_private_key<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    password: Option<&Bound<'py, PyAny>>,
    pem: bool,
) -> PyResult<LoadedPrivate<'py>> {
    let data = ByteView::new(data)?;
    let password = password.map(ByteView::new).transpose()?;
    let d = data.as_slice();
    let pw = password.as_ref().map(|p| p.as_slice());
    // Only an encrypted key does heavy work; release the GIL whenever a
    // password is involved.
    let key = py
        .detach(|| {
            if pem {
                formats::decode_private_key_pem(d, pw)
            } else {
                formats::decode_private_key_der(d, pw)
            }
        })
        .py()?;
    Ok((
        PyByteArray::new(py, key.scalar()),
        key.public_key().map(|p| PyBytes::new(py, p)),
        container_name(key.container()),
    ))
}

/// Decodes a `SubjectPublicKeyInfo` (PEM if `pem`) and returns the encoded
/// point (65 or 33 bytes), shape-checked only.
#[pyfunction]
fn formats_load_public_key<'py>(
    py: Python<'py>,
    data: &Bound<'py, PyAny>,
    pem: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let data = ByteView::new(data)?;
    let point = if pem {
        formats::decode_public_key_pem(data.as_slice())
    } else {
        formats::decode_public_key_der(data.as_slice())
    }
    .py()?;
    Ok(PyBytes::new(py, &point))
}

fn output<'py>(
    py: Python<'py>,
    label: &str,
    der: &[u8],
    pem: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    if pem {
        let text = formats::pem_encode(label, der).py()?;
        Ok(PyBytes::new(py, text.as_bytes()))
    } else {
        Ok(PyBytes::new(py, der))
    }
}

/// Encodes an unencrypted private key: `format` is `"pkcs8"` or `"sec1"`
/// (SEC1 PEM uses the `EC PRIVATE KEY` label). The caller guarantees
/// `public_point` = scalar * G.
#[pyfunction]
fn formats_encode_private_key<'py>(
    py: Python<'py>,
    scalar: &Bound<'py, PyAny>,
    public_point: &Bound<'py, PyAny>,
    format: &str,
    pem: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let d = scalar_array(&ByteView::new(scalar)?)?;
    let q = ByteView::new(public_point)?;
    let (der, label) = match format {
        "pkcs8" => (
            formats::encode_pkcs8_der(&d, q.as_slice()),
            formats::LABEL_PRIVATE_KEY,
        ),
        "sec1" => (
            formats::encode_sec1_der(&d, q.as_slice()),
            formats::LABEL_EC_PRIVATE_KEY,
        ),
        other => {
            return Err(errors::invalid_argument(format!(
                "unknown private key format {other:?}"
            )))
        }
    };
    let der = der.py()?;
    output(py, label, &der, pem)
}

/// Encodes and encrypts a private key as PKCS#8 PBES2 (PBKDF2-HMAC-SM3,
/// SM4-CBC). `salt` and `iv` come from the OS CSPRNG on the Python side.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn formats_encrypt_private_key<'py>(
    py: Python<'py>,
    scalar: &Bound<'py, PyAny>,
    public_point: &Bound<'py, PyAny>,
    password: &Bound<'py, PyAny>,
    salt: &Bound<'py, PyAny>,
    iv: &Bound<'py, PyAny>,
    iterations: u32,
    pem: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let d = scalar_array(&ByteView::new(scalar)?)?;
    let q = ByteView::new(public_point)?;
    let pw = ByteView::new(password)?;
    let salt = ByteView::new(salt)?;
    let iv_view = ByteView::new(iv)?;
    let iv: [u8; 16] = iv_view
        .as_slice()
        .try_into()
        .map_err(|_| errors::invalid_argument("the CBC IV must be 16 bytes"))?;
    let (qs, pws, ss) = (q.as_slice(), pw.as_slice(), salt.as_slice());
    let der = py
        .detach(|| {
            let plain = formats::encode_pkcs8_der(&d, qs)?;
            formats::encrypt_pkcs8_der(&plain, pws, ss, &iv, iterations)
        })
        .py()?;
    output(py, formats::LABEL_ENCRYPTED_PRIVATE_KEY, &der, pem)
}

/// Encodes a public key as `SubjectPublicKeyInfo`.
#[pyfunction]
fn formats_encode_public_key<'py>(
    py: Python<'py>,
    public_point: &Bound<'py, PyAny>,
    pem: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let q = ByteView::new(public_point)?;
    let der = formats::encode_spki_der(q.as_slice()).py()?;
    output(py, formats::LABEL_PUBLIC_KEY, &der, pem)
}

type Pbes2Tuple<'py> = (
    &'static str,
    &'static str,
    u32,
    Bound<'py, PyBytes>,
    Option<u32>,
    Bound<'py, PyBytes>,
);

/// The PBES2 parameters of a DER `EncryptedPrivateKeyInfo`:
/// `(prf, cipher, iterations, salt, key_length, iv)`, for inspection.
#[pyfunction]
fn formats_pbes2_parameters<'py>(
    py: Python<'py>,
    der: &Bound<'py, PyAny>,
) -> PyResult<Pbes2Tuple<'py>> {
    let der = ByteView::new(der)?;
    let info = formats::encrypted_pkcs8_parameters(der.as_slice()).py()?;
    let prf = match info.prf {
        formats::Pbes2Prf::HmacSm3 => "hmac-sm3",
        formats::Pbes2Prf::HmacSha256 => "hmac-sha256",
    };
    let cipher = match info.cipher {
        formats::Pbes2Cipher::Sm4Cbc => "sm4-cbc",
        formats::Pbes2Cipher::Aes128Cbc => "aes-128-cbc",
        formats::Pbes2Cipher::Aes192Cbc => "aes-192-cbc",
        formats::Pbes2Cipher::Aes256Cbc => "aes-256-cbc",
    };
    Ok((
        prf,
        cipher,
        info.iterations,
        PyBytes::new(py, &info.salt),
        info.key_length,
        PyBytes::new(py, &info.iv),
    ))
}

/// Registers the `formats_*` functions and constants on `guomi._rust`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(formats_load_private_key, m)?)?;
    m.add_function(wrap_pyfunction!(formats_load_public_key, m)?)?;
    m.add_function(wrap_pyfunction!(formats_encode_private_key, m)?)?;
    m.add_function(wrap_pyfunction!(formats_encrypt_private_key, m)?)?;
    m.add_function(wrap_pyfunction!(formats_encode_public_key, m)?)?;
    m.add_function(wrap_pyfunction!(formats_pbes2_parameters, m)?)?;
    m.add("FORMATS_DEFAULT_ITERATIONS", formats::DEFAULT_ITERATIONS)?;
    m.add("FORMATS_MAX_ITERATIONS", formats::MAX_ITERATIONS)?;
    m.add("FORMATS_MIN_SALT_LEN", formats::MIN_SALT_LEN)?;
    Ok(())
}
