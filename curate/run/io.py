"""Input files: finding and checking input shards, reading them into frames.

Everything here raises curate's own errors naming the file, so no user ever sees a
pyarrow traceback for a bad file.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from curate.errors import InputDataError, OutputError

ID_COLUMN = "curate_id"
SOURCE_COLUMN = "curate_source"
STRING_TYPES = (pa.string(), pa.large_string(), pa.string_view())


@dataclass(frozen=True)
class InputFile:
    path: Path
    source: str
    """The file's name as recorded in `curate_source` and default ids: its path relative
    to the common folder of all inputs."""
    size: int
    content_hash: str
    rows: int

    def describe(self) -> dict[str, Any]:
        return {"path": str(self.path), "source": self.source, "bytes": self.size, "xxh3_64": self.content_hash, "rows": self.rows}


SHARD_TARGET_BYTES = 256 * 2**20
"""A file with more uncompressed data than this is cut into several shards of whole row
groups, so a worker holds a shard, not a whole large file."""


@dataclass(frozen=True)
class Shard:
    """The unit of shard work: a file, or a run of its consecutive row groups."""

    file: InputFile
    first_row: int
    rows: int
    whole_file: bool


def plan_shards(files: list[InputFile]) -> list[Shard]:
    """Shards in run order (files by path, then row order); depends only on the files."""
    shards: list[Shard] = []
    for file in files:
        meta = pq.ParquetFile(file.path).metadata
        cuts, size, start = [], 0, 0
        for group in range(meta.num_row_groups):
            size += meta.row_group(group).total_byte_size
            end = start + meta.row_group(group).num_rows
            if size >= SHARD_TARGET_BYTES and group < meta.num_row_groups - 1:
                cuts.append(end)
                size = 0
            start = end
        bounds = [0, *cuts, file.rows]
        shards.extend(Shard(file, a, b - a, len(bounds) == 2) for a, b in zip(bounds, bounds[1:]))
    return shards


def find_inputs(patterns: list[str]) -> list[Path]:
    """Every file the patterns name, sorted by path: this order is the run order."""
    found: set[Path] = set()
    for pattern in patterns:
        matches = glob.glob(pattern, recursive=True) if glob.has_magic(pattern) else ([pattern] if Path(pattern).exists() else [])
        if not matches:
            raise InputDataError(f"input.path {pattern!r} matches no file; check the path or glob (relative paths start at the pipeline file's folder)")
        for match in matches:
            path = Path(match).resolve()
            if path.is_dir():
                raise InputDataError(f"input {path} is a directory; name the files, e.g. '{path}/*.parquet'")
            found.add(path)
    return sorted(found)


def file_hash(path: Path) -> str:
    digest = xxhash.xxh3_64()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _open(path: Path) -> pq.ParquetFile:
    if path.stat().st_size == 0:
        raise InputDataError(f"{path}: the file is empty (0 bytes); remove it from the input or re-export it")
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        raise InputDataError(f"{path}: not a readable Parquet file ({str(exc).splitlines()[0]}); re-export it or remove it from the input") from None


def inspect_inputs(paths: list[Path], required: dict[str, str]) -> tuple[list[InputFile], pa.Schema]:
    """Check every input's footer before any work: readable, same schema, required
    columns present with the right type. `required` maps column -> what it is for;
    the text column must be a string column."""
    root = Path(os.path.commonpath([p.parent for p in paths]))
    files: list[InputFile] = []
    first_schema: pa.Schema | None = None
    for path in paths:
        parquet = _open(path)
        schema = parquet.schema_arrow
        for column, role in required.items():
            if column not in schema.names:
                raise InputDataError(
                    f"{path}: no column {column!r} ({role}); columns are: {', '.join(schema.names)}. "
                    f"Set the right name in the pipeline's input section"
                )
        if first_schema is None:
            first_schema = schema
        elif not schema.equals(first_schema):
            differing = _schema_difference(first_schema, schema)
            raise InputDataError(f"{path}: schema differs from {paths[0]} ({differing}); all input shards must share one schema")
        files.append(InputFile(path, str(path.relative_to(root)), path.stat().st_size, file_hash(path), parquet.metadata.num_rows))
    assert first_schema is not None
    if sum(f.rows for f in files) == 0:
        raise InputDataError(f"the input has zero rows ({len(files)} file(s), first {paths[0]}); nothing to curate")
    return files, first_schema


def check_text_column(schema: pa.Schema, column: str, where: Path) -> None:
    kind = schema.field(column).type
    if kind not in STRING_TYPES and not (pa.types.is_dictionary(kind) and kind.value_type in STRING_TYPES):
        hint = " (binary: decode it to UTF-8 text first)" if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) else ""
        raise InputDataError(f"{where}: text column {column!r} has type {kind}, not string{hint}; point input.text_column at a text column")


def _schema_difference(a: pa.Schema, b: pa.Schema) -> str:
    for field in a:
        if field.name not in b.names:
            return f"column {field.name!r} is missing"
        if not b.field(field.name).type.equals(field.type):
            return f"column {field.name!r} is {b.field(field.name).type}, not {field.type}"
    extra = [n for n in b.names if n not in a.names]
    return f"extra column(s) {', '.join(map(repr, extra))}" if extra else "column order differs"


def read_parquet(path: Path, columns: list[str] | None = None, rows: tuple[int, int] | None = None) -> pl.DataFrame:
    """Read one Parquet file (or some of its columns, or `rows` = (first, count) of its
    rows, reading only the row groups that hold them); any failure names the file."""
    try:
        if rows is not None:
            scan = pl.scan_parquet(path)
            return (scan.select(columns) if columns else scan).slice(*rows).collect()
        return pl.read_parquet(path, columns=columns)
    except Exception as exc:  # polars raises several kinds for corrupt pages and bad UTF-8
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if "utf-8" in message.lower() or "utf8" in message.lower():
            raise InputDataError(f"{path}: {invalid_utf8_place(path)} is not valid UTF-8; fix the encoding when exporting") from None
        raise InputDataError(f"{path}: cannot read the Parquet data ({message}); the file may be truncated or corrupt: re-export it") from None


def invalid_utf8_place(path: Path) -> str:
    """Where a file's first invalid UTF-8 string is: "column 'label', row 17" (rows count
    from 0, as in curate_id). Read on the error path only, a row group at a time."""
    parquet = pq.ParquetFile(path)
    first_row = 0
    for group in range(parquet.metadata.num_row_groups):
        table = parquet.read_row_group(group)
        for name in table.column_names:
            offset = first_row
            for chunk in table.column(name).chunks:
                try:
                    chunk.validate(full=True)
                except pa.ArrowInvalid as exc:
                    if pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type):
                        bad = next(i for i, v in enumerate(chunk.cast(pa.binary()).to_pylist()) if v is not None and not _decodes(v))
                        return f"column {name!r}, row {offset + bad}"
                    return f"column {name!r} ({str(exc).splitlines()[0]})"
                offset += len(chunk)
        first_row += table.num_rows
    return "a string"


def _decodes(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def read_input(shard: Shard, id_column: str | None, columns: list[str] | None = None) -> pl.DataFrame:
    """An input shard (or some of its columns) plus curate's lineage columns:
    `curate_source`, and `curate_id` (`<source>#<row in the file>`) when the pipeline
    names no id column."""
    file = shard.file
    frame = read_parquet(file.path, columns) if shard.whole_file else read_parquet(file.path, columns, (shard.first_row, shard.rows))
    lineage = [pl.lit(file.source).alias(SOURCE_COLUMN)]
    if id_column is None:
        rows = pl.int_range(shard.first_row, shard.first_row + pl.len())
        lineage.append((pl.lit(f"{file.source}#") + rows.cast(pl.String)).alias(ID_COLUMN))
    return frame.with_columns(lineage)


def ensure_writable_dir(path: Path) -> None:
    """Create the run directory and prove it is writable before any work starts."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".curate-write-test-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except FileExistsError:
        raise OutputError(f"output {path} exists and is not a directory; choose another --output") from None
    except NotADirectoryError:
        raise OutputError(f"output {path}: a parent of it is a file, not a directory; choose another --output") from None
    except OSError as exc:
        raise OutputError(f"output {path} is not writable ({exc.strerror}); fix its permissions or choose another --output") from None
