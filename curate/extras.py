"""curate's optional extras (pyproject's `[project.optional-dependencies]`): whether a
package one of them installs is here, and which extra installs it, read from the
installed metadata (nothing is imported)."""

from __future__ import annotations

import importlib.metadata
import re


def installed(distribution: str) -> bool:
    """Whether a distribution is installed, from its metadata (nothing is imported)."""
    try:
        importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def extra_for(distribution: str) -> str | None:
    """The extra of curate's own requirements that installs `distribution` (`test` aside)."""
    try:
        requirements = importlib.metadata.requires("curate") or []
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return None
    wanted = distribution.lower().replace("_", "-")
    for requirement in requirements:
        name = re.split(r"[\s<>=!~\[;(]", requirement, maxsplit=1)[0].lower().replace("_", "-")
        extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", requirement)
        if name == wanted and extra and extra.group(1) != "test":
            return extra.group(1)
    return None
