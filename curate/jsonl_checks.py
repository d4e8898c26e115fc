"""JSON Lines blocks checked for what polars reads without a word: a key whose values
have no common type (found on the error path, with both lines), a list or object kept
as its JSON text among strings, half of a UTF-16 surrogate pair read as NUL. Each check
is cheap on a valid block and names the file and line of an invalid one
(`curate/run/staging.py` reads the blocks; `curate evaluate` its test file). `source` is
the file as the messages name it."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any

import polars as pl

from curate.errors import InputDataError, first_line


def bad_json_line(source: str, block: bytes, start: int, exc: Exception) -> InputDataError:
    """Find the offending line, or the key whose values have no common type (only on
    this error path, so a Python loop is fine). Each line is decoded as UTF-8 and parsed
    as strictly as polars does: Python's json would take NaN, Infinity, 1e400 and a
    UTF-16 line, and leave the line unnamed."""
    kinds: dict[str, tuple[str, int]] = {}
    for offset, raw in enumerate(block.split(b"\n")):
        if not raw.strip():
            continue
        line = start + offset
        if b"\x00" in raw or (line == 1 and raw.startswith((b"\xff\xfe", b"\xfe\xff"))):
            return InputDataError(f"{source}, line {line}: NUL bytes: the file looks UTF-16 or UTF-32, not UTF-8; save it as UTF-8")
        try:
            value = json.loads(raw.decode("utf-8"), parse_constant=_not_a_number, parse_float=_finite)
        except UnicodeDecodeError as bad:
            return InputDataError(f"{source}, line {line}: not valid UTF-8 (byte {raw[bad.start]:#04x}); save the file as UTF-8")
        except _NotJson as bad:
            return InputDataError(f"{source}, line {line}: not JSON ({bad}); write the value as a string, or null")
        except json.JSONDecodeError as bad:
            if line == 1 and raw.strip() == b"[":
                return InputDataError(f"{source}, line 1: a JSON array spread over lines (a .json file holding one JSON document is not JSON Lines); write one object per line")
            return InputDataError(f"{source}, line {line}: not JSON ({bad.msg}); every line of a JSON Lines file must be one JSON object")
        if (half := _half_surrogate(value)) is not None:
            return _half_surrogate_error(source, line, half)
        if not isinstance(value, dict):
            kind = "an array (a .json file holding one JSON document is not JSON Lines)" if isinstance(value, list) else type(value).__name__
            return InputDataError(f"{source}, line {line}: {kind}, not a JSON object; every line of a JSON Lines file must be one object")
        if (huge := _huge_integer(value)) is not None:
            return _huge_integer_error(source, line, *huge)
        for key, kind in _json_kinds(value):
            first = kinds.setdefault(key, (kind, line))
            if frozenset((first[0], kind)) not in _COMMON_KINDS:
                return _conflict(source, key, kind, line, *first)
    return InputDataError(f"{source}, lines {start}+: cannot read the JSON Lines ({first_line(exc)}); check its keys have one type each")


class _NotJson(ValueError):
    """A number Python's json reads but JSON (and polars) has not."""


def _not_a_number(name: str) -> None:
    raise _NotJson(f"{name} is not a JSON number")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _NotJson(f"the number {text} is beyond the range of a 64-bit float")
    return value


DECIMAL_LIMIT = 10**38
"""Integers beyond 64 bits are kept as decimal(38, 0): exact, up to 38 digits."""


