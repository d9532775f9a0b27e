"""STREAM segment sealing: SM4-GCM over consecutive segments of one payload (hazmat).

Layer: ``guomi.primitives``. :class:`StreamKey` seals or opens a batch of
consecutive fixed-size segments in one call into the Rust core, with the GIL
released, using the nonce ``u88(segment index) || last flag`` of the STREAM
construction (Hoang, Reyhanitabar, Rogaway, Vizár). It knows nothing of
headers, recipients or files: ``guomi.envelope.stream`` builds the
``guomi-stream/v1`` format (``docs/spec/stream.md``) on top of it.

A key must seal exactly one payload: the nonce is unique only within it.
"""

from __future__ import annotations

from guomi._rust import StreamKey

__all__ = ["StreamKey"]
