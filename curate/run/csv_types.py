"""A CSV/TSV column's type, decided from every value of every CSV file of the run: CSV
has no types, so curate reads each value as the text it is and gives a column a type
only where every value is written as a value of that type (nothing is rewritten into
other digits or another instant), else keeps it text, every value as written.

A file is converted part by part (`staging`) into text parts, each part's values
summarised as the set of types they all fit (`ColumnKinds`); the run's type of a column
is decided from the summaries of all its CSV files together (and the type the other
formats give it, `column_type`), so it never depends on where files or parts are cut.

What fits a type (an empty field, or a missing-value spelling such as `NA`, fits every
type and becomes null; in a text column it stays as written):
- bool: True/False, true/false, TRUE/FALSE (pandas, R, Spark);
- int64: -12, 0, 42 (no leading zero, no sign +, within 64 bits: 007 and a 20-digit id stay text);
- float64: a decimal or exponent spelling a float64 holds (12.50, .5, 1e-05, 1e+16, inf,
  and up to 17 significant digits as C's %.17g writes them; an integer of more than 15
  digits only where the float has its digits: 9007199254740993 stays text);
- date: 2021-04-01 (year 1 to 9999); datetime: 2021-04-01 10:00, 2021-04-01 10:00:00 or
  2021-04-01T10:00:00.123456 (at most microseconds), with Z or +00:00 at the end of every
  value: UTC (any other offset stays text: a parsed +02:00 would be lost); time: 10:00:00.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from curate.files import arrow_type

MISSING_SPELLINGS = ("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "N/A", "NA", "NULL", "NaN", "n/a", "nan", "null")
"""Values that are null in a typed column (pyarrow's and pandas' list): R writes NA,
pandas an empty field."""

_TRUE = ("True", "true", "TRUE")
_FALSE = ("False", "false", "FALSE")
_LONGEST_TYPED = 40
"""No bool, number, date or time spelling above is longer (in bytes)."""

_MOMENT = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,6})?)?"
_PATTERNS = {
    "int": r"^(?:0|-?[1-9][0-9]*)$",
    "float": r"^-?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$|^-?inf$",
    "date": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    "datetime": rf"^{_MOMENT}$",
    "datetime_utc": rf"^{_MOMENT}(?:Z|\+00:00)$",
    "time": r"^[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,6})?$",
}
KINDS = ("bool", "int", "float", "date", "datetime", "datetime_utc", "time")
"""In order of preference: a column of 0 and 1 is int64, not float64."""

_TYPES: dict[str, pl.DataType] = {
    "text": pl.String(),
    "null": pl.Null(),
    "bool": pl.Boolean(),
    "int": pl.Int64(),
    "float": pl.Float64(),
    "date": pl.Date(),
    "datetime": pl.Datetime("us"),
    "datetime_utc": pl.Datetime("us", "UTC"),
    "time": pl.Time(),
}


@dataclass(frozen=True)
class ColumnKinds:
    """What a column's values (in a part, a file, or every CSV file of a run) are:
    `kinds`, the types every given value fits (None when no value is given: every type
    fits), and whether a missing-value spelling other than the empty field appears (a
    column of only `NA` is that text, not null)."""

    kinds: frozenset[str] | None
    spelled_missing: bool

    def __and__(self, other: ColumnKinds) -> ColumnKinds:
        kinds = other.kinds if self.kinds is None else self.kinds if other.kinds is None else self.kinds & other.kinds
        return ColumnKinds(kinds, self.spelled_missing or other.spelled_missing)

    def fits(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    def decided(self) -> str:
        """The column's kind: the first of `KINDS` every value fits; `text` when none
        does; `null` when no value is given at all (the column then takes the type of
        the files beside it)."""
        if self.kinds is None:
            return "text" if self.spelled_missing else "null"
        return next((kind for kind in KINDS if kind in self.kinds), "text")

    def to_json(self) -> dict[str, object]:
        return {"kinds": None if self.kinds is None else sorted(self.kinds), "spelled_missing": self.spelled_missing}

    @classmethod
    def from_json(cls, record: dict[str, object]) -> ColumnKinds:
        kinds = record["kinds"]
        return cls(None if kinds is None else frozenset(kinds), bool(record["spelled_missing"]))  # type: ignore[arg-type]


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
    range, a real day from year 1 on, the float's digits the written ones."""
    if kind == "bool":
        return bool(given.is_in(_TRUE + _FALSE).all())
    if not given.str.contains(_PATTERNS[kind]).all():
        return False
    if kind == "float":
        return _float_keeps_digits(given)
    parsed = pl.select(_parse(pl.lit(given), kind)).to_series()
    if parsed.null_count():
        return False
    return kind not in ("date", "datetime", "datetime_utc") or bool((parsed.dt.year() >= 1).all())  # year 0: no date Arrow's readers take


