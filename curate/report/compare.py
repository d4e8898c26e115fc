"""What changed between two finished runs: row counts, removal rates per stage and per
reason (rows flagged by annotate-mode stages apart: they were kept), language and label
shares of the output, the pipeline's parameters, the input files and the run's settings
(`--limit`/`--sample`, `--annotate-only`, a stage's rule or model file), so a change in
rows can be put down to its cause, and, when both runs name their rows by
the same id column, every row whose decision changed (a join on id of the two runs'
data/ and removed/ files).

Used by `curate report RUN --compare OLDER`, by the `max_change_vs` gate, and by
report.html. Rates are fractions (0–1): a stage's or a reason's removal rate is its rows
divided by the rows that stage saw (`rows_in`); the run's removed fraction is its removed
rows divided by its input rows. Deltas are new − old.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from curate.config import pipeline_changes
from curate.errors import OutputError
from curate.existing_runs import not_a_run, read_manifest
from curate.files import input_identity, input_identity_key, read_json
from curate.report.rows import part_files, scan_parts


@dataclass
class RunData:
    path: Path
    manifest: dict[str, Any]
    reports: list[dict[str, Any]]


def load_run(run_dir: Path) -> RunData:
    """A finished run directory: its manifest and stage reports, of one run (a rerun's
    finish phase replaces the manifest and the reports: one that did so while they were
    read is an OutputError)."""
    run_dir = Path(run_dir)
    manifest = read_manifest(run_dir)
    if manifest is None:
        raise not_a_run(run_dir, finished=True)
    try:
        reports = [read_json(p) for p in sorted((run_dir / "reports").glob("[0-9][0-9]_*.json"))]
    except (OSError, ValueError) as exc:
        raise OutputError(f"{run_dir}: cannot read the run's reports ({exc})") from None
    if read_manifest(run_dir) != manifest:
        raise OutputError(f"{run_dir}: a curate run replaced the run while it was read; try again once that run has finished")
    return RunData(run_dir, manifest, reports)


def stage_counts(report: dict[str, Any]) -> dict[str, int]:
    """Rows per reason a stage removed, or flagged in annotate mode."""
    return report.get("removed_by_reason") or report.get("would_remove_by_reason") or {}


def removed_counts(report: dict[str, Any]) -> dict[str, int]:
    """Rows per reason a stage removed (none for an annotate-mode stage)."""
    return report.get("removed_by_reason") or {}


def flagged_counts(report: dict[str, Any]) -> dict[str, int]:
    """Rows per reason an annotate-mode stage flagged and kept."""
    return report.get("would_remove_by_reason") or {}


def kept_flag_counts(report: dict[str, Any]) -> dict[str, int] | None:
    """Rows per reason an annotate-mode stage flagged that reached data/ (a later stage
    removed the rest it flagged); None in a run of a curate that did not count them."""
    if "flagged_kept_by_reason" in report:
        return report["flagged_kept_by_reason"]
    return None if flagged_counts(report) else {}


def flags_on_kept_rows(reports: list[dict[str, Any]]) -> int | None:
    """The flags on the rows in data/, one per annotate-mode stage that flagged a row (a row
    two stages flagged counts twice); None when a stage's report does not count them."""
    counts = [kept_flag_counts(r) for r in reports]
    return None if any(c is None for c in counts) else sum(sum(c.values()) for c in counts)


def _rate(count: float, total: float) -> float:
    return count / total if total else 0.0


def _stage_rate(count: int | None, report: dict[str, Any] | None) -> float | None:
    """`count` rows of the rows a stage saw; None (shown '–') where the run has no such
    stage or the stage saw no row."""
    return count / report["rows_in"] if report and report["rows_in"] else None


def removed_fraction(manifest: dict[str, Any]) -> float:
    return _rate(manifest["rows_removed"], manifest["rows_in"])


def reason_rates(reports: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[int, float]]:
    """(stage name, reason) → (rows, rows / the stage's rows in), removed or flagged."""
    out = {}
    for report in reports:
        for reason, count in stage_counts(report).items():
            out[(report["name"], reason)] = (int(count), _rate(count, report["rows_in"]))
    return out


