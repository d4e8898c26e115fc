"""The survivor policy of the stages that group documents and keep one of each group
(near_dedup, overlap): `keep: first | longest | highest:<column> | lowest:<column>`."""

from __future__ import annotations

import re
from typing import Annotated

import polars as pl
from pydantic import AfterValidator

from curate.row_names import as_text

_KEEP = re.compile(r"^(first|longest|(highest|lowest):(.+))$")


def _valid(value: str) -> str:
    if not _KEEP.match(value):
        raise ValueError("must be first, longest, highest:<column> or lowest:<column>")
    return value


KeepPolicy = Annotated[str, AfterValidator(_valid)]
"""A `keep:` value, checked when the pipeline file is read."""


def parse_keep(value: str) -> tuple[str, str | None]:
    """(policy, column): `highest:score` is ("highest", "score"); `first` is ("first", None)."""
    match = _KEEP.match(value)
    assert match is not None, value  # KeepPolicy checked it
    return (match.group(2), match.group(3)) if match.group(2) else (match.group(1), None)


def keep_values(values: pl.Series) -> pl.Series:
    """The `highest:`/`lowest:` column as the survivor policy ranks it (the summaries'
    `_keep`): a float NaN is a missing value and loses as a null does; polars sorts NaN
    above every number, so it won `highest:`."""
    return (values.fill_nan(None) if values.dtype.is_float() else values).alias("_keep")


ID_ORDER = "_id_order"
"""The summaries' column `keep_order` breaks ties by (policies other than `first`)."""


def id_order(ids: pl.Series) -> pl.Series:
    """The ids as ties are broken by them: a numeric id column as numbers (9 before 10),
    any other as text."""
    return (ids if ids.dtype.is_numeric() else as_text(ids)).alias(ID_ORDER)


def keep_order(policy: str) -> tuple[list[str], list[bool]]:
    """Sort columns and directions that put each group's survivor first: run order
    (`_key`), most characters (`_len`), or the policy's column (`_keep`); ties go to the
    smaller id (`id_order`), then run order."""
    if policy == "first":
        return ["_key"], [False]
    if policy == "longest":
        return ["_len", ID_ORDER, "_key"], [True, False, False]
    return ["_keep", ID_ORDER, "_key"], [policy == "highest", False, False]
