"""Atomic writes and JSON reads: the one way curate puts a file on disk (and a row's value
as a stage report's sample holds it, which the runner writes and report.html reads).

Every file is written to a temporary name beside its target and renamed into place, so a
reader (or a resumed run) sees the whole file or none of it. Shared by the runner, the
reports, the checks and the one stage that keeps a file of its own (near_dedup's index).
"""

from __future__ import annotations

import glob
import json
import os
import re
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from curate.errors import storage_error

TEMPORARY_MARK = ".tmp-"
"""Temporary files are `.<name>.tmp-<pid>` (`temporary_path`); a run holding its
directory's lock removes any it finds there (they are left by a killed process)."""

_TEMPORARY_NAME = re.compile(rf"^\..+{re.escape(TEMPORARY_MARK)}\d+$")


def temporary_path(path: Path) -> Path:
    """Where this process writes `path` before it is renamed into place."""
    return path.with_name(f".{path.name}{TEMPORARY_MARK}{os.getpid()}")


def is_temporary(name: str) -> bool:
    """A file name `temporary_path` gives."""
    return bool(_TEMPORARY_NAME.match(name))


def remove_temporary(folder: Path, recursive: bool = True) -> None:
    """Delete the temporary files killed processes left in `folder` (and below it, when
    `recursive`); the caller knows that no process is writing there now."""
    if not folder.is_dir():
        return
    pattern = f".*{TEMPORARY_MARK}*"
    for path in list(folder.rglob(pattern) if recursive else folder.glob(pattern)):
        if is_temporary(path.name) and path.is_file():
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                raise storage_error(exc, path) or exc from None


def _write_then_rename(path: Path, write: Any, make_folders: bool = True) -> None:
    """`write(tmp)`, then rename onto `path`. On any failure the temporary file is
    removed; a full disk, a read-only or vanished folder becomes a StorageError naming
    `path` (one line, exit 4) instead of a traceback. `make_folders`: the folders `path`
    needs are made first; without it a missing one is that error (a run directory
    deleted under the run is not made again)."""
    tmp = temporary_path(path)
    try:
        if make_folders:
            path.parent.mkdir(parents=True, exist_ok=True)
        write(tmp)
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
        named = storage_error(exc, path) if isinstance(exc, Exception) else None
        if named is not None:
            raise named from None
        raise


DICTIONARY_PAGE_BYTES = 64 * 2**20
"""pyarrow's default (1 MiB) gives up dictionary encoding on long texts, so a part full
of exact duplicates would be twice polars' size (bench/typed_write.py)."""


WORK_COMPRESSION = "lz4"
"""For the Parquet files under `_work/` that only curate reads back (converted inputs,
summaries, decisions): lz4 writes a shard in about 40% of zstd's CPU
time and reads it in half, for files about 1.7× as large (docs/benchmarks.md)."""


def write_parquet_atomic(frame: pl.DataFrame | pl.LazyFrame, path: Path, types: pa.Schema | None = None, compression: str = "zstd",
                         categories: dict[str, pa.Array] | None = None) -> None:
    """Write to a temporary name and rename into place: a reader (or a resumed run)
    sees the whole file or none of it. A lazy frame is streamed, not collected.

    `types` (the input's Arrow schema) gives the columns it names back their exact
    Arrow types, as Parquet holds them (`_parquet_field`): polars holds every string as large_string, dictionary indices as
    uint32, times in ns, so without it `string` would come out as `large_string`.
    polars' own writer keeps them where they are what it writes (the usual case); where
    not, the frame goes through pyarrow, cast to them (`_native_keeps`). The schema's
    metadata (a Hugging Face export's features) is written too, by pyarrow: polars
    writes it where pyarrow, which reads its own copy of the schema, does not look.
    `compression=WORK_COMPRESSION` is for files only curate reads back. `categories`
    (`ordered_categories`, with `types`): an ordered dictionary column's input category
    list, which a polars Categorical does not keep (it lists values as a shard first
    gives them, and only those): written as each part's dictionary (`_categorized`)."""
    def write(tmp: Path) -> None:
        if types is not None and isinstance(frame, pl.DataFrame):
            fields = pa.schema([_parquet_field(types.field(name)) if name in types.names else field for name, field in zip(frame.columns, frame.head(0).to_arrow().schema)], metadata=types.metadata)
            key = fields.serialize().to_pybytes()
            if not fields.metadata and not categories and _native_keeps.get(key, True):
                frame.write_parquet(tmp, compression=compression, compression_level=3 if compression == "zstd" else None, statistics=True)
                if key not in _native_keeps:
                    written = pq.read_schema(tmp)
                    _native_keeps[key] = all(a.equals(b, check_metadata=True) for a, b in zip(written, fields, strict=True))
                if _native_keeps[key]:
                    return
            table = frame.to_arrow()
            # zstd level 3 and room for a large dictionary, as polars writes: a part of
            # repeated texts (removed duplicates) stays as small as polars would make it
            pq.write_table(_cast(table, fields, categories or {}), tmp, compression=compression, compression_level=3 if compression == "zstd" else None,
                           write_statistics=True, dictionary_pagesize_limit=DICTIONARY_PAGE_BYTES, use_dictionary=_repeating(frame))
        elif isinstance(frame, pl.LazyFrame):
            frame.sink_parquet(tmp, compression=compression, statistics=True)
        else:
            frame.write_parquet(tmp, compression=compression, statistics=True)

    _write_then_rename(path, write)


