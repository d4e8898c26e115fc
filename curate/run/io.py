"""Input shards: planning them, checking them, reading them into frames.

Everything here raises curate's own errors naming the file, so no user ever sees a
pyarrow traceback for a bad file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from curate.errors import InputDataError, OutputError, storage_error
from curate.files import parquet_schema, temporary_path
from curate.run.staging import InputFile, decodes_as_utf8, refuse_duplicate_columns
from curate.stages.base import PRIVATE_PREFIX
from curate.text import stable_hash

ID_COLUMN = "curate_id"
SOURCE_COLUMN = "curate_source"
STRING_TYPES = (pa.string(), pa.large_string(), pa.string_view())
ROW_COLUMN = f"{PRIVATE_PREFIX}row"
"""Each input row's number in its file while a shard is read (ids, --sample); dropped
before any stage sees the rows."""


SHARD_TARGET_BYTES = 256 * 2**20
"""A file with more uncompressed data than this is cut into several shards of whole row
groups, so a worker holds a shard, not a whole large file."""


@dataclass(frozen=True)
class Shard:
    """The unit of shard work: a part of an input file (the file itself for local
    Parquet, one converted part otherwise), or a run of its consecutive row groups."""

    file: InputFile
    part: Path
    first_row: int
    """Its first row's number in the whole input file (default ids count from it)."""
    part_row: int
    """Its first row's number in `part`."""
    rows: int
    whole_part: bool
    bytes: int
    """Its uncompressed size (Parquet metadata): what the automatic worker count weighs
    the spine's work on."""
    text_bytes: int
    """Its text column's uncompressed size (Parquet metadata, per column chunk): what the
    automatic worker count weighs the stages' work on (they read the text, not a wide
    column beside it)."""
    sample: tuple[float, int] | None = None
    """`--sample FRACTION --seed N`: keep each row with this probability, decided by a
    stable hash of the seed and the row's id, so any worker count keeps the same rows."""


