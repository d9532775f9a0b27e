"""Regenerates the negative corpus of SM2 key files in this directory.

Each file is one way a key file can be wrong; ``manifest.json`` says which
loader reads it, with which password, and which exception it must raise.
Run once with OpenSSL 3.0 on PATH (``python tests/vectors/keys/generate.py``);
the outputs are committed, so the tests do not need this script. Keys are
fresh random keys, used only here. Byte surgery is done on DER produced by
``openssl`` so that every file differs from a valid one in one place only.
"""

from __future__ import annotations

import base64
import json
import pathlib
import subprocess
import tempfile

HERE = pathlib.Path(__file__).resolve().parent

SM2_N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
EC_PUBLIC_KEY_OID = bytes.fromhex("06072a8648ce3d0201")


def openssl(*args: str, stdin: bytes | None = None) -> bytes:
    return subprocess.run(["openssl", *args], input=stdin, check=True, capture_output=True).stdout


def pem(label: str, der: bytes) -> bytes:
    b64 = base64.b64encode(der).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return (f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----\n").encode()


def der_of(pem_bytes: bytes) -> bytes:
    body = b"".join(line for line in pem_bytes.splitlines() if line and not line.startswith(b"-----"))
    return base64.b64decode(body)


def tlv(tag: int, body: bytes) -> bytes:
    """A DER TLV with a minimal length."""
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    if n < 0x100:
        return bytes([tag, 0x81, n]) + body
    return bytes([tag, 0x82, n >> 8, n & 0xFF]) + body


SM2_CURVE_OID = bytes.fromhex("06082a811ccf5501822d")


def ec_private_key(*fields: bytes) -> bytes:
    """``ECPrivateKey`` from already-encoded fields, in the order given."""
    return tlv(0x30, b"".join(fields))


def main(only: set[str] | None = None) -> None:
    """Writes every vector, or with ``only`` just those names (the manifest
    keeps the other entries, so new cases can be added without re-keying
    the committed files)."""
    manifest: dict[str, dict[str, str | None]] = {}
    if only:
        manifest = json.loads((HERE / "manifest.json").read_text())

    def add(name: str, data: bytes, loader: str, error: str, why: str, password: str | None = None) -> None:
        if only and name not in only:
            return
        (HERE / name).write_bytes(data)
        manifest[name] = {"loader": loader, "password": password, "error": error, "why": why}

    with tempfile.TemporaryDirectory() as tmp:
        t = pathlib.Path(tmp)
        k_pem = openssl("genpkey", "-algorithm", "SM2")
        (t / "k.pem").write_bytes(k_pem)
        k_der = der_of(k_pem)
        other_pem = openssl("genpkey", "-algorithm", "SM2")
        (t / "o.pem").write_bytes(other_pem)
        sec1_pem = openssl("ec", "-in", str(t / "k.pem"))
        sec1_der = der_of(sec1_pem)
        spki_der = der_of(openssl("pkey", "-in", str(t / "k.pem"), "-pubout"))
        other_spki = der_of(openssl("pkey", "-in", str(t / "o.pem"), "-pubout"))
        text = openssl("pkey", "-in", str(t / "k.pem"), "-text", "-noout").decode()
        priv_hex = text.split("priv:")[1].split("pub:")[0]
        scalar = bytes.fromhex("".join(c for c in priv_hex if c in "0123456789abcdef"))
        assert len(scalar) == 32
        point = spki_der[-65:]
        other_point = other_spki[-65:]

        # --- malformed DER -------------------------------------------------
        add(
            "truncated.der",
            k_der[: len(k_der) // 2],
            "der_private",
            "InvalidEncodingError",
            "PKCS#8 cut in half",
        )
        add(
            "truncated_body.pem",
            pem("PRIVATE KEY", k_der[:-8]),
            "pem_private",
            "InvalidEncodingError",
            "valid armour around a truncated PKCS#8",
        )
        add(
            "trailing_garbage.der",
            k_der + b"\x00\x00",
            "der_private",
            "InvalidEncodingError",
            "two bytes after the PKCS#8 SEQUENCE",
        )
        assert k_der[:3] == b"\x30\x81\x87"
        add(
            "non_minimal_length.der",
            b"\x30\x82\x00\x87" + k_der[3:],
            "der_private",
            "InvalidEncodingError",
            "outer length in long form with a leading zero byte",
        )
        add(
            "non_minimal_integer.der",
            b"\x30\x81\x88\x02\x02\x00\x00" + k_der[6:],
            "der_private",
            "InvalidEncodingError",
            "version INTEGER 0 encoded in two bytes",
        )
        add(
            "indefinite_length_ber.der",
            b"\x30\x80" + k_der[3:] + b"\x00\x00",
            "der_private",
            "InvalidEncodingError",
            "BER indefinite length is not DER",
        )
        add(
            "not_a_key.der",
            b"\x30\x03\x02\x01\x05",
            "der_private",
            "InvalidEncodingError",
            "a SEQUENCE holding one INTEGER",
        )
        long_scalar = sec1_der.replace(b"\x04\x20" + scalar, b"\x04\x21\x00" + scalar)
        long_scalar = b"\x30" + bytes([long_scalar[1] + 1]) + long_scalar[2:]
        add(
            "scalar_33_bytes.der",
            long_scalar,
            "der_private",
            "InvalidEncodingError",
            "SEC1 private value of 33 bytes",
        )

        # --- wrong algorithm or curve ---------------------------------------
        i = k_der.index(EC_PUBLIC_KEY_OID)
        wrong_alg = bytearray(k_der)
        wrong_alg[i + 8] = 0x02  # 1.2.840.10045.2.2
        add(
            "wrong_algorithm_oid.der",
            bytes(wrong_alg),
            "der_private",
            "UnsupportedAlgorithmError",
            "algorithm 1.2.840.10045.2.2 instead of id-ecPublicKey",
        )
        p256 = openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256")
        (t / "p256.pem").write_bytes(p256)
        add(
            "wrong_curve_p256.pem",
            p256,
            "pem_private",
            "UnsupportedAlgorithmError",
            "a NIST P-256 key (openssl genpkey -algorithm EC)",
        )
        add(
            "wrong_curve_p256_sec1.pem",
            openssl("ec", "-in", str(t / "p256.pem")),
            "pem_private",
            "UnsupportedAlgorithmError",
            "SEC1 EC PRIVATE KEY on P-256",
        )
        add(
            "wrong_curve_p256_public.pem",
            openssl("pkey", "-in", str(t / "p256.pem"), "-pubout"),
            "pem_public",
            "UnsupportedAlgorithmError",
            "SPKI of a P-256 key",
        )
        add(
            "explicit_curve_parameters.pem",
            openssl("ec", "-in", str(t / "k.pem"), "-param_enc", "explicit"),
            "pem_private",
            "UnsupportedAlgorithmError",
            "SM2 curve given as explicit parameters",
        )
        wrong_spki_alg = bytearray(spki_der)
        j = spki_der.index(EC_PUBLIC_KEY_OID)
        wrong_spki_alg[j + 8] = 0x02
        add(
            "wrong_algorithm_oid_public.der",
            bytes(wrong_spki_alg),
            "der_public",
            "UnsupportedAlgorithmError",
            "SPKI with algorithm 1.2.840.10045.2.2",
        )

        # --- key values ------------------------------------------------------
        for name, value in [
            ("scalar_zero.der", 0),
            ("scalar_n_minus_1.der", SM2_N - 1),
            ("scalar_n.der", SM2_N),
            ("scalar_all_ff.der", 2**256 - 1),
        ]:
            add(
                name,
                k_der.replace(scalar, value.to_bytes(32, "big")),
                "der_private",
                "InvalidKey",
                f"private value {name[7:-4]} outside [1, n-2]",
            )
        add(
            "public_key_mismatch.pem",
            pem("EC PRIVATE KEY", sec1_der.replace(point, other_point)),
            "pem_private",
            "InvalidKey",
            "SEC1 key whose stored public key is another key's",
        )
        off = bytearray(point)
        off[-1] ^= 1
        add(
            "public_key_off_curve.der",
            k_der.replace(point, bytes(off)),
            "der_private",
            "InvalidKey",
            "PKCS#8 whose stored public point is not on the curve",
        )
        add(
            "spki_point_off_curve.der",
            spki_der.replace(point, bytes(off)),
            "der_public",
            "InvalidKey",
            "SPKI point not on the curve (rejected by SM2PublicKey)",
        )
        bad_prefix = bytearray(point)
        bad_prefix[0] = 0x05
        add(
            "spki_point_bad_prefix.der",
            spki_der.replace(point, bytes(bad_prefix)),
            "der_public",
            "InvalidEncodingError",
            "SPKI point with prefix 0x05",
        )
        add(
            "spki_trailing_garbage.der",
            spki_der + b"\x00",
            "der_public",
            "InvalidEncodingError",
            "a byte after the SPKI SEQUENCE",
        )
        add(
            "spki_truncated.der",
            spki_der[:-1],
            "der_public",
            "InvalidEncodingError",
            "SPKI missing its last byte",
        )

        # --- PEM armour ----------------------------------------------------------
        good = pem("PRIVATE KEY", k_der)
        add(
            "armour_label_mismatch.pem",
            good.replace(b"END PRIVATE KEY", b"END PUBLIC KEY"),
            "pem_private",
            "InvalidEncodingError",
            "BEGIN and END labels differ",
        )
        add(
            "armour_bad_base64.pem",
            good.replace(b"\n", b"\n!", 1),
            "pem_private",
            "InvalidEncodingError",
            "a character outside the base64 alphabet",
        )
        add(
            "armour_no_end.pem",
            good.split(b"-----END")[0],
            "pem_private",
            "InvalidEncodingError",
            "no END line",
        )
        add(
            "armour_no_begin.pem",
            good.split(b"\n", 1)[1],
            "pem_private",
            "InvalidEncodingError",
            "no BEGIN line",
        )
        add(
            "armour_unknown_label.pem",
            good.replace(b"PRIVATE KEY", b"RSA PRIVATE KEY"),
            "pem_private",
            "UnsupportedAlgorithmError",
            "RSA PRIVATE KEY label",
        )
        add(
            "armour_public_label_for_private.pem",
            pem("PUBLIC KEY", spki_der),
            "pem_private",
            "InvalidEncodingError",
            "a public key given to the private loader",
        )
        add(
            "armour_private_label_for_public.pem",
            good,
            "pem_public",
            "InvalidEncodingError",
            "a private key given to the public loader",
        )
        add(
            "legacy_pem_encryption.pem",
            openssl("ec", "-in", str(t / "k.pem"), "-aes128", "-passout", "pass:x"),
            "pem_private",
            "UnsupportedAlgorithmError",
            "Proc-Type/DEK-Info encrypted SEC1 (one MD5 pass)",
            password="x",
        )

        # --- encryption ------------------------------------------------------------
        enc = openssl(
            "pkcs8", "-topk8", "-v2", "sm4-cbc", "-passout", "pass:correct-horse", "-in", str(t / "k.pem")
        )
        add(
            "wrong_password.pem",
            enc,
            "pem_private",
            "InvalidPasswordError",
            "OpenSSL PBES2/SM4-CBC key opened with the wrong password",
            password="not-the-password",
        )
        add(
            "missing_password.pem", enc, "pem_private", "TypeError", "encrypted key loaded without a password"
        )
        add(
            "unexpected_password.pem",
            good,
            "pem_private",
            "TypeError",
            "unencrypted key loaded with a password",
            password="correct-horse",
        )
        enc_der = bytearray(der_of(enc))
        enc_der[-20] ^= 0x40
        add(
            "corrupted_ciphertext.der",
            bytes(enc_der),
            "der_private",
            "InvalidPasswordError",
            "one ciphertext bit flipped; right password",
            password="correct-horse",
        )
        enc_der = bytearray(der_of(enc))
        enc_der[-1] ^= 0x01
        add(
            "corrupted_padding.der",
            bytes(enc_der),
            "der_private",
            "InvalidPasswordError",
            "last ciphertext block damaged; right password",
            password="correct-horse",
        )
        for name, extra, why in [
            ("pbes1_sha1_3des.der", ["-v1", "PBE-SHA1-3DES"], "PBES1 (PKCS#12 3DES)"),
            ("pbes2_scrypt.der", ["-scrypt"], "PBES2 with scrypt"),
            (
                "pbes2_prf_hmac_sha1.der",
                ["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA1"],
                "PBKDF2 with hmacWithSHA1",
            ),
        ]:
            add(
                name,
                openssl(
                    "pkcs8",
                    "-topk8",
                    *extra,
                    "-passout",
                    "pass:x",
                    "-outform",
                    "DER",
                    "-in",
                    str(t / "k.pem"),
                ),
                "der_private",
                "UnsupportedAlgorithmError",
                why,
                password="x",
            )
        big = openssl(
            "pkcs8",
            "-topk8",
            "-v2",
            "sm4-cbc",
            "-iter",
            "16777216",
            "-passout",
            "pass:x",
            "-outform",
            "DER",
            "-in",
            str(t / "k.pem"),
        )
        assert b"\x02\x04\x01\x00\x00\x00" in big
        add(
            "pbkdf2_iterations_too_many.der",
            big.replace(b"\x02\x04\x01\x00\x00\x00", b"\x02\x04\x7f\xff\xff\xff"),
            "der_private",
            "UnsupportedAlgorithmError",
            "2^31-1 PBKDF2 iterations (limit 10,000,000)",
            password="x",
        )

        strict_der_cases(add, scalar, point, other_point)

    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


STRICT_DER_CASES = {
    "sec1_public_key_retagged_0.der",
    "pkcs8_inner_public_key_retagged_0.der",
    "pkcs8_v2_public_key_retagged_0.der",
    "sec1_fields_out_of_order.der",
    "sec1_unknown_field_2.der",
    "sec1_version_2.der",
    "sec1_parameters_primitive_tag.der",
    "sec1_public_key_non_minimal_length.der",
    "sec1_public_key_unused_bits.der",
    "pkcs8_v1_with_public_key.der",
    "pkcs8_public_key_mismatch.der",
    "pkcs8_v2_public_keys_differ.der",
    "pkcs8_inner_trailing_data.der",
    "pkcs8_inner_non_minimal_version.der",
    "spki_non_minimal_length.der",
    "spki_octet_string_for_bit_string.der",
}


def strict_der_cases(add, scalar: bytes, point: bytes, other_point: bytes) -> None:  # type: ignore[no-untyped-def]
    """Issue 10 item 8: encodings that are not DER, or whose parts disagree.
    Built field by field so each differs from the canonical key in one place."""
    version = tlv(0x02, b"\x01")
    priv = tlv(0x04, scalar)
    params = tlv(0xA0, SM2_CURVE_OID)
    public = tlv(0xA1, tlv(0x03, b"\x00" + point))
    retagged = tlv(0xA0, tlv(0x03, b"\x00" + point))
    alg = tlv(0x30, EC_PUBLIC_KEY_OID + SM2_CURVE_OID)

    def pkcs8(inner: bytes, v: int = 0, outer_public: bytes = b"") -> bytes:
        return tlv(0x30, tlv(0x02, bytes([v])) + alg + tlv(0x04, inner) + outer_public)

    add(
        "sec1_public_key_retagged_0.der",
        ec_private_key(version, priv, params, retagged),
        "der_private",
        "InvalidEncodingError",
        "SEC1 key whose [1] publicKey is re-tagged [0] (was loaded with the public key ignored)",
    )
    add(
        "pkcs8_inner_public_key_retagged_0.der",
        pkcs8(ec_private_key(version, priv, params, retagged)),
        "der_private",
        "InvalidEncodingError",
        "PKCS#8 whose inner ECPrivateKey has its [1] publicKey re-tagged [0]",
    )
    add(
        "pkcs8_v2_public_key_retagged_0.der",
        pkcs8(ec_private_key(version, priv, params, public), 1, tlv(0x80, b"\x00" + other_point)),
        "der_private",
        "InvalidEncodingError",
        "PKCS#8 v2 whose outer [1] publicKey (another key's) is re-tagged [0] as if attributes",
    )
    add(
        "sec1_fields_out_of_order.der",
        ec_private_key(version, priv, public, params),
        "der_private",
        "InvalidEncodingError",
        "SEC1 key with [1] publicKey before [0] parameters",
    )
    add(
        "sec1_unknown_field_2.der",
        ec_private_key(version, priv, params, public, tlv(0xA2, tlv(0x05, b""))),
        "der_private",
        "InvalidEncodingError",
        "SEC1 key with an extra [2] field after the public key",
    )
    add(
        "sec1_version_2.der",
        ec_private_key(tlv(0x02, b"\x02"), priv, params, public),
        "der_private",
        "InvalidEncodingError",
        "SEC1 version 2 (only ecPrivkeyVer1 exists)",
    )
    add(
        "sec1_parameters_primitive_tag.der",
        ec_private_key(version, priv, tlv(0x80, SM2_CURVE_OID), public),
        "der_private",
        "InvalidEncodingError",
        "SEC1 [0] parameters with the primitive bit (EXPLICIT tags are constructed)",
    )
    bits = b"\x00" + point
    add(
        "sec1_public_key_non_minimal_length.der",
        ec_private_key(version, priv, params, tlv(0xA1, b"\x03\x81" + bytes([len(bits)]) + bits)),
        "der_private",
        "InvalidEncodingError",
        "SEC1 public key BIT STRING length in long form (0x81 0x42)",
    )
    add(
        "sec1_public_key_unused_bits.der",
        ec_private_key(version, priv, params, tlv(0xA1, tlv(0x03, b"\x01" + point))),
        "der_private",
        "InvalidEncodingError",
        "SEC1 public key BIT STRING claiming one unused bit",
    )
    add(
        "pkcs8_v1_with_public_key.der",
        pkcs8(ec_private_key(version, priv), 0, tlv(0x81, b"\x00" + point)),
        "der_private",
        "InvalidEncodingError",
        "PKCS#8 version 0 (v1) carrying the v2-only [1] publicKey",
    )
    add(
        "pkcs8_public_key_mismatch.der",
        pkcs8(ec_private_key(version, priv, params, tlv(0xA1, tlv(0x03, b"\x00" + other_point)))),
        "der_private",
        "InvalidKey",
        "PKCS#8 whose inner public key is another key's",
    )
    add(
        "pkcs8_v2_public_keys_differ.der",
        pkcs8(ec_private_key(version, priv, params, public), 1, tlv(0x81, b"\x00" + other_point)),
        "der_private",
        "InvalidKey",
        "PKCS#8 v2 whose outer public key differs from the inner one",
    )
    add(
        "pkcs8_inner_trailing_data.der",
        pkcs8(ec_private_key(version, priv, params, public) + b"\x00\x00"),
        "der_private",
        "InvalidEncodingError",
        "two bytes after the ECPrivateKey inside the PKCS#8 OCTET STRING",
    )
    add(
        "pkcs8_inner_non_minimal_version.der",
        pkcs8(ec_private_key(tlv(0x02, b"\x00\x01"), priv, params, public)),
        "der_private",
        "InvalidEncodingError",
        "inner ECPrivateKey version 1 encoded in two bytes",
    )
    spki_body = tlv(0x30, EC_PUBLIC_KEY_OID + SM2_CURVE_OID) + tlv(0x03, b"\x00" + point)
    add(
        "spki_non_minimal_length.der",
        b"\x30\x82\x00" + bytes([len(spki_body)]) + spki_body,
        "der_public",
        "InvalidEncodingError",
        "SPKI outer length in long form with a leading zero byte",
    )
    add(
        "spki_octet_string_for_bit_string.der",
        tlv(0x30, tlv(0x30, EC_PUBLIC_KEY_OID + SM2_CURVE_OID) + tlv(0x04, b"\x00" + point)),
        "der_public",
        "InvalidEncodingError",
        "SPKI subjectPublicKey as an OCTET STRING instead of a BIT STRING",
    )


if __name__ == "__main__":
    import sys

    # `generate.py --strict-der` writes only the strict-DER cases (issue 10 item 8).
    main(STRICT_DER_CASES if "--strict-der" in sys.argv[1:] else None)
