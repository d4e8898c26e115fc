"""A run directory as the read-only commands (`show`, `report`, `evaluate`) meet it:
its manifest, checked to be curate's, and the run working in it now, if any. One
wording for a path that is not a run, so the three commands agree (exit 2: the path
given on the command line is the mistake)."""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path
from typing import Any

from curate.errors import ConfigError

LOCK_NAME = ".curate-lock"
"""The OS file lock of the run working in a directory (curate/run/lock.py)."""


def not_a_run(folder: Path, finished: bool) -> ConfigError:
    """The error for a path that holds no (finished) run: says whether it exists."""
    if not folder.exists():
        return ConfigError(f"{folder} does not exist; give a run directory written by curate run")
    if finished:
        unfinished = (folder / "_work" / "state.json").exists()
        why = "the run is unfinished (or running): run the same `curate run` command again to finish it" if unfinished else "give the directory of a finished run"
        return ConfigError(f"{folder} has no manifest.json, so it holds no finished curate run; {why}")
    return ConfigError(f"{folder} holds no curate run (no manifest.json, no _work/state.json); give a run directory written by curate run")


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The finished run's manifest, or None when there is none (an unfinished run). A
    manifest.json that is not JSON or not curate's (another tool's, say) is an error."""
    path = folder / "manifest.json"
    if not path.is_file():
        return None
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read it as a curate run manifest ({str(exc).splitlines()[0]}); give a run directory written by curate run") from None
    if not isinstance(manifest, dict) or not {"curate_version", "pipeline", "status"} <= manifest.keys():
        raise ConfigError(f"{path} is not a curate run manifest (no curate_version, pipeline and status); give a run directory written by curate run")
    return manifest


def lock_holder(fd: int) -> str:
    """Who holds the lock whose file `fd` is open on: `PID 123 on host vm`."""
    try:
        holder = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"PID {holder['pid']} on host {holder['host']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "its PID is not recorded yet"


def running_holder(folder: Path) -> str | None:
    """The run working in `folder` now (`PID 123 on host vm`), or None."""
    try:
        fd = os.open(folder / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return lock_holder(fd)
    finally:
        os.close(fd)  # closing releases a lock taken here
    return None
