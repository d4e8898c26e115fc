"""Input files as local Parquet: local Parquet is read where it is; every other
format, and every remote file, is converted (or copied) under `_work/inputs/` once,
part by part, with memory bounded by one part, never by a whole file.

JSON Lines and CSV are read as a stream (decompressed on the fly for `.gz`, `.zst`, `.bz2` and `.xz`,
straight from the store for a URL), cut at line boundaries into parts of
`PART_TEXT_BYTES` of text, each parsed in one vectorised call. Arrow IPC files (Feather,
a Hugging Face `save_to_disk` folder's `data-*.arrow`) are read batch by batch. Each
file's conversion ends with a `done.json` marker, so a resumed run converts only what it
had not finished.
"""

from __future__ import annotations

import io
import lzma
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from curate.config import InputConfig
from curate.errors import InputDataError, first_line
from curate.files import WORK_COMPRESSION, arrow_type, ordered_categories, read_json, temporary_path, write_json_atomic, write_parquet_atomic
from curate.jsonl_checks import bad_json_line, refuse_empty_objects, refuse_half_surrogates, refuse_huge_integers, refuse_inexact_integers, refuse_stringified
from curate.row_names import common_folder
from curate.run.csv_types import ColumnKinds, column_kinds
from curate.run.sources import (
    COMPRESSION_BY_SUFFIX,
    Location,
    empty_file,
    filesystem,
    remote_errors,
)
from curate.tasks import Tasks, in_order

PART_TEXT_BYTES = 64 * 2**20
"""Decompressed text per converted part (JSON Lines, CSV), and Arrow data per part:
what one conversion step, and later one shard job, holds in memory."""


@dataclass(frozen=True)
class Part:
    path: Path
    rows: int


@dataclass(frozen=True)
class InputFile:
    location: Location
    source: str
    """The file's name as recorded in `curate_source` and default ids: its path (or URL)
    relative to the common folder of all inputs."""
    rows: int
    parts: tuple[Part, ...]
    """Local Parquet files holding its rows in order: the file itself, or its conversion."""
    schema: tuple[tuple[str, pl.DataType], ...] | None = None
    """When formats were converted: the run's columns and types, which every part is cast
    to (a JSON Lines part without a key, or with nulls only, gets the run's type)."""
    arrow_schema: pa.Schema | None = None
    """With `schema`: the Arrow types the run's rows are written with. A column every
    Parquet and Arrow file declares alike keeps that Arrow type where polars reads it as the run's
    type (`string` stays `string`, not `large_string`)."""
    column_order: tuple[str, ...] | None = None
    """Parquet whose columns come in another order than the first file's: that order,
    which its rows are read in, so every output part has the columns in one order."""
    text_reads: tuple[tuple[str, str], ...] | None = None
    """A CSV/TSV file's columns with the kind each value is read as (`column_type`)."""
    text_kinds: dict[str, ColumnKinds] | None = None
    """A CSV/TSV file's: what the values of its columns are (`csv_types.column_kinds`;
    none for the text column, nor for any with `infer_types: false`: text). Its parts
    hold text until `run_schema.type_text_parts` writes them as the run's types."""

    @property
    def path(self) -> str:
        return self.location.url

    def describe(self) -> dict[str, Any]:
        return {**self.location.describe(), "source": self.source, "rows": self.rows}


@dataclass(frozen=True)
class CsvOptions:
    separator: str = ","
    quote_char: str | None = '"'
    escape_char: str | None = None
    infer_types: bool = True
    text_column: str | None = None
    """Text whatever its values look like (short answers such as 42 are still the text)."""

    @classmethod
    def of(cls, spec: InputConfig) -> CsvOptions:
        return cls(spec.csv.separator, spec.csv.quote_char, spec.csv.escape_char, spec.csv.infer_types, spec.text_column)


