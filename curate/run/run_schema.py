"""One schema for the run, over the staged input files (`staging`): Parquet and Arrow
files kept exactly alike, converted formats unified to the one type all their values fit,
a CSV column typed from every CSV file's values together (`csv_types`), and the CSV
files' text parts written as those types (`type_text_parts`)."""

from __future__ import annotations

from dataclasses import replace

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import xxhash

from curate.errors import InputDataError, first_line
from curate.files import WORK_COMPRESSION, arrow_type, ordered_categories, parquet_schema, write_parquet_atomic
from curate.run.csv_types import column_type, typed_column
from curate.run.staging import InputFile, Part, refuse_duplicate_columns
from curate.tasks import Tasks, in_order


TYPED_FORMATS = ("parquet", "arrow")
"""Formats whose files declare their Arrow types (an Arrow file's converted parts keep
them, and its schema metadata): kept exactly, never inferred from values."""


def unify_schemas(files: list[InputFile], text_column: str) -> list[InputFile]:
    """All Parquet or Arrow: every file must have the same columns with the same types (the user's,
    kept exactly), in any order (read in the first file's) and nullable or not. With
    converted formats, whose types are what the reader inferred: the columns of all
    parts, each with the one type all its values fit (a key missing from some lines is
    null there); no such type is a conflict naming both files. A CSV column's type comes
    from every CSV file's values together and the other files' type (`column_type`). A
    text column of nulls only (a day's batch with no text) is text, as beside a file
    with text: its rows are null texts."""
    typed = [f for f in files if f.location.format in TYPED_FORMATS]
    if len(typed) == len(files):
        return _check_same(files)
    if any(f.parts for f in typed):
        _check_same(typed)  # beside other formats too: the files that declare their types declare the same
    every = [(f, part, parquet_schema(part.path)) for f in files for part in f.parts]  # a file beyond --limit has none
    order = [name for _, _, schema in every for name in schema]  # the columns in the order the files first give them
    schemas = [(f, schema) for f, _, schema in every if f.text_kinds is None]
    texts = {f.location.url: (f, list(schema)) for f, _, schema in every if f.text_kinds is not None}  # a CSV file's parts: the same columns
    merged: dict[str, pl.DataType] = {}
    origin: dict[str, str] = {}
    for file, schema in schemas:
        for name, kind in schema.items():
            if name not in merged or merged[name] == kind:
                merged.setdefault(name, kind)
                origin.setdefault(name, file.path)
                continue
            try:
                if merged[name].is_nested() != kind.is_nested() and pl.Null not in (merged[name], kind):
                    # polars would give String, and the list or object could then not be cast to it
                    raise ValueError("a list or object against a plain value")
                if _true_against_number(merged[name], kind) or _moment_against_number(merged[name], kind):
                    raise ValueError("polars would make true 1, and a date its count of days")
                merged[name] = pl.concat([pl.DataFrame(schema={name: merged[name]}), pl.DataFrame(schema={name: kind})], how="vertical_relaxed").schema[name]
            except Exception:  # noqa: BLE001 - polars names no common type in several ways
                raise InputDataError(
                    f"{file.path}: column {name!r} is {kind} here but {merged[name]} in {origin[name]}; the schemas conflict: make the column one type in every file"
                ) from None
    reads: dict[str, str] = {}
    for name in dict.fromkeys(n for _, columns in texts.values() for n in columns):
        having = [f for f, columns in texts.values() if name in columns]
        found = [f.text_kinds[name] for f in having if name in f.text_kinds]  # type: ignore[index]
        if len(found) < len(having):  # text in some file (the text column, infer_types: false)
            reads[name], merged[name] = "text", pl.String() if merged.get(name, pl.String) in (pl.String, pl.Null) else _as_text(merged[name], name, origin)
            continue
        kinds = found[0]
        for more in found[1:]:
            kinds = kinds & more
        other = merged.get(name)
        reads[name], merged[name] = column_type(kinds, other)
        if merged[name] == pl.String and other is not None and other not in (pl.String, pl.Null):
            _as_text(other, name, origin)  # the other files' values are read as text
    if merged.get(text_column) == pl.Null:
        merged[text_column] = pl.String
    _refuse_changed_numbers([(f, part, schema) for f, part, schema in every if f.text_kinds is None], merged)
    columns = tuple((name, arrow_type(merged[name])) for name in dict.fromkeys(order))
    written = pl.DataFrame(schema=dict(columns)).to_arrow().schema
    declared = _declared_arrow_types([f for f in files if f.location.format in TYPED_FORMATS and f.parts])
    for name, kind in columns:
        if name in declared and _polars_type(declared[name]) == kind:
            written = written.set(written.get_field_index(name), pa.field(name, declared[name]))
    text_reads = tuple(reads.items())
    return [replace(f, schema=columns, arrow_schema=written, text_reads=text_reads if f.text_kinds is not None else None) for f in files]


