"""The human-readable report: one self-contained HTML page (inline CSS and SVG), bilingual.

Layer: ``guomi.assess``. Rendered from the evidence document only (so the page and
``evidence.json`` cannot disagree). No external asset, font or script is loaded; the
one inline script only checks the page's own layout (it marks ``<body data-layout>`` with
``ok`` or the elements that overflow, which the browser test reads) and does nothing else.
Every value is HTML-escaped.
"""

from __future__ import annotations

from html import escape
from typing import Any

from guomi.assess._charts import coverage_chart, key_age_chart, operations_chart

__all__ = ["render_html"]

_SEVERITY = {
    "high": ("High risk", "高风险"),
    "medium": ("Medium", "中风险"),
    "low": ("Low", "低"),
    "info": ("Info", "信息"),
}
_STATUS_ZH = {
    "met": "符合",
    "partly met": "部分符合",
    "not met": "不符合",
    "not evidenced": "无证据",
    "not covered by guomi": "非 guomi 覆盖范围",
}

_CSS = """
:root { --ink:#1a1a1a; --muted:#666; --line:#d0d0d0; --high:#c62828; --med:#ef6c00; --ok:#2e7d32; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC",
       "Microsoft YaHei", "DejaVu Sans", sans-serif; color: var(--ink); margin: 0; font-size: 13px;
       line-height: 1.45; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px;
  border-bottom: 2px solid var(--ink); padding-bottom: 3px; }
h3 { font-size: 14px; margin: 16px 0 6px; }
.muted, .zh { color: var(--muted); } .zh { font-size: 12px; }
.banner { border: 2px solid var(--med); background: #fff8e1; padding: 8px 12px; margin: 12px 0; }
table { width: 100%; border-collapse: collapse; table-layout: fixed; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top;
         overflow-wrap: anywhere; word-break: break-word; }
th { background: #f2f2f2; font-weight: 600; }
td.num, th.num { text-align: right; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 11.5px; overflow-wrap: anywhere; }
.sev-high { color: #fff; background: var(--high); } .sev-medium { color: #fff; background: var(--med); }
.sev-low, .sev-info { background: #e0e0e0; }
.badge { display: inline-block; padding: 1px 6px; border-radius: 3px; font-size: 11px; white-space: nowrap; }
.st-met { color: var(--ok); font-weight: 600; } .st-not-met { color: var(--high); font-weight: 600; }
.st-partly-met, .st-not-evidenced { color: var(--med); font-weight: 600; }
.st-not-covered-by-guomi { color: var(--muted); font-style: italic; }
.grid { display: grid; grid-template-columns: repeat(4, 1fr); gap: 10px; }
.card { border: 1px solid var(--line); padding: 8px 10px; } .card b { font-size: 20px; display: block; }
svg.chart { max-width: 100%; height: auto; display: block; margin: 6px 0; }
svg .lb { font-size: 12px; fill: #222; } svg .lg { font-size: 11px; fill: #444; }
footer { margin-top: 30px; color: var(--muted); font-size: 11px; }
@media print {
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; } tr, .card, svg { break-inside: avoid; }
  @page { size: A4; margin: 14mm 12mm; }
}
"""

_LAYOUT_CHECK = """
(function () {
  function check() {
    var bad = [];
    var vw = document.documentElement.clientWidth;
    document.querySelectorAll("main, main *").forEach(function (el) {
      var r = el.getBoundingClientRect();
      if (r.width > 0 && r.right > vw + 1) {
        bad.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : ""));
      }
      if ((el.tagName === "TD" || el.tagName === "TH" || el.tagName === "TABLE") &&
          el.scrollWidth > el.clientWidth + 1) { bad.push(el.tagName.toLowerCase() + ":overflow"); }
    });
    document.body.setAttribute("data-layout", bad.length ? "overflow " + bad.slice(0, 10).join(",") : "ok");
    if (bad.length) { console.error("layout overflow: " + bad.slice(0, 10).join(", ")); }
  }
  if (document.readyState === "complete") { check(); } else { window.addEventListener("load", check); }
})();
"""


def _e(value: Any) -> str:
    return escape("" if value is None else str(value))