def column_shares(run_dir: Path, column: str) -> dict[str, float] | None:
    """Share of each value of `column` among the kept rows, or None without that column."""
    files = part_files(run_dir / "data")
    if not files or column not in scan_parts(files).collect_schema():
        return None
    counts = scan_parts(files).group_by(pl.col(column).cast(pl.String)).len().collect()
    total = int(counts["len"].sum() or 0)
    return {("(null)" if value is None else value): n / total for value, n in counts.iter_rows()} if total else {}


ORIGINAL_LABEL = "original_label"
"""The column a relabel stage keeps the label it replaced in (docs/stages/label_noise.md;
the reports read a run's files and never import the stages)."""


def relabel_stage(reports: list[dict[str, Any]]) -> int | None:
    """The index of the stage that relabelled the pipeline's label column, keeping each
    row's label as it reached the stage in `original_label` (a label_noise stage whose
    report lists the column it wrote; a pipeline holds one), else None. A column of that
    name in the user's data is theirs: the run refuses such an input only when a relabel
    stage would write it."""
    return next((r["index"] for r in reports if r.get("stage") == "label_noise" and ORIGINAL_LABEL in (r.get("annotation_columns") or [])), None)


def language_column(manifest: dict[str, Any]) -> str | None:
    for stage in manifest.get("pipeline", {}).get("stages", []):
        if stage.get("stage") == "langid":
            return stage.get("column") or "lang"
    return None


def _share_rows(old: dict[str, float] | None, new: dict[str, float] | None) -> list[dict[str, Any]]:
    old, new = old or {}, new or {}
    rows = [
        {"value": v, "old": old.get(v, 0.0), "new": new.get(v, 0.0), "delta": new.get(v, 0.0) - old.get(v, 0.0)}
        for v in set(old) | set(new)
    ]
    return sorted(rows, key=lambda r: (-max(r["old"], r["new"]), r["value"]))


def slice_text(cut: dict[str, Any] | None) -> str:
    """`--limit` / `--sample`: the run saw only part of its input."""
    if not cut:
        return "none: every input row"
    parts = []
    if cut.get("limit") is not None:
        parts.append(f"--limit {cut['limit']:,} (the first rows in run order)")
    if cut.get("sample") is not None:
        parts.append(f"--sample {cut['sample']} --seed {cut['seed']}")
    return "; ".join(parts)


