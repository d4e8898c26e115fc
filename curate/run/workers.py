"""The automatic worker count (no `--workers`): as many worker processes as repay their
start-up.

A local run with one worker does its shard work in the main process; with W >= 2 it
spawns W workers, and each pays its start-up s before its first shard (a new
interpreter, curate's imports, the pipeline's stages built; more with a stage that
imports a large library, as label_noise does scikit-learn). For a run whose shard work
costs T CPU seconds, W workers cost about T + W·s CPU seconds and T/W + s of wall time (they start side by side), against T and T with one. A worker is worth
starting only when its share of the work is at least twice its start-up (T/W >= 2s):
then wall time is at most 3/4 of one worker's and start-up adds at most half of the
work's CPU time, so more workers never cost more CPU time *and* more wall time (on
cores that other work leaves free). The count is also bounded by the machine's cores
and the run's shards.

T is estimated before any work, from the input's uncompressed size (Parquet metadata)
and per-GB costs measured by bench/workers.py: the spine (read a shard, write its kept
and removed rows) on the whole rows once per segment that reads rows, plus each stage's
own `cpu_seconds_per_gb` on the text column's size alone (the costed stages read the
text, not a wide column beside it; an input still to be converted is weighed whole by
its size on disk). The estimate errs low (stages without a measured cost count as
free): too few workers cost wall time on a mid-sized run, too many would cost both.
"""

from __future__ import annotations

from collections.abc import Collection

from curate.run.segments import Segment
from curate.run.sources import Location
from curate.stages import Stage

WORKER_START_CPU_SECONDS = 1.5
"""CPU seconds one worker process costs before its first shard, beside what its stages
add (`Stage.worker_start_cpu_seconds`): 0.6-1.0 for a pass-through, 0.7-1.5 for
`length_filter + langid + quality`, whose worker loads the model and compiles the rules
(bench/workers.py); the larger, so the count errs low."""

SPINE_CPU_SECONDS_PER_GB = 10.0
"""CPU seconds per GB of uncompressed input that one segment spends reading shards and
writing kept and removed rows, whatever its stages (bench/workers.py)."""

COMPRESSED_EXPANSION = 3
"""Inputs converted before a run (JSON Lines, CSV, Arrow, remote files) are weighed by
their size on disk, times this when they are compressed (gzip, zstd, Parquet): their
uncompressed size is known only once they are converted, and the conversion itself
runs on the workers."""


def estimated_bytes(location: Location) -> int:
    """An input's uncompressed size, estimated from its size on disk (for inputs not
    yet converted to local Parquet)."""
    compressed = location.compression is not None or location.format == "parquet"
    return location.size * (COMPRESSED_EXPANSION if compressed else 1)


def worker_start_cpu_seconds(stages: list[Stage], reused: Collection[int] = ()) -> float:
    """What one worker costs before its first shard, with the stages it runs (not a
    rerun's `reused` ones); a kind of stage imports what it needs once, however many
    stages of that kind the pipeline has."""
    kinds = {type(stage) for index, stage in enumerate(stages) if index not in reused}
    return WORKER_START_CPU_SECONDS + sum(kind.worker_start_cpu_seconds for kind in kinds)


def auto_workers(
    stages: list[Stage],
    segments: list[Segment],
    input_bytes: float,
    text_bytes: float,
    shards: int | None,
    cores: int,
    reused: Collection[int] = (),
) -> int:
    """Worker processes for `input_bytes` of uncompressed input, `text_bytes` of it in
    the text column, in `shards` shards (None: not known yet), on `cores` cores; the
    module docstring says why. A rerun's `reused` stages (their indices) cost nothing,
    nor do segments made of them only."""
    reading = sum(1 for segment in segments if not segment.passthrough and not set(_indices(segment)) <= set(reused))
    running = sum(stage.cpu_seconds_per_gb for index, stage in enumerate(stages) if index not in reused)
    work = (input_bytes * reading * SPINE_CPU_SECONDS_PER_GB + text_bytes * running) / 1e9
    return max(1, min(cores, shards or cores, int(work // (2 * worker_start_cpu_seconds(stages, reused)))))


def _indices(segment: Segment) -> list[int]:
    return [i for i in (segment.head, *segment.body, segment.tail) if i is not None]
