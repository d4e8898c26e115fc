"""A run whose output is a URL: the run happens in a local directory (`_work/` needs a
real disk), and the finished run is uploaded, `manifest.json` last, so a reader that
sees the manifest sees a complete run.

An upload killed at any point is finished by running the same command again: the local
run is still there (finished), files this run already uploaded are skipped, objects an
earlier unfinished upload left are removed, and the manifest goes up last.

Two runs never upload to one URL at once: an upload first creates `UPLOAD_CLAIM` at the
URL with an exclusive write (S3's `If-None-Match: *`; stores without one fall back to
check-then-write), and deletes it after the manifest. A run that finds another run's
claim stops (exit 4) with its finished local copy kept; a claim left by a killed upload
is taken over by that same run when its command runs again.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
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
        self.manifest_uploaded = False
        """`upload` put the manifest at the URL: the run there is finished."""

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
        folder never looks finished while it is half removed), and nothing else. A claim
        beside a finished run is a leftover of an upload killed after its manifest: it goes too."""
        placed = self.curate_objects("delete")
        self._remove(sorted(placed, key=lambda k: k != "manifest.json"))
        self.release()

    def upload(self, local: Path, state: dict[str, Any]) -> None:
        """The finished local run to the URL, `manifest.json` last. What an earlier,
        unfinished upload left that this run does not have goes first, so the manifest
        never stands beside other rows. A file is skipped only when this local run
        uploaded it before (a resumed upload), as `UPLOADED_LEDGER` records."""
        files = [p for name in UPLOADED for p in ([local / name] if (local / name).is_file() else sorted((local / name).rglob("*"))) if p.is_file()]
        relative = {p.relative_to(local).as_posix(): p for p in files}
        ledger = _Ledger(local)
        self._claim(ledger.owner, local)  # before looking: a run that finishes meanwhile is seen below
        placed = self.curate_objects("replace")
        if "manifest.json" in placed:  # another run finished there while this one ran
            self.release()
            theirs = self.manifest() or {}
            if theirs.get("state") == state:
                return
            raise OutputError(
                f"{self.url}: another curate run finished there while this one ran; this run is kept in {local}: "
                "run the same command with --fresh to replace that run, or choose another --output"
            )
        self._remove(sorted(k for k in placed if k not in relative))
        with remote_errors(self.url, "output"):
            for name, path in relative.items():
                size = path.stat().st_size
                if ledger.sent(name, size) and placed.get(name) == size:
                    continue
                self.fs.put_file(str(path), f"{self.root}/{name}")
                ledger.record(name, size)
                crash_point("upload:file")
            self.fs.put_file(str(local / "manifest.json"), f"{self.root}/manifest.json")
        self.manifest_uploaded = True
        crash_point("upload:manifest")
        self.release()

    def _claim(self, owner: str, local: Path) -> None:
        """Create `UPLOAD_CLAIM` for this run, or stop: another run's upload holds the URL.
        This run's own claim (an upload of it killed before) is taken over."""
        claim = json.dumps({"run": owner, "host": socket.gethostname(), "pid": os.getpid(),
                            "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}).encode()
        with remote_errors(self.url, "output"):
            self.fs.invalidate_cache(self.root)  # listings from the run's start are stale by now
            try:
                _create_exclusive(self.fs, f"{self.root}/{UPLOAD_CLAIM}", claim)
                return
            except FileExistsError:
                pass
        holder = self._claim_holder()
        if holder is None:  # released between the two calls: try once more
            return self._claim(owner, local)
        # Beside a manifest the claim is stale (its upload finished or died after the manifest):
        # the caller then finds that finished run and stops or returns as for any other.
        if holder.get("run") != owner and not self._exists("manifest.json"):
            who = f"pid {holder.get('pid')} on {holder.get('host')}, since {holder.get('since')}" if holder else "an unknown run"
            raise OutputError(
                f"{self.url}: another curate run is uploading there ({who}); this run is kept in {local}: run the same "
                f"command again when that one has finished, or, if it was killed and will not be run again, delete {self.url}/{UPLOAD_CLAIM}"
            )

    def _claim_holder(self) -> dict[str, Any] | None:
        """The claim at the URL (what it says, {} when unreadable), or None."""
        path = f"{self.root}/{UPLOAD_CLAIM}"
        with remote_errors(self.url, "output"):
            try:
                return json.loads(self.fs.cat_file(path))
            except FileNotFoundError:
                return None
            except ValueError:
                return {}

    def release(self) -> None:
        with remote_errors(self.url, "output"):
            try:
                self.fs.rm_file(f"{self.root}/{UPLOAD_CLAIM}")
            except FileNotFoundError:  # a --fresh elsewhere removed it with the finished run
                pass

    def _exists(self, key: str) -> bool:
        with remote_errors(self.url, "output"):
            return self.fs.exists(f"{self.root}/{key}")

    def _remove(self, keys: list[str]) -> None:
        if keys:
            with remote_errors(self.url, "output"):
                self.fs.rm([f"{self.root}/{k}" for k in keys])

    def _key(self, key: str) -> str:
        return key[len(self.root):].lstrip("/")


UPLOAD_CLAIM = ".curate-uploading"
"""At the output URL while a run uploads there (who, since when); see the module's doc."""


def _create_exclusive(fs: Any, path: str, data: bytes) -> None:
    """Write `path` only if it does not exist (FileExistsError otherwise): atomic where the
    store offers it (S3's conditional write), check-then-write where it does not."""
    try:
        fs.pipe_file(path, data, mode="create")
    except (TypeError, NotImplementedError):  # a store whose pipe_file has no exclusive mode
        if fs.exists(path):
            raise FileExistsError(path) from None
        fs.pipe_file(path, data)


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
