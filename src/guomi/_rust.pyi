"""Type stubs for the compiled core, guomi._rust (built from rust/guomi-py).

One section per glue module; keep each section beside its owner's name.
"""

def backend() -> str: ...
def detected_backend() -> str: ...
def set_backend(name: str) -> str: ...

# --- hash.rs: SM3, HMAC-SM3, KDFs ---------------------------------------------

# --- sm4.rs: SM4 block cipher, ECB/CBC/CFB/OFB/CTR, XTS -------------------------

# --- sm4_aead.rs: SM4-GCM, SM4-CCM ----------------------------------------------

# --- zuc.rs: ZUC-128, EEA3, EIA3 ------------------------------------------------

# --- sm2.rs: SM2 ----------------------------------------------------------------
