"""A stage report's `stats` as HTML, for report.html: the shapes stages use (histograms,
{name: count}, confusion matrices, tables of records, what-if tables) drawn as inline SVG
charts (curate/report/charts.py) or tables, anything else as a readable table. Every value is
formatted by its type and its column's name, and HTML-escaped.
"""

from __future__ import annotations

import json
import re
from typing import Any

from curate.report.charts import (
    esc,
    fmt_num,
    fmt_pct,
    hbar_chart,
    heat_table,
    histogram,
    table,
    truncate,
)

MAX_ROWS = 40
"""Table rows shown before the rest fold away."""
MAX_ROWS_ALL = 500
RAW_JSON_CHARS = 200_000
TEXT_CHARS = 600

PCT_NAME = re.compile(r"(^|_)(share|rate|fraction|ratio_of|proportion)(_|$)|share_|_share|rate_|_rate")
PP_NAME = re.compile(r"(^|_)(change|difference)$")
"""Columns that hold a difference of two shares: shown in percentage points."""
PREFERRED_MEASURES = ("rows", "removed", "first_failed", "failed", "issues", "label_issues", "count", "n", "size")


# ------------------------------------------------------------------------------ cells


class Html(str):
    """A string that is HTML already (built here from escaped parts): `cell` keeps it."""


def _inline_code(text: str) -> str:
    """Escaped text with `backticked` parts as <code> (escape first, so it stays safe)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", esc(text))


def cell(value: Any, name: str = "") -> str:
    """One value as safe HTML, formatted by its type and its column's name."""
    if isinstance(value, Html):
        return str(value)
    if value is None:
        return '<span class="muted">–</span>'
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and PP_NAME.search(name) and -1.0 <= value <= 1.0:
        return f"{value * 100:+.2f} pp".replace("-", "−")
    if isinstance(value, float) and PCT_NAME.search(name) and -1.0 <= value <= 1.0 and "percent" not in name:
        return fmt_pct(value, 2 if abs(value) < 0.1 else 1)
    if isinstance(value, (int, float)):
        return fmt_num(value)
    if isinstance(value, str):
        if name in ("sentence", "message", "finding", "summary"):
            return f'<div class="sentence">{_inline_code(value)}</div>'
        if len(value) > 80 or "\n" in value:
            return f'<div class="snip" dir="auto">{esc(truncate(value, TEXT_CHARS))}</div>'
        return f'<span dir="auto">{esc(value)}</span>'
    if isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            shown = ", ".join(esc(truncate(str(v), 120)) for v in value[:30])
            return shown + (f" <span class=\"muted\">(+{len(value) - 30:,})</span>" if len(value) > 30 else "")
        return f'<pre>{esc(truncate(json.dumps(value, ensure_ascii=False, default=str), 2000))}</pre>'
    if isinstance(value, dict):
        if value and all(isinstance(v, dict) and all(_scalar(x) for x in v.values()) for v in value.values()):
            return _dict_table(value, first="")  # e.g. a what-if table inside a rule's row
        if value and all(_scalar(v) for v in value.values()):
            return "<br>".join(f'<span class="muted">{esc(k)}:</span> {cell(v, str(k))}' for k, v in value.items())
        return f'<pre>{esc(truncate(json.dumps(value, ensure_ascii=False, default=str), 2000))}</pre>'
    return esc(value)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def humanize(key: str) -> str:
    text = str(key).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def folded_table(rows: list[list[str]], headers: list[str], numeric_from: int = 1) -> str:
    """A table whose rows beyond MAX_ROWS fold into a <details>."""
    shown = table(headers, rows[:MAX_ROWS], numeric_from=numeric_from)
    out = f'<div class="scroll">{shown}</div>'
    if len(rows) > MAX_ROWS:
        rest = rows[MAX_ROWS:MAX_ROWS_ALL]
        more = f" (first {MAX_ROWS_ALL:,} of {len(rows):,})" if len(rows) > MAX_ROWS_ALL else ""
        out += f'<details><summary>{len(rows) - MAX_ROWS:,} more rows{more}</summary><div class="scroll">{table(headers, rest, numeric_from=numeric_from)}</div></details>'
    return out


def kv_table(items: dict[str, Any]) -> str:
    rows = "".join(f"<tr><th>{esc(humanize(k))}</th><td>{cell(v, str(k))}</td></tr>" for k, v in items.items())
    return f'<table class="kv"><tbody>{rows}</tbody></table>'


