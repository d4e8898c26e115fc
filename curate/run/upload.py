"""A run whose output is a URL: the run happens in a local directory (`_work/` needs a
real disk), and the finished run is uploaded, `manifest.json` last, so a reader that
sees the manifest sees a complete run.

An upload killed at any point is finished by running the same command again: the local
run is still there (finished), files already uploaded with the right size are skipped,
and the manifest goes up last.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from curate.errors import OutputError
from curate.run.sources import filesystem, is_url, remote_errors

UPLOADED = ("data", "removed", "reports", "report.html")
"""What a finished run directory holds besides `manifest.json`, uploaded in this order."""


def local_run_dir(url: str, work_dir: Path | None) -> Path:
    """Where a remote run is computed: `--work-dir`, or a folder per output URL in the
    user's cache, so running the same command again finds it and resumes."""
    if work_dir is not None:
        return work_dir
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "curate" / "runs" / hashlib.sha256(url.encode()).hexdigest()[:16]


class RemoteRun:
    """The run directory at a URL: its manifest, clearing it (`--fresh`), uploading it."""

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

    def clear(self) -> None:
        """`--fresh`: remove what an earlier run wrote there (the manifest first, so the
        folder never looks finished while it is half removed)."""
        with remote_errors(self.url, "output"):
            for name in ("manifest.json", *UPLOADED):
                target = f"{self.root}/{name}"
                if self.fs.exists(target):
                    self.fs.rm(target, recursive=True)

    def upload(self, local: Path) -> None:
        files = [p for name in UPLOADED for p in ([local / name] if (local / name).is_file() else sorted((local / name).rglob("*")))]
        with remote_errors(self.url, "output"):
            existing = {self._key(k): v.get("size") for k, v in self.fs.find(self.root, detail=True).items()} if self.fs.exists(self.root) else {}
            for path in files:
                if not path.is_file():
                    continue
                relative = path.relative_to(local).as_posix()
                if relative.startswith(("data/", "removed/")) and existing.get(relative) == path.stat().st_size:
                    continue  # uploaded before a kill (object stores write whole objects); the small reports go up again
                self.fs.put_file(str(path), f"{self.root}/{relative}")
            self.fs.put_file(str(local / "manifest.json"), f"{self.root}/manifest.json")

    def _key(self, key: str) -> str:
        return key[len(self.root):].lstrip("/")
