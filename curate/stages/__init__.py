"""Stage registry: every module in this package that defines a Stage subclass with a
`kind` is a stage, found by import. Adding a stage is adding a module."""

from __future__ import annotations

import importlib
import pkgutil

from curate.stages.base import DatasetStage, ShardStage, Stage, StageConfig


def _discover() -> dict[str, type[Stage]]:
    found: dict[str, type[Stage]] = {}
    for module in pkgutil.iter_modules(__path__):
        if module.name == "base":
            continue
        imported = importlib.import_module(f"{__name__}.{module.name}")
        for value in vars(imported).values():
            if isinstance(value, type) and issubclass(value, Stage) and "kind" in vars(value):
                found[value.kind] = value
    return dict(sorted(found.items()))


STAGES: dict[str, type[Stage]] = _discover()

__all__ = ["STAGES", "DatasetStage", "ShardStage", "Stage", "StageConfig"]