def _float_keeps_digits(given: pl.Series) -> bool:
    """Whether each number's float64 holds what is written. Most values come back
    exactly as written (Python and polars both write the shortest digits); the rest
    (other exponent styles, trailing zeros, %.17g's long digits) fit where they are in a
    float's range and their significant digits are ones a float64 keeps: up to 17 for a
    decimal, up to 15 for an integer (or the float's own digits)."""
    number = given.cast(pl.Float64, strict=False)
    back = number.cast(pl.String)
    rest = back != given
    if not rest.any():
        return True
    frame = pl.DataFrame({"given": given.filter(rest), "number": number.filter(rest), "back": back.filter(rest)})
    digits = _significant(pl.col("given"))
    in_range = pl.col("number").is_finite() & ((pl.col("number") != 0) | (digits.str.len_bytes() == 0))  # 1e400 is no inf, 1e-400 no 0
    kept = pl.when(pl.col("given").str.contains("[.eE]")).then(17).otherwise(15)
    exact = (digits.str.len_bytes() <= kept) | (digits == _significant(pl.col("back")))
    return bool(frame.select((in_range & exact).all()).item())


def _significant(number: pl.Expr) -> pl.Expr:
    """A number's significant digits, as written: 12.50, 1.25e1 and 0.125e2 give 125."""
    mantissa = number.str.replace(r"[eE].*$", "").str.replace_all(r"[-.]", "")
    return mantissa.str.strip_chars_start("0").str.strip_chars_end("0")


def _parse(text: pl.Expr, kind: str) -> pl.Expr:
    if kind == "bool":
        return text.is_in(_TRUE)
    if kind == "date":
        return text.str.to_date("%Y-%m-%d", strict=False)
    if kind in ("datetime", "datetime_utc"):
        moment = text.str.replace(r"(?:Z|\+00:00)$", "").str.replace("T", " ", literal=True)
        moment = pl.when(moment.str.len_bytes() == 16).then(moment + ":00").otherwise(moment)  # 2021-04-01 10:00
        parsed = moment.str.to_datetime("%Y-%m-%d %H:%M:%S%.f", time_unit="us", strict=False)
        return parsed.dt.replace_time_zone("UTC") if kind == "datetime_utc" else parsed
    if kind == "time":
        return text.str.to_time("%H:%M:%S%.f", strict=False)
    return text.cast(_TYPES[kind], strict=False)


def kind_of(dtype: pl.DataType) -> str | None:
    """The kind whose values a column of `dtype` (from a Parquet, JSON Lines or Arrow file
    beside the CSV files) holds, if every CSV value of that kind fits it: a timestamp in
    micro- or nanoseconds (milliseconds would cut a CSV's .123456)."""
    if isinstance(dtype, pl.Datetime):
        if dtype.time_unit == "ms":
            return None
        return "datetime" if dtype.time_zone is None else "datetime_utc" if dtype.time_zone == "UTC" else None
    return next((kind for kind, kind_type in _TYPES.items() if kind_type == dtype and kind != "null"), None)


def column_type(kinds: ColumnKinds, other: pl.DataType | None) -> tuple[str, pl.DataType]:
    """A CSV column's (kind to read its text as, type) in the run, from what its values
    are in every CSV file (`kinds`) and the type the other formats' files give it
    (`other`, None where none has it): the other files' type where every CSV value is
    written as a value of it (a Parquet file's timestamp[ns] stays ns), else the CSV
    values' own kind where both are numbers or both moments in time and their common
    type holds every CSV value (int64 beside float32: float64, but not for an integer of
    19 digits), else text for every file, each CSV value as written."""
    decided = kinds.decided()
    if other is None or other == pl.Null:
        return decided, _TYPES[decided]
    if other == pl.String:
        return "text", pl.String()
    of_other = kind_of(other)
    if of_other is not None and kinds.fits(of_other):
        return of_other, other
    if decided == "null":
        return "null", other
    own = _TYPES[decided]
    if (own.is_numeric() and other.is_numeric()) or (own.is_temporal() and other.is_temporal() and decided != "time"):
        try:
            common = pl.concat([pl.DataFrame(schema={"c": own}), pl.DataFrame(schema={"c": other})], how="vertical_relaxed").schema["c"]
        except pl.exceptions.PolarsError:  # timestamps in two time zones: no common type
            return "text", pl.String()
        if isinstance(common, pl.Datetime) and isinstance(other, pl.Datetime):  # the finer unit of the two: a CSV's µs beside ms
            common = pl.Datetime("ns" if other.time_unit == "ns" else "us", common.time_zone)
        common = arrow_type(common)  # int64 beside uint64: decimal(38, 0), exact, as for JSON Lines
        if isinstance(common, pl.Decimal) and decided == "int":
            return decided, common  # an integer a decimal's digits cannot hold stops the typing pass, naming the file
        # the common type must hold every CSV value: a 19-digit integer is no float64, a
        # date is a datetime at midnight
        if kinds.fits(kind_of(common) or "") or (decided == "date" and isinstance(common, pl.Datetime)):
            return decided, common
    return "text", pl.String()


def typed_column(name: str, kind: str, dtype: pl.DataType) -> pl.Expr:
    """A text column read as `kind` and held as `dtype` (`column_type`), missing values
    null; text stays exactly as written."""
    text = pl.col(name)
    if kind == "text":
        return text
    if kind == "null":
        return pl.lit(None, dtype=dtype).alias(name)
    return pl.when(text.is_in(MISSING_SPELLINGS)).then(None).otherwise(_parse(text, kind)).cast(dtype).alias(name)
