"""Shard work: how a pipeline is cut into segments, what one worker does with one
shard of one segment, and the whole-dataset decision step between segments.

A pipeline is cut into segments after each stage's rows: a segment runs, per input
shard, a dataset stage's decisions or one shard stage, then the summary the next dataset
stage needs (so every stage's kept rows are on disk, for a rerun to reuse). Every file is written under `_work/`
atomically, with the shard's JSON marker last, so a killed run resumes from the last
finished shard.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa

from curate.config import Pipeline
from curate.errors import CurateError, storage_error
from curate.files import WORK_COMPRESSION, read_json, write_ipc_atomic, write_json_atomic, write_parquet_atomic
from curate.row_names import as_text
from curate.run.accounting import FLAG_PREFIX, flag_column, kept_flags, shard_entry, stage_key
from curate.run.crash import crash_point
from curate.run.io import ID_COLUMN, Shard, read_input, read_parquet
from curate.stages import STAGES, DatasetStage, ShardStage, Stage
from curate.stages.base import (
    ORDER_KEYS,
    POSITION,
    PRIVATE_PREFIX,
    REASON,
    SHARD,
    Columns,
    InOrderDecisions,
    settle_rewrite,
)


@dataclass
class Segment:
    """Stages that run shard by shard without a whole-dataset barrier between them."""

    index: int
    head: int | None  # a dataset stage whose decisions this segment applies first
    body: list[int]  # shard stages
    tail: int | None  # a dataset stage whose summary this segment writes last

    @property
    def passthrough(self) -> bool:
        """Nothing here changes rows (a pipeline that starts with a dataset stage): the
        segment only summarises, and the next segment reads the input files again."""
        return self.head is None and not self.body


def columns_of(pipeline: Pipeline) -> Columns:
    spec = pipeline.input
    return Columns(text=spec.text_column, id=spec.id_column or ID_COLUMN, label=spec.label_column)


def build_stages(pipeline: Pipeline) -> list[Stage]:
    columns = columns_of(pipeline)
    return [STAGES[config.stage](config, columns) for config in pipeline.stages]


def plan_segments(stages: list[Stage]) -> list[Segment]:
    """One segment per stage's rows: each shard stage, and each dataset stage's decisions,
    ends a segment, so every stage's kept rows are on disk. A rerun after a change keeps
    the segments before the first changed stage (curate/run/reuse.py); the price is one
    Arrow IPC write and read per stage and shard."""
    segments = [Segment(0, None, [], None)]
    for index, stage in enumerate(stages):
        current = segments[-1]
        if isinstance(stage, DatasetStage):
            current.tail = index
            segments.append(Segment(len(segments), index, [], None))
        elif current.head is not None or current.body:
            segments.append(Segment(len(segments), None, [index], None))
        else:
            current.body.append(index)
    return segments


# ---------------------------------------------------------------- one shard, one segment


@dataclass(frozen=True)
class ShardJob:
    pipeline: Pipeline
    annotate_only: bool
    work: Path
    segment: int
    shard: int
    input_shard: Shard
    input_types: pa.Schema | None = None
    """The input's Arrow schema: its columns keep these exact types in data/ and removed/."""
    input_categories: dict[str, pa.Array] | None = None
    """The input's ordered category lists (`run_schema.input_categories`), which those parts' dictionaries keep."""
    rows_done: dict[str, Any] | None = None
    """The marker of this shard's rows, when a rerun kept them (curate/run/reuse.py) and
    only the summary for the changed dataset stage after them is redone."""


_PLAN_CACHE: dict[str, tuple[list[Stage], list[Segment]]] = {}


def _plan(pipeline: Pipeline) -> tuple[list[Stage], list[Segment]]:
    key = pipeline.fingerprint()
    if key not in _PLAN_CACHE:
        stages = build_stages(pipeline)
        _PLAN_CACHE[key] = (stages, plan_segments(stages))
    return _PLAN_CACHE[key]


def shard_name(shard: int) -> str:
    return f"part-{shard:05d}"


def rows_path(work: Path, segment: int, shard: int, last: bool) -> Path:
    """A segment's kept rows of one shard: the run's Parquet part in `data/` for the last
    segment, an Arrow IPC file in `seg-<segment>/` for the others (only the next segment
    reads it: curate/files.py, write_ipc_atomic)."""
    if last:
        return work / "data" / f"{shard_name(shard)}.parquet"
    return work / f"seg-{segment:02d}" / f"{shard_name(shard)}.arrow"


