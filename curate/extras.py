"""curate's optional extras (pyproject's `[project.optional-dependencies]`): whether a
package one of them installs is here, and which extra installs it, read from the
installed metadata (nothing is imported)."""

from __future__ import annotations

import importlib.metadata
import re
from collections.abc import Iterable


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


def install_command(packages: Iterable[str], extras: Iterable[str]) -> str:
    """The command that installs `packages`: by their own names, which works wherever
    curate came from, and from a checkout by the `extras` of curate's that hold them.
    Never by curate's name with an extra: `curate` on PyPI is another project, which pip
    would download and run where this curate is not installed."""
    command = f"pip install {' '.join(packages)}"
    extras = sorted(set(extras))
    return f"{command} (or pip install -e '.[{','.join(extras)}]' from curate's folder)" if extras else command
