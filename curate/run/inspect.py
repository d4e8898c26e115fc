"""Checks of the input against the pipeline, before any work: column names that curate
or a stage would write over, ids that do not identify rows, and each stage's own checks
of the values it needs.

Each check reads at most the input's schema and its id column, and stops the run with
one line (exit 3) naming the column, the first offending rows, and the option or the
rename that avoids the problem.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curate.errors import InputDataError
from curate.row_names import id_problems as row_id_problems
from curate.run.io import ID_COLUMN, SOURCE_COLUMN, read_parquet
from curate.stages import Stage
from curate.stages.base import PRIVATE_PREFIX, REASON

STAGE_COLUMN = "curate_stage"
"""Names, in removed/ files, the stage that removed the row."""


def curate_column(column: str, id_column: str | None) -> str | None:
    """What curate itself keeps in `column` (lineage, a removed row's stage and reason, a
    working column), or None: neither an input column nor a stage's may be named so."""
    if column.startswith(PRIVATE_PREFIX):
        return f"curate's working columns (row numbers, flags, a stage's private columns) start with {PRIVATE_PREFIX}"
    owned = {SOURCE_COLUMN: "curate adds it to every row (lineage)", STAGE_COLUMN: "curate adds it to removed/ rows", REASON: "curate adds it (why a row was removed)"}
    if id_column is None:
        owned[ID_COLUMN] = "curate adds it to every row (lineage) as the row id when input.id_column is not set"
    return owned.get(column)


def check_reserved_columns(columns: list[str], stages: list[Stage], id_column: str | None, where: Path) -> None:
    """Refuse an input column that curate (`curate_column`) or a stage of this pipeline would add."""
    owners: dict[str, str] = {}
    for stage in stages:
        if stage.rename_option is not None:
            fix = f"set the stage's `{stage.rename_option}:` option to rename its columns, or rename the input column"
        else:
            fix = "rename the input column"
        for column in stage.added_columns():
            owners.setdefault(column, f"stage {stage.name!r} ({stage.kind}) adds it: {fix}")
    for column in columns:
        curated = curate_column(column, id_column)
        if curated is not None:
            rename = "set input.id_column: curate_id if it holds your row ids, or rename" if column == ID_COLUMN else "rename"
            owner = f"{curated}: {rename} the input column"
        else:
            owner = owners.get(column)
        if owner is not None:
            raise InputDataError(
                f"{where}: input column {column!r} would be overwritten: {owner} (docs/run-layout.md lists every column curate adds)"
            )


def _unreadable(paths: list[Path], columns: list[str], error: Exception) -> Exception:
    """The error of the first file whose `columns` cannot be read (invalid UTF-8, a corrupt
    page), as io reports it (file, column, row); else `error` itself."""
    for path in paths:
        try:
            read_parquet(path, columns)
        except InputDataError as named:
            return named
    return error


def check_stage_inputs(paths: list[Path], stages: list[Stage]) -> None:
    """Each stage's own checks of the input's values (e.g. label_noise: two classes at least)."""
    rows = pl.scan_parquet(paths, glob=False)
    for stage in stages:
        try:
            stage.check_input(rows)
        except pl.exceptions.PolarsError as error:
            raise _unreadable(paths, stage.required_columns(), error) from None


def id_problems(paths: list[Path], sources: list[str], first_rows: list[int], id_column: str) -> str | None:
    """What is wrong with the ids in `id_column` (duplicates, nulls), naming the first
    offenders by value and `<file>#<row>` (rows count from 0 in the whole file, as in
    curate_id: `first_rows` is each part's first row in its file); None when every row
    has its own id."""
    try:
        return _id_problems(paths, sources, first_rows, id_column)
    except pl.exceptions.PolarsError as error:
        raise _unreadable(paths, [id_column], error) from None


def _id_problems(paths: list[Path], sources: list[str], first_rows: list[int], id_column: str) -> str | None:
    return row_id_problems(pl.concat(
        [pl.scan_parquet(path, glob=False).select(pl.col(id_column).alias("id")).with_row_index("row", offset=first).with_columns(pl.lit(source).alias("file"))
         for path, source, first in zip(paths, sources, first_rows)]
    ))


def ids_fall_back(paths: list[Path], sources: list[str], first_rows: list[int], id_column: str, bad_ids: str) -> bool:
    """Whether the run must use curate's own row ids instead of `id_column`: its ids are
    duplicate or null and the pipeline says `input.bad_ids: row_ids`. With `error` (the
    default), bad ids stop the run; with `keep` they are not even looked at."""
    if bad_ids == "keep":
        return False
    problem = id_problems(paths, sources, first_rows, id_column)
    if problem is None:
        return False
    if bad_ids == "row_ids":
        return True
    raise InputDataError(
        f"input.id_column {id_column!r}: {problem}; ids must name one row each (dup_of and reports point at them). "
        f"Fix the ids, or set input.bad_ids: row_ids to use curate's own row ids (curate_id) and keep {id_column!r} "
        "as an ordinary column (or input.bad_ids: keep to run with them as they are)"
    )