def stage_inputs(locations: list[Location], work: Path, csv: CsvOptions, limit: int | None = None, tasks: Tasks = in_order) -> list[InputFile]:
    """Local Parquet for every input: Parquet files where they are, everything else
    converted under `work` (resumable: finished conversions are reused), several files
    at once on the run's workers (`tasks`). With `limit` (`--limit`), conversion goes
    file by file and stops once that many rows are converted in run order, so a trial
    run on a huge JSONL.gz reads only its beginning."""
    names = dict(zip((loc.url for loc in locations), input_names([loc.url for loc in locations])))
    jobs = [_Conversion(loc, work / f"{i:05d}", csv) for i, loc in enumerate(locations) if loc.remote or loc.format != "parquet"]
    converted: dict[str, _Converted] = {}
    if limit is None:
        converted = {job.location.url: done for job, done in zip(jobs, tasks(_convert, jobs))}
    files = []
    remaining = limit
    for location in locations:
        if location.url in converted:
            done = converted[location.url]
        elif location.format == "parquet" and not location.remote:
            done = _Converted((Part(Path(location.url), _parquet_rows(Path(location.url))),))
        elif remaining == 0:
            done = _Converted(())  # beyond the limit: not read at all
        else:
            job = next(j for j in jobs if j.location.url == location.url)
            done = _convert(replace(job, limit=remaining))
        rows = sum(p.rows for p in done.parts)
        if remaining is not None:
            remaining = max(remaining - rows, 0)
        files.append(InputFile(location, names[location.url], rows, done.parts, text_kinds=done.text_kinds))
    return files


def input_names(urls: list[str]) -> list[str]:
    """Each input file's name as `curate_source` and default ids record it (`InputFile.source`):
    its path (or URL) relative to the folder all the inputs share."""
    prefix = common_folder(urls)
    return [url[len(prefix):] for url in urls]


@dataclass(frozen=True)
class _Converted:
    parts: tuple[Part, ...]
    text_kinds: dict[str, ColumnKinds] | None = None


@dataclass(frozen=True)
class _Conversion:
    location: Location
    folder: Path
    csv: CsvOptions
    limit: int | None = None


def _parquet_rows(path: Path, name: str | None = None) -> int:
    """Rows of a Parquet file; errors name it as the user gave it (`name`: the URL of a
    downloaded copy)."""
    name = name or str(path)
    if path.stat().st_size == 0:
        raise empty_file(name)
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (pa.ArrowException, OSError) as exc:
        raise InputDataError(f"{name}: not a readable Parquet file ({first_line(exc)}); re-export it or remove it from the input") from None


def _convert(job: _Conversion) -> _Converted:
    """One file as local Parquet parts under `job.folder`, ending with `done.json`; a
    CSV/TSV file's as text, with what its columns' values are (`column_kinds`)."""
    location, folder, csv, limit = job.location, job.folder, job.csv, job.limit
    done = folder / "done.json"
    if done.exists():
        record = read_json(done)
        if record.get("identity") == location.identity and record.get("limit") in (None, limit) and record.get("csv") == _read_with(location, csv):
            kinds = record.get("text_kinds")
            return _Converted(tuple(Part(folder / p["name"], p["rows"]) for p in record["parts"]),
                              None if kinds is None else {name: ColumnKinds.from_json(k) for name, k in kinds.items()})
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    complete = True
    text_kinds: dict[str, ColumnKinds] | None = None
    if location.format == "parquet":
        local = _download(location, folder / "input.parquet")
        parts: tuple[Part, ...] = (Part(local, _parquet_rows(local, location.url)),)
    else:
        frames = {"jsonl": _jsonl_parts, "csv": _csv_parts, "tsv": _csv_parts, "arrow": _arrow_parts}[location.format]
        written, rows = [], 0
        if location.format in ("csv", "tsv"):
            text_kinds = {}
        for number, part in enumerate(frames(location, folder, csv)):
            # an Arrow file's parts keep its exact types and schema metadata (a datasets folder's
            # features, ClassLabel names included) and ordered category lists, as a Parquet input keeps its own
            frame, types, categories = (pl.DataFrame(part), part.schema, ordered_categories(part)) if isinstance(part, pa.Table) else (part, None, None)
            if limit is not None and rows + frame.height >= limit:
                frame, complete = frame.head(limit - rows), False
            if text_kinds is not None:
                _add_kinds(text_kinds, frame, csv)
            path = folder / f"part-{number:05d}.parquet"
            write_parquet_atomic(frame, path, types=types, compression=WORK_COMPRESSION, categories=categories)  # read once, deleted with _work/
            written.append(Part(path, frame.height))
            rows += frame.height
            if not complete:
                break
        parts = tuple(written)
    record = {"identity": location.identity, "limit": None if complete else limit, "csv": _read_with(location, csv),
              "parts": [{"name": p.path.name, "rows": p.rows} for p in parts],
              "text_kinds": None if text_kinds is None else {name: kinds.to_json() for name, kinds in text_kinds.items()}}
    write_json_atomic(record, done)
    return _Converted(parts, text_kinds)