def records_table(records: list[dict[str, Any]]) -> str:
    columns: list[str] = list(dict.fromkeys(k for r in records for k in r))
    rows = [[cell(r.get(c), c) for c in columns] for r in records]
    first_numeric = next((i for i, c in enumerate(columns) if all(_number(r.get(c)) or r.get(c) is None for r in records) and i > 0), len(columns))
    # right-align only when every column from there on is numeric; otherwise left-align all
    numeric_from = first_numeric if all(all(_number(r.get(c)) or r.get(c) is None for r in records) for c in columns[first_numeric:]) else len(columns)
    return folded_table(rows, [humanize(c) for c in columns], numeric_from=numeric_from)


def _dict_table(data: dict[str, dict[str, Any]], first: str = "") -> str:
    columns = list(dict.fromkeys(k for inner in data.values() for k in inner))
    rows = [[f'<span dir="auto">{esc(key)}</span>'] + [cell(inner.get(c), c) for c in columns] for key, inner in data.items()]
    return folded_table(rows, [first] + [humanize(c) for c in columns])


# ------------------------------------------------------------------------------ stats


def _histogram_like(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("counts"), list) and all(_number(c) for c in value["counts"])


def _thresholds(spec: Any) -> dict[str, float]:
    """Thresholds in the shapes stages use: a number, {name: number}, or [{rule, keep_if, threshold}]."""
    if _number(spec):
        return {"threshold": float(spec)}
    if isinstance(spec, dict):
        return {str(k): float(v) for k, v in spec.items() if _number(v)}
    if isinstance(spec, list):
        out = {}
        for item in spec:
            if isinstance(item, dict) and _number(item.get("threshold")):
                name = str(item.get("rule") or item.get("name") or "threshold")
                if item.get("keep_if"):
                    name += f" ({item['keep_if']})"
                out[name] = float(item["threshold"])
        return out
    return {}


def histogram_block(name: str, spec: dict[str, Any], width: int = 560, removed: list[float] | None = None,
                    extra_thresholds: dict[str, float] | None = None) -> str:
    """One histogram of a stats entry; `removed`: per bin, the rows the stage removed
    (stacked on the kept rest); `extra_thresholds` are drawn when the entry names none."""
    counts = spec["counts"]
    edges, open_end = histogram_edges(spec)
    thresholds = {}
    for key in ("thresholds", "threshold"):
        thresholds.update(_thresholds(spec.get(key)))
    if not thresholds:
        thresholds = dict(extra_thresholds or {})
    chart = histogram(counts, edges, label=f"{name}: histogram", thresholds=thresholds, x_title=name, width=width, open_end=open_end,
                      bin_labels=[str(i) for i in range(len(counts))], removed=removed)
    extra = {k: v for k, v in spec.items() if k not in ("counts", "edges", "bin_edges", "bins", "thresholds", "threshold", "note") and _scalar(v)}
    note = f'<div class="small muted">{", ".join(f"{esc(k)}: {cell(v, k)}" for k, v in extra.items())}</div>' if extra else ""
    return f"<div><h4>{esc(name)}</h4>{chart}{note}</div>"


def histogram_edges(spec: dict[str, Any]) -> tuple[list[float] | None, bool]:
    """A histogram entry's bin edges (len(counts) + 1) and whether its last bin is open."""
    counts = spec["counts"]
    edges = spec.get("edges") or spec.get("bin_edges") or spec.get("bins")
    open_end = False
    if isinstance(edges, list) and all(_number(e) for e in edges) and edges:
        edges = [float(e) for e in edges]
        if len(edges) == len(counts):  # the last bin is open-ended: [last edge, ∞)
            step = edges[-1] - edges[-2] if len(edges) > 1 else 1.0
            edges = edges + [edges[-1] + (step or 1.0)]
            open_end = True
        elif len(edges) != len(counts) + 1:
            edges = None
    else:
        edges = None
    return edges, open_end


def histogram_entries(stats: dict[str, Any]) -> tuple[list[tuple[str, dict[str, Any]]], set[str]]:
    """Every histogram in a stage's stats as (name, {counts, edges}) and the top-level keys
    they came from: `{counts, edges}` entries, `{name: {counts, edges}}` groups, and
    `*histogram` dicts keyed by numeric bin starts (`"0.0"`, `"0.1"`…)."""
    out: list[tuple[str, dict[str, Any]]] = []
    used: set[str] = set()
    for key, value in stats.items():
        if _histogram_like(value):
            out.append((str(key), value))
            used.add(key)
        elif isinstance(value, dict) and value and all(_histogram_like(v) for v in value.values()):
            out += [(str(k), v) for k, v in value.items()]
            used.add(key)
        elif isinstance(value, dict) and value and ("histogram" in key or "hist" in key.split("_")) and all(_number(v) for v in value.values()):
            lefts = _numeric_keys([str(k) for k in value])
            if lefts is not None and len(lefts) > 1:
                step = lefts[1] - lefts[0]
                out.append((str(key), {"counts": list(value.values()), "edges": lefts + [lefts[-1] + step]}))
                used.add(key)
    return out, used


