"""Per-stage accounting: what one shard contributed to a stage's report, and how those
contributions add up across shards into the final report."""

from __future__ import annotations

from typing import Any

import polars as pl

from curate.files import sample_value
from curate.stages.base import REASON

FLAG_PREFIX = "__curate_flag_"
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