def _add_kinds(kinds: dict[str, ColumnKinds], frame: pl.DataFrame, csv: CsvOptions) -> None:
    """What a CSV part's columns' values are, added to the file's (the text column, and
    every column with `infer_types: false`, stay text: no kinds)."""
    for name in frame.columns if csv.infer_types else ():
        if name != csv.text_column:
            found = column_kinds(frame.get_column(name))
            kinds[name] = kinds[name] & found if name in kinds else found


def _read_with(location: Location, csv: CsvOptions) -> dict[str, Any] | None:
    """What a CSV/TSV file's conversion depends on besides the file: its options, and
    how its columns are typed (`CSV_TYPING`). A pipeline that changes either, its
    conversions kept in `_work/inputs/`, converts the file again."""
    return {**asdict(csv), "typing": CSV_TYPING} if location.format in ("csv", "tsv") else None


def _download(location: Location, target: Path) -> Path:
    """A remote Parquet or Arrow file, copied whole to local disk (both need random
    access); streamed in blocks, so memory stays small."""
    fs, path = filesystem(location.url, dict(location.storage_options))
    tmp = temporary_path(target)  # a name the next run's sweep knows, should a kill leave it
    with remote_errors(location.url):  # the store's errors name the URL (not write_file_atomic's local path)
        try:
            fs.get_file(path, str(tmp))
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    tmp.replace(target)
    return target


def _open_stream(location: Location) -> Any:
    """The file's bytes as an Arrow input stream, decompressed on the fly (xz, which
    Arrow has no codec for, by Python's lzma: as fast as the xz tool)."""
    if location.remote:
        fs, path = filesystem(location.url, dict(location.storage_options))
        with remote_errors(location.url):
            handle = fs.open(path, "rb", block_size=8 * 2**20)
        if location.compression == "xz":
            return pa.PythonFile(lzma.open(handle), mode="r")  # the read-only remote handle holds nothing to release
        raw = pa.PythonFile(handle, mode="r")
        return pa.CompressedInputStream(raw, location.compression) if location.compression else raw
    if location.compression == "xz":
        return pa.PythonFile(lzma.open(location.url), mode="r")
    return pa.input_stream(location.url, compression=location.compression)


# ---------------------------------------------------------------- JSON Lines


def _text_blocks(location: Location, block_bytes: int = PART_TEXT_BYTES) -> Iterator[tuple[bytes, int]]:
    """The decompressed file in blocks of whole lines, about `block_bytes` each, with
    the 1-based number of each block's first line."""
    stream = _open_stream(location)
    line = 1
    carry = b""
    first = True
    try:
        while True:
            try:
                block = stream.read(block_bytes)
            except (OSError, pa.ArrowException, EOFError, lzma.LZMAError) as exc:
                raise unreadable_stream(location, exc) from None
            if not block:
                break
            if first:
                refuse_unnamed_compression(location, block)
            if first and block.startswith(_BOM):  # a byte order mark (Windows tools write one) is not part of the first line
                block = block[len(_BOM):]
            first = False
            data = carry + block
            cut = data.rfind(b"\n") + 1
            if cut == 0:
                carry = data
                continue
            yield data[:cut], line
            line += data.count(b"\n", 0, cut)
            carry = data[cut:]
        if carry.strip():
            yield carry, line
    finally:
        stream.close()


COMPRESSION_MAGIC = {"gzip": (b"\x1f\x8b",), "zstd": (b"\x28\xb5\x2f\xfd",), "bz2": tuple(b"BZh%d" % level for level in range(1, 10)), "xz": (b"\xfd7zXZ\x00",)}
"""How a file of each compression curate reads begins (bz2: with its level, 1-9)."""
MAGIC_BYTES = max(len(magic) for magics in COMPRESSION_MAGIC.values() for magic in magics)


def refuse_unnamed_compression(location: Location, head: bytes) -> None:
    """A file whose name says no compression but whose first bytes (`head`) are a
    compression's magic number: read as text, a small gzip CSV was an empty file (no
    line break in its bytes: 0 rows, silently) and gzip JSON Lines 'looked UTF-16'."""
    if location.compression is not None:
        return
    for compression, magics in COMPRESSION_MAGIC.items():
        if head.startswith(magics):
            suffix = next(s for s, named in COMPRESSION_BY_SUFFIX.items() if named == compression)
            name = location.url.rstrip("/").rsplit("/", 1)[-1]
            raise InputDataError(
                f"{location.url}: the file is {compression}-compressed (its first bytes say so), but its name does not end in {suffix}; "
                f"rename it {name}{suffix} or decompress it"
            )