def _cast(table: pa.Table, fields: pa.Schema, categories: dict[str, pa.Array]) -> pa.Table:
    """`table` with the types of `fields`, but for a dictionary's index type
    (`written_dictionary`), and the dictionary `categories` gives a column (`_categorized`).
    An extension column (Arrow's arrow.json) goes through its storage: polars gives back
    its own instance of the type, on large_string, and Arrow casts no extension type to another."""
    columns = [
        pa.chunked_array([pa.ExtensionArray.from_storage(field.type, _storage(chunk).cast(field.type.storage_type)) for chunk in column.chunks], field.type)
        if isinstance(field.type, pa.BaseExtensionType)
        else _categorized(column, categories[field.name], written_dictionary(field.type)) if field.name in categories
        else column.cast(written_dictionary(field.type)) if pa.types.is_dictionary(field.type)
        else column.cast(field.type)
        for column, field in zip(table.columns, fields)
    ]
    return pa.Table.from_arrays(columns, schema=pa.schema([field.with_type(column.type) for column, field in zip(columns, fields)], metadata=fields.metadata))


def _categorized(column: pa.ChunkedArray, categories: pa.Array, kind: pa.DictionaryType) -> pa.ChunkedArray:
    """`column` as a dictionary of `kind` whose values are `categories` in their order
    (unused ones kept), then any value they lack (none, unless a stage wrote one) after
    them: an ordered column's order is its meaning, so max() and sorting read as in the input."""
    values, categories = column.cast(kind.value_type), categories.cast(kind.value_type)
    present = pc.unique(values).drop_null()
    dictionary = pa.concat_arrays([categories, present.filter(pc.invert(pc.is_in(present, value_set=categories)))])
    indices = pc.index_in(values, value_set=dictionary).cast(kind.index_type)
    return pa.chunked_array([pa.DictionaryArray.from_arrays(chunk, dictionary, ordered=kind.ordered) for chunk in indices.chunks], kind)


def ordered_categories(table: pa.Table) -> dict[str, pa.Array]:
    """Each ordered dictionary column's category list: its dictionary's values in order,
    unused ones included, as pyarrow reads them (a polars frame does not hold them)."""
    return {
        field.name: column.chunk(0).dictionary
        for field, column in zip(table.schema, table.columns)
        if pa.types.is_dictionary(field.type) and field.type.ordered and column.num_chunks
    }


WIDE_INDEX = pa.int32()
"""The narrowest index type curate writes a dictionary column with: Arrow's default."""


def written_dictionary(kind: pa.DictionaryType) -> pa.DictionaryType:
    """The type a dictionary column of the input is written with: its values, order flag
    and index type, but indices narrower than WIDE_INDEX widened to it, in every part.
    pandas writes a category column of fewer than 128 values with int8 indices; a text a
    stage rewrote (line_dedup makes copies of one text differ) or a shard over row groups
    each with a dictionary of its own can hold more values than int8 numbers, and parts of
    one folder with different index types do not read as one dataset (pyarrow, pandas)."""
    if kind.index_type.bit_width >= WIDE_INDEX.bit_width:
        return kind
    return pa.dictionary(WIDE_INDEX, kind.value_type, kind.ordered)


_VIEW_VALUES = {pa.string_view(): pa.string(), pa.binary_view(): pa.binary()}


def _parquet_field(field: pa.Field) -> pa.Field:
    """`field` with a type Parquet holds: a dictionary of views (polars writes a Categorical
    to an Arrow file as dictionary<string_view, uint32>, at the top or in a list or
    struct) with plain values, the same index type. pyarrow's Parquet writer has no
    dictionary of views, and its reader gives any dictionary of text back with `string`
    values."""
    kind = field.type
    if pa.types.is_dictionary(kind):
        kind = pa.dictionary(kind.index_type, _VIEW_VALUES.get(kind.value_type, kind.value_type), kind.ordered)
    elif pa.types.is_list(kind):
        kind = pa.list_(_parquet_field(kind.value_field))
    elif pa.types.is_large_list(kind):
        kind = pa.large_list(_parquet_field(kind.value_field))
    elif pa.types.is_fixed_size_list(kind):
        kind = pa.list_(_parquet_field(kind.value_field), kind.list_size)
    elif pa.types.is_struct(kind):
        kind = pa.struct([_parquet_field(kind.field(i)) for i in range(kind.num_fields)])
    elif pa.types.is_map(kind):
        kind = pa.map_(kind.key_field, _parquet_field(kind.item_field), kind.keys_sorted)
    return field.with_type(kind)


def _storage(array: pa.Array) -> pa.Array:
    return array.storage if isinstance(array.type, pa.BaseExtensionType) else array


