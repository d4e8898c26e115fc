"""One run per output directory: the run holds the directory's lock
(`curate.existing_runs.DirectoryLock`, an OS file lock on `<run dir>/.curate-lock`)
from before it reads or writes anything until it exits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from curate.existing_runs import DirectoryLock
from curate.run.io import ensure_writable_dir


class RunLock(DirectoryLock):
    """The lock of a run's output directory, which it creates (and removes again, with
    the parents it created, when the run wrote nothing there)."""

    def __init__(self, output: Path):
        super().__init__(output, lambda holder: f"output {output} is in use by another curate run ({holder}); wait for it to finish, or choose another --output")
        self.output = output
        self.created_dirs: list[Path] = []

    def __enter__(self) -> Self:
        self.created_dirs = [folder for folder in (self.output, *self.output.parents) if not folder.exists()]  # deepest first
        try:
            ensure_writable_dir(self.output)
            return super().__enter__()
        except BaseException:  # not locked (a full disk, say): nothing of the run is left
            self._remove_created_dirs()
            raise

    def __exit__(self, *exc: object) -> None:
        if self._fd is None:
            return
        super().__exit__(*exc)
        self._remove_created_dirs()

    def _remove_created_dirs(self) -> None:
        for folder in self.created_dirs:
            try:
                folder.rmdir()  # only if the run wrote nothing (it stopped on bad input)
            except OSError:
                break