def unreadable_stream(location: Location, exc: BaseException) -> InputDataError:
    """The error for bytes that could not be read or decompressed (a cut download)."""
    return InputDataError(f"{location.url}: cannot decompress or read it ({first_line(exc)}); the file may be truncated or not {location.compression or 'plain text'}")


def _jsonl_parts(location: Location, folder: Path, csv: CsvOptions) -> Iterator[pl.DataFrame]:
    for block, start in _text_blocks(location):
        if block.strip():
            frame = _jsonl_frame(location, block, start)
            if frame.height:
                yield frame


def _jsonl_frame(location: Location, block: bytes, start: int, whole_block: bool = True) -> pl.DataFrame:
    """Lines of JSON (`start`: the first one's number) as a frame of the types curate
    keeps, after the checks for what polars reads without a word (`whole_block`: the
    lines are all of a converted part, so that a key `{}` on each of them is `{}` in it)."""
    try:
        frame = pl.read_ndjson(io.BytesIO(block), infer_schema_length=None)
    except Exception as exc:  # noqa: BLE001 - polars raises several kinds for bad JSON
        raise bad_json_line(location.url, block, start, exc) from None
    refuse_stringified(location.url, block, start, frame)
    refuse_half_surrogates(location.url, block, start, frame)
    refuse_inexact_integers(location.url, block, start, frame)
    if whole_block:
        refuse_empty_objects(location.url, block, start, frame)
    try:
        return frame.cast({name: arrow_type(kind) for name, kind in frame.schema.items()})
    except pl.exceptions.InvalidOperationError:
        refuse_huge_integers(location.url, block, start)  # the only value decimal(38, 0) cannot take
        raise


_BOM = b"\xef\xbb\xbf"


# ---------------------------------------------------------------- CSV and TSV


CSV_BLOCK_BYTES = 16 * 2**20
"""pyarrow's CSV block: a row (a quoted field with line breaks) must fit in one."""


def _csv_parts(location: Location, folder: Path, csv: CsvOptions) -> Iterator[pl.DataFrame]:
    """The file's rows with every value as the text it is (bytes checked as UTF-8):
    pyarrow's own inference, from the first block, made 00123 the number 123 and
    stopped at a later value that did not fit. `run_schema.type_text_parts` types the columns once
    every CSV file of the run is read. The names come from a first read of the header."""
    as_written = {name: pa.binary() for name in _csv_header(location, csv)}
    if not as_written:  # an empty file (a Spark job's empty part): no rows
        return
    stream = _open_stream(location)
    counted = _QuoteCount(stream, csv.quote_char) if csv.quote_char and not csv.escape_char else None
    try:
        reader = _csv_reader(location, csv, counted or stream, CSV_BLOCK_BYTES, as_written)
        last = None
        for last in _batched(_csv_batches(location, reader)):
            yield pl.DataFrame(last)
        if counted is not None and counted.quotes % 2 and last is not None:
            _refuse_unclosed_quote(location, last, csv.quote_char)  # type: ignore[arg-type]
    finally:
        stream.close()


class _QuoteCount:
    """The file's bytes as pyarrow reads them, counting the quote characters."""

    def __init__(self, stream: Any, quote: str) -> None:
        self.stream, self.quote, self.quotes = stream, quote.encode(), 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.quotes += data.count(self.quote)
        return data

    @property
    def closed(self) -> bool:
        return self.stream.closed

    def close(self) -> None:
        self.stream.close()


def _refuse_unclosed_quote(location: Location, last: pa.Table, quote: str) -> None:
    """An opening quote never closed makes pyarrow read the rest of the file as one
    field, the last of the last row, silently (its rows would be lost in it). An odd
    count of quotes alone is no proof (a quote inside an unquoted field, 5" screen, is
    text), so the run stops where that field also holds lines."""
    value = last.column(last.num_columns - 1)[last.num_rows - 1].as_py()
    lines = value.count("\n") if isinstance(value, str) else 0
    if lines:
        raise InputDataError(
            f"{location.url}: a quoted field is never closed: its {quote} runs to the end of the file, so the last row's "
            f"{last.column_names[-1]!r} holds {lines:,} more lines; close the quote (a quote inside a quoted field is written twice), "
            f"or set input.csv.quote_char"
        )


CSV_TYPING = 2
"""How CSV columns are typed (`curate.run.csv_types`), as a version: a conversion kept in
`_work/inputs/` that was typed another way is redone."""


