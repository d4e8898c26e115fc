"""A run whose output is a URL: the run happens in a local directory (`_work/` needs a
real disk), and the finished run is uploaded, `manifest.json` last, so a reader that
sees the manifest sees a complete run.

An upload killed at any point is finished by running the same command again: the local
run is still there (finished), files this run already uploaded are skipped, objects an
earlier unfinished upload left are removed, and the manifest goes up last. curate cannot
lock a bucket: it checks, just before uploading, that no other run finished there
meanwhile (exit 4 if one did), but two runs uploading to one URL at the same moment are
not kept apart; give each scheduled job its own output URL.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from curate.errors import OutputError
from curate.run.crash import crash_point
from curate.run.rundir import CURATE_FILES, FINAL_NAMES, foreign_error
from curate.run.sources import filesystem, is_url, remote_errors

UPLOADED = ("data", "removed", "reports", "report.html")
"""What a finished run directory holds besides `manifest.json`, uploaded in this order."""


def local_run_dir(url: str, work_dir: Path | None) -> Path:
    """Where a remote run is computed: `--work-dir`, or a folder per output URL in the
    user's cache, so running the same command again finds it and resumes."""
    if work_dir is not None:
        return work_dir
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "curate" / "runs" / hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]  # s3://b/x and s3://b/x/ share one


class RemoteRun:
    """The run directory at a URL: its manifest, clearing it (`--fresh`), uploading it.
    As on local disk, curate replaces only objects with the names it gives its files in
    `data/`, `removed/` and `reports/`: any other object there stops the run (exit 4)."""

    def __init__(self, url: str, storage_options: dict[str, Any]):
        if not is_url(url):
            raise OutputError(f"output {url}: not a URL")
        self.url = url.rstrip("/")
        self.fs, self.root = filesystem(self.url, storage_options, role="output")
        self.root = self.root.rstrip("/")

    def manifest(self) -> dict[str, Any] | None:
        """The finished run's manifest at the URL, or None (also when unfinished); a
        missing bucket or refused credentials stop the run here, before any work."""
        path = f"{self.root}/manifest.json"
        with remote_errors(self.url, "output"):
            self.fs.ls(self.root.split("/", 1)[0])  # the bucket (container) exists and we may list it
            if not self.fs.exists(path):
                return None
            with self.fs.open(path, "rb") as handle:
                return json.loads(handle.read())

    def curate_objects(self, action: str) -> dict[str, int]:
        """Objects in the places a run replaces (relative key -> size); OutputError when
        one of them has a name curate never gives a file."""
        with remote_errors(self.url, "output"):
            found = self.fs.find(self.root, detail=True) if self.fs.exists(self.root) else {}
        objects = {self._key(k): int(v.get("size") or 0) for k, v in found.items() if v.get("type", "file") == "file"}
        placed = {k: size for k, size in objects.items() if k and not k.endswith("/") and k.split("/", 1)[0] in FINAL_NAMES}
        foreign = sorted(k for k in placed if not CURATE_FILES.fullmatch(k))
        if foreign:
            raise foreign_error(self.url, [f"{self.url}/{k}" for k in foreign], action)
        return placed

    def clear(self) -> None:
        """`--fresh`: remove what an earlier run wrote there (the manifest first, so the
        folder never looks finished while it is half removed), and nothing else."""
        placed = self.curate_objects("delete")
        self._remove(sorted(placed, key=lambda k: k != "manifest.json"))

    def upload(self, local: Path, state: dict[str, Any]) -> None:
        """The finished local run to the URL, `manifest.json` last. What an earlier,
        unfinished upload left that this run does not have goes first, so the manifest
        never stands beside other rows. A file is skipped only when this local run
        uploaded it before (a resumed upload), as `UPLOADED_LEDGER` records."""
        files = [p for name in UPLOADED for p in ([local / name] if (local / name).is_file() else sorted((local / name).rglob("*"))) if p.is_file()]
        relative = {p.relative_to(local).as_posix(): p for p in files}
        placed = self.curate_objects("replace")
        if "manifest.json" in placed:  # another run finished there while this one ran
            theirs = self.manifest() or {}
            if theirs.get("state") == state:
                return
            raise OutputError(
                f"{self.url}: another curate run finished there while this one ran; this run is kept in {local}: "
                "run the same command with --fresh to replace that run, or choose another --output"
            )
        self._remove(sorted(k for k in placed if k not in relative))
        ledger = _Ledger(local)
        with remote_errors(self.url, "output"):
            for name, path in relative.items():
                size = path.stat().st_size
                if ledger.sent(name, size) and placed.get(name) == size:
                    continue
                self.fs.put_file(str(path), f"{self.root}/{name}")
                ledger.record(name, size)
                crash_point("upload:file")
            self.fs.put_file(str(local / "manifest.json"), f"{self.root}/manifest.json")
        crash_point("upload:manifest")

    def _remove(self, keys: list[str]) -> None:
        if keys:
            with remote_errors(self.url, "output"):
                self.fs.rm([f"{self.root}/{k}" for k in keys])

    def _key(self, key: str) -> str:
        return key[len(self.root):].lstrip("/")


UPLOADED_LEDGER = ".curate-uploaded"
"""In the local run directory: the files of this finished run already uploaded, so that a
resumed upload skips them (and only them: an object of the same name and size left by
another run is uploaded again). Its first line names the local manifest it belongs to."""


class _Ledger:
    def __init__(self, local: Path):
        self.path = local / UPLOADED_LEDGER
        self.owner = hashlib.sha256((local / "manifest.json").read_bytes()).hexdigest()
        lines = self.path.read_text().splitlines() if self.path.exists() else []
        self.done: dict[str, int] = {}
        if lines[:1] == [self.owner]:
            for line in lines[1:]:
                size, _, name = line.partition("\t")
                if name:
                    self.done[name] = int(size)
        else:
            self.path.write_text(self.owner + "\n")

    def sent(self, name: str, size: int) -> bool:
        return self.done.get(name) == size

    def record(self, name: str, size: int) -> None:
        with self.path.open("a") as handle:
            handle.write(f"{size}\t{name}\n")
