"""How rows are named: the folder `curate_source` and default ids are relative to, and
what is wrong with an id column that should name one row each. Shared by `run/` (the
input's `curate_source`, `curate_id` and `input.id_column`) and the stages that read
fixed comparison data (overlap's reference sets).
"""

from __future__ import annotations

import os

import polars as pl

SHOWN = 3
"""Offending rows an id message names."""


def common_folder(urls: list[str]) -> str:
    """The longest folder prefix shared by every file (local or URL): `curate_source`
    names each file relative to it."""
    parents = [u.rsplit("/", 1)[0] + "/" if "/" in u else "" for u in urls]
    prefix = os.path.commonprefix(parents)
    return prefix[: prefix.rfind("/") + 1]


def as_text(values: pl.Series) -> pl.Series:
    """Ids and source names as the stages write and compare them (dup_of, dup_source,
    contaminated_by): text as it is, other values as polars writes them; bytes (a binary
    column) that are UTF-8 as their text, as a writer that typed text as binary meant
    them, and other bytes as Python writes them (b'\\xff\\x00'), as the reports' samples
    show such ids. Distinct bytes give distinct text unless a UTF-8 value is itself
    spelled like Python's bytes."""
    if values.dtype == pl.Binary:
        try:
            return values.cast(pl.String)
        except pl.exceptions.ComputeError:  # some bytes are not UTF-8 (a digest): spelled one by one
            return pl.Series(values.name, [None if v is None else _bytes_text(v) for v in values], dtype=pl.String)
    return values.cast(pl.String)


def text_of(column: str) -> pl.Expr:
    """`as_text` of a column, for a lazy frame (a file scanned, only what is needed read)."""
    return pl.col(column).map_batches(as_text, return_dtype=pl.String, is_elementwise=True)


def _bytes_text(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return str(value)


def id_problems(rows: pl.LazyFrame) -> str | None:
    """What is wrong with the ids of `rows` (columns `id`, `file`, `row`): duplicates and
    nulls, naming the first offenders by value and `<file>#<row>`; None when every row
    has its own id."""
    # Distinct 64-bit hashes prove distinct ids at a fifth of `is_duplicated`'s cost; a
    # collision only sends the ids to the exact count below.
    quick = rows.select(pl.len().alias("rows"), pl.col("id").null_count().alias("nulls"), pl.col("id").hash().n_unique().alias("hashes")).collect()
    if quick["nulls"][0] == 0 and quick["hashes"][0] == quick["rows"][0]:
        return None
    nulls = rows.filter(pl.col("id").is_null()).select("file", "row")
    counted = rows.select(pl.col("id").is_null().sum().alias("nulls"), pl.col("id").drop_nulls().is_duplicated().sum().alias("duplicated")).collect()
    problems = []
    duplicated = int(counted["duplicated"][0])
    if duplicated:
        repeated = (
            rows.filter(pl.col("id").is_not_null() & pl.col("id").is_duplicated())
            .group_by("id", maintain_order=True)
            .agg(pl.format("{}#{}", "file", "row").head(2).alias("at"))
            .head(SHOWN)
            .collect()
        )
        shown = "; ".join(f"{value!r} at {' and '.join(at)}" for value, at in repeated.iter_rows())
        problems.append(f"{duplicated:,} rows share an id with another row (first: {shown})")
    null_rows = int(counted["nulls"][0])
    if null_rows:
        first = nulls.head(SHOWN).collect()
        shown = ", ".join(f"{file}#{row}" for file, row in first.iter_rows())
        problems.append(f"{null_rows:,} rows have a null id (first: {shown})")
    return "; ".join(problems) or None
