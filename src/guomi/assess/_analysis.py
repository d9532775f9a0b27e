"""Judge the collected facts: findings (high risk first), inventory, algorithms, key life cycles,
the level-3 item matrix and the D/A/K-style self-assessment scores.

Layer: ``guomi.assess``. The output is one JSON-ready dict (``evidence.json`` is exactly it,
and the HTML report is rendered from it), so what a reader sees and what a machine checks
never differ. Every finding names its ``source`` (a database URL + table.column, a file +
line, a key, an audit-log line).

Scores follow the published quantified-rules *style* (per object D = effective use,
A = algorithm/mode compliance, K = key management, each in {0, 0.25, 0.5, 1}); the
mapping from facts to values is ours and stated in the report, the weights come from the
configuration, and the whole is labelled a self-assessment aid, not an assessment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from guomi.assess._collect import Facts
from guomi.assess._config import ImportantData
from guomi.assess._service import KeyRecord
from guomi.scan import KIND_INFO, ColumnFinding, Kind

__all__ = ["analyse"]

SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2, "info": 3}
_COMPLIANT_KEY_TYPES = {"sm4-gcm", "sm2-sign", "sm2-encrypt", "hmac-sm3"}
_WEAK_FLAGS = {"ecb", "static-iv", "md5", "sha1", "unkeyed-digest"}
_SENSITIVE_KINDS = {
    Kind.PII_RESIDENT_ID,
    Kind.PII_MOBILE,
    Kind.PII_BANK_CARD,
    Kind.GUOMI_FIELD,
    Kind.GUOMI_TOKEN,
    Kind.GUOMI_INVALID,
    Kind.FERNET,
    Kind.VAULT_TRANSIT,
    Kind.AES_GCM,
    Kind.AES_CBC,
    Kind.AES_ECB,
    Kind.RSA_WRAPPED,
    Kind.UNKEYED_DIGEST,
}
_KEY_TYPE_ALGORITHM = {
    "sm4-gcm": "SM4-GCM (token: + HMAC-SM3 key commitment)",
    "aes-256-gcm": "AES-256-GCM",
    "sm2-sign": "SM2 signature (SM3)",
    "sm2-encrypt": "SM2 encryption + SM4-GCM",
    "hmac-sm3": "HMAC-SM3",
}
_LEGACY_KINDS = (Kind.FERNET, Kind.VAULT_TRANSIT, Kind.AES_GCM, Kind.AES_CBC, Kind.AES_ECB, Kind.RSA_WRAPPED)


def _iso(t: float | None) -> str | None:
    if not t:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


@dataclass(slots=True)
class _Object:
    """One inventory row: a column or a file, declared and/or discovered."""

    location: str
    database: str | None
    table: str | None
    column: str | None
    file: str | None
    declared: ImportantData | None
    finding: ColumnFinding | None
    rows: int | None
    error: str | None = None


class _Findings:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def add(  # noqa: PLR0917 - one finding's fields, always given in this order
        self, severity: str, category: str, en: str, zh: str, detail: str, source: str, obj: str | None = None
    ) -> None:
        self.items.append(
            {
                "severity": severity,
                "category": category,
                "title_en": en,
                "title_zh": zh,
                "detail": detail,
                "source": source,
                "object": obj,
            }
        )

    def sorted(self) -> list[dict[str, Any]]:
        out = sorted(self.items, key=lambda f: (SEVERITY_ORDER[f["severity"]], f["category"], f["source"]))
        for i, f in enumerate(out, start=1):
            f["id"] = f"F-{i:03d}"
        return out


# ------------------------------------------------------------------ objects


def _objects(facts: Facts, findings: _Findings) -> list[_Object]:  # noqa: PLR0912 - one branch per source kind
    declared: dict[tuple[str | None, str | None, str | None], ImportantData] = {
        (i.database, i.table, i.column): i for i in facts.config.system.important_data if i.database
    }
    declared_files = {i.file: i for i in facts.config.system.important_data if i.file}
    objs: list[_Object] = []
    seen: set[tuple[str | None, str | None, str | None]] = set()
    for db in facts.databases:
        if db.error is not None:
            findings.add(
                "high",
                "evidence-unavailable",
                "Database unreachable: its data could not be sampled",
                "数据库无法连接, 未能抽样",
                db.error,
                db.url,
            )
        for table in db.tables:
            if table.error is not None:
                findings.add(
                    "medium",
                    "evidence-unavailable",
                    "Table could not be read",
                    "数据表无法读取",
                    table.error,
                    f"{db.url}#{table.name}",
                )
            for col, f in table.columns.items():
                dkey = _declared_key(declared, db.url, table.name, col)
                d = declared[dkey] if dkey is not None else None
                if d is None and f.kind not in _SENSITIVE_KINDS and f.pii_share == 0:
                    continue
                seen.add(dkey or (db.url, table.name, col))
                objs.append(
                    _Object(f"{db.url}#{table.name}.{col}", db.url, table.name, col, None, d, f, table.rows)
                )
    for k, d in declared.items():
        if k not in seen:
            db_err = next((db.error for db in facts.databases if db.url == d.database and db.error), None)
            objs.append(
                _Object(
                    d.location,
                    d.database,
                    d.table,
                    d.column,
                    None,
                    d,
                    None,
                    None,
                    error=db_err or "not found",
                )
            )
            if db_err is None:
                findings.add(
                    "medium",
                    "declared-not-found",
                    "Declared important data not found where declared",
                    "申报的重要数据未在申报位置找到",
                    f"{d.name}: table/column not present in the sample",
                    d.location,
                    d.location,
                )
    for ff in facts.files:
        d = declared_files.get(ff.path)
        for col, f in ff.columns.items():
            if d is None and f.kind not in _SENSITIVE_KINDS:
                continue
            objs.append(_Object(f"file:{ff.path}#{col}", None, None, col, ff.path, d, f, None))
        if d is not None and not ff.columns:
            objs.append(_Object(f"file:{ff.path}", None, None, None, ff.path, d, None, None, error=ff.error))
    return objs


def _declared_key(
    declared: dict[tuple[str | None, str | None, str | None], ImportantData], url: str, table: str, col: str
) -> tuple[str | None, str | None, str | None] | None:
    for k in declared:
        if k[0] == url and (k[1] or "").lower() == table.lower() and (k[2] or "").lower() == col.lower():
            return k
    return None


# ------------------------------------------------------------------ keys


def _token_key_matches(key_id: str, keys: dict[str, KeyRecord], only: str | None) -> list[str]:
    """Service keys under which a ``token:<alg>:v<N>`` key id can be valid."""
    try:
        _, alg, ver = key_id.split(":")
        version = int(ver.removeprefix("v"))
    except ValueError:
        return []
    out = []
    for name, k in keys.items():
        if only is not None and name != only:
            continue
        if k.type == alg and k.min_decryption_version <= version <= k.latest_version:
            out.append(name)
    return out


def _coverage(obj: _Object, facts: Facts) -> dict[str, Any]:
    f = obj.finding
    assert f is not None
    only = obj.declared.key if obj.declared is not None else None
    keyset = next((k for k in facts.keysets if k.location == obj.location), None)
    valid = 0
    keys_used: dict[str, int] = {}
    unknown_key = 0
    for key_id, n in f.key_ids.items():
        if key_id.startswith("token:"):
            matches = _token_key_matches(key_id, facts.keys, only)
            if matches:
                valid += n
                label = matches[0] if len(matches) == 1 else f"one of {', '.join(matches)}"
                keys_used[f"{label} v{key_id.rsplit(':v', 1)[1]}"] = n
            else:
                unknown_key += n
        elif key_id.startswith("field:"):
            kid = key_id.removeprefix("field:")
            if keyset is not None and keyset.key_ids is not None and kid not in keyset.key_ids:
                unknown_key += n
                continue
            valid += n
            wrapped = (
                f", wrapped by {obj.declared.key}" if obj.declared is not None and obj.declared.key else ""
            )
            keys_used[f"keyset key {kid}{wrapped}"] = n
    check = next((c for c in facts.open_checks if c.location == obj.location), None)
    failed = 0
    if check is not None and check.checked:
        # Proven through the service: the share that opened replaces the structural count.
        failed = check.checked - check.opened
        valid = round(valid * check.opened / check.checked)
    non_empty = f.non_empty
    return {
        "sampled": f.sampled,
        "non_empty": non_empty,
        "guomi_valid": valid,
        "coverage": round(valid / non_empty, 4) if non_empty else 0.0,
        "guomi_unknown_key": unknown_key,
        "guomi_invalid": f.counts.get(Kind.GUOMI_INVALID.value, 0),
        "decrypt_checked": check.checked if check else None,
        "decrypt_failed": failed if check else None,
        "decrypt_failures": check.failures if check else None,
        "decrypt_row_bound": check.row_bound if check else None,
        "decrypt_context_column": check.context_column if check else None,
        "pii": round(f.pii_share, 4),
        "pii_values": sum(
            f.counts.get(k.value, 0) for k in (Kind.PII_RESIDENT_ID, Kind.PII_MOBILE, Kind.PII_BANK_CARD)
        ),
        "legacy": round(f.legacy_share, 4),
        "plaintext": round(f.share(Kind.PLAINTEXT), 4),
        "keys": keys_used,
        "keyset": None
        if keyset is None
        else {
            "path": keyset.path,
            "wrap": keyset.wrap,
            "wrap_key_id": keyset.wrap_key_id,
            "wrap_opens": keyset.wrap_opens,
            "key_ids": list(keyset.key_ids) if keyset.key_ids is not None else None,
            "note": keyset.note,
        },
    }


def _rotation_due(k: KeyRecord, period: int, now: float) -> bool:
    last = k.last_rotation_time or k.creation_time
    return bool(last) and now - last > period


def _accessor_label(acc: str | None, facts: Facts) -> str:
    if acc is None:
        return "(system)"
    names = dict(facts.audit.names) if facts.audit else {}
    if facts.token.get("accessor") and facts.token.get("display_name"):
        names[str(facts.token["accessor"])] = str(facts.token["display_name"])
    name = names.get(acc)
    return f"{acc} ({name})" if name else acc


def _key_rows(facts: Facts, findings: _Findings, now: float) -> list[dict[str, Any]]:
    period = facts.config.system.rotation_period
    rows = []
    for name, k in sorted(facts.keys.items()):
        events = facts.audit.events.get(name, []) if facts.audit else []
        last = k.last_rotation_time or k.creation_time
        due = _rotation_due(k, period, now)
        age_days = round((now - k.creation_time) / 86400, 1) if k.creation_time else None
        since_days = round((now - last) / 86400, 1) if last else None
        if due:
            never = k.latest_version == 1
            findings.add(
                "high",
                "key-not-rotated",
                "Key never rotated within the declared period"
                if never
                else "Key not rotated within the declared period",
                "密钥在规定周期内从未轮换" if never else "密钥未在规定周期内轮换",
                f"{name}: last {'creation' if never else 'rotation'} {since_days} days ago; "
                f"declared period {period // 86400} days; latest version {k.latest_version}",
                f"service:keys/{name}",
                name,
            )
        if k.type not in _COMPLIANT_KEY_TYPES:
            findings.add(
                "medium",
                "non-sm-key",
                "Key of a non-SM algorithm in the custody service",
                "密钥服务中存在非国密算法密钥",
                f"{name}: type {k.type} (kept only to migrate old data)",
                f"service:keys/{name}",
                name,
            )
        rows.append(
            {
                "name": name,
                "type": k.type,
                "algorithm": _KEY_TYPE_ALGORITHM.get(k.type, k.type),
                "compliant": k.type in _COMPLIANT_KEY_TYPES,
                "latest_version": k.latest_version,
                "min_decryption_version": k.min_decryption_version,
                "min_encryption_version": k.min_encryption_version,
                "min_available_version": k.min_available_version,
                "deletion_allowed": k.deletion_allowed,
                "auto_rotate_period_days": round(k.auto_rotate_period / 86400, 2)
                if k.auto_rotate_period
                else 0,
                "created": _iso(k.creation_time),
                "last_rotated": _iso(k.last_rotation_time) if k.latest_version > 1 else None,
                "age_days": age_days,
                "days_since_rotation": since_days,
                "rotation_due": due,
                "custody": "guomi custody service (keys sealed under the keyring; never exported in clear)",
                "events": [
                    {
                        "time": e.time,
                        "operation": e.operation,
                        "key_version": e.key_version,
                        "result": e.result,
                        "who": _accessor_label(e.accessor, facts),
                        "audit_line": e.line,
                        "seq": e.seq,
                        "detail": e.detail,
                    }
                    for e in events
                ],
            }
        )
    for name in facts.missing_keys:
        findings.add(
            "medium",
            "declared-key-missing",
            "Declared key not found in the custody service",
            "申报的密钥在密钥服务中不存在",
            f"{name}: 404 from GET keys/{name}",
            f"service:keys/{name}",
            name,
        )
    return rows


# ------------------------------------------------------------------ inventory, algorithms


def _protection(obj: _Object, cov: dict[str, Any] | None) -> dict[str, Any]:
    f = obj.finding
    d = obj.declared
    suites = sorted(f.suites) if f else []
    bits = d.index_bits if d and d.index_bits else None
    return {
        "suite": ", ".join(suites)
        or (d.suite if d and d.suite else None)
        or (KIND_INFO[f.kind].algorithm if f else None),
        "key": ", ".join(cov["keys"]) if cov and cov["keys"] else (d.key if d else None),
        "index_bits": bits,
    }


def _inventory(objs: list[_Object], facts: Facts, findings: _Findings) -> list[dict[str, Any]]:
    rows = []
    for obj in objs:
        f = obj.finding
        cov = _coverage(obj, facts) if f is not None else None
        # A sibling blind-index column (name_bidx...) shows the index width actually used.
        sibling = _sibling_index_bits(facts, obj) if f is not None and obj.database is not None else None
        obj_bits = sibling if sibling and not (obj.declared and obj.declared.index_bits) else None
        protection = _protection(obj, cov)
        if obj_bits:
            protection["index_bits"] = obj_bits
        row = {
            "location": obj.location,
            "name": obj.declared.name if obj.declared else None,
            "declared": obj.declared is not None,
            "discovered": f is not None and (f.kind in _SENSITIVE_KINDS or f.pii_share > 0),
            "rows": obj.rows,
            "kind": f.kind.value if f else None,
            "kind_label": f.label if f else None,
            "confidence": f.confidence if f else None,
            "flags": list(f.flags) if f else [],
            "details": list(f.details) if f else [],
            "protection": protection,
            "coverage": cov,
            "error": obj.error,
        }
        rows.append(row)
        if f is None or cov is None:
            continue
        src = obj.location
        if cov["pii_values"]:
            findings.add(
                "high",
                "plaintext-important-data",
                "Plaintext important data (personal data readable as stored)",
                "重要数据明文存储",
                f"{cov['pii_values']} of {cov['non_empty']} sampled values are plaintext PII "
                f"({', '.join(k for k in f.counts if k.startswith('pii-'))})"
                + ("" if obj.declared else "; not declared as important data"),
                src,
                src,
            )
        elif obj.declared is not None and cov["plaintext"] > 0:
            findings.add(
                "high",
                "plaintext-important-data",
                "Declared important data stored in plaintext",
                "申报的重要数据明文存储",
                f"{round(cov['plaintext'] * 100, 1)}% of sampled values are plaintext",
                src,
                src,
            )
        weak = [fl for fl in f.flags if fl in _WEAK_FLAGS]
        if weak:
            findings.add(
                "high",
                "weak-mode",
                "Weak mode or unkeyed digest (ECB / static IV / MD5 / SHA-1)",
                "不安全的工作模式或无密钥摘要 (ECB/固定 IV/MD5/SHA-1)",
                f"{f.label}: {'; '.join(f.details)}",
                src,
                src,
            )
        elif cov["legacy"] > 0:
            findings.add(
                "medium",
                "legacy-algorithm",
                "Data encrypted with a non-SM algorithm (must be re-encrypted with SM4)",
                "数据使用非国密算法加密 (应迁移至 SM4)",
                f"{round(cov['legacy'] * 100, 1)}% "
                + ", ".join(k for k in f.counts if k in {x.value for x in _LEGACY_KINDS}),
                src,
                src,
            )
        if "rsa-wrapped" in f.flags:
            findings.add(
                "medium",
                "rsa-wrapped-keys",
                "RSA-wrapped keys stored (re-wrap with SM2)",
                "存在 RSA 封装的密钥 (应改用 SM2 封装)",
                "; ".join(f.details),
                src,
                src,
            )
        if cov["guomi_unknown_key"] or cov["guomi_invalid"]:
            findings.add(
                "medium",
                "ciphertext-unknown-key",
                "guomi ciphertext that matches no known key, or does not parse",
                "无法对应已知密钥或格式错误的 guomi 密文",
                f"{cov['guomi_unknown_key']} under no known key version, {cov['guomi_invalid']} malformed",
                src,
                src,
            )
        ks = cov["keyset"]
        if ks is not None and (ks["wrap_opens"] is False or (ks["note"] or "").startswith("unreadable")):
            findings.add(
                "high",
                "keyset-unusable",
                "The column's field keyset does not open: its data may be unrecoverable",
                "字段密钥集无法解封",
                f"{ks['path']}: wrap {ks['wrap']} {ks['wrap_key_id'] or ''} {ks['note'] or 'rewrap refused'}",
                src,
                src,
            )
        if cov["decrypt_failed"]:
            findings.add(
                "medium",
                "decrypt-failures",
                "Sampled ciphertexts that fail to decrypt",
                "抽样密文无法解密",
                f"{cov['decrypt_failed']} of {cov['decrypt_checked']} failed ({cov['decrypt_failures']})",
                src,
                src,
            )
    return rows


def _sibling_index_bits(facts: Facts, obj: _Object) -> int | None:
    for db in facts.databases:
        if db.url != obj.database:
            continue
        for t in db.tables:
            if t.name != obj.table:
                continue
            for name, f in t.columns.items():
                if name.lower().startswith(f"{(obj.column or '').lower()}_bidx") and f.int_bits:
                    return f.int_bits
    return None


def _algorithms(
    inventory: list[dict[str, Any]], keys: list[dict[str, Any]], facts: Facts
) -> list[dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = {}

    def add(alg: str, where: str, compliant: bool, flags: list[str]) -> None:
        r = rows.setdefault(alg, {"algorithm": alg, "used_by": [], "compliant": compliant, "flags": []})
        if where not in r["used_by"]:
            r["used_by"].append(where)
        r["compliant"] = r["compliant"] and compliant
        r["flags"] = sorted(set(r["flags"]) | set(flags))

    for k in keys:
        add(k["algorithm"], f"key {k['name']}", k["compliant"], [] if k["compliant"] else ["aes-only"])
    for row in inventory:
        if not row["kind"] or row["kind"] in ("plaintext", "empty"):
            continue
        kind = Kind(row["kind"])
        info = KIND_INFO[kind]
        if info.pii:
            add("none (plaintext)", row["location"], False, ["plaintext"])
            continue
        add(info.algorithm or info.label_en, row["location"], info.compliant, list(row["flags"]))
    if facts.audit is not None:
        add("SM3 hash chain (audit log)", facts.audit.path, True, [])
    add("SM2 signature with SM3 (this pack's manifest)", "manifest.json.sig", True, [])
    return sorted(rows.values(), key=lambda r: (r["compliant"], r["algorithm"]))


# ------------------------------------------------------------------ files, audit


def _file_findings(facts: Facts, findings: _Findings) -> list[dict[str, Any]]:
    out = []
    for ff in facts.files:
        if ff.error:
            findings.add(
                "medium",
                "evidence-unavailable",
                "File could not be read",
                "文件无法读取",
                ff.error,
                f"file:{ff.path}",
            )
        for item in ff.items:
            en, zh = {
                "key-material": (
                    "Key material in a file, outside the custody service",
                    "密钥以明文形式存放在文件中",
                ),
                "pem-private-key": (
                    "Private key file outside the custody service",
                    "私钥文件存放在密钥服务之外",
                ),
                "service-token": ("Custody-service token stored in a file", "密钥服务访问令牌存放在文件中"),
            }.get(item.kind, (item.kind, item.kind))
            findings.add(
                "high" if item.high_risk else "medium",
                "key-outside-custody",
                en,
                zh,
                f"{item.name}: {item.detail}",
                f"file:{ff.path}:{item.line}",
                ff.path,
            )
        out.append(ff.to_dict())
    return out


def _audit_section(facts: Facts, findings: _Findings) -> dict[str, Any]:
    if facts.audit is None:
        if facts.audit_error:
            findings.add(
                "high",
                "audit-unavailable",
                "Audit log could not be read: key life cycle not evidenced",
                "审计日志无法读取, 密钥生命周期无证据",
                facts.audit_error,
                "audit",
            )
        elif facts.config.service is not None:
            findings.add(
                "medium",
                "audit-unavailable",
                "No audit log given: key life cycle not evidenced",
                "未提供审计日志",
                "set [service] audit_log",
                "config",
            )
        return {"available": False, "error": facts.audit_error}
    a = facts.audit
    if not a.chain.ok:
        findings.add(
            "high",
            "audit-chain-broken",
            "Audit chain broken: the log was edited, truncated inside, or reordered",
            "审计日志完整性校验失败",
            f"line {a.chain.line}: {a.chain.error}; {a.chain.records} records verified before it",
            f"audit:{a.path}:{a.chain.line}",
        )
    return {"available": True, **a.to_dict()}


# ------------------------------------------------------------------ items, scores


def _status(ok: bool | None, partly: bool = False) -> str:
    if ok is None:
        return "not covered by guomi"
    if ok:
        return "met"
    return "partly met" if partly else "not met"


def _items(
    facts: Facts,
    inventory: list[dict[str, Any]],
    keys: list[dict[str, Any]],
    audit: dict[str, Any],
    findings: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    cats = {f["category"] for f in findings}
    covered = [r for r in inventory if r["coverage"]]
    all_covered = bool(covered) and all(r["coverage"]["coverage"] >= 0.999 for r in covered)
    some_covered = any(r["coverage"]["coverage"] > 0 for r in covered)
    aead_only = all(
        r["kind"] in ("guomi-token", "guomi-field", "aes-gcm", "fernet", "vault-transit") for r in covered
    )
    files_scanned = len(facts.files)
    products = facts.config.system.products
    events = {e["operation"] for k in keys for e in k["events"]}
    chain_ok = audit.get("available") and audit["chain"]["ok"]
    items = [
        {
            "id": "DS-1",
            "area_en": "Application & data: confidentiality of important data at rest",
            "area_zh": "应用和数据安全: 重要数据存储机密性",
            "requirement": "required 应",
            "status": _status(all_covered and "plaintext-important-data" not in cats, some_covered),
            "evidence": f"inventory: {len(covered)} sampled objects; coverage by sampling; findings "
            + ", ".join(sorted(cats & {"plaintext-important-data", "legacy-algorithm", "weak-mode"})),
        },
        {
            "id": "DS-2",
            "area_en": "Application & data: integrity of important data at rest",
            "area_zh": "应用和数据安全: 重要数据存储完整性",
            "requirement": "recommended 宜",
            "status": _status(bool(covered) and aead_only and all_covered, some_covered),
            "evidence": "SM4-GCM (AEAD) values carry a tag; ECB/CBC values have none (see algorithm table)",
        },
        {
            "id": "AL-1",
            "area_en": "Algorithms and modes: SM-series, standard modes (no ECB, no static IV, no MD5/SHA-1)",
            "area_zh": "密码算法和工作模式合规 (国密算法, 无 ECB/固定 IV/MD5/SHA-1)",
            "requirement": "required 应",
            "status": _status(
                not (cats & {"weak-mode", "legacy-algorithm", "non-sm-key", "rsa-wrapped-keys"})
            ),
            "evidence": "algorithm table",
        },
        {
            "id": "KM-1",
            "area_en": "Key generation by a certified random source",
            "area_zh": "密钥生成 (合规随机数发生器)",
            "requirement": "required 应",
            "status": "partly met",
            "evidence": "keys generated inside the custody service from the OS CSPRNG; a certified RNG / "
            "cryptographic module is not covered by guomi (see certified products)",
        },
        {
            "id": "KM-2",
            "area_en": "Key storage: keys only in the custody service / crypto module, never in files",
            "area_zh": "密钥存储 (密钥不得明文存放于配置文件)",
            "requirement": "required 应",
            "status": "not met"
            if "key-outside-custody" in cats
            else "met"
            if files_scanned > 0
            else "not evidenced",
            "evidence": f"{len(keys)} keys in the custody service; "
            f"{files_scanned} files scanned for key material",
        },
        {
            "id": "KM-3",
            "area_en": "Key update: rotation within the declared period",
            "area_zh": "密钥更新 (按规定周期轮换)",
            "requirement": "required 应",
            "status": _status(
                bool(keys) and "key-not-rotated" not in cats, any(not k["rotation_due"] for k in keys)
            ),
            "evidence": f"declared period {facts.config.system.rotation_period // 86400} days; key table",
        },
        {
            "id": "KM-4",
            "area_en": "Key backup and recovery recorded",
            "area_zh": "密钥备份与恢复",
            "requirement": "required 应",
            "status": "met" if events & {"backup", "restore"} else "not evidenced",
            "evidence": "backup/restore events in the audit log (backups are sealed to this installation)",
        },
        {
            "id": "KM-5",
            "area_en": "Key archival and destruction (min versions, trims, deletion) recorded",
            "area_zh": "密钥归档与销毁",
            "requirement": "required 应",
            "status": "met" if events & {"config", "trim", "delete"} else "not evidenced",
            "evidence": "config/trim/delete events in the audit log; min_decryption_version per key",
        },
        {
            "id": "LG-1",
            "area_en": "Integrity of audit records (key management log)",
            "area_zh": "日志记录完整性",
            "requirement": "recommended 宜",
            "status": (
                "not met"
                if not chain_ok
                else "partly met"
                if audit["chain"]["keyed"] and not audit["chain"]["macs_checked"]
                else "met"
            )
            if audit.get("available")
            else "not evidenced",
            "evidence": (
                f"chain verified: {audit['chain']['statement']}" if chain_ok else "see audit section"
            )
            if audit.get("available")
            else "no audit log",
        },
        {
            "id": "CP-1",
            "area_en": "Certified cryptographic products and services",
            "area_zh": "商用密码产品认证 / 密码服务",
            "requirement": "required 应",
            "status": "not covered by guomi",
            "evidence": (
                "declared: "
                + "; ".join(f"{p.name} ({p.certificate or 'no certificate number'})" for p in products)
                if products
                else "no certified product declared"
            )
            + ". guomi itself is not a certified product; the root of trust must be a certified device.",
        },
        {
            "id": "PE-1",
            "area_en": "Physical and environmental security",
            "area_zh": "物理和环境安全",
            "requirement": "required 应",
            "status": "not covered by guomi",
            "evidence": "outside what guomi can observe",
        },
        {
            "id": "NC-1",
            "area_en": "Network & communication, device & computing layers",
            "area_zh": "网络和通信安全 / 设备和计算安全",
            "requirement": "required 应",
            "status": "not covered by guomi",
            "evidence": "not assessed by this pack",
        },
        {
            "id": "MG-1",
            "area_en": "Management: key-management policy, personnel, emergency response",
            "area_zh": "管理制度 / 人员管理 / 应急处置",
            "requirement": "required 应",
            "status": "not covered by guomi",
            "evidence": "documents and interviews, outside what guomi can observe",
        },
    ]
    return items


def _score_object(
    row: dict[str, Any], facts: Facts, keys: dict[str, dict[str, Any]], cats_by_src: dict[str, set[str]]
) -> dict[str, Any]:
    cov = row["coverage"]
    kind = row["kind"]
    src_cats = cats_by_src.get(row["location"], set())
    if cov is None:
        d = a = k = 0.0
    else:
        encrypted = 1 - cov["pii"] - cov["plaintext"]
        effective = encrypted - (cov["decrypt_failed"] or 0) / max(cov["non_empty"], 1)
        d = 1.0 if effective >= 0.99 else 0.5 if effective >= 0.5 else 0.25 if effective > 0 else 0.0
        if "weak-mode" in src_cats or encrypted <= 0:
            a = 0.0
        elif cov["legacy"] > 0 and cov["guomi_valid"] > 0:
            a = 0.5
        elif cov["legacy"] > 0:
            a = 0.25
        else:
            a = 1.0
        declared_key = row["protection"]["key"] or ""
        used = [n for n in keys if n in declared_key or any(n in u for u in cov["keys"])]
        if encrypted <= 0:
            k = 0.0
        elif cov["guomi_valid"] == 0:
            k = 0.25  # legacy ciphertext: the key lives somewhere guomi cannot see
        else:
            rotated = all(not keys[n]["rotation_due"] for n in used) if used else True
            certified = bool(facts.config.system.products)
            chain = facts.audit is not None and facts.audit.chain.ok
            k = 1.0 if rotated and certified and chain else 0.5
    w = facts.config.weights
    total = w.weight_d + w.weight_a + w.weight_k
    score = 0.0 if d == 0 else (w.weight_d * d + w.weight_a * a + w.weight_k * k) / total
    return {
        "object": row["location"],
        "name": row["name"],
        "kind": kind,
        "D": d,
        "A": a,
        "K": k,
        "score": round(100 * score, 1),
    }


def _scores(
    inventory: list[dict[str, Any]], facts: Facts, keys: list[dict[str, Any]], findings: list[dict[str, Any]]
) -> dict[str, Any]:
    cats_by_src: dict[str, set[str]] = {}
    for f in findings:
        cats_by_src.setdefault(f["source"], set()).add(f["category"])
    by_name = {k["name"]: k for k in keys}
    objects = [
        _score_object(r, facts, by_name, cats_by_src) for r in inventory if r["declared"] or r["discovered"]
    ]
    overall = round(sum(o["score"] for o in objects) / len(objects), 1) if objects else None
    w = facts.config.weights
    return {
        "label_en": "Self-assessment aid, not an assessment: computed by guomi from sampled facts; only an "
        "accredited assessment body (测评机构) assesses.",
        "label_zh": "自评估辅助, 非测评结论",
        "weights": {"D": w.weight_d, "A": w.weight_a, "K": w.weight_k},
        "method": "per object D (effective use: share of sampled values encrypted and opening: >= 99% 1, "
        ">= 50% 0.5, > 0 0.25), "
        "A (algorithm/mode: SM4 AEAD 1, mixed 0.5, non-SM 0.25, ECB/static IV/digest/none 0), "
        "K (keys: custody service + rotated + certified product + audit chain 1, custody 0.5, "
        "legacy/unknown key 0.25, none 0), each in {0, 0.25, 0.5, 1}; score = 100 x weighted mean, "
        "0 when D = 0; overall = mean over objects",
        "objects": objects,
        "overall": overall,
        "high_risk": sum(1 for f in findings if f["severity"] == "high"),
    }


# ------------------------------------------------------------------ charts data


def _coverage_per_table(inventory: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tables: dict[str, dict[str, float]] = {}
    for r in inventory:
        cov = r["coverage"]
        if cov is None or not cov["non_empty"]:
            continue
        table = r["location"].rsplit(".", 1)[0] if "#" in r["location"] else r["location"]
        t = tables.setdefault(table, {"values": 0, "guomi": 0, "legacy": 0, "pii": 0, "other": 0})
        n = cov["non_empty"]
        t["values"] += n
        t["guomi"] += cov["guomi_valid"]
        t["legacy"] += round(cov["legacy"] * n)
        t["pii"] += cov["pii_values"]
        t["other"] += n - cov["guomi_valid"] - round(cov["legacy"] * n) - cov["pii_values"]
    return [{"table": k, **v} for k, v in sorted(tables.items())]


def analyse(facts: Facts, *, now: float | None = None) -> dict[str, Any]:
    """The evidence document (``evidence.json``) for ``facts``."""
    now = time.time() if now is None else now
    findings = _Findings()
    cfg = facts.config
    if facts.service_error:
        findings.add(
            "high",
            "evidence-unavailable",
            "Custody service unreachable: keys and their life cycle not evidenced",
            "密钥服务无法连接",
            facts.service_error,
            f"service:{facts.service_addr}",
        )
    objs = _objects(facts, findings)
    inventory = _inventory(objs, facts, findings)
    keys = _key_rows(facts, findings, now)
    files = _file_findings(facts, findings)
    audit = _audit_section(facts, findings)
    ordered = findings.sorted()
    algorithms = _algorithms(inventory, keys, facts)
    return {
        "format": "guomi-assess-evidence/v1",
        "generated_at": _iso(now),
        "system": {
            "name": cfg.system.name,
            "level": cfg.system.level,
            "owners": list(cfg.system.owners),
            "description": cfg.system.description,
            "rotation_period_days": cfg.system.rotation_period // 86400,
            "important_data": [
                {
                    "name": i.name,
                    "location": i.location,
                    "key": i.key,
                    "suite": i.suite,
                    "index_bits": i.index_bits,
                }
                for i in cfg.system.important_data
            ],
            "products": [
                {"name": p.name, "certificate": p.certificate, "kind": p.kind} for p in cfg.system.products
            ],
        },
        "sources": {
            "databases": [
                {
                    "url": d.url,
                    "error": d.error,
                    "tables": [{"name": t.name, "rows": t.rows, "error": t.error} for t in d.tables],
                }
                for d in facts.databases
            ],
            "files": [{"path": f.path, "size": f.size, "error": f.error} for f in facts.files],
            "service": {
                "addr": facts.service_addr,
                "error": facts.service_error,
                "token": {
                    k: facts.token.get(k) for k in ("accessor", "display_name", "policies", "expire_time")
                },
            },
            "sample_rows": cfg.sample_rows,
            "field_format_recognised": facts.field_format_available,
            "timings": facts.timings,
        },
        "findings": ordered,
        "inventory": inventory,
        "coverage_per_table": _coverage_per_table(inventory),
        "algorithms": algorithms,
        "keys": keys,
        "audit": audit,
        "files": files,
        "databases": [d.to_dict() for d in facts.databases],
        "items": _items(facts, inventory, keys, audit, ordered),
        "scores": _scores(inventory, facts, keys, ordered),
    }