def plan_shards(files: list[InputFile], text_column: str, limit: int | None = None, sample: tuple[float, int] | None = None) -> list[Shard]:
    """Shards in run order (files by path, then row order); depends only on the files.
    `limit` keeps only the first rows in run order (`--limit`)."""
    shards: list[Shard] = []
    remaining = limit
    for file in files:
        offset = 0
        for part in file.parts:
            meta = pq.ParquetFile(part.path).metadata
            text = [meta.schema.column(i).path for i in range(meta.num_columns)].index(text_column)
            cuts, sizes, size, text_size, start = [], [], 0, 0, 0
            for group in range(meta.num_row_groups):
                size += meta.row_group(group).total_byte_size
                text_size += meta.row_group(group).column(text).total_uncompressed_size
                end = start + meta.row_group(group).num_rows
                if size >= SHARD_TARGET_BYTES and group < meta.num_row_groups - 1:
                    cuts.append(end)
                    sizes.append((size, text_size))
                    size = text_size = 0
                start = end
            sizes.append((size, text_size))
            bounds = [0, *cuts, part.rows]
            for a, b, (size, text_size) in zip(bounds, bounds[1:], sizes):
                rows = b - a
                if remaining is not None:
                    if remaining == 0:
                        return shards
                    size, text_size = (s * min(rows, remaining) // max(rows, 1) for s in (size, text_size))
                    rows = min(rows, remaining)
                    remaining -= rows
                whole = len(bounds) == 2 and rows == part.rows
                shards.append(Shard(file, part.path, offset + a, a, rows, whole, size, text_size, sample))
            offset += part.rows
    return shards


def inspect_inputs(files: list[InputFile], required: dict[str, str], csv_separator: str) -> pa.Schema:
    """Check the staged inputs (curate.run.staging) before any shard work: required
    columns present, rows to curate. `required` maps column -> what it is for;
    `csv_separator`: input.csv.separator. Returns the run's schema: the first file's,
    each column nullable where it is in any file, with the files' schema metadata (a
    Hugging Face export's features) where all have the same (JSON Lines and CSV have none)."""
    files_schema = [(f, _schema_of(f)) for f in files if f.parts]  # a file beyond --limit was not read
    for file, schema in files_schema:
        refuse_duplicate_columns(schema.names, file.path)
        missing = {column: role for column, role in required.items() if column not in schema.names}
        if missing:
            raise no_column(file.path, missing, schema.names, csv_separator if file.location.format in ("csv", "tsv") else None)
    if sum(f.rows for f in files) == 0:
        raise InputDataError(f"the input has zero rows ({len(files)} file(s), first {files[0].path}); nothing to curate")
    first = files_schema[0][1]
    agreed = first.metadata if all(schema.metadata == first.metadata for _, schema in files_schema) else None
    return pa.schema([field.with_nullable(any(schema.field(field.name).nullable for _, schema in files_schema)) for field in first], metadata=agreed)


SEPARATORS = {";": "';'", "\t": "tabs", "|": "'|'"}
"""Separators other than a comma that spreadsheets and databases export with, and how
a line names each."""


def no_column(where: str, missing: dict[str, str], names: list[str], csv_separator: str | None) -> InputDataError:
    """The input (`where`) lacks the named columns `missing` (column -> what it is for).
    `csv_separator`: the input.csv.separator a CSV or TSV input was read with (None: no
    such input). Such a file separated by another character (Excel's `;` where the
    decimal mark is a comma) reads as columns that hold it: a header of one column holding
    it, or a missing name found by splitting a column at it, says to set the separator,
    not to rename a column."""
    what = "; ".join(f"{column!r} ({role})" for column, role in missing.items())
    fix = "Set the right name in the pipeline's input section"
    for separator, shown in SEPARATORS.items():
        parts = {part for name in names for part in name.split(separator)}
        if csv_separator not in (None, separator) and ((len(names) == 1 and separator in names[0]) or any(column in parts for column in missing)):
            fix = f"The file looks separated by {shown}: set input.csv.separator: {json.dumps(separator)}"
            break
    shown_names = ", ".join(name.replace("\t", "\\t") for name in names)  # a terminal shows a tab as spaces
    return InputDataError(f"{where}: no column {what}; columns are: {shown_names}. {fix}")


def _schema_of(file: InputFile) -> pa.Schema:
    if file.arrow_schema is None:
        return pq.read_schema(file.parts[0].path)
    return file.arrow_schema


def polars_schema(schema: pa.Schema) -> pl.Schema:
    """The polars schema of frames read with this Arrow schema. (`schema.empty_table()`
    would do too, but it makes pyarrow import pandas: a second of start-up.)"""
    return pl.from_arrow(pa.Table.from_batches([], schema)).schema


def check_column_types(schema: pa.Schema, text_column: str, id_column: str | None, where: str) -> None:
    """The text column holds strings; the id column one plain value a row (ids are
    compared and shown as text), not a list or a struct; no column has a type polars
    cannot hold."""
    for field in schema:
        if pa.types.is_decimal(field.type) and field.type.precision > 38:
            raise InputDataError(
                f"{where}: column {field.name!r} has type {field.type}, which curate cannot carry (decimals of at most "
                "38 digits): cast it to decimal128, float64 or string when exporting"
            )
    if text_column in schema.names:
        kind = schema.field(text_column).type
        if kind not in STRING_TYPES and not (pa.types.is_dictionary(kind) and kind.value_type in STRING_TYPES):
            if pa.types.is_null(kind):  # a writer's type for a column it saw no value in
                raise InputDataError(f"{where}: text column {text_column!r} has type null (every value is null, and the file says no type); write it as string")
            hint = " (binary: decode it to UTF-8 text first)" if pa.types.is_binary(kind) or pa.types.is_large_binary(kind) else ""
            raise InputDataError(f"{where}: text column {text_column!r} has type {kind}, not string{hint}; point input.text_column at a text column")
    if id_column is not None and id_column in schema.names:
        kind = schema.field(id_column).type
        if pa.types.is_nested(kind) or pa.types.is_null(kind):
            raise InputDataError(
                f"{where}: id column {id_column!r} has type {kind}; an id is one string or number a row: "
                "point input.id_column at such a column, or leave it out to use curate's row ids (curate_id)"
            )


def read_parquet(path: Path, columns: list[str] | None = None, rows: tuple[int, int] | None = None) -> pl.DataFrame:
    """Read one Parquet file (or some of its columns, or `rows` = (first, count) of its
    rows, reading only the row groups that hold them); any failure names the file."""
    try:
        if rows is not None:
            scan = pl.scan_parquet(path, glob=False)
            return (scan.select(columns) if columns else scan).slice(*rows).collect()
        return pl.read_parquet(path, columns=columns, glob=False)
    except Exception as exc:  # polars raises several kinds for corrupt pages and bad UTF-8
        named = storage_error(exc, path) if isinstance(exc, OSError) else None  # a vanished `_work/` file, say: not the data's fault
        if named is not None:
            raise named from None
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
                        bad = next(i for i, v in enumerate(chunk.cast(pa.binary()).to_pylist()) if v is not None and not decodes_as_utf8(v))
                        return f"column {name!r}, row {offset + bad}"
                    return f"column {name!r} ({str(exc).splitlines()[0]})"
                offset += len(chunk)
        first_row += table.num_rows
    return "a string"


def read_input(shard: Shard, id_column: str | None, text_column: str, columns: list[str] | None = None) -> pl.DataFrame:
    """An input shard (or some of its columns) plus curate's lineage columns:
    `curate_source`, and `curate_id` (`<source>#<row in the file>`) when the pipeline
    names no id column. A converted part gets the run's columns and types; `--sample`
    keeps its rows here. A dictionary-encoded text column (polars' Categorical) is read
    as plain strings, which every stage's string expressions need; the output gets the
    input's type back when it is written."""
    file = shard.file
    file.location.check_unchanged()  # the rows read are those the recorded hash is of
    if file.schema is None:
        columns = columns or (list(file.column_order) if file.column_order else None)  # read_parquet gives them in this order
        frame = read_parquet(shard.part, columns) if shard.whole_part else read_parquet(shard.part, columns, (shard.part_row, shard.rows))
    else:
        present = set(parquet_schema(shard.part))
        wanted = [(n, t) for n, t in file.schema if columns is None or n in columns]
        frame = read_parquet(shard.part, [n for n, _ in wanted if n in present], None if shard.whole_part else (shard.part_row, shard.rows))
        frame = frame.select(
            (pl.col(n).cast(t) if n in present else pl.lit(None, dtype=t).alias(n)) for n, t in wanted
        ) if wanted else frame
    frame = frame.with_columns(pl.int_range(shard.first_row, shard.first_row + pl.len(), dtype=pl.Int64).alias(ROW_COLUMN))
    if shard.sample is not None:
        fraction, seed = shard.sample
        keys = frame.select(pl.lit(f"{seed}:{file.source}#") + pl.col(ROW_COLUMN).cast(pl.String)).to_series()
        frame = frame.filter(stable_hash(keys) <= min(int(fraction * 2**64), 2**64 - 1))
    if text_column in frame.columns and isinstance(frame.schema[text_column], (pl.Categorical, pl.Enum)):
        frame = frame.with_columns(pl.col(text_column).cast(pl.String))
    lineage = [pl.lit(file.source).alias(SOURCE_COLUMN)]
    if id_column is None:
        lineage.append((pl.lit(f"{file.source}#") + pl.col(ROW_COLUMN).cast(pl.String)).alias(ID_COLUMN))
    return frame.with_columns(lineage).drop(ROW_COLUMN)


def not_a_directory(path: Path) -> OutputError:
    return OutputError(f"output {path} exists and is not a directory; choose another --output")


def ensure_writable_dir(path: Path) -> None:
    """Create the run directory and prove it is writable before any work starts."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = temporary_path(path / "curate-write-test")  # a kill before the unlink leaves it to the sweep
        probe.write_bytes(b"")
        probe.unlink()
    except FileExistsError:
        raise not_a_directory(path) from None
    except NotADirectoryError:
        raise OutputError(f"output {path}: a parent of it is a file, not a directory; choose another --output") from None
    except OSError as exc:  # read-only, permission denied, full: the cause's own advice
        raise storage_error(exc, path) or OutputError(f"output {path} is not writable ({exc.strerror}); fix its permissions or choose another --output") from None
