"""A CSV/TSV column's type, decided from every value of the file: CSV has no types, so
curate reads each value as the text it is and gives a column a type only where every
value is written as that type's value (nothing is rewritten into other digits or
another instant), else keeps it text.

A file is converted part by part (`staging`), so each part's values are summarised as
the set of types they all fit (`ColumnKinds`); the file's type is decided from the
parts' summaries together, and never depends on where the parts were cut.

What fits a type (an empty field, or a missing-value spelling such as `NA`, fits every
type and becomes null; in a text column it stays as written):
- bool: True/False, true/false, TRUE/FALSE (pandas, R, Spark);
- int64: -12, 0, 42 (no leading zero, no sign +, within 64 bits: 007 and a 20-digit id stay text);
- float64: a decimal or exponent spelling whose digits the float keeps (12.50, 1e-05,
  1e+16; 9007199254740993 or 0.1000000000000000055 would change, and stay text);
- date: 2021-04-01; datetime: 2021-04-01 10:00:00 or 2021-04-01T10:00:00.123456 (at
  most microseconds), with a trailing Z in every value: UTC. An offset (+02:00) stays
  text: a parsed offset would be lost.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

MISSING_SPELLINGS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null")
"""Values that are null in a typed column (pyarrow's and pandas' list): R writes NA,
pandas an empty field."""

_TRUE = ("True", "true", "TRUE")
_FALSE = ("False", "false", "FALSE")
_LONGEST_TYPED = 40
"""No bool, number, date or datetime spelling above is longer (in bytes)."""

_PATTERNS = {
    "int": r"^(?:0|-?[1-9][0-9]*)$",
    "float": r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "datetime": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?$",
    "datetime_utc": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?Z$",
}
KINDS = ("bool", "int", "float", "date", "datetime", "datetime_utc")
"""In order of preference: a column of 0 and 1 is int64, not float64."""

_TYPES: dict[str, pl.DataType] = {
    "bool": pl.Boolean(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
    "datetime_utc": pl.Datetime("us", "UTC"),
}


@dataclass(frozen=True)
class ColumnKinds:
    """What a column's values (in a part, or in a whole file) are: `kinds`, the types
    every given value fits (None when no value is given: every type fits), and whether
    a missing-value spelling other than the empty field appears (a column of only `NA`
    is that text, not null)."""

    kinds: frozenset[str] | None
    spelled_missing: bool

    def __and__(self, other: ColumnKinds) -> ColumnKinds:
        kinds = other.kinds if self.kinds is None else self.kinds if other.kinds is None else self.kinds & other.kinds
        return ColumnKinds(kinds, self.spelled_missing or other.spelled_missing)

    def decided(self) -> str:
        """The column's kind: the first of `KINDS` every value fits; `text` when none
        does; `null` when no value is given at all (the column then takes the type of
        the files beside it)."""
        if self.kinds is None:
            return "text" if self.spelled_missing else "null"
        return next((kind for kind in KINDS if kind in self.kinds), "text")


_PROBE_ROWS = 256
"""Values every kind is tried on first: a text column fails them all here, and only
the kinds left are tried on every value."""


def column_kinds(values: pl.Series) -> ColumnKinds:
    """The types all of a text column's given values fit (see the module's list)."""
    missing = values.is_in(MISSING_SPELLINGS)
    given = values.filter(~missing)
    spelled = bool((missing & (values != "")).any())
    if given.is_empty():
        return ColumnKinds(None, spelled)
    if given.str.len_bytes().max() > _LONGEST_TYPED:  # type: ignore[operator]
        return ColumnKinds(frozenset(), spelled)
    probe = given.head(_PROBE_ROWS)
    kinds = [kind for kind in KINDS if _fits(probe, kind)]
    if len(given) > len(probe):
        kinds = [kind for kind in kinds if _fits(given, kind)]
    return ColumnKinds(frozenset(kinds), spelled)


def _fits(given: pl.Series, kind: str) -> bool:
    """Whether every value is written as a value of `kind`, unchanged by parsing: in
    range, a real day, the float's digits the written ones."""
    if kind == "bool":
        return bool(given.is_in(_TRUE + _FALSE).all())
    if not given.str.contains(_PATTERNS[kind]).all():
        return False
    if kind == "float":
        return _float_keeps_digits(given)
    return pl.select(_parse(pl.lit(given), kind)).to_series().null_count() == 0


_EXACT_DIGITS = 15
"""A decimal of at most this many digits comes back from a float64 unchanged."""


def _float_keeps_digits(given: pl.Series) -> bool:
    """Whether each number's float64 has its written digits. A short plain decimal
    always does; most others come back exactly as written (Python and polars both write
    the shortest digits); only the rest (other exponent styles, trailing zeros, long
    digit runs, exponents beyond a float's range) are compared digit by digit."""
    unsure = (given.str.len_bytes() > _EXACT_DIGITS) | given.str.contains("[eE]")
    if not unsure.any():
        return True
    written_back = given.cast(pl.Float64).cast(pl.String)
    differs = (written_back != given) & unsure
    if not differs.any():
        return True
    compared = pl.DataFrame({"given": given.filter(differs), "back": written_back.filter(differs)})
    return bool(compared.select((_significant(pl.col("given")) == _significant(pl.col("back"))).all()).item())


def _parse(text: pl.Expr, kind: str) -> pl.Expr:
    if kind == "bool":
        return text.is_in(_TRUE)
    if kind == "date":
        return text.str.to_date("%Y-%m-%d", strict=False)
    if kind in ("datetime", "datetime_utc"):
        moment = text.str.strip_suffix("Z").str.replace("T", " ", literal=True).str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=False)
        return moment.dt.replace_time_zone("UTC") if kind == "datetime_utc" else moment
    return text.cast(_TYPES[kind], strict=False)


def _significant(number: pl.Expr) -> pl.Expr:
    """A number's significant digits, as written: 12.50, 1.25e1 and 0.125e2 give 125."""
    mantissa = number.str.replace(r"[eE].*$", "").str.replace_all(r"[-.]", "")
    return mantissa.str.strip_chars_start("0").str.strip_chars_end("0")


def typed_column(name: str, kind: str) -> pl.Expr:
    """A text column as its decided kind, missing values null; text stays exactly as
    written."""
    text = pl.col(name)
    if kind == "text":
        return text
    if kind == "null":
        return pl.lit(None, dtype=pl.Null).alias(name)
    return pl.when(text.is_in(MISSING_SPELLINGS)).then(None).otherwise(_parse(text, kind)).alias(name)