def _as_text(kind: pl.DataType, name: str, origin: dict[str, str]) -> pl.DataType:
    """A column that is text in a CSV file: its values in the other files as text too,
    where they have a text form."""
    try:
        if kind.is_nested():  # a list or object has no text form that keeps its keys
            raise pl.exceptions.InvalidOperationError(str(kind))
        pl.Series([], dtype=kind).cast(pl.String)
    except pl.exceptions.InvalidOperationError:
        raise InputDataError(
            f"{origin[name]}: column {name!r} is {kind} here but text in a CSV file beside it, and {kind} has no text form; "
            "convert the column, or give the files of each type their own run"
        ) from None
    return pl.String()


def _refuse_changed_numbers(parts: list[tuple[InputFile, Part, dict[str, pl.DataType]]], merged: dict[str, pl.DataType]) -> None:
    """A column whose type for the run is another number type than a file gives it, at
    the top or inside lists and objects (an int64 Parquet column beside JSON's 0.5 is a
    float; a decimal(38, 36) beside JSON's 1234 stays a decimal): each of the file's
    values must come back from that type as it was, as for a CSV integer; else the run
    stops naming the file, column and value (a 19-digit id would get other digits)."""
    for file, part, schema in parts:
        for name, kind in schema.items():
            if kind == merged[name] or not _numbers_change(kind, merged[name]):
                continue
            column = pl.col(name)
            changed = (
                pl.scan_parquet(part.path)
                .select(column)
                .filter(column.cast(merged[name], strict=False).cast(kind, strict=False).ne_missing(column))
                .head(1)
                .collect()
            )
            if len(changed):
                raise InputDataError(
                    f"{file.path}: column {name!r} holds {changed[name].to_list()[0]!r} here ({_arrow_name(kind)}), which the type "
                    f"all input files' values of it take ({_arrow_name(merged[name])}) cannot hold exactly; make the column one type "
                    "in every file, or write it as strings"
                )


def _numbers_change(kind: pl.DataType, merged: pl.DataType) -> bool:
    """Whether a number in `kind` is another number type in `merged` that may not hold
    it (int32 in int64 or float64 always does), at the top or inside lists and objects."""
    if kind.is_numeric() and merged.is_numeric():
        return kind != merged and kind not in _HELD_BY.get(merged, ())
    if isinstance(kind, (pl.List, pl.Array)) and isinstance(merged, (pl.List, pl.Array)):
        return _numbers_change(kind.inner, merged.inner)
    if isinstance(kind, pl.Struct) and isinstance(merged, pl.Struct):
        fields = {field.name: field.dtype for field in merged.fields}
        return any(_numbers_change(field.dtype, fields[field.name]) for field in kind.fields if field.name in fields)
    return False


_HELD_BY: dict[pl.DataType, tuple[pl.DataType, ...]] = {
    pl.Int16: (pl.Int8, pl.UInt8),
    pl.Int32: (pl.Int8, pl.Int16, pl.UInt8, pl.UInt16),
    pl.Int64: (pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16, pl.UInt32),
    pl.UInt16: (pl.UInt8,),
    pl.UInt32: (pl.UInt8, pl.UInt16),
    pl.UInt64: (pl.UInt8, pl.UInt16, pl.UInt32),
    pl.Float64: (pl.Float32, pl.Int8, pl.Int16, pl.Int32, pl.UInt8, pl.UInt16, pl.UInt32),
}
"""Number types each of whose values another type holds exactly: no value to check."""


def _arrow_name(kind: pl.DataType) -> str:
    """The Arrow type a column of `kind` is written as (int64, decimal128(38, 36))."""
    return str(pl.DataFrame(schema={"c": arrow_type(kind)}).to_arrow().schema.field(0).type)


def _moment_against_number(a: pl.DataType, b: pl.DataType) -> bool:
    """A date or time against a number: polars' relaxed concatenation would make a date
    its count of days since 1970."""
    return (a.is_temporal() and b.is_numeric()) or (b.is_temporal() and a.is_numeric())


def type_text_parts(files: list[InputFile], tasks: Tasks = in_order) -> list[InputFile]:
    """Each CSV/TSV file's text parts written as the run's types (`unify_schemas`), each
    value read as its column's kind (`csv_types.typed_column`), beside the text parts
    under a name of the types (a resumed run reuses them, a run of other types writes
    its own), on the run's workers."""
    jobs = [f for f in files if f.text_reads is not None and f.parts]
    typed = dict(zip([f.location.url for f in jobs], tasks(_type_parts, jobs)))
    return [replace(f, parts=typed[f.location.url]) if f.location.url in typed else f for f in files]