def read_rows(path: Path) -> pl.DataFrame:
    if path.suffix == ".parquet":
        return read_parquet(path)
    try:
        return pl.scan_ipc(path, glob=False).collect()
    except OSError as exc:  # polars names no `filename`, and shortens a long path in its message
        raise storage_error(exc, path) or exc from None


def run_shard(job: ShardJob, shard_input: pl.DataFrame | None = None) -> dict[str, Any]:
    """Run one segment over one shard; returns (and writes, last) the shard's marker.
    `shard_input`: the input shard, already read (`run_shard_in_order`)."""
    stages, segments = _plan(job.pipeline)
    segment = segments[job.segment]
    last = job.segment == len(segments) - 1
    if job.rows_done is not None:
        marker = job.rows_done
        frame = read_rows(rows_path(job.work, job.segment, job.shard, last))
    else:
        marker, frame = _segment_rows(job, stages, segments, shard_input)
        if not segment.passthrough:
            path = rows_path(job.work, job.segment, job.shard, last)
            if last:
                write_parquet_atomic(frame, path, job.input_types, categories=job.input_categories)
            else:
                write_ipc_atomic(frame, path)
        crash_point("shard:data")
    if segment.tail is not None:
        started = time.perf_counter()
        stage = stages[segment.tail]
        assert isinstance(stage, DatasetStage)
        summary = stage.summarize(frame).with_columns(
            pl.lit(job.shard, dtype=pl.Int32).alias(SHARD), pl.int_range(pl.len(), dtype=pl.Int64).alias(POSITION)
        )
        write_parquet_atomic(summary, summary_dir(job.work, segment.tail, stages) / f"{shard_name(job.shard)}.parquet", compression=WORK_COMPRESSION)
        marker["stages"][stage_key(segment.tail, stage)] = {"seconds": time.perf_counter() - started}
    write_json_atomic(marker, marker_path(job.work, job.segment, job.shard))
    crash_point("shard:marker")
    return marker


def _segment_rows(
    job: ShardJob, stages: list[Stage], segments: list[Segment], shard_input: pl.DataFrame | None
) -> tuple[dict[str, Any], pl.DataFrame]:
    """A segment's rows of one shard: its dataset stage's decisions applied, then its shard
    stages; returns the shard's marker so far (every stage's counts) and the kept rows."""
    segment = segments[job.segment]
    columns = columns_of(job.pipeline)
    marker: dict[str, Any] = {"stages": {}}
    id_column = job.pipeline.input.id_column
    if shard_input is not None:
        frame = shard_input
        marker["rows_read"] = frame.height
    elif segment.passthrough:
        needed = stages[segment.tail].required_columns() + ([id_column] if id_column else [])
        frame = read_input(job.input_shard, id_column, columns.text, list(dict.fromkeys(needed)))
        marker["rows_read"] = frame.height
    elif job.segment == 0 or segments[job.segment - 1].passthrough:
        frame = read_input(job.input_shard, id_column, columns.text)
        marker["rows_read"] = frame.height
    else:
        frame = read_rows(rows_path(job.work, job.segment - 1, job.shard, False))

    def account(index: int, annotated: pl.DataFrame, before: list[str], started: float) -> pl.DataFrame:
        stage = stages[index]
        removing = stage.removes(job.annotate_only)
        annotated = settle_rewrite(stage, annotated, stage.applies(job.annotate_only))
        # Only curate's prefix marks a private column: `_lang` may be a name the user gave (langid's column:).
        private = [c for c in annotated.columns if c not in before and c.startswith(PRIVATE_PREFIX)]
        stats = stage.shard_stats(annotated)
        annotated = annotated.drop(private)
        # a dedup stage's shared columns (dup_of) were there before it and are its own now
        added = [c for c in annotated.columns if (c not in before or c in stage.shared_columns) and c != REASON]
        flagged = annotated.filter(pl.col(REASON).is_not_null())
        entry = shard_entry(annotated.height, flagged, removing, columns.id, columns.text, added)
        entry["stats"] = stats
        entry["annotation_columns"] = added
        if removing and flagged.height:
            # REASON is `curate_reason`: removed rows keep it, last, after `curate_stage`.
            removed = flagged.select(pl.exclude(REASON, "curate_stage", f"^{FLAG_PREFIX}.*$"), pl.lit(stage.name).alias("curate_stage"), REASON)
            write_parquet_atomic(removed, job.work / "removed" / stage.name / f"{shard_name(job.shard)}.parquet", job.input_types, categories=job.input_categories)
        entry["seconds"] = time.perf_counter() - started
        marker["stages"][stage_key(index, stage)] = entry
        if removing:
            return annotated.filter(pl.col(REASON).is_null()).drop(REASON)
        # A flag goes on with its row, so that the flags on rows that reach data/ are counted (a later stage may remove the row).
        return annotated.rename({REASON: flag_column(index)})

    if segment.head is not None:
        started = time.perf_counter()
        decisions = read_parquet(decisions_dir(job.work, segment.head, stages) / f"{shard_name(job.shard)}.parquet")
        if decisions.height != frame.height:
            raise CurateError(f"internal: decisions for shard {job.shard} have {decisions.height} rows, the shard {frame.height}")
        before = frame.columns
        decisions = decisions.drop(ORDER_KEYS)
        head = stages[segment.head]
        assert isinstance(head, DatasetStage)
        shared = [c for c in decisions.columns if c in before and c in head.shared_columns]
        twin = head.explain().twin_column
        if twin in shared:
            # A row an earlier stage of the family flagged (its dup_of names another row: near_dedup's
            # survivor names itself) reaches this stage only because that stage removed nothing (mode:
            # annotate, --annotate-only). Where this stage puts it in no cluster (its own dup_of null:
            # near_dedup cannot shingle "!!!"), it keeps the earlier stage's shared columns together,
            # as it would have left with them in a filter run: dup_of alone beside this stage's
            # dup_cluster_size 1 would say "a duplicate, in a group of one".
            flagged_before = frame[twin].is_not_null() & (frame[twin] != as_text(frame[columns.id])) & decisions[twin].is_null()
            decisions = decisions.with_columns(pl.when(flagged_before).then(frame[c]).otherwise(decisions[c]).alias(c) for c in shared)
        if job.annotate_only:
            # A decision column named like an existing one rewrites it (relabel); annotate-only changes
            # nothing. A column the stage shares with an earlier one (near_dedup's dup_of after exact's)
            # is its own annotation, but every row reaches the later stage here: where it says nothing
            # (null), the earlier stage's value stays, as the row would have left at it in a filter run.
            decisions = decisions.drop([c for c in decisions.columns if c in before and c not in shared]).with_columns(
                pl.coalesce(decisions[c], frame[c]) for c in shared
            )
        frame = account(segment.head, head.apply(frame.with_columns(decisions)), before, started)
    for index in segment.body:
        started = time.perf_counter()
        before = frame.columns
        stage = stages[index]
        assert isinstance(stage, ShardStage)
        frame = account(index, stage.annotate(frame), before, started)
    marker["rows_out"] = frame.height
    if job.segment == len(segments) - 1:
        counts, frame = kept_flags(frame)
        marker["kept_flags"] = {stage_key(index, stages[index]): by_reason for index, by_reason in counts.items()}
    return marker, frame


