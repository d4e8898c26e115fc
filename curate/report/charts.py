"""Inline SVG charts and HTML helpers for report.html: no JavaScript, no external files.

Every piece of text that reaches the page goes through `esc` (element text and attribute
values alike); numbers are formatted here. Charts size themselves with a viewBox, so
they scale with the page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from html import escape
from typing import Any

from curate.console import visible_controls

KEPT = "#3b6fd4"
REMOVED = "#d4583b"
NEUTRAL = "#8a94a6"
THRESHOLD = "#c0262d"
GRID = "#e3e6eb"
INK = "#1d2330"
MUTED = "#5c6576"


HTML_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")
"""The control characters HTML does not allow in text: a browser drops NUL unseen (the
data's n\\0ul shows as nul) and the page becomes a binary file to grep, diff and git.
Tab, line feed, form feed and carriage return stay; bidi controls are isolated by the
page's dir="auto" elements."""


def esc(value: Any) -> str:
    """Text or attribute value, HTML-escaped (quotes too), its control characters shown
    as symbols (␀), as `curate show` shows them."""
    return escape(visible_controls("" if value is None else str(value), HTML_CONTROLS), quote=True)


def esc_isolated(value: Any) -> str:
    """A value from the data for a chart's tooltip (<title>, plain text, where no element
    can isolate it), escaped and set between FIRST STRONG ISOLATE and POP DIRECTIONAL
    ISOLATE: a right-to-left override in a label cannot reorder curate's `: 50.0% of 20`
    after it."""
    return f"\u2068{esc(value)}\u2069"


def fmt_int(value: Any) -> str:
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return esc(value)


def fmt_pct(fraction: float | None, digits: int = 1) -> str:
    """A share as a percentage; one row of 3,000 is "<0.1%", not "0.0%", and 2,999 of
    3,000 ">99.9%", not "100.0%"."""
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return "–"
    text = f"{fraction * 100:.{digits}f}%"
    step = f"{10 ** -digits:.{digits}f}"
    if 0 < fraction and float(text[:-1]) == 0:
        return f"<{step}%"
    if fraction < 1 and float(text[:-1]) == 100:
        return f">{100 - float(step):.{digits}f}%"
    return text


def fmt_num(value: Any) -> str:
    """A number as a reader wants it: ints with separators, floats with 4 significant digits."""
    if isinstance(value, bool) or value is None:
        return esc(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return esc(value)
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:,.4g}" if abs(value) >= 1000 else f"{value:.4g}"
    return esc(value)


def fmt_delta(value: float | None, kind: str = "int", bad: str | None = None) -> str:
    """A signed change (`int` rows, `pp` percentage points of a fraction, `float`),
    coloured by what it means: `bad="up"` (a rise in removals) or `"down"` (a fall in kept
    rows) is red that way and neutral the other; `None`: neutral both ways."""
    if value is None:
        return '<span class="muted">–</span>'
    if kind == "pp":
        text = f"{value * 100:+.2f} pp"
    elif kind == "float":
        text = f"{value:+.4g}"
    else:
        text = f"{int(value):+,}"
    text = text.replace("-", "−")
    worse = (bad == "up" and value > 0) or (bad == "down" and value < 0)
    css = "delta-zero" if value == 0 else ("delta-bad" if worse else "delta-neutral")
    return f'<span class="{css}">{text}</span>'


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shorten_middle(text: str, limit: int) -> str:
    """A chart label cut in the middle: names that share a prefix (`length_filter_min_…`,
    a label's long common start) stay apart by their ends. The full text is in the <title>."""
    if len(text) <= limit:
        return text
    head = (limit - 1) // 2
    return text[:head] + "…" + text[len(text) - (limit - 1 - head):]


# ------------------------------------------------------------------------------ tables


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], *, css: str = "", numeric_from: int = 1) -> str:
    """An HTML table. `headers` are plain text (escaped here); cells are HTML already.
    Columns from `numeric_from` on are right-aligned."""
    head = "".join(
        f'<th class="{"num" if i >= numeric_from else ""}">{esc(h)}</th>' for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>" + "".join(f'<td class="{"num" if i >= numeric_from else ""}">{cell}</td>' for i, cell in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f'<table class="{esc(css)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def heat_table(row_labels: Sequence[str], col_labels: Sequence[str], values: dict[tuple[str, str], float], *,
               corner: str = "", diagonal: bool = False) -> str:
    """A matrix (e.g. given → suggested label) with cells shaded by value."""
    peak = max([v for v in values.values() if isinstance(v, (int, float))] or [1]) or 1
    head = f"<th>{esc(corner)}</th>" + "".join(f'<th class="num">{esc(c)}</th>' for c in col_labels)
    rows = []
    for r in row_labels:
        cells = [f"<th>{esc(r)}</th>"]
        for c in col_labels:
            v = values.get((r, c))
            if v is None or v == 0:
                cells.append('<td class="num muted">·</td>')
                continue
            alpha = 0.08 + 0.72 * (float(v) / peak)
            base = "59,111,212" if (diagonal and r == c) else "212,88,59"
            color = "#fff" if alpha > 0.5 else INK
            cells.append(f'<td class="num" style="background:rgba({base},{alpha:.2f});color:{color}">{fmt_num(v)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f'<table class="heat"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


# ------------------------------------------------------------------------------ charts


def _svg(width: float, height: float, body: str, label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'role="img" aria-label="{esc(label)}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{esc(label)}</title>{body}</svg>"
    )


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: int = 12, color: str = INK, weight: str = "normal") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" fill="{color}" '
        f'font-weight="{weight}">{esc(text)}</text>'
    )


def hbar_chart(items: Sequence[tuple[str, float]], *, label: str, value_text: Sequence[str] | None = None,
               color: str = KEPT, width: int = 720, label_width: int = 200, max_items: int = 25) -> str:
    """Horizontal bars, one per (label, value), largest scale = the largest value."""
    items = list(items)
    texts = list(value_text) if value_text is not None else [fmt_num(v) for _, v in items]
    hidden = 0
    if len(items) > max_items:
        hidden = len(items) - max_items
        items, texts = items[:max_items], texts[:max_items]
    if not items:
        return '<p class="muted">(no data)</p>'
    row_h, pad = 22, 4
    peak = max((float(v) for _, v in items if isinstance(v, (int, float))), default=0) or 1
    bar_room = width - label_width - 90
    parts = []
    for i, ((name, value), text) in enumerate(zip(items, texts)):
        y = pad + i * row_h
        w = max(0.0, float(value or 0)) / peak * bar_room
        shown = shorten_middle(str(name), 30)
        parts.append(f"<g><title>{esc_isolated(name)}: {esc(text)}</title>")
        parts.append(_text(label_width - 8, y + 15, shown, anchor="end"))
        parts.append(f'<rect x="{label_width}" y="{y + 3}" width="{max(w, 1 if value else 0):.1f}" height="{row_h - 7}" fill="{color}" rx="2"/>')
        parts.append(_text(label_width + w + 6, y + 15, text, color=MUTED))
        parts.append("</g>")
    height = pad * 2 + len(items) * row_h
    svg = _svg(width, height, "".join(parts), label)
    if hidden:
        svg += f'<p class="muted">…and {hidden:,} more (see the table).</p>'
    return svg


def histogram(counts: Sequence[float], edges: Sequence[float] | None = None, *, label: str,
              bin_labels: Sequence[str] | None = None, thresholds: dict[str, float] | None = None,
              x_title: str = "", y_title: str = "rows", width: int = 720, height: int = 220,
              color: str = KEPT, open_end: bool = False, removed: Sequence[float] | None = None) -> str:
    """Vertical bars of equal width. With numeric `edges` (len(counts)+1) the ticks are the
    edges and each threshold is a dashed line placed inside the bin that holds it
    (linearly), so uneven bins (0, 10, 100, 1000) stay readable; threshold labels take
    the first row above the plot where they do not overlap another. `open_end`: the last
    bin holds everything from its left edge up. Without edges, bars take `bin_labels`.
    `removed`: per bin, the rows of `counts` the stage removed, stacked in red on the kept
    rest, with a legend."""
    counts = [float(c or 0) for c in counts]
    if not counts:
        return '<p class="muted">(no data)</p>'
    n = len(counts)
    numeric = edges is not None and len(edges) == n + 1 and all(isinstance(e, (int, float)) for e in edges)
    left, right, bottom = 60, 16, 44
    bar_w = (width - left - right) / n
    lanes = _threshold_lanes(thresholds if numeric else None, [float(e) for e in edges] if numeric else [], left, bar_w, open_end, width - right)
    legend = 18 if removed is not None else 0
    top = 14 + legend + 14 * (max((lane for *_, lane in lanes), default=-1) + 1)
    height = max(height, top + 120 + bottom)
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max(counts) or 1
    removed_counts = [min(float(r or 0), c) for r, c in zip(removed, counts)] if removed is not None else [0.0] * n
    parts = [f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="{NEUTRAL}"/>']
    whole = all(c == int(c) for c in counts)
    for frac in (0.5, 1.0):
        tick = round(peak * frac) if whole else peak * frac  # counts: whole-number ticks, placed where they fall
        y = top + plot_h - tick / peak * plot_h
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{GRID}"/>')
        parts.append(_text(left - 6, y + 4, fmt_num(int(tick) if tick == int(tick) else tick), anchor="end", size=11, color=MUTED))
    for i, c in enumerate(counts):
        x0 = left + i * bar_w
        if numeric:
            name = f"≥ {fmt_num(edges[i])}" if open_end and i == n - 1 else f"{fmt_num(edges[i])} – {fmt_num(edges[i + 1])}"
        else:
            name = bin_labels[i] if bin_labels and i < len(bin_labels) else str(i)
        h = c / peak * plot_h
        h_removed = removed_counts[i] / peak * plot_h
        detail = f"{fmt_num(int(c) if c == int(c) else c)}"
        if removed is not None:
            detail += f" ({fmt_num(int(c - removed_counts[i]))} kept, {fmt_num(int(removed_counts[i]))} removed)"
        parts.append(
            f'<g><title>{esc_isolated(name)}: {detail}</title>'
            f'<rect x="{x0 + 0.5:.1f}" y="{top + plot_h - h:.1f}" width="{max(bar_w - 1, 0.5):.1f}" height="{h - h_removed:.1f}" fill="{color}"/>'
            + (f'<rect x="{x0 + 0.5:.1f}" y="{top + plot_h - h_removed:.1f}" width="{max(bar_w - 1, 0.5):.1f}" height="{h_removed:.1f}" fill="{REMOVED}"/>' if h_removed else "")
            + "</g>"
        )
    step = max(1, math.ceil((n + 1) / 10))
    if numeric:
        last = n - 1 if open_end else n
        for i in range(0, last + 1, step):
            parts.append(_text(left + i * bar_w, top + plot_h + 15, fmt_num(edges[i]), anchor="middle", size=11, color=MUTED))
        if open_end:
            parts.append(_text(left + (n - 0.5) * bar_w, top + plot_h + 15, f"≥{fmt_num(edges[n - 1])}" if (n - 1) % step else "→", anchor="middle", size=11, color=MUTED))
    else:
        for i in range(0, n, step):
            name = bin_labels[i] if bin_labels and i < len(bin_labels) else str(i)
            parts.append(_text(left + (i + 0.5) * bar_w, top + plot_h + 15, truncate(str(name), 10), anchor="middle", size=11, color=MUTED))
    if x_title:
        parts.append(_text(left + plot_w / 2, height - 6, x_title, anchor="middle", size=11, color=MUTED))
    if y_title:
        parts.append(f'<text x="12" y="{top + plot_h / 2:.0f}" transform="rotate(-90 12 {top + plot_h / 2:.0f})" text-anchor="middle" font-size="11" fill="{MUTED}">{esc(y_title)}</text>')
    if removed is not None:
        parts.append(f'<rect x="{left}" y="4" width="11" height="11" fill="{color}"/>' + _text(left + 15, 14, "kept", size=11, color=MUTED))
        parts.append(f'<rect x="{left + 60}" y="4" width="11" height="11" fill="{REMOVED}"/>' + _text(left + 75, 14, "removed by this stage", size=11, color=MUTED))
    label_top = 14 + legend
    for name, value, x, anchor, lane in lanes:
        y_label = label_top + 14 * lane
        parts.append(f'<line x1="{x:.1f}" y1="{y_label + 2}" x2="{x:.1f}" y2="{top + plot_h}" stroke="{THRESHOLD}" stroke-width="2" stroke-dasharray="5 3"><title>{esc_isolated(name)} {esc(fmt_num(value))}</title></line>')
        dx = -4 if anchor == "end" else 4
        parts.append(_text(x + dx, y_label, f"{truncate(name, 40)} {fmt_num(value)}", anchor=anchor, size=11, color=THRESHOLD, weight="bold"))
    return _svg(width, height, "".join(parts), label)


LABEL_CHAR_PX = 6.6
"""Width of one character of an 11px bold label, generously (labels must never touch)."""


def _threshold_lanes(thresholds: dict[str, float] | None, edges: list[float], left: float, bar_w: float, open_end: bool,
                     right_edge: float) -> list[tuple[str, float, float, str, int]]:
    """(name, value, x, anchor, lane) per threshold: each label goes to the first row
    (lane) above the plot where it overlaps no other label; a label reads leftwards from
    its line when it would cross the chart's right edge."""
    placed: list[tuple[str, float, float, str, int]] = []
    taken: dict[int, list[tuple[float, float]]] = {}
    items = sorted(((str(k), float(v)) for k, v in (thresholds or {}).items() if isinstance(v, (int, float))), key=lambda kv: kv[1])
    for name, value in items:
        x = _position(value, edges, left, bar_w, open_end)
        text_w = (len(truncate(name, 40)) + 1 + len(fmt_num(value))) * LABEL_CHAR_PX + 6
        anchor = "end" if x + text_w > right_edge else "start"
        span = (x - text_w, x) if anchor == "end" else (x, x + text_w)
        lane = 0
        while any(a < span[1] and span[0] < b for a, b in taken.get(lane, [])):
            lane += 1
        taken.setdefault(lane, []).append(span)
        placed.append((name, value, x, anchor, lane))
    return placed


def _position(value: float, edges: list[float], left: float, bar_w: float, open_end: bool) -> float:
    """x of a value on an equal-width-bin axis: linear inside the bin that holds it."""
    n = len(edges) - 1
    if value <= edges[0]:
        return left
    for i in range(n):
        lo, hi = edges[i], edges[i + 1]
        if lo <= value < hi or (i == n - 1 and value <= hi and not open_end):
            return left + (i + (value - lo) / ((hi - lo) or 1)) * bar_w
    if open_end and value >= edges[n - 1]:
        return left + (n - 0.5) * bar_w
    return left + n * bar_w


def funnel(steps: Sequence[tuple[str, int, int]], total: int, *, label: str, width: int = 560) -> str:
    """One bar per step: rows after the step (blue) and the rows it removed (red), on the
    scale of the run's input rows. Narrow enough to stay readable on a phone."""
    total = max(total, 1)
    label_w, row_h, pad = 140, 30, 6
    bar_room = width - label_w - 150
    parts = []
    for i, (name, after, removed) in enumerate(steps):
        y = pad + i * row_h
        w_after = after / total * bar_room
        w_removed = removed / total * bar_room
        parts.append(f"<g><title>{esc_isolated(name)}: {after:,} rows after, {removed:,} removed</title>")
        parts.append(_text(label_w - 8, y + 19, shorten_middle(name, 20), anchor="end", weight="bold" if i == 0 else "normal"))
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{max(w_after, 0.5):.1f}" height="{row_h - 10}" fill="{KEPT}" rx="2"/>')
        if removed:
            parts.append(f'<rect x="{label_w + w_after:.1f}" y="{y + 4}" width="{max(w_removed, 1):.1f}" height="{row_h - 10}" fill="{REMOVED}" opacity="0.75" rx="2"/>')
        note = f"{after:,}" + (f"  (−{removed:,})" if removed else "")
        parts.append(_text(label_w + w_after + w_removed + 6, y + 19, note, color=MUTED))
        parts.append("</g>")
    legend_y = pad + len(steps) * row_h + 8
    parts.append(f'<rect x="{label_w}" y="{legend_y}" width="12" height="12" fill="{KEPT}"/>')
    parts.append(_text(label_w + 18, legend_y + 11, "rows after the step", size=11, color=MUTED))
    parts.append(f'<rect x="{label_w + 160}" y="{legend_y}" width="12" height="12" fill="{REMOVED}" opacity="0.75"/>')
    parts.append(_text(label_w + 178, legend_y + 11, "removed by the step", size=11, color=MUTED))
    return _svg(width, legend_y + 22, "".join(parts), label)


def meter(fraction: float, color: str = KEPT, width: int = 120) -> str:
    """A small inline bar for a share (0–1) inside a table cell."""
    fraction = min(max(float(fraction or 0), 0.0), 1.0)
    return (
        f'<svg class="meter" width="{width}" height="10" viewBox="0 0 {width} 10" aria-hidden="true">'
        f'<rect width="{width}" height="10" fill="{GRID}" rx="2"/>'
        f'<rect width="{fraction * width:.1f}" height="10" fill="{color}" rx="2"/></svg>'
    )
