//! Key derivation: the SM2 KDF, HKDF-SM3 and PBKDF2-HMAC-SM3. PLACEHOLDER.