def input_changes(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[str]:
    """Input files added, gone, or read at the same path with other content (another
    identity, or, when the runs identify files differently, e.g. a `--limit` run's quick
    identity against a full run's hash, other rows or bytes)."""
    old_by_path, new_by_path = {i["path"]: i for i in old}, {i["path"]: i for i in new}
    out = []
    for path in sorted(old_by_path.keys() | new_by_path.keys()):
        o, n = old_by_path.get(path), new_by_path.get(path)
        if o is None:
            out.append(f"{path}: only in this run ({n.get('rows', 0):,} rows)")
        elif n is None:
            out.append(f"{path}: only in the earlier run ({o.get('rows', 0):,} rows)")
        else:
            same_key = input_identity_key(o) == input_identity_key(n)
            if (same_key and input_identity(o) != input_identity(n)) or o.get("rows") != n.get("rows") or o.get("bytes") != n.get("bytes"):
                out.append(f"{path}: other content ({o.get('rows', 0):,} → {n.get('rows', 0):,} rows, "
                           f"{input_identity_key(n)} {input_identity(o)} → {input_identity(n)})")
    return out


def run_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """The settings of the runs that differ besides the pipeline: the trial slice, annotate-only,
    and the content of files stages read (rules, models)."""
    out = []
    if old.get("slice") != new.get("slice"):
        out.append(f"trial slice: {slice_text(old.get('slice'))} → {slice_text(new.get('slice'))}")
    if bool(old.get("annotate_only")) != bool(new.get("annotate_only")):
        out.append(f"--annotate-only: {'yes' if old.get('annotate_only') else 'no'} → {'yes' if new.get('annotate_only') else 'no'}")
    old_files, new_files = _stage_file_hashes(old.get("state")), _stage_file_hashes(new.get("state"))
    for path in sorted(old_files.keys() & new_files.keys()):
        if old_files[path] != new_files[path]:
            out.append(f"stage file {path}: other content")
    return out


def _stage_file_hashes(state: dict[str, Any] | None) -> dict[str, str]:
    """{path: content hash} of the files a run's stages read. A run state holds them per
    stage; one written by an earlier curate holds the {path: hash} map itself."""
    files = (state or {}).get("stage_files") or {}
    return {path: digest for key, value in files.items() for path, digest in (value.items() if isinstance(value, dict) else [(key, value)])}


def compare_runs(new: RunData, old: RunData) -> dict[str, Any]:
    """The changes from `old` to `new`, JSON-ready."""
    nm, om = new.manifest, old.manifest
    totals = []
    for key in ("rows_in", "rows_kept", "rows_removed"):
        totals.append({"metric": key, "old": om[key], "new": nm[key], "delta": nm[key] - om[key], "kind": "int"})
    old_frac, new_frac = removed_fraction(om), removed_fraction(nm)
    totals.append({"metric": "removed_fraction", "old": old_frac, "new": new_frac, "delta": new_frac - old_frac, "kind": "pp"})

    old_stages = {r["name"]: r for r in old.reports}
    new_stages = {r["name"]: r for r in new.reports}
    old_flags, new_flags = flags_on_kept_rows(old.reports), flags_on_kept_rows(new.reports)
    if old_flags is not None and new_flags is not None:
        totals.append({"metric": "flags_on_kept_rows", "old": old_flags, "new": new_flags, "delta": new_flags - old_flags, "kind": "int"})
    stages = []
    for name in list(dict.fromkeys([*new_stages, *old_stages])):
        o, n = old_stages.get(name), new_stages.get(name)
        o_removed = sum(removed_counts(o).values()) if o else None
        n_removed = sum(removed_counts(n).values()) if n else None
        o_rate, n_rate = _stage_rate(o_removed, o), _stage_rate(n_removed, n)
        stages.append({
            "stage": name,
            "old_rows_in": o["rows_in"] if o else None, "new_rows_in": n["rows_in"] if n else None,
            "old_removed": o_removed, "new_removed": n_removed,
            "old_flagged": sum(flagged_counts(o).values()) if o else None, "new_flagged": sum(flagged_counts(n).values()) if n else None,
            "old_rate": o_rate, "new_rate": n_rate,
            "delta_rate": (n_rate or 0.0) - (o_rate or 0.0),
        })

    reasons = []
    for kind, counts in (("removed", removed_counts), ("flagged", flagged_counts)):
        keys = {(r["name"], reason) for r in [*old.reports, *new.reports] for reason in counts(r)}
        for key in sorted(keys, key=lambda k: (list(new_stages).index(k[0]) if k[0] in new_stages else 99, k[1])):
            o, n = old_stages.get(key[0]), new_stages.get(key[0])
            o_rows, n_rows = (int(counts(r).get(key[1], 0)) if r else None for r in (o, n))
            o_rate, n_rate = _stage_rate(o_rows, o), _stage_rate(n_rows, n)
            reasons.append({"stage": key[0], "reason": key[1], "kind": kind, "old_rows": o_rows, "new_rows": n_rows,
                            "old_rate": o_rate, "new_rate": n_rate, "delta_rate": (n_rate or 0.0) - (o_rate or 0.0)})

    out: dict[str, Any] = {
        "new_run": str(new.path), "old_run": str(old.path),
        "new_finished_at": nm.get("finished_at"), "old_finished_at": om.get("finished_at"),
        "totals": totals, "stages": stages, "reasons": reasons,
        "pipeline_changes": pipeline_changes(om.get("pipeline", {}), nm.get("pipeline", {})),
        "input_changes": input_changes(om.get("inputs", []), nm.get("inputs", [])),
        "run_changes": run_changes(om, nm),
        "languages": None, "labels": None,
        "decisions": decision_changes(new, old),
    }
    lang = language_column(nm) or language_column(om)
    if lang:
        shares_new, shares_old = column_shares(new.path, lang), column_shares(old.path, lang)
        if shares_new is not None or shares_old is not None:
            out["languages"] = {"column": lang, "rows": _share_rows(shares_old, shares_new)}
    label = (nm.get("pipeline", {}).get("input") or {}).get("label_column")
    if label:
        shares_new, shares_old = column_shares(new.path, label), column_shares(old.path, label)
        if shares_new is not None or shares_old is not None:
            out["labels"] = {"column": label, "rows": _share_rows(shares_old, shares_new)}
    return out


CHANGED_ROWS_SHOWN = 200
"""Rows listed in the table of changed decisions (all are counted)."""
SNIPPET_CHARS = 160


def id_column(manifest: dict[str, Any]) -> str:
    return (manifest.get("pipeline", {}).get("input") or {}).get("id_column") or "curate_id"


def decisions(run: RunData, column: str) -> pl.DataFrame:
    """One row per input row of a run: its id, `decision` (`kept` or `<stage>: <reason>`)
    and `stage`/`reason` (null when kept)."""
    parts = []
    data = part_files(run.path / "data")
    if data:
        parts.append(scan_parts(data).select(pl.col(column).cast(pl.String).alias("id"), pl.lit(None, pl.String).alias("stage"),
                                                   pl.lit(None, pl.String).alias("reason")))
    for folder in sorted(p for p in (run.path / "removed").glob("*") if p.is_dir()):
        files = part_files(folder)
        if files:  # one scan per stage: each stage's removed rows have their own columns
            parts.append(scan_parts(files).select(pl.col(column).cast(pl.String).alias("id"), pl.col("curate_stage").alias("stage"),
                                                       pl.col("curate_reason").alias("reason")))
    if not parts:
        return pl.DataFrame(schema={"id": pl.String, "stage": pl.String, "reason": pl.String, "decision": pl.String})
    frame = pl.concat(parts).collect()
    return frame.with_columns(decision=pl.when(pl.col("stage").is_null()).then(pl.lit("kept")).otherwise(pl.format("{}: {}", "stage", "reason")))


def decision_changes(new: RunData, old: RunData) -> dict[str, Any] | None:
    """Rows whose decision differs between the runs (kept ↔ removed, or removed by another
    stage or reason), by a join on id; None when the runs do not share an id column or
    their files cannot be read.
    Ids found in one run only are counted, not listed."""
    column = id_column(new.manifest)
    if column != id_column(old.manifest):
        return None
    try:
        after, before = decisions(new, column), decisions(old, column)
    except (OSError, pl.exceptions.PolarsError):
        return None
    if after["id"].is_duplicated().any() or before["id"].is_duplicated().any():
        return {"id_column": column, "unique_ids": False}
    joined = before.join(after, on="id", how="full", coalesce=True, suffix="_new")
    both = joined.filter(pl.col("decision").is_not_null() & pl.col("decision_new").is_not_null())
    changed = both.filter(pl.col("decision") != pl.col("decision_new"))
    transitions = (changed.group_by(pl.col("decision").alias("before"), pl.col("decision_new").alias("after")).len("rows")
                   .sort(["rows", "before", "after"], descending=[True, False, False]))
    shown = changed.head(CHANGED_ROWS_SHOWN)
    texts = _texts(new, old, column, shown["id"].to_list())
    rows = [{"id": i, "before": b, "after": a, "text": texts.get(i)} for i, b, a in shown.select("id", "decision", "decision_new").iter_rows()]
    return {
        "id_column": column, "unique_ids": True,
        "rows_compared": both.height,
        "only_old": int(joined["decision_new"].null_count()), "only_new": int(joined["decision"].null_count()),
        "changed": changed.height,
        "kept_to_removed": int(((changed["decision"] == "kept") & (changed["decision_new"] != "kept")).sum()),
        "removed_to_kept": int(((changed["decision"] != "kept") & (changed["decision_new"] == "kept")).sum()),
        "transitions": transitions.to_dicts(),
        "rows": rows,
    }


def _texts(new: RunData, old: RunData, column: str, ids: list[str]) -> dict[str, str]:
    """Text snippets of some rows, from the newer run's files (else the older's)."""
    text = (new.manifest.get("pipeline", {}).get("input") or {}).get("text_column") or "text"
    out: dict[str, str] = {}
    for run in (new, old):
        files = part_files(run.path / "data") + [f for folder in sorted((run.path / "removed").glob("*")) for f in part_files(folder)]
        for path in files:
            todo = [i for i in ids if i not in out]
            if not todo:
                return out
            found = scan_parts([path]).filter(pl.col(column).cast(pl.String).is_in(todo)).select(pl.col(column).cast(pl.String), pl.col(text).str.slice(0, SNIPPET_CHARS)).collect()
            out.update({i: t for i, t in found.iter_rows()})
    return out