def _numeric_keys(keys: list[str]) -> list[float] | None:
    try:
        values = [float(k) for k in keys]
    except ValueError:
        return None
    return values if any("." in k for k in keys) else None


def render_value(key: str, value: Any, depth: int = 0) -> str:
    title = f"<h4>{esc(humanize(key))}</h4>" if depth < 3 else f"<p><b>{esc(humanize(key))}</b></p>"
    if _histogram_like(value):
        return histogram_block(humanize(key), value)
    if isinstance(value, dict) and not value:
        return title + '<p class="muted">(none)</p>'
    if isinstance(value, dict) and all(_number(v) for v in value.values()):
        keys = [str(k) for k in value]
        if "histogram" in key or "hist" in key.split("_"):
            lefts = _numeric_keys(keys)
            counts = list(value.values())
            if lefts is not None and len(lefts) > 1:
                step = lefts[1] - lefts[0]
                edges = lefts + [lefts[-1] + step]
                chart = histogram(counts, edges, label=humanize(key), width=620)
            else:
                chart = histogram(counts, None, bin_labels=keys, label=humanize(key), x_title=key.replace("_histogram", "").replace("_", " "), y_title="count", width=620)
            return title + chart
        items = sorted(value.items(), key=lambda kv: -float(kv[1]))
        if "confusion" in key:
            return title + kv_table(dict(items))
        return title + hbar_chart([(str(k), float(v)) for k, v in items], label=humanize(key),
                                  value_text=[cell(v, key) for _, v in items])
    if isinstance(value, dict) and all(_histogram_like(v) for v in value.values()):
        blocks = "".join(histogram_block(str(k), v) for k, v in value.items())
        return f'{title}<div class="grid">{blocks}</div>'
    if isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
        inner = list(value.values())
        if "confusion" in key or _square_matrix(value):
            rows = list(value)
            cols = list(dict.fromkeys(c for v in inner for c in v))
            cells = {(str(r), str(c)): value[r][c] for r in rows for c in value[r] if _number(value[r][c])}
            return title + '<div class="scroll">' + heat_table([str(r) for r in rows], [str(c) for c in cols], cells, corner="given \\ other", diagonal=True) + "</div>"
        if all(all(_scalar(x) or _small(x) for x in v.values()) for v in inner):
            chart = _measure_chart(key, [{"_": str(k), **v} for k, v in value.items()])
            return title + chart + _dict_table(value)
        if depth < 2:
            return title + "".join(render_value(str(k), v, depth + 1) for k, v in value.items())
    if isinstance(value, dict) and all(isinstance(v, list) for v in value.values()):
        body = "".join(
            f"<p><b>{esc(k)}</b> <span class=\"muted\">({len(v):,})</span></p>" + (records_table(v) if v and all(isinstance(x, dict) for x in v) else cell(v))
            for k, v in value.items()
        )
        return title + body
    if isinstance(value, dict):
        scalars = {k: v for k, v in value.items() if _scalar(v)}
        rest = {k: v for k, v in value.items() if not _scalar(v)}
        out = title + (kv_table(scalars) if scalars else "")
        if depth < 2:
            out += "".join(render_value(str(k), v, depth + 1) for k, v in rest.items())
        elif rest:
            out += f"<pre>{esc(truncate(json.dumps(rest, indent=1, ensure_ascii=False, default=str), 5000))}</pre>"
        return out
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        nested = [c for c in dict.fromkeys(k for r in value for k in r) if _nested_tables(value, c)]
        flat = [{k: v for k, v in r.items() if k not in nested} for r in value]
        out = title + _measure_chart(key, flat) + records_table(flat)
        for column in nested:
            out += f"<h4>{esc(humanize(column))}</h4>" + _spread_table(flat, value, column)
        return out
    if isinstance(value, list) and value and all(_number(v) for v in value) and ("hist" in key or "counts" in key):
        return title + histogram(value, None, label=humanize(key), width=620)
    if isinstance(value, list):
        return title + (f"<p>{cell(value)}</p>" if value else '<p class="muted">(none)</p>')
    return title + f"<p>{cell(value, key)}</p>"


def _small(value: Any) -> bool:
    return isinstance(value, (dict, list)) and len(json.dumps(value, default=str)) < 600


