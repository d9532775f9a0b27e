"""A stand-in for ``guomi.fields`` while the fields lane has not landed (tests only).

Implements the packed API shape the bulk package calls, with SM4-GCM from
``guomi.primitives`` one value at a time. Used only when ``guomi.fields`` is missing.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import sys
import types

from array import array
from itertools import accumulate

from guomi.exceptions import InvalidTag
from guomi.keys import INSECURE_CLEARTEXT_KEYSET_ACCESS
from guomi.primitives.hmac import hmac_sm3
from guomi.primitives.kdf import hkdf_sm3
from guomi.primitives.sm4 import SM4GCM


class BlindIndex:
    def __init__(self, name, transform=None, bits=None, slow=False):
        self.name = name


class Field:
    def __init__(self, table, column, keyring, indexes=(), suite="sm4-gcm"):
        self.table, self.column = table, column
        clear = json.loads(keyring.export_cleartext(access=INSECURE_CLEARTEXT_KEYSET_ACCESS))
        self.primary_version = clear["primary"]
        self._keys = {
            k["id"]: hkdf_sm3(base64.b64decode(k["material"]), 16, salt=table.encode(), info=column.encode())
            for k in clear["keys"]
            if k.get("material") and k["status"] == "enabled"
        }
        self._indexes = {i.name: i for i in indexes}

    def _aad(self, header):
        return b"fake/" + header + self.table.encode() + b"/" + self.column.encode()

    def encrypt(self, value):
        text = isinstance(value, str)
        raw = value.encode() if text else bytes(value)
        header = bytes([1, 1]) + struct.pack(">I", self.primary_version)
        nonce = os.urandom(12)
        blob = header + nonce + SM4GCM(self._keys[self.primary_version]).encrypt(nonce, raw, self._aad(header))
        return "gm1." + base64.urlsafe_b64encode(blob).rstrip(b"=").decode() if text else blob

    def decrypt(self, token):
        text = isinstance(token, str)
        if text:
            if not token.startswith("gm1."):
                raise InvalidTag("not a field value")
            body = token[4:]
            blob = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        else:
            blob = bytes(token)
        if len(blob) < 34 or blob[0] != 1:
            raise InvalidTag("not a field value")
        kid = struct.unpack(">I", blob[2:6])[0]
        if kid not in self._keys:
            raise InvalidTag("unknown key version")
        raw = SM4GCM(self._keys[kid]).decrypt(blob[6:18], blob[18:], self._aad(blob[:6]))
        return raw.decode() if text else raw

    def index(self, name, value):
        raw = value.encode() if isinstance(value, str) else bytes(value)
        return int.from_bytes(hmac_sm3(b"idx" + name.encode(), raw)[:8], "big") >> 2

    def _unpack(self, offsets, data, width):
        offs = array("i" if width == 4 else "q")
        offs.frombytes(bytes(memoryview(offsets).cast("B")))
        d = bytes(memoryview(data).cast("B")) if len(memoryview(data)) else b""
        return [d[offs[i] : offs[i + 1]] for i in range(len(offs) - 1)]

    @staticmethod
    def _pack(values, width):
        offs = array("i" if width == 4 else "q", [0, *accumulate(len(v) for v in values)])
        return offs.tobytes(), b"".join(values)

    def encrypt_packed(self, offsets, data, *, text=True, width=4):
        out = []
        for v in self._unpack(offsets, data, width):
            t = self.encrypt(v.decode() if text else v)
            out.append(t.encode() if text else t)
        return self._pack(out, width)

    def decrypt_packed(self, offsets, data, *, width=4):
        out = []
        for v in self._unpack(offsets, data, width):
            text = v.startswith(b"gm1.")
            p = self.decrypt(v.decode() if text else v)
            out.append(p.encode() if text else p)
        return self._pack(out, width)

    def index_packed(self, name, offsets, data, *, width=4):
        return array("q", [self.index(name, v) for v in self._unpack(offsets, data, width)]).tobytes()


def install() -> None:
    module = types.ModuleType("guomi.fields")
    module.Field = Field
    module.BlindIndex = BlindIndex
    sys.modules["guomi.fields"] = module
