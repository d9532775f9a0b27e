"""Several threads at once on large SM4 buffers: every result is checked
against a single-threaded pyca/cryptography reference. Large calls release
the GIL, so this also exercises truly concurrent use of one expanded key
(``Cipher`` objects are immutable and shared) and of separate contexts."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher as PycaCipher
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.ciphers import modes as pyca_modes

from guomi.primitives.sm4 import Cipher, modes

MIB = 1024 * 1024


def _pyca(key: bytes, mode: Any, data: bytes, decrypt: bool) -> bytes:
    c = PycaCipher(algorithms.SM4(key), mode)
    ctx = c.decryptor() if decrypt else c.encryptor()
    return ctx.update(data) + ctx.finalize()


def test_concurrent_large_buffers(backend: str) -> None:
    key = os.urandom(16)
    shared_ctr = Cipher(key, modes.CTR(bytes(16)))
    jobs = []
    for i in range(12):
        data = os.urandom(2 * MIB + 16 * i)
        iv = os.urandom(16)
        kind = ("ctr-shared", "ecb", "cbc-dec", "ctr-own")[i % 4]
        if kind == "ctr-shared":
            want = _pyca(key, pyca_modes.CTR(bytes(16)), data, False)
        elif kind == "ecb":
            want = _pyca(key, pyca_modes.ECB(), data, False)
        elif kind == "cbc-dec":
            want = _pyca(key, pyca_modes.CBC(iv), data, True)
        else:
            want = _pyca(key, pyca_modes.CTR(iv), data, False)
        jobs.append((kind, data, iv, want))

    def run(job: tuple[str, bytes, bytes, bytes]) -> bool:
        kind, data, iv, want = job
        if kind == "ctr-shared":
            ctx = shared_ctr.encryptor()
        elif kind == "ecb":
            ctx = Cipher(key, modes.ECB()).encryptor()
        elif kind == "cbc-dec":
            ctx = Cipher(key, modes.CBC(iv)).decryptor()
        else:
            ctx = Cipher(key, modes.CTR(iv)).encryptor()
        # Half in one call, the rest in 64 KiB pieces: large and mid-size calls.
        half = len(data) // 2 // 16 * 16
        out = [ctx.update(data[:half])]
        out += [ctx.update(data[p : p + 65536]) for p in range(half, len(data), 65536)]
        out.append(ctx.finalize())
        return b"".join(out) == want

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(run, jobs * 2))
    assert len(results) == 24
    assert all(results)


def test_one_context_per_thread_many_small_updates(backend: str) -> None:
    key = os.urandom(16)
    iv = os.urandom(16)
    data = os.urandom(256 * 1024 + 5)
    want = _pyca(key, pyca_modes.CTR(iv), data, False)

    def run(_: int) -> bool:
        ctx = Cipher(key, modes.CTR(iv)).encryptor()
        out = [ctx.update(data[p : p + 1000]) for p in range(0, len(data), 1000)]
        return b"".join(out) + ctx.finalize() == want

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(run, range(8)))
