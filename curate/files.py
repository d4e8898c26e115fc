"""Atomic writes and JSON reads: the one way curate puts a file on disk.

Every file is written to a temporary name beside its target and renamed into place, so a
reader (or a resumed run) sees the whole file or none of it. Shared by the runner, the
reports, the checks and the one stage that keeps a file of its own (near_dedup's index).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import polars as pl


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_parquet_atomic(frame: pl.DataFrame | pl.LazyFrame, path: Path) -> None:
    """Write to a temporary name and rename into place: a reader (or a resumed run)
    sees the whole file or none of it. A lazy frame is streamed, not collected."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    if isinstance(frame, pl.LazyFrame):
        frame.sink_parquet(tmp, compression="zstd", statistics=True)
    else:
        frame.write_parquet(tmp, compression="zstd", statistics=True)
    os.replace(tmp, path)


def write_text_atomic(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path)
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_json_atomic(data: Any, path: Path) -> None:
    write_text_atomic(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))
