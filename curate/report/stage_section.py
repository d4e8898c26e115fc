"""One stage's section of report.html: its key numbers, reasons, samples with what
decided them, histograms of kept and removed rows, and removal bars per language and
per slice, all folded in a `<details>`."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import polars as pl

from curate.report.charts import (
    KEPT,
    REMOVED,
    esc,
    fmt_int,
    fmt_pct,
    hbar_chart,
    meter,
)
from curate.report.compare import ORIGINAL_LABEL, language_column, relabel_stage
from curate.report.rows import RunRows
from curate.report.samples import StageSamples, criteria_for
from curate.report.stats import (
    folded_table,
    histogram_block,
    histogram_edges,
    histogram_entries,
    render_stats,
)


def _column_for(name: str, columns: list[str]) -> str | None:
    """The annotation column a histogram named `name` counts (`non_symbol_word_count` →
    `quality_non_symbol_word_count`, `score_histogram` → `lang_score`)."""
    base = re.sub(r"_?hist(ogram)?$", "", name)
    for candidate in (name, base):
        for column in columns:
            if column == candidate or column.endswith("_" + candidate):
                return column
    return None


def _criteria_thresholds(explain: dict[str, Any], column: str) -> dict[str, float]:
    """Numeric thresholds the stage declared on `column`, by reason (and per language)."""
    out: dict[str, float] = {}
    for reason, criteria in (explain.get("reasons") or {}).items():
        for c in criteria:
            if c["column"] == column and isinstance(c.get("threshold"), (int, float)) and not isinstance(c.get("threshold"), bool):
                out[reason.rstrip(":")] = float(c["threshold"])
                for value, threshold in ((c.get("by") or {}).get("thresholds") or {}).items():
                    if threshold != c["threshold"]:
                        out[f"{reason.rstrip(':')}[{value}]"] = float(threshold)
    return out


def _bin_counts(values: pl.Series, edges: list[float], open_end: bool) -> list[int]:
    """Counts per bin as the stages count: bin i holds [edges[i], edges[i+1]); values past
    the last edge go to the last bin."""
    n = len(edges) - 1
    finite = values.cast(pl.Float64).drop_nulls().drop_nans().to_numpy()
    index = np.clip(np.searchsorted(np.asarray(edges[:n], dtype=float), finite, side="right") - 1, 0, n - 1)
    return np.bincount(index, minlength=n).tolist()


def stage_histograms(report: dict[str, Any], fates: pl.DataFrame | None) -> tuple[str, set[str]]:
    """The stage's histograms, kept and removed rows stacked where the run's files hold
    the column, each threshold labelled; and the stats keys drawn."""
    entries, used = histogram_entries(report.get("stats") or {})
    if not entries:
        return "", used
    columns = report.get("annotation_columns") or []
    explain = report.get("explain") or {}
    removing = bool(report.get("removed_by_reason"))
    seen = fates.filter(pl.col("_stage") >= report["index"]) if fates is not None and removing else None
    unscored = explain.get("unscored")
    if seen is not None and unscored and unscored["column"] in seen.columns:  # counted as the stage counts
        seen = seen.filter(pl.col(unscored["column"]).ne_missing(unscored["value"]))
    removed_here = seen.filter(pl.col("_stage") == report["index"]) if seen is not None else None
    counts = report.get("removed_by_reason") or report.get("would_remove_by_reason") or {}
    decided = {c["column"] for reason, n in counts.items() if n for c in criteria_for(explain, reason)}
    deciding: list[str] = []
    others: list[str] = []
    for name, spec in entries:
        column = _column_for(name, columns)
        edges, open_end = histogram_edges(spec)
        shown, removed = spec, None
        if column and edges and seen is not None and removed_here is not None and column in seen.columns:
            counts = _bin_counts(seen[column], edges, open_end)
            if sum(counts):
                removed = _bin_counts(removed_here[column], edges, open_end)
                shown = {**spec, "counts": counts}
        title = column or name
        block = histogram_block(title, shown, removed=removed, extra_thresholds=_criteria_thresholds(explain, column) if column else None)
        (deciding if not decided or column in decided else others).append(block)
    note = '<p class="small muted">Rows the stage saw; red: the rows it removed. Dashed lines: the thresholds.</p>' if removing else ""
    out = "<h4>Distributions</h4>" + note + f'<div class="grid">{"".join(deciding)}</div>' if deciding else ""
    if others:
        out += f'<details><summary>{len(others)} more distributions <span class="muted small">(of annotations that decided no row here)</span></summary><div class="grid">{"".join(others)}</div></details>'
    return out, used


SLICE_VALUES = 12
"""Values per column in the removal-by-slice bars (the most frequent)."""


def slice_columns(manifest: dict[str, Any]) -> list[str]:
    """Columns to break each stage's removals down by: the language, the label, and the
    categorical columns a slices stage names."""
    pipeline = manifest.get("pipeline", {})
    columns = [language_column(manifest), (pipeline.get("input") or {}).get("label_column")]
    for stage in pipeline.get("stages", []):
        if stage.get("stage") == "slices":
            columns += [c for c in stage.get("columns") or [] if isinstance(c, str)]
    return [c for c in dict.fromkeys(columns) if c]


def relabelled_label(manifest: dict[str, Any], reports: list[dict[str, Any]]) -> tuple[str, int] | None:
    """The pipeline's label column and the index of the stage that relabelled it, when one did."""
    label, index = (manifest.get("pipeline", {}).get("input") or {}).get("label_column"), relabel_stage(reports)
    return (label, index) if label and index is not None else None