def _shard_parts(decisions: pl.DataFrame | pl.LazyFrame, shards: int) -> Iterator[pl.DataFrame]:
    """Each shard's decisions, in row order. A lazy frame is collected one shard at a time,
    so the main process never holds every row's decisions (near_dedup: 3M rows of them
    were 0.3 GiB); the stage keeps each collect to its shard (DatasetStage.decide). A collected frame is gathered shard by shard: sorting and partitioning
    it whole held it three times (0.27 GiB more than the frame at 3M near_dedup rows)."""
    if isinstance(decisions, pl.LazyFrame):
        for shard in range(shards):
            yield decisions.filter(pl.col(SHARD) == shard).sort(POSITION).collect()
        return
    rows_of = decisions.select(SHARD, pl.int_range(pl.len(), dtype=pl.Int64).alias("_row")).partition_by(SHARD, as_dict=True, include_key=False)
    for shard in range(shards):
        rows = rows_of.pop((shard,), None)
        yield decisions[rows["_row"]].sort(POSITION) if rows is not None else decisions.clear()


def marker_path(work: Path, segment: int, shard: int) -> Path:
    """A shard's record of a finished segment, kept apart from the data so that moving
    `data/` into place never loses progress."""
    return work / "markers" / f"seg-{segment:02d}" / f"{shard_name(shard)}.json"


def summary_dir(work: Path, index: int, stages: list[Stage]) -> Path:
    return work / "summary" / stage_key(index, stages[index])


def decisions_dir(work: Path, index: int, stages: list[Stage]) -> Path:
    return work / "decisions" / stage_key(index, stages[index])


