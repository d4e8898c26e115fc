"""A run directory as the commands that read a finished run (`show`, `report`,
`evaluate`) meet it: its manifest, checked to be curate's, and the run working in it
now, if any. One wording for a path that is not a run, so the three commands agree
(exit 2: the path given on the command line is the mistake).

The directory's lock is here too: a run holds it while it works (curate/run/lock.py),
and `report` and `evaluate` hold it while they write beside the finished run they read,
after checking that it is still the run in place (`unchanged_run`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Self

from curate.errors import ConfigError, OutputError, storage_error

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


class DirectoryLock:
    """The exclusive lock of a run directory: an OS file lock (`flock(2)`) on
    `<dir>/.curate-lock`, so the kernel releases it when its holder dies however it dies
    (SIGKILL, OOM killer, power loss): a stale lock never blocks anyone. The file holds
    the holder's PID and host for the message another curate prints. The holder deletes
    the file when it is done; one that opens the file just before that re-checks, after
    locking, that it locked the file still at that path. `in_use`: the refusal's message
    when another holds it, given who does (`PID 123 on host vm`)."""

    def __init__(self, folder: Path, in_use: Callable[[str], str]):
        self.folder = folder
        self.path = folder / LOCK_NAME
        self.in_use = in_use
        self._fd: int | None = None

    def __enter__(self) -> Self:
        while self._fd is None:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise storage_error(exc, self.path) or exc from None
            if not _lock_soon(fd):
                holder = lock_holder(fd)
                os.close(fd)
                raise OutputError(self.in_use(holder)) from None
            if _same_file(fd, self.path):
                self._fd = fd
            else:  # the holder deleted the file between our open and our lock: lock the new one
                os.close(fd)
        try:
            os.ftruncate(self._fd, 0)
            os.write(self._fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
        except OSError as exc:  # a full disk is first met here: the probe before writes an empty file
            DirectoryLock.__exit__(self)
            raise storage_error(exc, self.path) or exc from None
        return self

    def in_place(self) -> bool:
        """The locked file is still at its path: the directory was not deleted or moved
        (a cleanup job, a user starting over) since it was locked."""
        return self._fd is not None and _same_file(self._fd, self.path)

    def __exit__(self, *exc: object) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None


_LOCK_TRIES = 20
_LOCK_PAUSE = 0.01


def _lock_soon(fd: int) -> bool:
    """The exclusive lock, retried for 0.2 s: `curate show` probes a running run's lock by
    taking a shared one for a moment, which must not turn a run starting then away."""
    for attempt in range(_LOCK_TRIES):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if attempt + 1 < _LOCK_TRIES:
                time.sleep(_LOCK_PAUSE)
    return False


def _same_file(fd: int, path: Path) -> bool:
    try:
        return os.fstat(fd).st_ino == os.stat(path).st_ino
    except FileNotFoundError:
        return False


@contextlib.contextmanager
def unchanged_run(folder: Path, manifest: dict[str, Any], command: str) -> Iterator[None]:
    """The run directory locked for `curate {command}` to write beside the finished run
    whose `manifest` it read, which must still be the run in place: a run working there
    now, or a rerun that replaced it meanwhile, stops the command with OutputError (exit
    4) before it writes a result of other rows beside the new ones."""
    def in_use(holder: str) -> str:
        return f"{folder} is in use by a curate run ({holder}); wait for it to finish, then run curate {command} again"

    with DirectoryLock(folder, in_use):
        if read_manifest(folder) != manifest:
            raise OutputError(f"{folder} holds another run than the one curate {command} read (a rerun replaced it meanwhile); "
                              f"nothing written: run curate {command} again")
        yield
