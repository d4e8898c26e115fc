"""One run per output directory: an OS file lock on `<run dir>/.curate-lock`.

The lock is `flock(2)`, so the kernel releases it when its holder dies however it dies
(SIGKILL, OOM killer, power loss): a stale lock never blocks a resume. The file holds the
holder's PID and host for the message a second run prints. The holder deletes the file
when it is done; a run that opens the file just before that re-checks, after locking,
that it locked the file still at that path.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import time
from pathlib import Path
from typing import Self

from curate.errors import OutputError, storage_error
from curate.existing_runs import LOCK_NAME, lock_holder
from curate.run.io import ensure_writable_dir


class RunLock:
    def __init__(self, output: Path):
        self.output = output
        self.path = output / LOCK_NAME
        self.created_dirs: list[Path] = []
        self._fd: int | None = None

    def __enter__(self) -> Self:
        self.created_dirs = [folder for folder in (self.output, *self.output.parents) if not folder.exists()]  # deepest first
        ensure_writable_dir(self.output)
        while self._fd is None:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise storage_error(exc, self.path) or exc from None
            if not _lock_soon(fd):
                holder = lock_holder(fd)
                os.close(fd)
                raise OutputError(
                    f"output {self.output} is in use by another curate run ({holder}); "
                    "wait for it to finish, or choose another --output"
                ) from None
            if _same_file(fd, self.path):
                self._fd = fd
            else:  # the holder deleted the file between our open and our lock: lock the new one
                os.close(fd)
        os.ftruncate(self._fd, 0)
        os.write(self._fd, json.dumps({"pid": os.getpid(), "host": socket.gethostname()}).encode())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is None:
            return
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None
        for folder in self.created_dirs:
            try:
                folder.rmdir()  # only if the run wrote nothing (it stopped on bad input)
            except OSError:
                break


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
