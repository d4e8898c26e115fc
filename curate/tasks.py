"""Parallel tasks as whole-dataset stages see them: `tasks(work, items)` returns
`[work(item) for item in items]`, computed wherever the executor can (worker processes,
Ray tasks). Stages depend on this shape only, never on an executor. Between rounds of
tasks, frames are handed over in memory, or within a run as files (`hand_over`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl

from curate.files import WORK_COMPRESSION, write_parquet_atomic

Tasks = Callable[[Callable[[Any], Any], list[Any]], list[Any]]
"""`tasks(work, items) -> [work(item) for item in items]`, possibly in parallel."""

Handed = pl.DataFrame | Path
"""A frame one task (or round of tasks) hands to the next: the frame, or its file."""


def in_order(work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """The sequential `tasks`: what a whole-dataset stage uses outside a run."""
    return [work(item) for item in items]


def hand_over(frame: pl.DataFrame, path: Path | None) -> Handed:
    """`frame` as the next round of tasks receives it: the frame itself (outside a run), or
    the file `path` in the stage's scratch folder it is written to, so that whoever passes
    it on (the main process) holds its name only."""
    if path is None:
        return frame
    write_parquet_atomic(frame, path, compression=WORK_COMPRESSION)
    return path


def scan_handed(parts: list[Handed]) -> pl.LazyFrame:
    """The frames handed over, as one lazy frame (the files read only as a query needs)."""
    return pl.concat([pl.scan_parquet(p, glob=False) if isinstance(p, Path) else p.lazy() for p in parts])