def decide(stage: DatasetStage, index: int, stages: list[Stage], work: Path, shards: int) -> dict[str, Any]:
    """The whole-dataset step: decisions over all summaries, one file per shard."""
    out = decisions_dir(work, index, stages)
    if decided_before(index, stages, work):
        return read_json(out / "done.json")
    started = time.perf_counter()
    files = sorted(summary_dir(work, index, stages).glob("part-*.parquet"))
    summaries = pl.scan_parquet(files, glob=False)
    expected = summaries.select(pl.len()).collect().item()
    scratch = out / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)  # an interrupted attempt's
    scratch.mkdir(parents=True)
    stage.scratch = scratch
    stage.summary_files = tuple(files)
    try:
        if stage.sees_removed:
            removed = sorted((work / "removed").glob("*/part-*.parquet"))
            # Stages remove rows at different points, so their removed files have different
            # columns (later stages add some): align them by name.
            frames = [pl.scan_parquet(f, glob=False) for f in removed]
            stage.stages_before = tuple(s.name for s in stages[:index])
            stage.added_by = {}
            for earlier in stages[:index]:
                for column in earlier.added_columns():
                    stage.added_by.setdefault(column, earlier.name)
            decisions, stats = stage.decide(summaries, removed=pl.concat(frames, how="diagonal_relaxed") if frames else None)
        else:
            decisions, stats = stage.decide(summaries)
        tables = stats.pop("tables", {})
        for table, frame in tables.items():  # a lazy table may read from the scratch folder
            write_parquet_atomic(frame, out / "tables" / f"{table}.parquet")
    finally:
        stage.scratch = None
        stage.summary_files = ()
        shutil.rmtree(scratch, ignore_errors=True)
    stats["tables"] = sorted(tables)
    crash_point("decide:tables")
    missing = {SHARD, POSITION, REASON} - set(decisions.collect_schema().names())
    if missing:
        raise CurateError(f"internal: stage {stage.name} decided without the columns {sorted(missing)}")
    decided = 0
    for shard, part in enumerate(_shard_parts(decisions, shards)):
        decided += part.height
        write_parquet_atomic(part, out / f"{shard_name(shard)}.parquet", compression=WORK_COMPRESSION)
    if decided != expected:  # no done.json: a rerun decides again
        raise CurateError(f"internal: stage {stage.name} decided {decided} rows of {expected}")
    return _decided(out, time.perf_counter() - started, stats)


def _decided(out: Path, seconds: float, stats: dict[str, Any]) -> dict[str, Any]:
    """Record a dataset stage's finished decisions: a rerun or resume reads them back."""
    result = {"seconds": seconds, "stats": stats}
    write_json_atomic(result, out / "done.json")
    crash_point("decide:done")
    return result


# ---------------------------------------------------------------- deciding in run order


def decided_before(index: int, stages: list[Stage], work: Path) -> bool:
    return (decisions_dir(work, index, stages) / "done.json").exists()


def run_shard_in_order(
    first: ShardJob, second: ShardJob, done: tuple[dict[str, Any] | None, dict[str, Any] | None], decider: InOrderDecisions
) -> tuple[dict[str, Any], dict[str, Any], float]:
    """One shard of the two segments around a dataset stage that decides in run order
    (`DatasetStage.decider_in_order`), reading the input shard once where the two-pass way
    reads it twice: the first segment's summary, the shard's decisions from it (the
    decider holds what the earlier shards' rows left), then the second segment with them.
    The files and markers are those the two-pass way writes, so a run killed here resumes
    with any worker count. Shards come in run order; `done` has the markers a resumed
    run already has (a finished segment is not run again, but its summary still feeds the
    decider). Returns both markers and the seconds spent deciding."""
    stages, segments = _plan(first.pipeline)
    tail = segments[first.segment].tail
    assert tail is not None
    done_first, done_second = done
    shard_input = None
    if done_first is None or (done_second is None and second.rows_done is None):
        shard_input = read_input(first.input_shard, first.pipeline.input.id_column, columns_of(first.pipeline).text)
    if done_first is None:
        done_first = run_shard(first, shard_input)
    started = time.perf_counter()
    summary = read_parquet(summary_dir(first.work, tail, stages) / f"{shard_name(first.shard)}.parquet")
    decisions = decider(summary)
    if decisions.height != summary.height:
        raise CurateError(f"internal: stage {stages[tail].name} decided {decisions.height} rows of shard {first.shard}'s {summary.height}")
    if done_second is None:
        write_parquet_atomic(decisions, decisions_dir(first.work, tail, stages) / f"{shard_name(first.shard)}.parquet", compression=WORK_COMPRESSION)
    seconds = time.perf_counter() - started
    if done_second is None:
        done_second = run_shard(second, shard_input)
    return done_first, done_second, seconds


def finish_in_order(index: int, stages: list[Stage], work: Path, seconds: float, decider: InOrderDecisions) -> dict[str, Any]:
    """The decisions' record after the last shard decided in run order, as `decide` writes it."""
    return _decided(decisions_dir(work, index, stages), seconds, {**decider.stats(), "tables": []})
