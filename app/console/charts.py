"""Charts as inline SVG, drawn on the server: no JavaScript chart library, nothing to download.

Each function returns markup that is safe to embed (every label is escaped); bars carry a <title> so a
pointer or a screen reader gets the exact value.
"""

from __future__ import annotations

from html import escape
from typing import Final

from markupsafe import Markup

WIDTH: Final = 640
HEIGHT: Final = 220
PAD_LEFT: Final = 48
PAD_BOTTOM: Final = 28
PAD_TOP: Final = 12
COLORS: Final = ("#2563eb", "#16a34a", "#f59e0b", "#dc2626", "#7c3aed")


def _fmt(value: float, money: bool) -> str:
    if money:
        return f"${value:,.4f}" if value < 1 else f"${value:,.2f}"
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def _legend(names: list[str]) -> str:
    items = []
    x = PAD_LEFT
    for index, name in enumerate(names):
        color = COLORS[index % len(COLORS)]
        items.append(
            f'<rect x="{x}" y="{HEIGHT - 10}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + 14}" y="{HEIGHT - 1}" class="legend">{escape(name)}</text>'
        )
        x += 24 + 8 * len(name)
    return "".join(items)


def bars(days: list[str], series: list[tuple[str, list[float]]], *, money: bool = False) -> Markup:
    """Grouped vertical bars: one group per day, one bar per series."""
    top = max([v for _, values in series for v in values] + [0.0])
    scale = top or 1.0
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP - 14
    group = plot_w / max(1, len(days))
    bar_w = max(1.0, (group - 4) / max(1, len(series)))
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="4" y="{PAD_TOP + 4}" class="axis">{escape(_fmt(top, money))}</text>',
        f'<text x="4" y="{PAD_TOP + plot_h}" class="axis">0</text>',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - 8}" y2="{PAD_TOP + plot_h}" class="base"/>',
    ]
    for d, day in enumerate(days):
        x0 = PAD_LEFT + d * group + 2
        for s, (name, values) in enumerate(series):
            value = values[d] if d < len(values) else 0.0
            h = plot_h * value / scale
            parts.append(
                f'<rect class="bar" x="{x0 + s * bar_w:.1f}" y="{PAD_TOP + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{COLORS[s % len(COLORS)]}"><title>{escape(day)} · {escape(name)}: '
                f"{escape(_fmt(value, money))}</title></rect>"
            )
        if len(days) <= 16 or d % max(1, len(days) // 8) == 0:
            parts.append(
                f'<text x="{x0 + group / 2 - 2:.1f}" y="{PAD_TOP + plot_h + 12}" class="axis" '
                f'text-anchor="middle">{escape(day)}</text>'
            )
    parts.append(_legend([name for name, _ in series]))
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_share(days: list[str], outcomes: dict[str, list[float]]) -> Markup:
    """One 100 % bar per day split by outcome (days without turns stay empty)."""
    names = list(outcomes)
    plot_w, plot_h = WIDTH - PAD_LEFT - 8, HEIGHT - PAD_BOTTOM - PAD_TOP - 14
    group = plot_w / max(1, len(days))
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="4" y="{PAD_TOP + 4}" class="axis">100%</text>',
        f'<text x="4" y="{PAD_TOP + plot_h}" class="axis">0%</text>',
    ]
    for d, day in enumerate(days):
        total = sum(outcomes[name][d] for name in names)
        y = float(PAD_TOP + plot_h)
        x0 = PAD_LEFT + d * group + 2
        for s, name in enumerate(names):
            value = outcomes[name][d]
            if not total or not value:
                continue
            h = plot_h * value / total
            y -= h
            parts.append(
                f'<rect class="bar" x="{x0:.1f}" y="{y:.1f}" width="{max(1.0, group - 4):.1f}" height="{h:.1f}" '
                f'fill="{COLORS[s % len(COLORS)]}"><title>{escape(day)} · {escape(name)}: '
                f"{100 * value / total:.0f}% ({value:.0f})</title></rect>"
            )
        if len(days) <= 16 or d % max(1, len(days) // 8) == 0:
            parts.append(
                f'<text x="{x0 + group / 2 - 2:.1f}" y="{PAD_TOP + plot_h + 12}" class="axis" '
                f'text-anchor="middle">{escape(day)}</text>'
            )
    parts.append(_legend(names))
    parts.append("</svg>")
    return Markup("".join(parts))


def hbars(rows: list[tuple[str, int]]) -> Markup:
    """Horizontal bars, one per labelled count (the handoff waiting-time histogram)."""
    top = float(max([c for _, c in rows] + [0]) or 1)
    row_h = 26
    height = row_h * len(rows) + 8
    label_w = 110
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, count) in enumerate(rows):
        y = 4 + i * row_h
        w = (WIDTH - label_w - 60) * count / top
        parts.append(
            f'<text x="4" y="{y + 16}" class="axis">{escape(label)}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{COLORS[0]}">'
            f"<title>{escape(label)}: {count}</title></rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 16}" class="axis">{count}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def intervals(rows: list[tuple[str, str, float | None, tuple[float, float] | None]]) -> Markup:
    """Shares with their 95% intervals as error bars, one row per (metric, arm), on a 0-100 % axis: the arms
    of an experiment side by side. A row without data shows "no data" instead of a bar."""
    row_h = 22
    label_w = 190
    plot_w = WIDTH - label_w - 70
    height = row_h * len(rows) + 26
    arms = sorted({arm for _, arm, _, _ in rows})
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" xmlns="http://www.w3.org/2000/svg">',
        f'<text x="{label_w}" y="{height - 4}" class="axis">0%</text>',
        f'<text x="{label_w + plot_w}" y="{height - 4}" class="axis" text-anchor="end">100%</text>',
        f'<line x1="{label_w}" y1="{height - 16}" x2="{label_w + plot_w}" y2="{height - 16}" class="base"/>',
    ]
    for i, (metric, arm, value, ci) in enumerate(rows):
        y = 4 + i * row_h
        mid = y + row_h / 2
        color = COLORS[arms.index(arm) % len(COLORS)]
        parts.append(f'<text x="4" y="{mid + 4:.1f}" class="axis">{escape(metric)} · {escape(arm)}</text>')
        if value is None:
            parts.append(f'<text x="{label_w}" y="{mid + 4:.1f}" class="axis">no data</text>')
            continue
        w = plot_w * value
        low, high = ci if ci is not None else (value, value)
        x1, x2 = label_w + plot_w * low, label_w + plot_w * high
        interval = f"95% interval {100 * low:.0f}-{100 * high:.0f}%"
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{y + 5}" width="{w:.1f}" height="{row_h - 10}" fill="{color}" '
            f'opacity="0.55"><title>{escape(metric)} · arm {escape(arm)}: {100 * value:.1f}% ({interval})</title>'
            "</rect>"
            f'<line class="ci" x1="{x1:.1f}" y1="{mid:.1f}" x2="{x2:.1f}" y2="{mid:.1f}" stroke="#111" '
            'stroke-width="1.5"/>'
            f'<line class="ci" x1="{x1:.1f}" y1="{y + 3}" x2="{x1:.1f}" y2="{y + row_h - 3}" stroke="#111"/>'
            f'<line class="ci" x1="{x2:.1f}" y1="{y + 3}" x2="{x2:.1f}" y2="{y + row_h - 3}" stroke="#111"/>'
            f'<text x="{label_w + plot_w + 6}" y="{mid + 4:.1f}" class="axis">{100 * value:.0f}%</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