def _type_parts(file: InputFile) -> tuple[Part, ...]:
    types = dict(file.schema or ())
    reads = dict(file.text_reads or ())
    columns = list(parquet_schema(file.parts[0].path))
    if all(reads.get(name, "text") == "text" and types[name] == pl.String for name in columns):
        return file.parts  # every column text (infer_types: false, or no value typed): the text parts are the typed ones
    expressions = [typed_column(name, reads.get(name, "text"), types[name]) for name in columns]
    key = xxhash.xxh3_64_hexdigest(repr([(name, reads.get(name), str(types[name])) for name in columns]).encode())
    folder = file.parts[0].path.parent / f"typed-{key}"
    folder.mkdir(exist_ok=True)
    parts = []
    for part in file.parts:
        target = folder / part.path.name
        if not target.exists():
            try:
                frame = pl.read_parquet(part.path).select(expressions)
            except pl.exceptions.InvalidOperationError as exc:  # a value the other files' type cannot hold (300 in an int8 column)
                raise InputDataError(f"{file.path}: {first_line(exc)}; make the column one type in every file") from None
            write_parquet_atomic(frame, target, compression=WORK_COMPRESSION)
        parts.append(Part(target, part.rows))
    return tuple(parts)


def input_categories(files: list[InputFile], schema: pa.Schema) -> dict[str, pa.Array]:
    """Each ordered dictionary column's category list (`ordered_categories`), which every
    input file must give alike: the parts in data/ and removed/ are written with it. Files
    with other lists have no one order to keep (is "mid" below "high"?), so the run stops
    naming both."""
    names = [field.name for field in schema if pa.types.is_dictionary(field.type) and field.type.ordered]
    found: dict[str, tuple[pa.Array, str]] = {}
    for file in files if names else []:
        for part in file.parts:
            for name, categories in ordered_categories(pq.read_table(part.path, columns=names)).items():
                first, where = found.setdefault(name, (categories, file.path))
                if not first.equals(categories):
                    raise InputDataError(
                        f"{file.path}: ordered category column {name!r} has the categories {categories.to_pylist()} here but "
                        f"{first.to_pylist()} in {where}; give it the same categories in the same order in every file"
                    )
    return {name: categories for name, (categories, _) in found.items()}


def _declared_arrow_types(parquet_files: list[InputFile]) -> dict[str, pa.DataType]:
    """The Arrow type of each column every Parquet or Arrow file that has it declares alike."""
    declared: dict[str, pa.DataType] = {}
    differing: set[str] = set()
    for file in parquet_files:
        for field in pq.read_schema(file.parts[0].path):
            if field.name in declared and not declared[field.name].equals(field.type):
                differing.add(field.name)
            declared.setdefault(field.name, field.type)
    return {name: kind for name, kind in declared.items() if name not in differing}


def _polars_type(arrow: pa.DataType) -> pl.DataType:
    return pl.from_arrow(pa.Table.from_batches([], pa.schema([("column", arrow)]))).schema["column"]


def _check_same(files: list[InputFile]) -> list[InputFile]:
    """The files, each with the first file's column order where its own differs."""
    read = [f for f in files if f.parts]  # a remote file beyond --limit was not downloaded
    first = pq.read_schema(read[0].parts[0].path)
    ordered = []
    for file in files:
        schema = pq.read_schema(file.parts[0].path) if file.parts else first
        refuse_duplicate_columns(schema.names, file.path)  # a column is compared by its name
        difference = _schema_difference(first, schema)
        if difference is not None:
            raise InputDataError(f"{file.path}: schema differs from {read[0].path} ({difference}); all input files must have the same columns with the same types")
        ordered.append(file if schema.names == first.names else replace(file, column_order=tuple(first.names)))
    return ordered


def _schema_difference(a: pa.Schema, b: pa.Schema) -> str | None:
    """How `b`'s columns differ from `a`'s in name or type; None when they differ at most
    in order and nullability."""
    for field in a:
        if field.name not in b.names:
            return f"column {field.name!r} is missing"
        if not b.field(field.name).type.equals(field.type):
            return f"column {field.name!r} is {b.field(field.name).type}, not {field.type}"
    extra = [n for n in b.names if n not in a.names]
    return f"extra column(s) {', '.join(map(repr, extra))}" if extra else None


def _true_against_number(a: pl.DataType, b: pl.DataType) -> bool:
    """Whether true/false in one type meets a number in the other, at the top or inside
    lists and objects: values with no common type (polars' relaxed concatenation would
    turn true into 1)."""
    if isinstance(a, (pl.List, pl.Array)) and isinstance(b, (pl.List, pl.Array)):
        return _true_against_number(a.inner, b.inner)
    if isinstance(a, pl.Struct) and isinstance(b, pl.Struct):
        inner = {field.name: field.dtype for field in b.fields}
        return any(_true_against_number(field.dtype, inner[field.name]) for field in a.fields if field.name in inner)
    return {a, b} & {pl.Boolean} != set() and (a.is_numeric() or b.is_numeric())
