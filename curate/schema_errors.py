"""One located line for a bad YAML file (pipelines, rule sets): where the key is and
which model's keys are valid there. Shared by every file curate validates."""

from __future__ import annotations

import datetime
import math
import typing
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from curate.errors import ConfigError, CurateError, did_you_mean


SCALAR_BRANCH = "<scalar>"
MAPPING_BRANCH = "<mapping>"
"""The tags of a key that takes a value or a mapping (`output: runs/x` or `output: {path: …}`):
the branch is chosen by what the file holds, so one mistake is one error, and the tag
is left out of the key path shown."""


def key_path(loc: tuple) -> tuple:
    """pydantic's location of an error as the file's key path: the tags of validators and
    union branches left out, and a mapping key's own error (`overrides, 5, [key]`: the key
    5 is no string) at that key as the file writes it (`overrides, '5'`: its line, not a list index)."""
    path: list = []
    for part in loc:
        if part == "[key]" and path:
            path[-1] = str(path[-1])
        elif not (isinstance(part, str) and (part.startswith("function-") or part in (SCALAR_BRANCH, MAPPING_BRANCH))):
            path.append(part)
    return tuple(path)


def dotted(path: tuple) -> str:
    """('stages', 1, 'mode') -> 'stages[1].mode'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def innermost_model(model: type[BaseModel], loc: tuple) -> type[BaseModel]:
    """The model that owns the last key of `loc` (nested options, `Model | None`, lists of models)."""
    owner = model
    for part in loc[:-1]:
        field = owner.model_fields.get(part) if isinstance(part, str) else None
        candidates = _models_in(getattr(field, "annotation", None))
        if candidates:
            owner = candidates[-1]
    return owner


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds, through `X | None`, `list[X]` and `Annotated[…]`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is typing.Annotated:
        args = args[:1]
    return [found for arg in args for found in _models_in(arg)]


def _dict_values_model(model: type[BaseModel], key: Any) -> type[BaseModel] | None:
    """The model of the values of `model`'s option `key` when that option is a mapping of
    names to such models (a rule file's `overrides:`: language code → {params, rules})."""
    field = model.model_fields.get(key) if isinstance(key, str) else None
    annotation = getattr(field, "annotation", None)
    if typing.get_origin(annotation) is not dict:
        return None
    found = _models_in(typing.get_args(annotation)[1])
    return found[-1] if found else None


def malformed_yaml(exc: yaml.YAMLError, source: str) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    # The parser stops where it noticed (often the end of the file); the construct it was
    # reading (an unclosed quote or bracket) starts earlier, and that is where to look.
    start, context = getattr(exc, "context_mark", None), getattr(exc, "context", None)
    # only an unclosed quote or flow bracket: a block's start ("while parsing a block
    # mapping") is the enclosing mapping (line 1 for a mis-indented top-level key), not the mistake
    if start is not None and context and context.startswith(("while scanning", "while parsing a flow")) and mark is not None and start.line != mark.line:
        problem = f"{context}: {problem} at line {mark.line + 1}, column {mark.column + 1}"
        mark = start
    where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
    return ConfigError(f"{where}: malformed YAML ({problem}); fix the syntax (indentation, colons, quotes)")


class LineMap:
    """Maps a key path (('stages', 1, 'mode')) to its line in the YAML file."""

    def __init__(self, root: yaml.Node | None):
        self.lines: dict[tuple, int] = {}
        if root is not None:
            self._walk(root, ())

    def _walk(self, node: yaml.Node, path: tuple) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.lines[path + (key.value,)] = key.start_mark.line + 1
                self._walk(value, path + (key.value,))
                self.lines[path + (key.value,)] = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._walk(item, path + (index,))

    def line(self, path: tuple) -> int | None:
        while path and path not in self.lines:
            path = path[:-1]
        return self.lines.get(path)


class Problems:
    """Every error in a YAML file curate validates (a pipeline with its --set overrides,
    a rule file), each located: the file and line, or the override that set the key."""

    def __init__(self, source: str, lines: LineMap, overrides: dict[tuple, str] | None = None):
        self.source = source
        self.lines = lines
        self.overrides = overrides or {}
        self.errors: list[CurateError] = []

    def add(self, path: tuple, message: str) -> None:
        """A validation error of the file's values at `path`, located."""
        self.errors.append(ConfigError(self._located(path, message, within_override=True)))

    def error(self, path: tuple, message: str, kind: type[CurateError] = ConfigError, shown: str | None = None) -> CurateError:
        """An error at `path` (shown as `shown`, default its dotted form), located."""
        return kind(self._located(path, message, shown))

    def set_by(self, path: tuple) -> str | None:
        """The `--set` that set the key at `path` (or a key holding it), if one did."""
        return next((arg for key, arg in self.overrides.items() if path[: len(key)] == key), None)

    def _located(self, path: tuple, message: str, shown: str | None = None, within_override: bool = False) -> str:
        """`within_override`: a validation error at a key an override set inside (`keep`
        for `--set keep.0=en`) is the override's; any other error at a stage is the file's,
        whatever else an override set in that stage."""
        set_by = self.set_by(path)
        if set_by is None and path and within_override:
            set_by = next((arg for key, arg in self.overrides.items() if key[: len(path)] == path), None)
        if set_by is not None:
            return f"{self.source}: --set {set_by}: {shown or dotted(path)}: {message}"
        line = self.lines.line(path)
        where = f"{self.source}, line {line}" if line else self.source
        return f"{where}: {shown or dotted(path)}: {message}"

    def validate(self, model: type[BaseModel], data: Any, prefix: tuple, base: Path | None = None) -> Any:
        """The validated model, or None after recording every error in `data`."""
        try:
            return model.model_validate(data, context={"base": base})
        except ValidationError as exc:
            for error in exc.errors():
                loc = key_path(error["loc"])
                self.add(prefix + loc, explain(error, innermost_model(model, loc), loc))
            return None
        except CurateError as error:
            # a validator that reads a file (rule sets, reference sets) names that file;
            # this names the pipeline file and the stage that points at it
            for one in getattr(error, "errors", [error]):
                self.errors.append(type(one)(self._located(prefix, str(one))))
            return None


def explain(error: dict, model: type[BaseModel], loc: tuple) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"unknown key{did_you_mean(loc[-1] if loc else '', model.model_fields)}; valid keys: {', '.join(model.model_fields)}"
    if kind == "missing":
        return "missing required key"
    given = error.get("input")
    if kind in ("model_type", "dict_type"):
        values = _dict_values_model(model, loc[-1]) if loc else None
        if values is not None:  # its keys are names (rule names, language codes), its values have the model's keys
            return f"should be a mapping, each value a mapping with keys {', '.join(values.model_fields)}, not {shown(given)}"
        options = innermost_model(model, (*loc, "")) if loc else model
        keys = ", ".join(options.model_fields) if options is not model else ""
        return f"should be a mapping{f' with keys {keys}' if keys else ''}, not {shown(given)}" + (
            f"; e.g. {loc[-1]}: {{path: {given}}}" if isinstance(given, str) and "path" in options.model_fields else ""
        )
    message = _PLAIN.get(kind) or error["msg"].removeprefix("Input ").removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    if isinstance(given, (str, int, float, bool, datetime.date)) and not (isinstance(given, str) and repr(given) in message):  # a message may quote the string already
        message += f" (got {shown(given)})"
    if kind in ("float_type", "float_parsing", "int_type", "int_parsing"):
        message += number_as_text(given)
    if kind in ("list_type", "tuple_type") and isinstance(given, str):
        message += f"; write [{given}]"
    if kind == "string_type" and isinstance(given, (int, float, bool, datetime.date)):
        read_as = "true/false" if isinstance(given, bool) else "a date" if isinstance(given, datetime.date) else "a number"
        message += f"; YAML reads the value as {read_as}: quote it, e.g. \"{_as_written(given)}\""
    return message


_PLAIN = {"list_type": "should be a list", "tuple_type": "should be a list", "bool_type": "should be true or false",
          "bool_parsing": "should be true or false", "int_type": "should be a whole number"}
"""pydantic's messages in the words of a YAML file (a tuple is written as a list)."""


def number_as_text(given: Any) -> str:
    """A hint when YAML read a number as text: quoted (`"3"`: YAML reads 3 unquoted as a
    number), or YAML 1.1's `1e-2` (no dot), which it takes for a string."""
    if not isinstance(given, str):
        return ""
    try:
        number = float(given)
    except ValueError:
        return ""
    if not math.isfinite(number):
        return ""
    if yaml.SafeLoader.resolve(yaml.SafeLoader, yaml.ScalarNode, given.strip(), (True, False)) in (_INT_TAG, _FLOAT_TAG):  # type: ignore[arg-type]
        return f"; the quotes make it text: write {given.strip()} without them"
    return f"; YAML reads {given} as text (a number with an exponent needs a dot, as in 1.0e-2): write {number!r}"


_INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"


def shown(value: Any) -> str:
    """A value a file gave, as a message quotes it: a whole number too long to read (a
    threshold of 400 digits) by its first digits and its length."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**20:
        digits = str(abs(value))
        return f"{'-' if value < 0 else ''}{digits[:6]}… (a whole number of {len(digits)} digits)"
    return repr(value) if isinstance(value, (str, int, float, bool)) else _as_written(value) if isinstance(value, datetime.date) else type(value).__name__


def _as_written(value: Any) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else value.isoformat() if isinstance(value, datetime.date) else str(value)
