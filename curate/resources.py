"""Where curate's shipped data lives: the rule sets and expectation suites of rules/."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import curate

BUILTIN_DIR = "_rules"
"""rules/ as a wheel installs it: the package-data folder curate/_rules."""


def rules_root() -> Path:
    """The built-in rule sets: rules/ beside the package in a checkout (or an editable
    install), else the copy a wheel installs as curate/_rules."""
    checkout = Path(curate.__file__).resolve().parent.parent / "rules"
    return checkout if checkout.is_dir() else Path(str(importlib.resources.files("curate") / BUILTIN_DIR))
