"""`curate show RUN`: a run in the terminal. The summary table; sample rows a stage
removed with the annotations that decided them; one row's journey through the stages.
Every value from the data reaches the terminal as plain text (console.terminal_text): not
read as markup, its control characters shown.

It reads only the run directory's public layout (docs/run-layout.md): `manifest.json`,
`reports/`, `data/` and `removed/` of a finished run, or `_work/` of an unfinished one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from curate.console import summary_table, terminal_text
from curate.errors import ConfigError, did_you_mean
from curate.existing_runs import not_a_run, read_manifest, running_holder
from curate.files import read_json
from curate.report.compare import kept_flag_counts
from curate.report.rows import part_files, scan_parts
from curate.row_names import text_of

SNIPPET_CHARS = 600
"""Text shown per sample row: enough to judge it, short enough for a terminal."""

SAMPLE_ROWS = 10
"""Rows `--stage` shows without `--limit`."""


@dataclass(frozen=True)
class RunView:
    folder: Path
    finished: bool
    pipeline: dict[str, Any]
    manifest: dict[str, Any] | None
    reports: list[dict[str, Any]]
    running: str | None = None
    """An unfinished run that a process is working on now: `PID 123 on host vm`."""

    @property
    def names(self) -> list[str]:
        return [s.get("name") or s["stage"] for s in self.pipeline["stages"]]

    @property
    def id_column(self) -> str:
        return self.pipeline["input"].get("id_column") or "curate_id"

    @property
    def text_column(self) -> str:
        return self.pipeline["input"].get("text_column") or "text"

    def files(self, part: str) -> list[Path]:
        """`data` or `removed/<name>` parts (Parquet, or JSON Lines with `output.format:
        jsonl`), from the finished layout or `_work/`: an unfinished run keeps them there
        until its finish phase moves them into place."""
        work = self.folder / "_work"
        base = work if not self.finished and (work / part.split("/")[0]).exists() else self.folder
        return part_files(base / part)

    def annotations(self, name: str) -> list[str]:
        report = next((r for r in self.reports if r["name"] == name), None)
        return report["annotation_columns"] if report else []


def open_run(folder: Path) -> RunView:
    manifest = read_manifest(folder)
    if manifest is not None:
        reports = [read_json(p) for p in sorted((folder / "reports").glob("[0-9][0-9]_*.json"))]
        return RunView(folder, True, manifest["pipeline"], manifest, reports)
    if (folder / "_work" / "state.json").exists():
        return RunView(folder, False, read_json(folder / "_work" / "state.json")["pipeline"], None, [], running_holder(folder))
    raise not_a_run(folder, finished=False)


def summary(view: RunView) -> Table:
    if view.finished:
        assert view.manifest is not None
        return summary_table(view.reports, view.manifest)
    state = (f"running ({view.running}; rows removed so far)" if view.running
             else "unfinished (rows removed so far; run the same command again to finish it)")
    table = Table(title=f"curate run: {state}", title_justify="left")
    table.add_column("stage")
    table.add_column("removed so far", justify="right")
    for index, name in enumerate(view.names):
        files = view.files(f"removed/{name}")
        rows = scan_parts(files).select(pl.len()).collect().item() if files else 0
        table.add_row(f"{index + 1:02d} {name}", f"{rows:,}")
    return table


def removed_sample(view: RunView, stage: str, reason: str | None, limit: int) -> Table:
    """Up to `limit` rows `stage` removed (for `reason`), in run order, with the stage's
    annotations beside each text; for a stage that flagged rows and kept them, its sample
    rows of each reason."""
    if stage not in view.names:
        raise ConfigError(f"--stage {stage}: no stage of this run is named so{did_you_mean(stage, view.names)}; stages: {', '.join(view.names)}")
    files = view.files(f"removed/{stage}")
    rows = scan_parts(files) if files else None
    reasons = rows.group_by("curate_reason").len().sort("len", descending=True).collect() if rows is not None else pl.DataFrame()
    if not reasons.height and _report(view, stage).get("would_remove_by_reason"):
        return _flagged_sample(view, stage, reason, limit)
    if reason is not None:
        known = reasons["curate_reason"].to_list() if reasons.height else []
        if reason not in known:
            raise ConfigError(
                f"--reason {reason}: stage {stage!r} removed no row for it{did_you_mean(reason, known)}; its reasons: {', '.join(known) or 'none'}"
            )
        assert rows is not None
        rows = rows.filter(pl.col("curate_reason") == reason)
    sample = rows.head(limit).collect() if rows is not None else pl.DataFrame()
    counts = ", ".join(f"{r} {n:,}" for r, n in reasons.iter_rows()) if reasons.height else _nothing_removed(view, stage)
    return _sample_table(view, stage, f"{stage}: {counts}", sample)


def _nothing_removed(view: RunView, stage: str) -> str:
    """Why a stage shows no removed row: it removed none, or (an unfinished run) it has
    not removed any yet."""
    if view.finished:
        return "nothing removed"
    state = f"the run is running ({view.running})" if view.running else "the run is unfinished: run the same command again to finish it"
    return f"no removed rows written yet ({state})"


def _report(view: RunView, stage: str) -> dict[str, Any]:
    return next((r for r in view.reports if r["name"] == stage), {})


def _flagged_ids(view: RunView, stage: str) -> dict[str, list[str]]:
    """Reason → ids of the rows a stage flagged and kept that its report keeps as samples
    (the first of each reason in run order): the rows it flagged are not marked in data/
    in one way every stage shares."""
    report = _report(view, stage)
    flagged = report.get("would_remove_by_reason") or {}
    samples = report.get("samples") or {}
    return {reason: [str(s.get(view.id_column)) for s in samples.get(reason) or [] if isinstance(s, dict)] for reason in flagged}


def _flagged_sample(view: RunView, stage: str, reason: str | None, limit: int) -> Table:
    """A stage that flagged rows and kept them: its sample rows per reason, where they
    ended up: data/, or removed/ of a later stage (its reason said beside the flag)."""
    report = _report(view, stage)
    flagged = report["would_remove_by_reason"]
    if reason is not None and reason not in flagged:
        raise ConfigError(f"--reason {reason}: stage {stage!r} flagged no row for it{did_you_mean(reason, list(flagged))}; its reasons: {', '.join(flagged)}")
    ids = {i: r for r, listed in _flagged_ids(view, stage).items() if reason in (None, r) for i in listed}
    found = _rows_after(view, stage, list(ids))
    if found.height:
        flag = text_of(view.id_column).replace_strict(ids, return_dtype=pl.String)
        found = found.with_columns(curate_reason=pl.when(pl.col("removed_by").is_null()).then(flag)
                                   .otherwise(pl.format("{}; then removed by {}: {}", flag, pl.col("removed_by"), pl.col("curate_reason"))))
        order = {i: n for n, i in enumerate(ids)}  # the report's order: reason by reason, in run order
        found = found.sort(text_of(view.id_column).replace_strict(order, return_dtype=pl.Int64)).head(limit)
    shown = {r: n for r, n in sorted(flagged.items(), key=lambda kv: -kv[1]) if reason in (None, r)}
    kept = kept_flag_counts(report)
    if kept is None:  # a run of a curate that did not count them
        where = "flagged rows are in data/ or in removed/ of a later stage"
    elif sum(kept.get(r, 0) for r in shown) == sum(shown.values()):
        where = "all flagged rows are in data/"
    else:
        where = (f"{sum(kept.get(r, 0) for r in shown):,} of {sum(shown.values()):,} flagged rows are in data/, "
                 "later stages removed the rest")
    what = ", ".join(f"{r} {n:,}" for r, n in shown.items())
    title = f"{stage}: nothing removed; flagged and kept: {what}. Its sample rows (the first of each reason, as in report.html); {where}"
    return _sample_table(view, stage, title, found)


def _rows_after(view: RunView, stage: str, ids: list[str]) -> pl.DataFrame:
    """The rows with these ids that `stage` kept, wherever they ended up: data/, or the
    removed/ of a later stage (named in `removed_by`; null: in data/)."""
    later = view.names[view.names.index(stage) + 1:]
    frames = []
    for part, remover in [("data", None), *((f"removed/{name}", name) for name in later)]:
        files = view.files(part)
        if files and ids:
            rows = scan_parts(files).filter(text_of(view.id_column).is_in(ids)).collect()
            if remover is None:  # a kept row has no reason of its own
                rows = rows.with_columns(curate_reason=pl.lit(None, pl.String))
            frames.append(rows.with_columns(removed_by=pl.lit(remover, pl.String)))
    return pl.concat(frames, how="diagonal_relaxed") if frames else pl.DataFrame()


def _sample_table(view: RunView, stage: str, title: str, sample: pl.DataFrame) -> Table:
    table = Table(title=terminal_text(title), title_justify="left", show_lines=True, expand=True)
    table.add_column(terminal_text(view.id_column), no_wrap=True)
    table.add_column("reason")
    table.add_column(terminal_text(view.text_column), ratio=3, overflow="fold")
    table.add_column("annotations", ratio=2)
    columns = [c for c in view.annotations(stage) if c in sample.columns] or _added_columns(view, sample)
    for row in sample.iter_rows(named=True):
        table.add_row(
            terminal_text(row[view.id_column]), terminal_text(row["curate_reason"]), terminal_text(_snippet(row[view.text_column])), _values(row, columns)
        )
    return table


def journey(view: RunView, row_id: str) -> Group:
    """One row through the stages: kept (and its annotations), removed and why, or not reached."""
    where, row = _find(view, row_id)
    if row is None:
        if not view.finished:
            raise ConfigError(
                f"--id {row_id}: no row with {view.id_column} {row_id!r} has been kept or removed yet; the run is unfinished "
                "(rows between stages are not shown): run the same command again to finish it"
            )
        raise ConfigError(f"--id {row_id}: no row of this run has {view.id_column} {row_id!r}")
    table = Table(title=terminal_text(f"{view.id_column} {row_id}"), title_justify="left", show_lines=True, expand=True)
    table.add_column("stage", no_wrap=True)
    table.add_column("verdict")
    table.add_column("annotations", ratio=1)
    reached = view.names[:view.names.index(where) + 1] if where is not None else view.names
    for index, name in enumerate(view.names):
        if name not in reached:
            table.add_row(f"{index + 1:02d} {name}", Text("not reached", style="dim"), "")
            continue
        if where == name:
            verdict = terminal_text(f"removed: {row['curate_reason']}", "red")
        else:
            flag = _flag_reason(view, name, row, row_id)
            verdict = terminal_text(f"kept (flagged: {flag})", "yellow") if flag else Text("kept", style="green")
        # A column two stages write (dup_of: exact, then near) holds the later one's value: shown under it alone.
        later = {c for s in reached[reached.index(name) + 1:] for c in view.annotations(s)}
        table.add_row(f"{index + 1:02d} {name}", verdict, _values(row, [c for c in view.annotations(name) if c in row and c not in later]))
    return Group(table, terminal_text(f"{view.text_column}: ", "bold") + terminal_text(_snippet(row.get(view.text_column), 4000)))


def _flag_reason(view: RunView, stage: str, row: dict[str, Any], row_id: str) -> str | None:
    """Why a stage flagged a row it kept, where the run records it: the stage's reasons
    column (quality's), else the reason whose sample rows the row is among; None otherwise."""
    reasons_column = (_report(view, stage).get("explain") or {}).get("reasons_column")
    reasons = row.get(reasons_column) if reasons_column else None
    if reasons:
        return ", ".join(map(str, reasons)) if isinstance(reasons, list) else str(reasons)
    return next((reason for reason, ids in _flagged_ids(view, stage).items() if row_id in ids), None)


def _find(view: RunView, row_id: str) -> tuple[str | None, dict[str, Any] | None]:
    """The row with this id and the stage that removed it (None: kept)."""
    places = [(None, view.files("data"))] + [(name, view.files(f"removed/{name}")) for name in view.names]
    for name, files in places:
        if not files:
            continue
        found = scan_parts(files).filter(text_of(view.id_column) == row_id).head(1).collect()
        if found.height:
            return name, found.row(0, named=True)
    return None, None


def _added_columns(view: RunView, frame: pl.DataFrame) -> list[str]:
    """Without a report (an unfinished run): the columns after curate's lineage ones."""
    names = frame.columns
    start = max((names.index(c) for c in ("curate_source", "curate_id") if c in names), default=len(names) - 1) + 1
    return [c for c in names[start:] if c not in ("curate_stage", "curate_reason")]


def _snippet(text: Any, limit: int = SNIPPET_CHARS) -> str:
    text = "" if text is None else str(text)
    return text if len(text) <= limit else text[:limit] + " …"


def _values(row: dict[str, Any], columns: list[str]) -> Text:
    lines = Text()
    for column in columns:
        value = row.get(column)
        if value is None:
            shown = "null"
        elif isinstance(value, float):
            shown = f"{value:.4g}"
        else:
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        if lines:
            lines.append("\n")
        lines.append(terminal_text(f"{column} ", "dim"))
        lines.append(terminal_text(shown))
    return lines


def show(folder: Path, stage: str | None, reason: str | None, limit: int | None, row_id: str | None, console: Console) -> None:
    """`limit`: None for SAMPLE_ROWS (given without `stage` it would change nothing)."""
    view = open_run(folder)
    if reason is not None and stage is None:
        raise ConfigError("--reason needs --stage NAME: a reason belongs to a stage")
    if limit is not None and stage is None:
        raise ConfigError(f"--limit {limit} needs --stage NAME: it sets how many of a stage's rows are shown")
    # each view is built before anything is printed: an unknown stage or id is then the only line
    views = ([removed_sample(view, stage, reason, limit or SAMPLE_ROWS)] if stage is not None else []) + ([journey(view, row_id)] if row_id is not None else [])
    for part in views or [summary(view)]:
        console.print(part)