def removal_by_slice(report: dict[str, Any], fates: pl.DataFrame | None, columns: list[str], relabelled: tuple[str, int] | None) -> str:
    """Bars per value of each slice column: the share of the rows with that value that the
    stage removed, for the columns its rows carry (a language only after language ID), by
    the value the stage saw: a stage before the relabel stage (`relabelled_label`) saw each
    row's label as it entered the run, which the kept rows hold in `original_label`."""
    if fates is None or not report.get("rows_removed"):
        return ""
    seen = fates.filter(pl.col("_stage") >= report["index"])
    blocks = []
    for column in columns:
        if column not in seen.columns:  # an integer label or a bool slice column is categorical too, as slices reads it
            continue
        removed_here = seen.filter(pl.col("_stage") == report["index"])[column]
        if removed_here.null_count() == removed_here.len():
            continue  # the column does not exist yet at this stage
        value = pl.col(column)
        if relabelled is not None and column == relabelled[0] and report["index"] < relabelled[1] and ORIGINAL_LABEL in seen.columns:
            # a row removed before the relabel stage has no original_label: its label is the one it entered with
            value = pl.coalesce(pl.col(ORIGINAL_LABEL), value)
        counts = (seen.group_by(value.cast(pl.String).fill_null("(null)").alias("value"))
                  .agg(rows=pl.len(), removed=(pl.col("_stage") == report["index"]).sum())
                  .sort(["rows", "value"], descending=[True, False]).head(SLICE_VALUES)
                  .with_columns(rate=pl.col("removed") / pl.col("rows")).sort(["rate", "value"], descending=[True, False]))
        items = [(str(v), float(rate)) for v, rate in counts.select("value", "rate").iter_rows()]
        texts = [f"{fmt_pct(rate)} of {rows:,}" for rate, rows in counts.select("rate", "rows").iter_rows()]
        overall = report["rows_removed"] / (report["rows_in"] or 1)
        blocks.append(f"<div><h4>Removed by <code>{esc(column)}</code> <span class=\"muted small\">(all: {fmt_pct(overall)})</span></h4>"
                      + hbar_chart(items, label=f"share removed by {report['name']} per {column}", value_text=texts, color=REMOVED,
                                   width=560, label_width=170, max_items=SLICE_VALUES) + "</div>")
    return f'<div class="grid">{"".join(blocks)}</div>' if blocks else ""


def _stage_line(report: dict[str, Any]) -> str:
    """The numbers a closed stage section shows."""
    removed = report.get("removed_by_reason") or {}
    flagged = report.get("would_remove_by_reason") or {}
    rows_in = report["rows_in"] or 1
    line = f'<span class="muted small">{esc(report["stage"])} · {report["rows_in"]:,} in · </span>'
    if report["rows_removed"]:
        line += f'<b>{report["rows_removed"]:,} removed</b> <span class="muted small">({fmt_pct(report["rows_removed"] / rows_in)})</span>'
    elif flagged:
        line += f'<b>{sum(flagged.values()):,} flagged</b> <span class="muted small">(kept)</span>'
    else:
        line += '<span class="muted small">nothing removed</span>'
    top = sorted((removed or flagged).items(), key=lambda kv: (-kv[1], kv[0]))[:2]
    if top:
        line += ' <span class="muted small">· ' + ", ".join(f'<span dir="auto">{esc(k)}</span> {v:,}' for k, v in top) + ("…" if len(removed or flagged) > 2 else "") + "</span>"
    return line