def _csv_header(location: Location, csv: CsvOptions) -> list[str]:
    """The columns of a CSV/TSV file, from its header and first block (the conversion's
    block size: a smaller one refuses a first row the conversion reads)."""
    if location.compression is None:
        refuse_unnamed_compression(location, _first_bytes(location, MAGIC_BYTES))
    stream = _open_stream(location)
    try:
        reader = _csv_reader(location, csv, stream, CSV_BLOCK_BYTES)
        return [] if reader is None else reader.schema.names
    finally:
        stream.close()


def _csv_reader(location: Location, csv: CsvOptions, stream: Any, block_size: int, column_types: dict[str, pa.DataType] | None = None) -> Any:
    """pyarrow's streaming reader of the file (None for an empty file), its header checked."""
    import pyarrow.csv as pacsv

    separator = "\t" if location.format == "tsv" and csv.separator == "," else csv.separator
    # A file of one column writes an empty value as an empty line (polars does): a row.
    blank_is_row = column_types is not None and len(column_types) == 1
    parse = pacsv.ParseOptions(delimiter=separator, quote_char=csv.quote_char or False, escape_char=csv.escape_char or False,
                               newlines_in_values=True, ignore_empty_lines=not blank_is_row)
    convert = pacsv.ConvertOptions(column_types=column_types or {})
    try:
        reader = pacsv.open_csv(stream, read_options=pacsv.ReadOptions(block_size=block_size), parse_options=parse, convert_options=convert)
        names = reader.schema.names
    except UnicodeDecodeError as exc:  # pyarrow decodes the column names in Python
        _refuse_utf16(location)
        raise InputDataError(f"{location.url}: the header line is not valid UTF-8 (byte 0x{exc.object[exc.start]:02x}); save the file as UTF-8") from None
    except pa.ArrowInvalid as exc:
        if "Empty CSV file" in str(exc):
            return None
        raise _unparsable(location, exc) from None
    except (pa.ArrowException, OSError) as exc:
        raise unreadable_stream(location, exc) from None
    unnamed = [number for number, name in enumerate(names, 1) if not name]
    if unnamed:
        # pandas' to_csv writes its index so, a trailing separator makes one: polars would
        # call it column_N, a name that may be taken
        raise InputDataError(
            f"{location.url}: column {unnamed[0]} of the header line has no name; name it in the header, or drop the column "
            "(pandas writes its index without a name: to_csv(index=False))"
        )
    refuse_duplicate_columns(names, location.url)
    return reader


def _unparsable(location: Location, exc: BaseException) -> InputDataError:
    _refuse_utf16(location)
    fix = ("a row has another number of fields than the header line: quote a field that holds the separator, or set input.csv.separator"
           if "Expected" in str(exc) else "check the header line and input.csv options")
    return InputDataError(f"{location.url}: cannot read it as {location.format.upper()} ({first_line(exc)}); {fix}")


_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def _refuse_utf16(location: Location) -> None:
    """A file Excel or Windows tools saved as UTF-16 (their "Unicode text") fails as CSV in
    ways that do not say so: name it."""
    if _first_bytes(location, 2) in _UTF16_MARKS:
        raise InputDataError(f"{location.url}: the file is UTF-16 (its first bytes are a UTF-16 byte order mark); save it as UTF-8")


def _first_bytes(location: Location, count: int) -> bytes:
    """The file's first `count` bytes (decompressed), from a stream of their own: pyarrow's
    CSV reader takes the stream from its start."""
    stream = _open_stream(location)
    try:
        return stream.read(count)
    finally:
        stream.close()


def refuse_duplicate_columns(names: list[str], where: str) -> None:
    """Columns are kept, read and written by name: two of one name cannot be."""
    twice = [(name, count) for name, count in Counter(names).items() if count > 1]
    if twice:
        name, count = twice[0]
        raise InputDataError(f"{where}: column {name!r} appears {count} times; give every column its own name")


def _csv_batches(location: Location, reader: Any) -> Iterator[pa.RecordBatch]:
    """The reader's batches of bytes, as text: a value that is not UTF-8 stops the run,
    naming its column and row."""
    rows = 0
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            return
        except pa.ArrowInvalid as exc:
            raise _unparsable(location, exc) from None
        except (pa.ArrowException, OSError) as exc:
            raise unreadable_stream(location, exc) from None
        texts = []
        for name, column in zip(batch.schema.names, batch.columns):
            try:
                texts.append(column.cast(pa.string()))  # checks the bytes are UTF-8
            except pa.ArrowInvalid:
                bad = next(i for i, v in enumerate(column.to_pylist()) if v is not None and not decodes_as_utf8(v))
                raise InputDataError(
                    f"{location.url}: column {name!r}, row {rows + bad + 1} (after the header) is not valid UTF-8; "
                    "save the file as UTF-8"
                ) from None
        rows += batch.num_rows
        yield pa.RecordBatch.from_arrays(texts, names=batch.schema.names)


