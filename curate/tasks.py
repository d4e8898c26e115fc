"""Parallel tasks as whole-dataset stages see them: `tasks(work, items)` returns
`[work(item) for item in items]`, computed wherever the executor can (worker processes,
Ray tasks). Stages depend on this shape only, never on an executor."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Tasks = Callable[[Callable[[Any], Any], list[Any]], list[Any]]
"""`tasks(work, items) -> [work(item) for item in items]`, possibly in parallel."""


def in_order(work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """The sequential `tasks`: what a whole-dataset stage uses outside a run."""
    return [work(item) for item in items]
