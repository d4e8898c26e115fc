"""Reference sets of the `overlap` stage (benchmark test splits and the like): finding
their files, checking them before a run starts (cheaply: their schemas, ids and a first
text to match), and reading and hashing their texts once, in `decide`.

Reading a file is the runner's job everywhere else; reference sets are the documented
exception (like near_dedup's index): they are not rows of the run but a fixed
comparison set, so the stage reads them itself, and declares them in `files()` so their
content hashes are part of the run's identity (a changed benchmark stops a resume).
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from curate.errors import ConfigError, InputDataError
from curate.files import ndjson_path
from curate.row_names import common_folder, id_problems, text_of
from curate.stages.overlap.ngrams import has_ngram
from curate.text import Normalization

SUFFIXES = {".parquet": "parquet", ".jsonl": "ndjson", ".ndjson": "ndjson", ".json": "ndjson"}


@dataclass(frozen=True)
class ReferenceSet:
    """One `references:` entry (a path or a glob) and the files it matches, sorted."""

    entry: str
    files: tuple[Path, ...]


def find_reference_sets(entries: list[str]) -> list[ReferenceSet]:
    """Each entry's files; an entry matching no file, or a file of an unknown format,
    is an input error naming the entry."""
    sets = []
    for entry in entries:
        # a file named as it is comes first: its folder's name may hold glob characters (exp[1])
        files = (Path(entry),) if Path(entry).is_file() else tuple(sorted(Path(p) for p in glob.glob(entry, recursive=True) if Path(p).is_file()))
        if not files:
            raise ConfigError(f"overlap.references: {entry} matches no file; fix the path or glob, or give a Parquet or JSONL file")
        for file in files:
            if file.suffix.lower() not in SUFFIXES:
                raise InputDataError(f"overlap.references: {file} is not .parquet or .jsonl; convert it or leave it out of the glob")
        sets.append(ReferenceSet(entry, files))
    return sets


def _scan(file: Path) -> pl.LazyFrame:
    if SUFFIXES[file.suffix.lower()] == "parquet":
        return pl.scan_parquet(file, glob=False)
    return pl.scan_ndjson(ndjson_path(file), infer_schema_length=None)


def check_columns(sets: list[ReferenceSet], text_column: str, id_column: str | None) -> None:
    """Every reference file can be read and has the text (and id) column, text as strings."""
    for reference in sets:
        for file in reference.files:
            if file.stat().st_size == 0:
                raise InputDataError(f"overlap.references: {file} is empty (0 bytes); give the reference set's rows, or leave the file out")
            try:
                schema = _scan(file).collect_schema()
            except (OSError, pl.exceptions.PolarsError) as exc:  # unreadable, truncated or not the format
                raise InputDataError(f"overlap.references: cannot read {file} ({type(exc).__name__}); check the file is valid Parquet or JSON lines") from None
            for key, column in (("reference_text_column", text_column), ("reference_id_column", id_column)):
                if column is not None and column not in schema:
                    raise InputDataError(f"overlap.references: {file} has no column {column!r} ({key}); columns: {', '.join(schema.names())}")
            if schema[text_column] != pl.String:
                raise InputDataError(f"overlap.references: {file}: column {text_column!r} is {schema[text_column]}, not text")
        if _rows(reference) == 0:
            # a wrongly exported benchmark split would read "0% of it is in the training data"
            raise InputDataError(f"overlap.references: {reference.entry} holds no row; a reference set needs its rows (check the export)")


def _rows(reference: ReferenceSet) -> int:
    return sum(_scan(file).select(pl.len()).collect().item() for file in reference.files)


FIRST_ROWS = 1000
"""The rows of a file whose texts are looked at first for one to match: a real split has
one among them, so the check costs a glance, not a pass over the set."""


def check_rows(sets: list[ReferenceSet], text_column: str, id_column: str | None, ngram: int, normalize: Normalization) -> None:
    """Before any work, without reading or hashing the sets whole: within a file,
    `id_column` holds no null or repeated id (contaminated_by names reference rows by it;
    only the id column is read; files of one set may number their rows alike, as MMLU's
    per-subject files do, and the contamination table names each row's file), and some
    row of each set has a text with an n-gram, else the set would read "0% of it is in the
    training data"."""
    for reference in sets:
        for file in reference.files if id_column is not None else ():
            problem = id_problems(_scan(file).with_row_index("row").select(text_of(id_column).alias("id"), pl.lit(str(file)).alias("file"), "row"))
            if problem is not None:
                raise InputDataError(f"overlap.references: {file}: reference_id_column {id_column!r}: {problem}; ids must name one row of their file each (contaminated_by names rows by them)")
        if not any(_has_text_to_match(file, text_column, ngram, normalize) for file in reference.files):
            raise InputDataError(
                f"overlap.references: {reference.entry}: none of its {_rows(reference):,} rows has a text to match (null, or fewer words than ngram, "
                "in every row); check the export and reference_text_column"
            )


def _has_text_to_match(file: Path, text_column: str, ngram: int, normalize: Normalization) -> bool:
    texts = _scan(file).select(text_column)
    if has_ngram(texts.head(FIRST_ROWS).collect().to_series(), ngram, normalize):
        return True
    return has_ngram(texts.slice(FIRST_ROWS).collect().to_series(), ngram, normalize)


def read_references(sets: list[ReferenceSet], text_column: str, id_column: str | None) -> pl.DataFrame:
    """Every reference row: `set` (index into `sets`), `file` (its path relative to the
    folder all reference files share, as `curate_id` names input files: two benchmarks'
    `test.parquet` stay apart), `row` (in the file), `reference_id` (the id column, or
    `<file>#<row>`), `text`."""
    prefix = common_folder([file.as_posix() for reference in sets for file in reference.files])
    frames = []
    for number, reference in enumerate(sets):
        for file in reference.files:
            scan = _scan(file).with_row_index("row").with_columns(pl.lit(file.as_posix()[len(prefix):]).alias("file"))
            ids = text_of(id_column) if id_column else pl.format("{}#{}", "file", "row")
            frames.append(scan.select(pl.lit(number, pl.UInt32).alias("set"), "file", "row", ids.alias("reference_id"), pl.col(text_column).alias("text")).collect())
    return pl.concat(frames)
