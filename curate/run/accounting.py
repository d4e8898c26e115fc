"""Per-stage accounting: what one shard contributed to a stage's report, how those
contributions add up across shards into the stage reports, and the check that rows in =
kept + removed at every stage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import polars as pl

from curate.errors import CurateError
from curate.files import sample_value
from curate.stages.base import PRIVATE_PREFIX, REASON

if TYPE_CHECKING:
    from curate.stages import Stage

FLAG_PREFIX = f"{PRIVATE_PREFIX}flag_"
"""Columns of the rows between stages (never written): an annotate-mode stage's reason on
the rows it flagged, so that the flags on rows that reach data/ are counted."""

SAMPLES_PER_REASON = 5


def merge(into: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Add `other` into `into`: numbers add, dicts merge, lists concatenate (shard order)."""
    for key, value in other.items():
        if key not in into:
            into[key] = value if not isinstance(value, dict) else merge({}, value)
        elif isinstance(value, dict):
            merge(into[key], value)
        elif isinstance(value, list):
            into[key] = into[key] + value
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            into[key] += value
    return into


def samples(removed: pl.DataFrame, id_column: str, text_column: str, annotations: list[str]) -> dict[str, list[dict]]:
    """The first few rows of each removal reason: id, a text snippet and the stage's annotations."""
    keep = [id_column, text_column] + [c for c in annotations if c not in (id_column, text_column)]
    firsts = removed.with_columns(_n=pl.int_range(pl.len()).over(REASON)).filter(pl.col("_n") < SAMPLES_PER_REASON)
    out: dict[str, list[dict]] = {}
    for row in firsts.select([REASON, *keep]).iter_rows(named=True):
        reason = row.pop(REASON)
        out.setdefault(reason, []).append({k: sample_value(v) for k, v in row.items()})
    return out


def shard_entry(rows_in: int, flagged: pl.DataFrame, removing: bool, id_column: str, text_column: str, annotations: list[str]) -> dict[str, Any]:
    """One shard's contribution to a stage's report; `flagged` are its rows with a reason."""
    counts = {reason: int(n) for reason, n in flagged.group_by(REASON).len().sort(REASON).iter_rows()}
    removed = flagged.height if removing else 0
    return {
        "rows_in": rows_in,
        "rows_kept": rows_in - removed,
        "rows_removed": removed,
        ("removed_by_reason" if removing else "would_remove_by_reason"): counts,
        "samples": samples(flagged, id_column, text_column, annotations),
    }


def cap_samples(entry: dict[str, Any]) -> dict[str, Any]:
    entry["samples"] = {reason: rows[:SAMPLES_PER_REASON] for reason, rows in sorted(entry.get("samples", {}).items())}
    return entry


def stage_key(index: int, stage: Stage) -> str:
    """A stage's entry in the shard markers, and its report's file name."""
    return f"{index + 1:02d}_{stage.name}"


def flag_column(index: int) -> str:
    """The flags of the stage at `index` (0-based) on the rows between stages."""
    return f"{FLAG_PREFIX}{index}"


def kept_flags(frame: pl.DataFrame) -> tuple[dict[int, dict[str, int]], pl.DataFrame]:
    """The flags annotate-mode stages left on the rows that reach data/, per stage index and
    reason, and the rows without their flag columns."""
    columns = [c for c in frame.columns if c.startswith(FLAG_PREFIX)]
    counts = {}
    for column in columns:
        reasons = frame.get_column(column).drop_nulls().value_counts(name="rows").sort(column)
        counts[int(column.removeprefix(FLAG_PREFIX))] = {str(reason): int(n) for reason, n in reasons.iter_rows()}
    return counts, frame.drop(columns)


def stage_reports(
    stages: list[Stage], markers: list[list[dict[str, Any]]], decided: dict[int, dict[str, Any]], rows_in: int, annotate_only: bool
) -> list[dict[str, Any]]:
    """Every stage's report, from the shard markers of every segment and the whole-dataset
    decisions (`decided`, by stage index); CurateError when the rows do not reconcile."""
    reports = []
    for index, stage in enumerate(stages):
        key = stage_key(index, stage)
        merged: dict[str, Any] = {}
        columns: list[str] = []
        for segment_markers in markers:
            for marker in segment_markers:
                entry = dict(marker["stages"].get(key, {}))
                columns = columns or entry.pop("annotation_columns", [])
                entry.pop("annotation_columns", None)
                merge(merged, entry)
        removing = stage.removes(annotate_only)
        stats = merged.pop("stats", {})
        if index in decided:
            merged["seconds"] = merged.get("seconds", 0) + decided[index]["seconds"]
            stats = {**decided[index]["stats"], **stats}
        stats = stage.finish_stats(stats, stage.applies(annotate_only))
        report = {
            "stage": stage.kind,
            "name": stage.name,
            "index": index + 1,
            "mode": "annotate" if annotate_only else stage.config.mode,
            "rows_in": merged.get("rows_in", 0),
            "rows_kept": merged.get("rows_kept", 0),
            "rows_removed": merged.get("rows_removed", 0),
            "removed_by_reason": merged.get("removed_by_reason", {}) if removing else {},
            "seconds": round(merged.get("seconds", 0.0), 3),
            "annotation_columns": columns,
            "explain": stage.report_explain(stats).as_json(),
            "removed_files": f"removed/{stage.name}/" if merged.get("rows_removed") else None,
            "stats": stats,
            "samples": cap_samples(merged).get("samples", {}),
        }
        if not removing:
            report["would_remove_by_reason"] = merged.get("would_remove_by_reason", {})
            report["flagged_kept_by_reason"] = _flags_reaching_data(markers[-1], key)
        warnings = stats.pop("warnings", [])
        if warnings:
            report["warnings"] = warnings
        reports.append(report)
    _check_accounting(reports, rows_in)
    return reports


def rows_read(marker: dict[str, Any]) -> int:
    """The rows a shard marker's segment read."""
    if "rows_read" in marker:
        return marker["rows_read"]
    entries = [e for e in marker["stages"].values() if "rows_in" in e]
    return entries[0]["rows_in"] if entries else marker["rows_out"]


def _flags_reaching_data(last_segment: list[dict[str, Any]], key: str) -> dict[str, int]:
    """The rows an annotate-mode stage flagged that reached data/, per reason, from the
    markers of the run's last segment."""
    counts: dict[str, int] = {}
    for marker in last_segment:
        merge(counts, marker.get("kept_flags", {}).get(key, {}))
    return dict(sorted(counts.items()))


def _check_accounting(reports: list[dict[str, Any]], rows_in: int) -> None:
    expected = rows_in
    for report in reports:
        if report["rows_in"] != expected or report["rows_in"] != report["rows_kept"] + report["rows_removed"]:
            raise CurateError(f"internal: rows do not reconcile at stage {report['name']}: {report['rows_in']} in, expected {expected}")
        expected = report["rows_kept"]
