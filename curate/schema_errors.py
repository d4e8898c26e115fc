"""One located line for a bad YAML file (pipelines, rule sets): where the key is and
which model's keys are valid there. Shared by every file curate validates."""

from __future__ import annotations

import yaml
from pydantic import BaseModel

from curate.errors import ConfigError


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
        annotation = getattr(field, "annotation", None)
        candidates = [a for a in (getattr(annotation, "__args__", None) or (annotation,)) if isinstance(a, type) and issubclass(a, BaseModel)]
        if candidates:
            owner = candidates[-1]
    return owner


def malformed_yaml(exc: yaml.YAMLError, source: str) -> ConfigError:
    mark = getattr(exc, "problem_mark", None)
    where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    return ConfigError(f"{where}: malformed YAML ({problem}); fix the syntax (indentation, colons, quotes)")
