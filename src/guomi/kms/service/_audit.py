"""The audit log's own endpoints: check record MACs, sign a head checkpoint.

Layer: ``guomi.kms.service`` (internal).  The keyed chain (``guomi.kms.audit``)
can only be checked with the audit key, which never leaves the unsealed
service: a verifier sends (SM3 of a record body, MAC) pairs and learns which
are genuine (a verification oracle, not a MAC oracle: it cannot be used to
forge), plus the log's current head so that a file missing its last records
fails.  Allowed to root and to tokens whose policies grant ``audit`` (on any
pattern: the capability is not about keys).
"""

from __future__ import annotations

from guomi import api
from guomi.kms.errors import BadRequestError, ForbiddenError
from guomi.kms.service._context import Caller
from guomi.kms.service._core import EngineCore

__all__ = ["AuditOps"]


class AuditOps(EngineCore):
    """``sys/audit/verify`` and ``sys/audit/checkpoint``."""

    def _require_audit(self, caller: Caller) -> None:
        if caller.entry.is_root:
            return
        for policy in self._policies(caller.entry.policies):
            if any("audit" in caps for _, caps in policy.rules):
                return
        raise ForbiddenError("permission denied: the audit endpoints need root or the audit capability")

    def audit_verify(self, caller: Caller, req: api.AuditVerifyRequest) -> api.AuditVerifyResponse:
        """``POST sys/audit/verify``: which MACs are genuine, and the log's head before this request."""
        with self._op(caller, "audit-verify", "sys/audit/verify", None, ()) as extra:
            self._require_audit(caller)
            items: list[tuple[bytes, str]] = []
            for i, (digest, mac) in enumerate(req.records):
                try:
                    raw = bytes.fromhex(digest)
                except ValueError:
                    raw = b""
                if len(raw) != 32 or len(mac) != 64:
                    raise BadRequestError(f"records[{i}]: (64 hex SM3, 64 hex MAC) expected", field="records")
                items.append((raw, mac))
            valid = self.audit.check_macs(items)
            head_seq, head = self.audit.head()
            extra["checked"] = len(items)
            extra["invalid"] = valid.count(False)
            return api.AuditVerifyResponse(
                valid=valid, head_seq=head_seq, head=head, public_key=self.audit.keys.public_key_pem()
            )

    def audit_checkpoint(self, caller: Caller) -> api.AuditCheckpoint:
        """``POST sys/audit/checkpoint``: appends a signed head checkpoint and returns it."""
        with self._op(caller, "audit-checkpoint", "sys/audit/checkpoint", None, ()) as extra:
            self._require_audit(caller)
            cp = self.audit.signed_checkpoint()
            extra["head_seq"] = cp["head_seq"]
            return api.AuditCheckpoint(
                head_seq=cp["head_seq"],
                head=cp["head"],
                checkpoint_time=cp["checkpoint_time"],
                signature=cp["signature"],
                public_key=cp["public_key"],
            )
