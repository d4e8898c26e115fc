"""Where curate's shipped data lives: the rule sets and expectation suites of rules/."""

from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path

import xxhash

import curate

BUILTIN_DIR = "_rules"
"""rules/ as a wheel installs it: the package-data folder curate/_rules."""


def rules_root() -> Path:
    """The built-in rule sets: rules/ beside the package in a checkout (or an editable
    install), else the copy a wheel installs as curate/_rules."""
    checkout = Path(curate.__file__).resolve().parent.parent / "rules"
    return checkout if checkout.is_dir() else Path(str(importlib.resources.files("curate") / BUILTIN_DIR))


@functools.cache
def build_id() -> str:
    """The build of curate this process runs: an xxh3 hash of the package's source files
    and of the built-in rule files, each with its path. A run records it, and a run or its
    work made by another build is never reused, since `__version__` stays the same while
    the code changes. Computed once per process, when a run first needs it (about 1 MB:
    a few milliseconds), never at import."""
    package = Path(curate.__file__).resolve().parent
    files = [(p, p.relative_to(package.parent)) for p in package.rglob("*.py")]
    files += [(p, Path("rules") / p.relative_to(rules_root())) for p in rules_root().rglob("*.yaml")]
    digest = xxhash.xxh3_64()
    for path, name in sorted(files, key=lambda pair: pair[1].as_posix()):
        digest.update(f"{name.as_posix()}\0{path.stat().st_size}\0".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()