def section_stage(report: dict[str, Any], rows: RunRows, fates: pl.DataFrame | None, columns: list[str], text_column: str,
                  relabelled: tuple[str, int] | None) -> str:
    index, name = report["index"], report["name"]
    removed = report.get("removed_by_reason") or {}
    flagged = report.get("would_remove_by_reason") or {}
    reasons = removed or flagged
    verb = "removed" if removed else "flagged (kept)"
    meta = (f'{esc(report["stage"])} · {esc(report["mode"])} · {report["rows_in"]:,} rows in · {report["rows_kept"]:,} kept · '
            f'{report["rows_removed"]:,} removed · {report.get("seconds", 0):.2f} s')
    added = report.get("annotation_columns") or []
    if added:
        meta += f" · adds {len(added)} column{'s' if len(added) > 1 else ''}: " + ", ".join(f"<code>{esc(c)}</code>" for c in added[:6]) + (" …" if len(added) > 6 else "")
    parts = [f'<details class="stage" id="stage-{esc(index)}"><summary><span class="sname">{esc(index)}. {esc(name)}</span> {_stage_line(report)}</summary>',
             f'<p class="meta">{meta}</p>']
    for warning in report.get("warnings") or []:
        parts.append(f'<p class="warning"><span class="pill bad">warning</span> {esc(warning)}</p>')
    if reasons:
        total = report["rows_in"] or 1
        table_rows = [[f'<span dir="auto">{esc(r)}</span>', fmt_int(n), fmt_pct(n / total, 2), meter(n / total, REMOVED if removed else KEPT)]
                      for r, n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))]
        parts.append(f"<h4>Rows {esc(verb)} by reason</h4>" + folded_table(table_rows, ["reason", "rows", "of rows in", ""]))
        if report.get("removed_files"):
            link = report["removed_files"]
            parts.append(f'<p class="small">All removed rows: <a href="{esc(link)}">{esc(link)}</a> ({esc(rows.file_format)}, with <code>curate_stage</code> and <code>curate_reason</code>).</p>')
    else:
        parts.append("<p>Nothing removed or flagged.</p>")
    samples = StageSamples(report, rows, text_column).render() if report.get("samples") else ""
    if samples:
        parts.append(f'<h4 id="samples-{esc(index)}">Samples <span class="muted small">(the first rows of each reason in run order; each row once, under its first reason)</span></h4>' + samples)
    parts.append(removal_by_slice(report, fates, columns, relabelled))
    histograms, drawn = stage_histograms(report, fates)
    parts.append(histograms)
    if report.get("tables"):
        links = ", ".join(f'<a href="{esc(path)}">{esc(t)}</a>' for t, path in report["tables"].items())
        parts.append(f'<p class="small">Tables (Parquet): {links}</p>')
    # A stage's own per-rule examples repeat rows the samples above show once (a row fails
    # several rules); they stay in the statistics' JSON.
    stats = render_stats(report, skip=drawn | ({"samples"} if samples else set()))
    if stats:
        parts.append(f"<details><summary>All statistics of {esc(name)}</summary>{stats}</details>")
    parts.append("</details>")
    return "".join(parts)


def stage_fates(rows: RunRows, reports: list[dict[str, Any]], columns: list[str]) -> tuple[pl.DataFrame | None, str | None]:
    """Every row's fate with the columns the charts need (histogrammed annotations and
    slice columns, and the label as it entered the run after a relabel stage), read once
    for all stage sections; or None and why the run's files could not be read, for the
    page to say so."""
    wanted = list(columns) + ([ORIGINAL_LABEL] if relabel_stage(reports) is not None else [])
    for report in reports:
        unscored = (report.get("explain") or {}).get("unscored")
        if unscored:
            wanted.append(unscored["column"])
        entries, _ = histogram_entries(report.get("stats") or {})
        for name, _spec in entries:
            column = _column_for(name, report.get("annotation_columns") or [])
            if column:
                wanted.append(column)
    try:
        fates = rows.fates(list(dict.fromkeys(wanted)))
    except (OSError, pl.exceptions.PolarsError) as error:  # files moved or trimmed: the page renders without what they give
        return None, _first_line(error)
    return (fates, None) if (missing := _rows_not_in_files(fates, reports)) is None else (None, missing)


def _first_line(error: Exception) -> str:
    """An error's first line up to the first character that is not text (a damaged file's
    message quotes its bytes)."""
    line = (str(error).strip().splitlines() or [type(error).__name__])[0]
    cut = next((i for i, ch in enumerate(line) if not ch.isprintable() or ch == "\ufffd"), None)
    return line if cut is None else line[:cut].rstrip() + " …"


def _rows_not_in_files(fates: pl.DataFrame, reports: list[dict[str, Any]]) -> str | None:
    """Where the rows read from a folder are not the rows the reports count (part files
    moved away since the run), the first such folder, else None."""
    read = dict(fates.group_by("_stage").len().iter_rows())
    kept = len(reports) + 1
    expected = {r["index"]: (f'removed/{r["name"]}/', r["rows_removed"]) for r in reports} | {kept: ("data/", reports[-1]["rows_kept"] if reports else 0)}
    for index, (folder, rows) in expected.items():
        if read.get(index, 0) != rows:
            return f"{folder} holds {read.get(index, 0):,} rows where the run's reports count {rows:,}"
    return None
