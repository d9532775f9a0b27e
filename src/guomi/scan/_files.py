"""Scan a file for key material kept outside a custody service, or a CSV file's columns.

Layer: ``guomi.scan``. What a 密评 assessor looks for in application config files (the
classic failure is an SM4 key in a Tomcat ``server.xml``): PEM private keys; hex or
base64 values of key length (16/24/32 bytes) next to a key-ish name (``sm4.key=``,
``"aesKey": "..."``, ``<Parameter name="dataKey" value="..."/>``, ``SECRET_KEY=``);
custody-service bearer tokens (``gmt.``...). Values are never copied into a finding:
only their position, the name next to them and their decoded length.

A ``.csv`` file is data, not config: its columns are sampled and classified like a
database table's.
"""

from __future__ import annotations

import base64
import binascii
import csv
import itertools
import re
from pathlib import Path

from guomi.scan._column import classify_values
from guomi.scan._model import ColumnFinding, FileFinding, FileItem

__all__ = ["scan_file"]

_MAX_BYTES = 8 * 1024 * 1024
_KEY_LENGTHS = {16, 24, 32}
_PEM_RE = re.compile(r"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |SM2 )?PRIVATE KEY)-----")
_KEYISH = r"[A-Za-z0-9_.\-]*(?:key|secret|passwd|password|pwd|sm4|aes|dek|kek|mek|iv|salt)[A-Za-z0-9_.\-]*"
# name = value / name: value / "name": "value" / name="value" (attribute)
_ASSIGN_RE = re.compile(
    r"""(?ix)
    ["']?(?P<name>"""
    + _KEYISH
    + r""")["']?\s*(?:=|:|=>)\s*["']?(?P<value>[A-Za-z0-9+/=_\-]{16,})["']?"""
)
# <Parameter name="sm4.key" value="..."/>  and  <entry key="aesKey">...</entry>
_XML_PAIR_RE = re.compile(
    r"""(?ix)(?:name|key|id)\s*=\s*["'](?P<name>""" + _KEYISH + r""")["'][^>]*?"""
    r"""(?:value\s*=\s*["'](?P<value>[A-Za-z0-9+/=_\-]{16,})["']|>\s*(?P<text>[A-Za-z0-9+/=_\-]{16,})\s*<)"""
)
_XML_ELEM_RE = re.compile(r"(?i)<(?P<name>" + _KEYISH + r")>\s*(?P<value>[A-Za-z0-9+/=_\-]{16,})\s*</")
_SERVICE_TOKEN_RE = re.compile(r"(?<![A-Za-z0-9])gmt\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])")
_HEX_RE = re.compile(r"[0-9A-Fa-f]+")


def _key_bytes(value: str) -> tuple[int, str] | None:
    """(length, encoding) when ``value`` decodes to 16/24/32 bytes as hex or base64."""
    v = value.strip().strip("\"'")
    if _HEX_RE.fullmatch(v) and len(v) // 2 in _KEY_LENGTHS and len(v) % 2 == 0:
        return len(v) // 2, "hex"
    for decode, name in ((base64.b64decode, "base64"), (base64.urlsafe_b64decode, "base64url")):
        try:
            data = decode(v + "=" * (-len(v) % 4))
        except (binascii.Error, ValueError):
            continue
        if len(data) in _KEY_LENGTHS and not v.isalpha():
            return len(data), name
    return None


def _config_items(text: str) -> list[FileItem]:
    items: list[FileItem] = []
    for m in _PEM_RE.finditer(text):
        at_line = text.count("\n", 0, m.start()) + 1
        encrypted = "ENCRYPTED" in m.group(1)
        items.append(
            FileItem(
                kind="pem-private-key",
                line=at_line,
                name=m.group(1),
                detail="PEM private key in a file"
                + (" (passphrase-encrypted)" if encrypted else " (unencrypted)"),
                confidence=0.99,
                high_risk=True,
            )
        )
    seen: set[tuple[int, str]] = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        candidates: list[tuple[str, str]] = []
        for regex in (_XML_PAIR_RE, _XML_ELEM_RE, _ASSIGN_RE):
            for m in regex.finditer(line):
                value = m.groupdict().get("value") or m.groupdict().get("text")
                if value:
                    candidates.append((m.group("name"), value))
        for name, value in candidates:
            found = _key_bytes(value)
            if found is None or (lineno, name) in seen:
                continue
            seen.add((lineno, name))
            length, encoding = found
            items.append(
                FileItem(
                    kind="key-material",
                    line=lineno,
                    name=name,
                    detail=f"{length * 8}-bit key ({encoding}) stored in the file, outside a custody service",
                    confidence=0.9 if re.search(r"(?i)key|sm4|aes|dek|kek|mek", name) else 0.6,
                    high_risk=True,
                )
            )
        for _m in _SERVICE_TOKEN_RE.finditer(line):
            items.append(
                FileItem(
                    kind="service-token",
                    line=lineno,
                    name="gmt.*",
                    detail="guomi custody-service bearer token stored in the file",
                    confidence=0.95,
                    high_risk=True,
                )
            )
    return items


def _csv_columns(path: Path, sample: int) -> dict[str, ColumnFinding]:
    with path.open(newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.reader(fh)
        header = next(reader, None)
        if header is None:
            return {}
        rows = list(itertools.islice(reader, sample))
    columns: dict[str, ColumnFinding] = {}
    for i, name in enumerate(header):
        col = name or f"column_{i + 1}"
        columns[col] = classify_values((row[i] if i < len(row) else None for row in rows), name=col)
    return columns


def scan_file(path: str | Path, *, sample: int = 1000) -> FileFinding:
    """Scan one file; an unreadable file is a finding with ``error`` set, never an exception."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if p.suffix.lower() == ".csv":
            return FileFinding(str(p), size, [], columns=_csv_columns(p, sample))
        with p.open("rb") as fh:
            data = fh.read(_MAX_BYTES)
    except OSError as exc:
        return FileFinding(str(p), None, [], error=f"{type(exc).__name__}: {exc.strerror or exc}")
    text = data.decode("utf-8", errors="replace")
    return FileFinding(str(p), size, _config_items(text))