def _bi(en: str, zh: str) -> str:
    return f'{_e(en)} <span class="zh">{_e(zh)}</span>'


def _h2(anchor: str, number: int, en: str, zh: str) -> str:
    return f'<h2 id="{anchor}">{number}. {_bi(en, zh)}</h2>'


_DISCLAIMER = (
    "Self-assessment aid prepared from facts guomi holds; it supports, and does not replace, "
    "the assessment by an accredited body.",
    "本证据包为自评估辅助材料, 不替代测评机构的正式测评。",
)
_NOT_CERTIFIED = (
    "guomi (this software) is not a certified cryptographic product; "
    "the root of trust must be a certified device.",
    "guomi 本身不是经认证的商用密码产品, 信任根应为经认证的密码设备。",
)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}%"


def _table(headers: list[tuple[str, str]], rows: list[list[str]], widths: list[int] | None = None) -> str:
    cols = "".join(f'<col style="width:{w}%">' for w in widths) if widths else ""
    head = "".join(f"<th>{_bi(en, zh)}</th>" for en, zh in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
    if not rows:
        body = f'<tr><td colspan="{len(headers)}" class="muted">none 无</td></tr>'
    return f"<table><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _summary(ev: dict[str, Any]) -> str:
    sc = ev["scores"]
    covered = [r["coverage"] for r in ev["inventory"] if r["coverage"]]
    total = sum(c["non_empty"] for c in covered)
    valid = sum(c["guomi_valid"] for c in covered)
    cards = [
        (str(sc["high_risk"]), "high-risk findings", "高风险项"),
        (
            f"{100 * valid / total:.1f}%" if total else "-",
            "sampled values under guomi keys",
            "抽样值国密覆盖率",
        ),
        (str(len(ev["keys"])), "keys in custody", "托管密钥数"),
        ("-" if sc["overall"] is None else f"{sc['overall']}", "self-assessment score*", "自评分*"),
    ]
    return (
        '<div class="grid">'
        + "".join(f'<div class="card"><b>{_e(v)}</b>{_bi(en, zh)}</div>' for v, en, zh in cards)
        + "</div>"
    )


def _findings(ev: dict[str, Any]) -> str:
    rows = []
    for f in ev["findings"]:
        en, zh = _SEVERITY[f["severity"]]
        rows.append(
            [
                _e(f["id"]),
                f'<span class="badge sev-{f["severity"]}">{_e(en)} {_e(zh)}</span>',
                _bi(f["title_en"], f["title_zh"]) + f'<br><span class="muted">{_e(f["detail"])}</span>',
                f"<code>{_e(f['source'])}</code>",
            ]
        )
    return _table(
        [("ID", "编号"), ("Severity", "等级"), ("Finding", "发现"), ("Source", "来源")], rows, [7, 13, 52, 28]
    )


def _inventory(ev: dict[str, Any]) -> str:
    rows = []
    for r in ev["inventory"]:
        c = r["coverage"] or {}
        p = r["protection"]
        claimed = ("declared 申报" if r["declared"] else "") + (
            " / " if r["declared"] and r["discovered"] else ""
        )
        claimed += "discovered 发现" if r["discovered"] else ""
        dec = ""
        if c.get("decrypt_checked") is not None:
            dec = f"<br>opened 可解密 {c['decrypt_checked'] - c['decrypt_failed']}/{c['decrypt_checked']}"
            if c.get("decrypt_row_bound"):
                bound = c["decrypt_row_bound"]
                dec += _e(f" ({bound} row-bound 绑定行, context 上下文 = {c['decrypt_context_column']})")
            if c["decrypt_failed"]:
                dec += f' <b class="st-not-met">failed 失败 {c["decrypt_failed"]}</b>'
        rows.append(
            [
                f"<code>{_e(r['location'])}</code>" + (f"<br>{_e(r['name'])}" if r["name"] else ""),
                _e(claimed or "-"),
                _e(r["kind_label"] or r["error"] or "-")
                + (f'<br><span class="muted">{_e(", ".join(r["flags"]))}</span>' if r["flags"] else ""),
                f"suite {_e(p['suite'] or '-')}<br>key {_e(p['key'] or '-')}"
                f"<br>index {_e(p['index_bits'] or '-')} bits" + _keyset_note(c.get("keyset")),
                f"{_e(c.get('guomi_valid', '-'))} / {_e(c.get('non_empty', '-'))}"
                f"<br><b>{_pct(c.get('coverage'))}</b>{dec}",
                _pct(c.get("pii")),
                _pct(c.get("legacy")),
                _e(r["rows"] if r["rows"] is not None else "-"),
            ]
        )
    return _table(
        [
            ("Object", "对象"),
            ("Claimed vs found", "申报/发现"),
            ("Found", "抽样结论"),
            ("Protection", "保护措施"),
            ("Coverage (valid / sampled)", "覆盖率"),
            ("PII", "明文个人信息"),
            ("Legacy", "旧算法"),
            ("Rows", "行数"),
        ],
        rows,
        [22, 10, 18, 16, 13, 7, 7, 7],
    )


def _keyset_note(ks: dict[str, Any] | None) -> str:
    if not ks:
        return ""
    parts = [f"keyset 密钥集: {ks['wrap'] or '?'}"]
    if ks["wrap_key_id"]:
        parts.append(f"wrapped by {ks['wrap_key_id']}")
    if ks["wrap_opens"] is not None:
        parts.append("opens 可解封" if ks["wrap_opens"] else "DOES NOT OPEN 无法解封")
    if ks["key_ids"] is not None:
        parts.append("ids " + ", ".join(ks["key_ids"]))
    if ks["note"]:
        parts.append(ks["note"])
    return f'<br><span class="muted">{_e("; ".join(parts))}</span>'


def _algorithms(ev: dict[str, Any]) -> str:
    rows = [
        [
            _e(a["algorithm"]),
            (
                '<span class="st-met">compliant 合规</span>'
                if a["compliant"]
                else '<span class="st-not-met">flagged 不合规</span>'
            ),
            _e(", ".join(a["flags"]) or "-"),
            "<br>".join(f"<code>{_e(u)}</code>" for u in a["used_by"][:12])
            + (" …" if len(a["used_by"]) > 12 else ""),
        ]
        for a in ev["algorithms"]
    ]
    return _table(
        [("Algorithm / mode", "算法/模式"), ("Status", "状态"), ("Flags", "问题"), ("Used by", "使用位置")],
        rows,
        [28, 14, 18, 40],
    )


def _keys(ev: dict[str, Any]) -> str:
    out = []
    rows = [
        [
            f"<b>{_e(k['name'])}</b>",
            _e(k["algorithm"]),
            _e(k["created"]),
            f"v{k['latest_version']}"
            + (f" ({_e(k['last_rotated'])})" if k["last_rotated"] else " never rotated 从未轮换"),
            f"decrypt ≥ v{k['min_decryption_version']}, encrypt "
            + (f"v{k['min_encryption_version']}" if k["min_encryption_version"] else "latest"),
            (
                '<b class="st-not-met">overdue 超期</b>'
                if k["rotation_due"]
                else '<span class="st-met">ok</span>'
            )
            + f" {_e(k['days_since_rotation'])} d",
        ]
        for k in ev["keys"]
    ]
    out.append(
        _table(
            [
                ("Key", "密钥"),
                ("Algorithm", "算法"),
                ("Created", "生成时间"),
                ("Rotations", "轮换"),
                ("Min versions", "最低版本"),
                ("Rotation", "轮换周期"),
            ],
            rows,
            [14, 22, 16, 20, 16, 12],
        )
    )
    for k in ev["keys"]:
        if not k["events"]:
            continue
        ev_rows = [
            [
                _e(e["time"]),
                _e(e["operation"])
                + (f'<br><span class="muted">{_e(e["detail"])}</span>' if e["detail"] else ""),
                _e(e["key_version"] if e["key_version"] is not None else "-"),
                _e(e["result"]),
                f"<code>{_e(e['who'])}</code>",
                _e(e["audit_line"]),
            ]
            for e in k["events"]
        ]
        out.append(f"<h3>{_bi('Life cycle of ' + k['name'], '生命周期')}</h3>")
        out.append(
            _table(
                [
                    ("Time", "时间"),
                    ("Event", "事件"),
                    ("Version", "版本"),
                    ("Result", "结果"),
                    ("Who (accessor)", "操作者"),
                    ("Audit line", "日志行"),
                ],
                ev_rows,
                [20, 14, 8, 8, 40, 10],
            )
        )
    return "".join(out)


def _audit(ev: dict[str, Any]) -> str:
    a = ev["audit"]
    if not a.get("available"):
        return f'<p class="st-not-met">{_bi("No audit log read", "未读取审计日志")}: {_e(a.get("error"))}</p>'
    c = a["chain"]
    if c["ok"]:
        verdict = f'<span class="st-met">{_bi("Chain verified", "完整性校验通过")}</span>'
        detail = f"{_e(c['statement'])}; last seq {c['last_seq']}, last SM3 <code>{_e(c['last_hash'])}</code>"
    else:
        verdict = f'<span class="st-not-met">{_bi("Chain BROKEN", "完整性校验失败")}</span>'
        detail = f"at line {_e(c['line'])}: {_e(c['error'])}; {c['records']} records verified before it"
    return (
        f"<p>{verdict} — {detail}. <span class='muted'>{_e(c['method'])}; file <code>{_e(a['path'])}</code>; "
        f"{a['records']} records from {_e(a['first_time'])} to {_e(a['last_time'])}; "
        f"{a['denied']} denied requests; unreadable lines {a['unreadable_lines']}.</span></p>"
    )


def _items(ev: dict[str, Any]) -> str:
    rows = []
    for it in ev["items"]:
        cls = "st-" + it["status"].replace(" ", "-")
        rows.append(
            [
                _e(it["id"]),
                _bi(it["area_en"], it["area_zh"]),
                _e(it["requirement"]),
                f'<span class="{cls}">{_e(it["status"])} {_e(_STATUS_ZH.get(it["status"], ""))}</span>',
                _e(it["evidence"]),
            ]
        )
    return _table(
        [
            ("Item", "指标"),
            ("Requirement (level 3)", "要求"),
            ("Level", "级别"),
            ("Status", "状态"),
            ("Evidence", "证据"),
        ],
        rows,
        [7, 33, 11, 15, 34],
    )


def _scores(ev: dict[str, Any]) -> str:
    sc = ev["scores"]
    rows = [
        [f"<code>{_e(o['object'])}</code>", _e(o["D"]), _e(o["A"]), _e(o["K"]), f"<b>{_e(o['score'])}</b>"]
        for o in sc["objects"]
    ]
    w = sc["weights"]
    return (
        f'<div class="banner"><b>{_e(sc["label_zh"])}</b> — {_e(sc["label_en"])}</div>'
        + _table(
            [
                ("Object", "测评对象"),
                ("D", "有效性"),
                ("A", "算法合规"),
                ("K", "密钥管理"),
                ("Score", "得分"),
            ],
            rows,
            [52, 12, 12, 12, 12],
        )
        + f'<p class="muted">Weights 权重: D {w["D"]}, A {w["A"]}, K {w["K"]} (from the configuration). '
        f"Method 方法: {_e(sc['method'])}. Overall 总分: <b>{_e(sc['overall'])}</b>.</p>"
    )


def _sources(ev: dict[str, Any]) -> str:
    s = ev["sources"]
    rows = []
    for d in s["databases"]:
        tables = ", ".join(
            f"{t['name']} ({t['rows'] if t['rows'] is not None else 'error'})" for t in d["tables"]
        )
        rows.append([f"<code>{_e(d['url'])}</code>", _e(d["error"] or "ok"), _e(tables)])
    for f in s["files"]:
        rows.append([f"<code>{_e(f['path'])}</code>", _e(f["error"] or "ok"), _e(f"{f['size']} bytes")])
    sv = s["service"]
    if sv["addr"]:
        tok = sv["token"]
        rows.append(
            [
                f"<code>{_e(sv['addr'])}</code>",
                _e(sv["error"] or "ok"),
                _e(
                    f"token accessor {tok.get('accessor')} ({tok.get('display_name')}), "
                    f"policies {tok.get('policies')}"
                ),
            ]
        )
    note = (
        f"Sample: up to {s['sample_rows']} rows per table "
        "drawn at random on every database (each table's method is in evidence.json). "
        "抽样: 每表最多 "
        + str(s["sample_rows"])
        + " 行, 随机抽取。"
        + (
            ""
            if s["field_format_recognised"]
            else " guomi field values (docs/spec/field.md) are not recognised by this build."
        )
    )
    return (
        _table([("Source", "来源"), ("Status", "状态"), ("Detail", "详情")], rows, [40, 25, 35])
        + f'<p class="muted">{_e(note)}</p>'
    )


def render_html(ev: dict[str, Any]) -> str:
    """The report page for evidence document ``ev``."""
    sysinfo = ev["system"]
    high = [f for f in ev["findings"] if f["severity"] == "high"]
    owners = ", ".join(sysinfo["owners"]) or "-"
    products = (
        "".join(
            f"<li>{_e(p['name'])} — certificate 证书编号 "
            f"<code>{_e(p['certificate'] or 'not given 未提供')}</code></li>"
            for p in sysinfo["products"]
        )
        or "<li>none declared 未申报</li>"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>密评证据包 Assessment evidence — {_e(sysinfo['name'])}</title>",
        f"<style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(sysinfo['name'])} — 商用密码应用安全性评估证据包</h1>",
        "<p>Cryptographic application assessment evidence pack (GB/T 39786-2021), "
        f"level 等级 {_e(sysinfo['level'])}. "
        f"Generated 生成于 {_e(ev['generated_at'])} by guomi assess. Owners 负责人: {_e(owners)}.</p>",
        f'<div class="banner">{_bi(*_DISCLAIMER)}</div>',
        _summary(ev),
        _h2("high-risk", 1, "High-risk findings", "高风险项"),
        _table(
            [("ID", "编号"), ("Finding", "发现"), ("Source", "来源")],
            [
                [
                    _e(f["id"]),
                    _bi(f["title_en"], f["title_zh"]) + f'<br><span class="muted">{_e(f["detail"])}</span>',
                    f"<code>{_e(f['source'])}</code>",
                ]
                for f in high
            ],
            [8, 62, 30],
        ),
        _h2("inventory", 2, "Important-data inventory and coverage by sampling", "重要数据清单与抽样覆盖率"),
        coverage_chart(ev["coverage_per_table"]),
        _inventory(ev),
        _h2("algorithms", 3, "Algorithms and modes", "密码算法与工作模式"),
        _algorithms(ev),
        _h2("keys", 4, "Key life cycle", "密钥生命周期"),
        _audit(ev),
        key_age_chart(ev["keys"], sysinfo["rotation_period_days"]),
        _keys(ev),
        f"<h3>{_bi('Operations over time (audit log)', '操作时间分布 (审计日志)')}</h3>",
        operations_chart(ev["audit"].get("per_day") or {}, ev["audit"].get("per_hour")),
        _h2(
            "items",
            5,
            "Level-3 item matrix: data at rest and key management",
            "三级指标对照: 数据存储与密钥管理",
        ),
        _items(ev),
        _h2("scores", 6, "Self-computed D/A/K scores", "D/A/K 自评分"),
        _scores(ev),
        _h2("products", 7, "Certified products", "商用密码产品认证"),
        f"<ul>{products}</ul>",
        f'<p class="muted">{_bi(*_NOT_CERTIFIED)}</p>',
        _h2("findings", 8, "All findings", "全部发现"),
        _findings(ev),
        _h2("sources", 9, "Sources and method", "数据来源与方法"),
        _sources(ev),
        "<footer>evidence.json holds every finding with its source; manifest.json lists the SM3 digest "
        "of every file and manifest.json.sig is its SM2 signature (user ID 1234567812345678). "
        "Verify: <code>guomi assess verify DIR</code>.</footer>",
        f"</main><script>{_LAYOUT_CHECK}</script></body></html>",
    ]
    return "\n".join(parts) + "\n"
