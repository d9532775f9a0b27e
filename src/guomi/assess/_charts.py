"""Inline SVG charts for the report (no scripts, no external assets; they print as drawn).

Layer: ``guomi.assess``. Each function returns one ``<svg>`` element as text; every label is
escaped. Widths are in user units with a ``viewBox``, so the charts scale to the page.
"""

from __future__ import annotations

from html import escape
from typing import Any

__all__ = ["coverage_chart", "key_age_chart", "operations_chart"]

COLORS = {"guomi": "#2e7d32", "legacy": "#ef6c00", "pii": "#c62828", "other": "#9e9e9e"}
_OP_GROUPS = {
    "crypto": (
        "encrypt",
        "decrypt",
        "rewrap",
        "datakey-wrapped",
        "datakey-plaintext",
        "sign",
        "verify",
        "hmac",
    ),
    "lifecycle": ("create", "rotate", "auto-rotate", "config", "trim", "backup", "restore", "delete"),
}
_OP_COLORS = {"crypto": "#1565c0", "lifecycle": "#2e7d32", "other": "#9e9e9e", "denied": "#c62828"}


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (
        f'<svg class="chart" width="{width}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMinYMin meet">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _legend(items: list[tuple[str, str]], y: int, x0: int = 10) -> list[str]:
    out, x = [], x0
    for label, color in items:
        out.append(f'<rect x="{x}" y="{y - 10}" width="12" height="12" fill="{color}"/>')
        out.append(f'<text x="{x + 16}" y="{y}" class="lg">{escape(label)}</text>')
        x += 16 + 7 * len(label) + 24
    return out


def _short(text: str, n: int = 38) -> str:
    return text if len(text) <= n else "…" + text[-(n - 1) :]


def coverage_chart(rows: list[dict[str, Any]]) -> str:
    """Stacked horizontal bars per table: guomi ciphertext / legacy / plaintext PII / other."""
    if not rows:
        return '<p class="muted">No sampled tables. 无抽样数据表。</p>'
    label_w, bar_w, row_h = 300, 560, 26
    height = 40 + row_h * len(rows)
    body = _legend(
        [
            ("guomi ciphertext 国密密文", COLORS["guomi"]),
            ("legacy 旧算法", COLORS["legacy"]),
            ("plaintext PII 明文个人信息", COLORS["pii"]),
            ("other 其他", COLORS["other"]),
        ],
        16,
    )
    for i, r in enumerate(rows):
        y = 30 + i * row_h
        body.append(f'<text x="0" y="{y + 15}" class="lb">{escape(_short(r["table"]))}</text>')
        x = float(label_w)
        total = max(r["values"], 1)
        for part in ("guomi", "legacy", "pii", "other"):
            w = bar_w * max(r[part], 0) / total
            if w > 0:
                body.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="18" fill="{COLORS[part]}"/>')
            x += w
        pct = 100 * r["guomi"] / total
        body.append(f'<text x="{label_w + bar_w + 6}" y="{y + 14}" class="lb">{pct:.0f}%</text>')
    return _svg(label_w + bar_w + 50, height, body, "Coverage per table / 各表加密覆盖率")


def key_age_chart(keys: list[dict[str, Any]], period_days: int) -> str:
    """Days since each key's last rotation (or creation), against the declared period."""
    if not keys:
        return '<p class="muted">No keys visible. 无可见密钥。</p>'
    label_w, bar_w, row_h = 220, 600, 24
    top = max([period_days * 1.25] + [k["days_since_rotation"] or 0 for k in keys])
    height = 46 + row_h * len(keys)
    body = _legend(
        [("within period 周期内", "#2e7d32"), ("overdue 超期未轮换", "#c62828")],
        14,
    )
    for i, k in enumerate(keys):
        y = 26 + i * row_h
        days = k["days_since_rotation"] or 0
        w = bar_w * days / top
        color = "#c62828" if k["rotation_due"] else "#2e7d32"
        body.append(
            f'<text x="0" y="{y + 14}" class="lb">'
            f"{escape(_short(k['name'], 28))} (v{k['latest_version']})</text>"
        )
        body.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="16" fill="{color}"/>')
        body.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" class="lb">{days:.0f} d</text>')
    px = label_w + bar_w * period_days / top
    body.append(
        f'<line x1="{px:.1f}" y1="20" x2="{px:.1f}" y2="{height - 14}" stroke="#000" stroke-dasharray="4 3"/>'
    )
    body.append(f'<text x="{px + 4:.1f}" y="{height - 2}" class="lg">period 周期 {period_days} d</text>')
    return _svg(label_w + bar_w + 80, height, body, "Days since last rotation / 距上次轮换天数")


def _group(op: str) -> str:
    for name, ops in _OP_GROUPS.items():
        if op in ops:
            return name
    return "other"


def operations_chart(
    per_day: dict[str, dict[str, int]], per_hour: dict[str, dict[str, int]] | None = None
) -> str:
    """Stacked bars of audit records per day (per hour when the log spans two days or less)."""
    if not per_day:
        return '<p class="muted">No audit records. 无审计记录。</p>'
    if per_hour and len(per_day) <= 2:
        per_day = per_hour
    days = sorted(per_day)[-60:]
    groups = []
    for d in days:
        g = {"crypto": 0, "lifecycle": 0, "other": 0}
        for op, n in per_day[d].items():
            g[_group(op)] += n
        groups.append(g)
    top = max(sum(g.values()) for g in groups) or 1
    chart_h, bar_w, left = 160, max(8, min(40, 760 // max(len(days), 1))), 50
    width = left + bar_w * len(days) + 20
    body = _legend(
        [
            ("key use 密钥使用", _OP_COLORS["crypto"]),
            ("life cycle 生命周期", _OP_COLORS["lifecycle"]),
            ("other 其他", _OP_COLORS["other"]),
        ],
        14,
    )
    base = 30 + chart_h
    for i, (d, g) in enumerate(zip(days, groups, strict=True)):
        x = left + i * bar_w
        y = float(base)
        for name in ("crypto", "lifecycle", "other"):
            h = chart_h * g[name] / top
            if h > 0:
                y -= h
                body.append(
                    f'<rect x="{x + 1}" y="{y:.1f}" width="{bar_w - 2}" height="{h:.1f}" '
                    f'fill="{_OP_COLORS[name]}">'
                    f"<title>{escape(d)} {name}: {g[name]}</title></rect>"
                )
        if i == 0 or i == len(days) - 1 or len(days) <= 8:
            body.append(f'<text x="{x}" y="{base + 14}" class="lg">{escape(d[5:].replace("T", " "))}</text>')
    body.append(f'<line x1="{left}" y1="{base}" x2="{width - 10}" y2="{base}" stroke="#444"/>')
    body.append(f'<text x="0" y="40" class="lg">{top}</text><text x="0" y="{base}" class="lg">0</text>')
    return _svg(max(width, 420), base + 22, body, "Operations per day / 每日操作数")