def decodes_as_utf8(value: bytes) -> bool:
    try:
        value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _batched(batches: Iterator[pa.RecordBatch], schema: pa.Schema | None = None) -> Iterator[pa.Table]:
    """Record batches gathered into tables of about PART_TEXT_BYTES (with `schema`: its
    metadata too, which a stream's batches do not carry)."""
    pending: list[pa.RecordBatch] = []
    size = 0
    for batch in batches:
        pending.append(batch)
        size += batch.nbytes  # of string_view columns too: pyarrow 24 on (pyproject's floor)
        if size >= PART_TEXT_BYTES:
            yield pa.Table.from_batches(pending, schema)
            pending, size = [], 0
    if pending and sum(b.num_rows for b in pending):
        yield pa.Table.from_batches(pending, schema)


# ---------------------------------------------------------------- Arrow IPC


def _arrow_parts(location: Location, folder: Path, csv: CsvOptions) -> Iterator[pa.Table]:
    local = _download(location, folder / "input.arrow") if location.remote else Path(location.url)
    try:
        with pa.memory_map(str(local)) as source:
            try:
                reader = pa.ipc.open_file(source)
                batches: Any = (reader.get_batch(i) for i in range(reader.num_record_batches))
            except pa.ArrowInvalid:
                source.seek(0)
                reader = batches = pa.ipc.open_stream(source)  # datasets' save_to_disk writes the stream format
            yield from _batched(iter(batches), reader.schema)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable_arrow(location.url, local, exc) from None
    finally:
        if location.remote:
            local.unlink(missing_ok=True)


FEATHER_V1 = b"FEA1"
"""How a Feather V1 file (feather-format, pandas before 1.0, R's feather) begins: not
Arrow IPC, which Feather V2 is."""


def _unreadable_arrow(name: str, local: Path, exc: BaseException) -> InputDataError:
    with local.open("rb") as handle:
        if handle.read(len(FEATHER_V1)) == FEATHER_V1:
            return InputDataError(
                f"{name}: a Feather V1 file, a format before Arrow IPC that curate does not read; save it again as "
                "Feather V2 (pyarrow.feather.write_feather, the default) or Parquet"
            )
    return InputDataError(f"{name}: not a readable Arrow IPC / Feather file ({first_line(exc)}); re-export it")


# ---------------------------------------------------------------- columns before conversion


SNIFF_LINES = 1000
"""The JSON Lines records whose keys stand for a file's columns before it is converted."""

_SNIFF_BYTES = 4 * 2**20


def sniff_columns(location: Location, csv: CsvOptions, whole: bool = False) -> list[str]:
    """A local input file's column names, read cheaply before any conversion (the checks
    run before the output directory exists): a CSV/TSV header, an Arrow file's schema,
    the keys of a JSON Lines file's first SNIFF_LINES records, or with `whole` of all
    its records (a full parse: for a key the first records do not hold)."""
    if location.format == "parquet":
        return pq.read_schema(location.url).names
    if location.format == "arrow":
        try:
            with pa.memory_map(location.url) as source:
                try:
                    return pa.ipc.open_file(source).schema.names
                except pa.ArrowInvalid:
                    source.seek(0)
                    return pa.ipc.open_stream(source).schema.names
        except (pa.ArrowException, OSError) as exc:
            raise _unreadable_arrow(location.url, Path(location.url), exc) from None
    if location.format in ("csv", "tsv"):
        return _csv_header(location, csv)
    names: list[str] = []
    blocks = _text_blocks(location, _SNIFF_BYTES)
    try:
        following = next(blocks, None)
        while following is not None:
            block, first = following
            following = next(blocks, None)
            lines = block.splitlines(keepends=True)
            records = block if whole else b"".join(lines[:SNIFF_LINES])
            # an object's keys may come in a later line of the run's block: only a whole file tells `{}` everywhere
            whole_file = first == 1 and following is None and (whole or len(lines) <= SNIFF_LINES)
            if records.strip():
                names += [column for column in _jsonl_frame(location, records, first, whole_file).columns if column not in names]
            if not whole:
                break
    finally:
        blocks.close()
    return names
