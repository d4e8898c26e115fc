"""The files of a finished run in the format the next step reads: `output.format: jsonl`
(gzip-compressed JSON Lines) and `output.max_rows_per_file`.

The run is computed, checked and reported on Parquet parts as always; this is the last
step before `manifest.json`. Each Parquet part becomes one or more files
(`part-00003.jsonl.gz`, or `part-00003-0001.parquet` when cut by rows), each written to
a temporary name and renamed, and only then is the Parquet part deleted, so a run killed
here finishes the export when run again (the runner keeps the manifest it is about to
write in `_work/manifest.pending.json` until then).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from curate.files import exported_part_name, ordered_categories, write_file_atomic, write_parquet_atomic

GZIP_LEVEL = 6
"""`gzip`'s own default: the size teams expect from a .jsonl.gz."""


def export_parts(run_dir: Path, fmt: str, max_rows: int | None) -> None:
    """Rewrite every Parquet part under data/ and removed/ in `fmt`, at most `max_rows` a file."""
    if max_rows is None and fmt == "parquet":
        return
    parts = sorted((run_dir / "data").glob("part-*.parquet")) + sorted((run_dir / "removed").glob("*/part-*.parquet"))
    for part in parts:
        if max_rows is not None and part.stem.count("-") == 2 and fmt == "parquet":
            continue  # already cut by an earlier, killed export
        frame = pl.read_parquet(part, glob=False)
        types = pq.read_schema(part)  # the part's exact Arrow types and metadata, which polars' frame does not hold
        ordered = [field.name for field in types if pa.types.is_dictionary(field.type) and field.type.ordered]
        categories = ordered_categories(pq.read_table(part, columns=ordered)) if ordered else None  # nor its ordered category lists
        step = max_rows or max(frame.height, 1)
        for start in range(0, max(frame.height, 1), step):
            piece, path = frame.slice(start, step), part.with_name(exported_part_name(part.stem, fmt, max_rows, start))
            if fmt == "jsonl":
                _write_jsonl_gz(piece, path)
            else:
                write_parquet_atomic(piece, path, types, categories=categories)
        part.unlink()


def _write_jsonl_gz(frame: pl.DataFrame, path: Path) -> None:
    def write(tmp: Path) -> None:
        with gzip.open(tmp, "wb", compresslevel=GZIP_LEVEL) as handle:
            frame.write_ndjson(handle)

    write_file_atomic(path, write)