def _square_matrix(value: dict[str, dict[str, Any]]) -> bool:
    rows = set(map(str, value))
    cols = {str(c) for v in value.values() for c in v}
    return len(rows) > 1 and cols <= rows and all(all(_number(x) for x in v.values()) for v in value.values())


def _nested_tables(records: list[dict[str, Any]], column: str) -> bool:
    """A column whose every value is a small table ({variant: {measure: number}}), e.g. a what-if."""
    values = [r.get(column) for r in records]
    return all(isinstance(v, dict) and v and all(isinstance(x, dict) and all(_scalar(y) for y in x.values()) for x in v.values()) for v in values)


def _row_labels(records: list[dict[str, Any]]) -> list[str] | None:
    """Names for records: the fewest short text columns that tell them apart."""
    text_columns = [c for c in records[0] if all(isinstance(r.get(c), str) and len(r.get(c)) <= 40 for r in records)]
    for width in (1, 2):
        for start in range(max(len(text_columns) - width + 1, 0)):
            names = [" · ".join(str(r[c]) for c in text_columns[start:start + width]) for r in records]
            if len(set(names)) == len(names):
                return names
    return None


def _spread_table(flat: list[dict[str, Any]], records: list[dict[str, Any]], column: str) -> str:
    """A nested column as its own table: one row per record, one column per variant. Variant
    names that differ only in a parenthesised value (`0.9x threshold (45)`) share a column."""
    labels = _row_labels(flat) or [str(i + 1) for i in range(len(records))]
    def base(name: str) -> tuple[str, str]:
        match = re.match(r"^(.*?)\s*\(([^()]*)\)$", str(name))
        return (match.group(1), match.group(2)) if match else (str(name), "")
    variants = list(dict.fromkeys(base(k)[0] for r in records for k in r[column]))
    rows = []
    for label, record in zip(labels, records):
        cells = {base(k)[0]: (base(k)[1], inner) for k, inner in record[column].items()}
        row = [f'<span dir="auto">{esc(label)}</span>']
        for variant in variants:
            if variant not in cells:
                row.append('<span class="muted">–</span>')
                continue
            note, inner = cells[variant]
            lines = ([f'<span class="muted">{esc(note)}</span>'] if note else []) + [f'{esc(k)} {cell(v, str(k))}' for k, v in inner.items()]
            row.append("<br>".join(lines))
        rows.append(row)
    return folded_table(rows, [""] + variants)


def _measure_chart(key: str, records: list[dict[str, Any]]) -> str:
    """A bar chart of the records' main count (rows, removed, failed, …), when they have one
    and names that tell them apart; not for records that are sentences (findings)."""
    if len(records) < 2 or any(c in records[0] for c in ("sentence", "message")):
        return ""
    numeric = [c for c in records[0] if all(_number(r.get(c)) for r in records)]
    measure = next((m for m in PREFERRED_MEASURES if m in numeric), None)
    labels = _row_labels(records)
    if measure is None or labels is None:
        return ""
    share = "share" if all(_number(r.get("share")) for r in records) else None
    ordered = sorted(zip(labels, records), key=lambda lr: -float(lr[1][measure]))
    items = [(label, float(r[measure])) for label, r in ordered]
    texts = [fmt_num(r[measure]) + (f" ({fmt_pct(r[share])})" if share else "") for _, r in ordered]
    return hbar_chart(items, label=f"{humanize(key)} by {measure}", value_text=texts, max_items=20) + \
        f'<p class="small muted">Bars: {esc(measure.replace("_", " "))}.</p>'


def render_stats(report: dict[str, Any], skip: set[str] | None = None) -> str:
    """A stage's `stats` as tables and charts, all of them as JSON at the end; `skip`:
    keys drawn elsewhere on the page (the stage section's histograms)."""
    stats = report.get("stats") or {}
    if not stats:
        return ""
    scalars = {k: v for k, v in stats.items() if _scalar(v)}
    parts = [kv_table(scalars)] if scalars else []
    for key, value in stats.items():
        if key in scalars or key in (skip or ()):
            continue
        try:
            parts.append(render_value(str(key), value))
        except Exception as exc:
            parts.append(f"<h4>{esc(humanize(key))}</h4><p class=\"muted\">(could not be drawn: {esc(type(exc).__name__)}; see the JSON below)</p>")
    raw = json.dumps(stats, indent=1, ensure_ascii=False, default=str)
    cut = f" (first {RAW_JSON_CHARS:,} characters)" if len(raw) > RAW_JSON_CHARS else ""
    parts.append(f"<details><summary>All statistics as JSON{cut}</summary><pre>{esc(raw[:RAW_JSON_CHARS])}</pre></details>")
    return "".join(parts)