def write_ipc_atomic(frame: pl.DataFrame, path: Path) -> None:
    """An uncompressed Arrow IPC file: for a stage's kept rows between segments under
    `_work/`, which only curate reads back, once. It writes a shard in a fraction of an
    lz4 Parquet write's CPU time and reads back with no decoding, for files about 1.5×
    as large (docs/benchmarks.md)."""
    _write_then_rename(path, lambda tmp: frame.write_ipc(tmp, compression="uncompressed"))


_native_keeps: dict[bytes, bool] = {}
"""Per Arrow schema a part is to have: whether polars' writer gives every column that
type. Known from the first part written with it (its schema read back), so the other
parts take the right writer at once. polars' writer costs what pyarrow's does, without
converting the frame to Arrow first: that conversion copied every text into fresh
memory, about 6% of a pass-through's CPU (docs/benchmarks.md)."""


REPEAT_SAMPLE = 4096
"""Rows `_repeating` looks at (evenly spread over the part)."""


def _repeating(frame: pl.DataFrame) -> list[str]:
    """The columns worth a dictionary: all but strings and binaries whose values are
    mostly distinct. Building a large dictionary of distinct long texts, only to give it
    up, cost about a fifth of writing a part (docs/benchmarks.md). Whether values are
    mostly distinct shows in an evenly spread sample: counting all of them cost 2% of
    writing a part of 1,950-character texts."""
    sample = frame.gather_every(max(1, frame.height // REPEAT_SAMPLE))
    return [
        name for name, kind in frame.schema.items()
        if kind not in (pl.String, pl.Binary) or sample.get_column(name).n_unique() <= sample.height // 2
    ]


def write_file_atomic(path: Path, write: Any) -> None:
    """`write(tmp)` writes the file's content to a temporary path; it is renamed onto
    `path` (for formats the helpers above do not cover, e.g. JSON Lines with gzip)."""
    _write_then_rename(path, write)


def write_text_atomic(text: str, path: Path, make_folders: bool = True) -> None:
    _write_then_rename(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), make_folders)


def write_json_atomic(data: Any, path: Path, make_folders: bool = True) -> None:
    write_text_atomic(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", path, make_folders)


SAMPLE_CHARS = 300
"""Characters of a text (or a list's or a struct's text form) a stage report's sample keeps."""


def sample_value(value: Any) -> Any:
    """A row's value as a stage report's sample holds it: a number, a bool or null as it
    is, anything else as text, cut to SAMPLE_CHARS with a "…"."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = str(value)
    return text if len(text) <= SAMPLE_CHARS else text[:SAMPLE_CHARS] + "…"


def parquet_schema(path: Path) -> pl.Schema:
    """A Parquet file's columns and types, from its footer. The path is taken as it is:
    polars reads `pl.read_parquet_schema`'s path as a glob, so a run directory such as
    `runs/exp[1]` would match nothing (every read of a named file passes `glob=False`)."""
    return pl.scan_parquet(path, glob=False).collect_schema()


def ndjson_path(path: Path) -> str:
    """A JSON Lines file's path for polars, whose ndjson readers take every path as a glob
    and have no `glob=False`: `[`, `*` and `?` in a folder's name (`runs/exp[1]`) escaped."""
    return glob.escape(str(path))


def exported_part_name(stem: str, fmt: str, max_rows: int | None, row: int) -> str:
    """The file `output.format` and `output.max_rows_per_file` put row `row` of the run's
    Parquet part `stem` (`part-00003`) in: `part-00003.jsonl.gz`, or, cut every `max_rows`
    rows, `part-00003-0001.parquet`."""
    if max_rows is not None:
        stem = f"{stem}-{row // max_rows:04d}"
    return f"{stem}.jsonl.gz" if fmt == "jsonl" else f"{stem}.parquet"


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


IDENTITY_KEYS = ("xxh3_64", "etag", "trial_identity")
"""The keys an input's identity is recorded under in a manifest's `inputs` entry: the hash
of a local file, the ETag of a remote one, or a `--limit` run's quick identity. Values under
different keys cannot be compared."""


def input_identity_key(described: dict[str, Any]) -> str | None:
    """Which of IDENTITY_KEYS identifies this input, or None."""
    return next((key for key in IDENTITY_KEYS if described.get(key)), None)


def input_identity(described: dict[str, Any]) -> str | None:
    """What identifies an input file's content in a manifest's `inputs` entry (IDENTITY_KEYS)."""
    key = input_identity_key(described)
    return described[key] if key else None


def arrow_type(kind: pl.DataType) -> pl.DataType:
    """`kind` with polars' Int128 (a JSON integer beyond 64 bits, or the common type of
    int64 and uint64 parts) as Decimal(38, 0): exact, still a number, and a type Arrow
    and Parquet have."""
    if kind == pl.Int128:
        return pl.Decimal(38, 0)
    if isinstance(kind, pl.List):
        return pl.List(arrow_type(kind.inner))
    if isinstance(kind, pl.Array):
        return pl.Array(arrow_type(kind.inner), kind.shape)
    if isinstance(kind, pl.Struct):
        return pl.Struct({field.name: arrow_type(field.dtype) for field in kind.fields})
    return kind