def _leaves(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(key path, value) of every value inside a parsed JSON object, objects and lists
    included; a list's items have the list's path."""
    items = value.items() if isinstance(value, dict) else ((None, item) for item in value)
    for key, item in items:
        name = path if key is None else f"{path}.{key}" if path else key
        yield name, item
        if isinstance(item, (dict, list)):
            yield from _leaves(item, name)


def _huge_integer(value: dict[str, Any]) -> tuple[str, int] | None:
    """The first integer of more than 38 digits in a parsed JSON object, with its key."""
    return next(((key, item) for key, item in _leaves(value) if type(item) is int and abs(item) >= DECIMAL_LIMIT), None)


def _huge_integer_error(source: str, line: int, key: str, value: int) -> InputDataError:
    return InputDataError(
        f"{source}, line {line}: key {key!r} holds an integer of {len(str(abs(value)))} digits; "
        "curate keeps integers of up to 38 digits exactly: write it as a string"
    )


def refuse_huge_integers(source: str, block: bytes, start: int) -> None:
    """polars reads integers up to 2^127, but beyond 38 digits decimal(38, 0), the type
    curate keeps them as, cannot hold them: name the first (called when the cast fails)."""
    for offset, raw in enumerate(block.split(b"\n")):
        if raw.strip() and (huge := _huge_integer(json.loads(raw))) is not None:
            raise _huge_integer_error(source, start + offset, *huge)


def refuse_empty_objects(source: str, block: bytes, start: int, frame: pl.DataFrame) -> None:
    """A key that is `{}` wherever it is an object in the block has a type with no
    fields, which Parquet cannot store (where some line gives it a key, `{}` is an
    object whose keys are null, as Parquet can)."""
    empty = next((key for name, kind in frame.schema.items() if (key := _empty_struct(name, kind)) is not None), None)
    if empty is None:
        return
    last = start + block.rstrip().count(b"\n")
    line = next(start + offset for offset, raw in enumerate(block.split(b"\n")) if raw.strip() and any(key == empty and item == {} for key, item in _leaves(json.loads(raw))))
    raise InputDataError(
        f"{source}, line {line}: key {empty!r} is an empty object ({{}}) here and wherever it is an object in lines {start}-{last}; "
        "Parquet cannot store an object without keys: write null for it, or leave the key out"
    )


def _empty_struct(path: str, kind: pl.DataType) -> str | None:
    """The key path of the first object type without fields in `kind`, or None."""
    if isinstance(kind, (pl.List, pl.Array)):
        return _empty_struct(path, kind.inner)
    if isinstance(kind, pl.Struct):
        if not kind.fields:
            return path
        return next((key for field in kind.fields if (key := _empty_struct(f"{path}.{field.name}", field.dtype)) is not None), None)
    return None


_COMMON_KINDS = {frozenset((a, b)) for a, b in (("a number", "a string"), ("true/false", "a string"))} | {
    frozenset((k,)) for k in ("a number", "a string", "true/false", "a list", "an object")
}
"""Kinds of JSON values polars reads into one column (as strings, when they differ)."""


def _json_kinds(value: dict[str, Any], path: str = "") -> Iterator[tuple[str, str]]:
    """(key path, kind) of every value in a JSON object and the objects inside it;
    nulls have no kind."""
    for key, item in value.items():
        name = f"{path}.{key}" if path else key
        if isinstance(item, dict):
            yield name, "an object"
            yield from _json_kinds(item, name)
        elif isinstance(item, list):
            yield name, "a list"
        elif item is not None:
            yield name, "true/false" if isinstance(item, bool) else "a number" if isinstance(item, (int, float)) else "a string"


def _conflict(source: str, key: str, kind: str, line: int, other: str, other_line: int) -> InputDataError:
    return InputDataError(
        f"{source}, line {line}: key {key!r} is {kind} here but {other} on line {other_line}; "
        f"give the key one type in every line"
    )


def refuse_stringified(source: str, block: bytes, start: int, frame: pl.DataFrame) -> None:
    """polars reads a key that is a string on some lines and a list or an object on
    others as strings, turning the list into JSON text: curate would then keep
    `["a", "b"]` as a document. Only the rows whose string is bracketed like JSON text
    (rare in real text, where "[1] ..." is common) are checked against their line."""
    strings = [name for name, kind in frame.schema.items() if kind == pl.String]
    if not strings:
        return
    looks = frame.select(pl.col(strings).str.contains(r"(?s)^\[.*\]$|^\{.*\}$").fill_null(False).arg_true().implode())
    suspects = {name: looks[name][0] for name in strings if len(looks[name][0])}
    if not suspects:
        return
    raw_lines = block.split(b"\n")
    lines = [offset for offset, raw in enumerate(raw_lines) if raw.strip()]  # row i is on line lines[i]
    for name, rows in suspects.items():
        for row in rows.to_list():
            value = json.loads(raw_lines[lines[row]]).get(name)
            if isinstance(value, (list, dict)):
                kind = "a list" if isinstance(value, list) else "an object"
                plain = frame.select(pl.col(name).str.contains(r"^[\[{]").not_().arg_true().first()).item()
                if plain is None:  # every string starts like JSON text: the strings are that
                    raise InputDataError(f"{source}, line {start + lines[row]}: key {name!r} is {kind} here but a string on other lines; give the key one type in every line")
                raise _conflict(source, name, kind, start + lines[row], "a string", start + lines[plain])


FLOAT_EXACT_LIMIT = 2**53
"""Every integer up to this magnitude is a float exactly; beyond it, some are not."""


def refuse_inexact_integers(source: str, block: bytes, start: int, frame: pl.DataFrame) -> None:
    """polars reads a key holding integers on some lines and floats on others as
    floats, so a 19-digit id beside 0.5 gets other digits. Only a block whose floats
    reach 2^53 (vectorised: rare) is searched for an integer of 16 or more digits (a
    float's 1.7e18 is not one), and only the lines holding one are parsed again."""
    floats = [big for name, kind in frame.schema.items() for big in _beyond_exact(pl.col(name), kind)]
    if not floats or not frame.select(pl.any_horizontal(floats)).item():
        return
    lines = pl.Series([block]).cast(pl.String)
    if not lines.str.contains(_LONG_INTEGER).item():
        return
    lines = lines.str.split("\n").explode()
    kinds = dict(_leaf_types(frame.schema))
    for offset in lines.str.contains(_LONG_INTEGER).arg_true().to_list():
        for key, item in _leaves(json.loads(lines[offset])):
            if type(item) is int and abs(item) > FLOAT_EXACT_LIMIT and kinds.get(key, pl.Null).is_float() and int(float(item)) != item:
                raise InputDataError(
                    f"{source}, line {start + offset}: key {key!r} is the integer {item} here and a float on other lines, "
                    "and the float they are read as cannot hold it exactly; write it as a string, or the floats under another key"
                )


_LONG_INTEGER = r"[\[,:]\s*-?\d{16,}\s*[,\]}]"
"""A JSON integer of 16 or more digits as a value (from 2^53 on, some are not floats)."""


def _beyond_exact(values: pl.Expr, kind: pl.DataType) -> list[pl.Expr]:
    """Whether any float inside `values` (in lists and objects too) reaches 2^53."""
    if kind.is_float():
        return [(values.abs() >= FLOAT_EXACT_LIMIT).any()]  # 2^53 + 1 is read as 2^53
    if isinstance(kind, (pl.List, pl.Array)):
        return _beyond_exact(values.explode(), kind.inner)
    if isinstance(kind, pl.Struct):
        return [big for field in kind.fields for big in _beyond_exact(values.struct.field(field.name), field.dtype)]
    return []


def _leaf_types(schema: pl.Schema | dict[str, pl.DataType], path: str = "") -> Iterator[tuple[str, pl.DataType]]:
    """(key path, type) of every column and field, as `_leaves` names the values."""
    for name, kind in schema.items():
        key = f"{path}.{name}" if path else name
        while isinstance(kind, (pl.List, pl.Array)):
            kind = kind.inner
        yield key, kind
        if isinstance(kind, pl.Struct):
            yield from _leaf_types({field.name: field.dtype for field in kind.fields}, key)


def refuse_half_surrogates(source: str, block: bytes, start: int, frame: pl.DataFrame) -> None:
    """polars reads `\\ud800` not followed by its other half as NUL, silently, in a
    value, a nested value or a key (a low half alone it refuses, and `_bad_json_line`
    names it). Only when a string or a key holds a NUL are the lines with such an escape
    parsed again, to tell a half pair from a real `\\u0000`."""
    if not _holds_nul(frame):
        return
    for offset, raw in enumerate(block.split(b"\n")):
        if _SURROGATE_ESCAPE.search(raw) and (half := _half_surrogate(json.loads(raw))) is not None:
            raise _half_surrogate_error(source, start + offset, half)


_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89abAB]")


def _holds_nul(frame: pl.DataFrame) -> bool:
    """Whether any string of the frame, nested ones and names included, holds a NUL."""

    def check(value: pl.Expr, kind: pl.DataType) -> pl.Expr | None:
        if kind == pl.String:
            return value.str.contains("\x00", literal=True)
        if isinstance(kind, (pl.List, pl.Array)):
            inner = check(pl.element(), kind.inner)
            return None if inner is None else (value.list.eval(inner).list.any() if isinstance(kind, pl.List) else value.arr.eval(inner).arr.any())
        if isinstance(kind, pl.Struct):
            if any("\x00" in field.name for field in kind.fields):
                return pl.lit(True)
            parts = [c for field in kind.fields if (c := check(value.struct.field(field.name), field.dtype)) is not None]
            return pl.any_horizontal(parts) if parts else None
        return None

    if any("\x00" in name for name in frame.columns):
        return True
    checks = [c for name, kind in frame.schema.items() if (c := check(pl.col(name), kind)) is not None]
    return bool(checks) and bool(frame.select(pl.any_horizontal(checks).fill_null(False).any()).item())


def _half_surrogate(value: Any) -> str | None:
    """The first lone UTF-16 surrogate in a parsed JSON value (Python's json reads them
    as they are; no such character can be written as UTF-8), or None."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as bad:
        return bad.object[bad.start]
    return None


def _half_surrogate_error(source: str, line: int, half: str) -> InputDataError:
    return InputDataError(
        f"{source}, line {line}: \\u{ord(half):04x} is half of a UTF-16 surrogate pair, not a character "
        "(the writer cut an emoji or similar in two); fix the writer, or replace the escape with \\ufffd"
    )
