"""The incremental index of the `near_dedup` stage: every document a run kept, so a later
run deduplicates new data against all earlier accepted data.

Layout of the index folder:

    index.json                      format, the settings the signatures depend on, parts
    part-00000-<fingerprint>.parquet one file per run directory that added documents:
                                    id, source, band_000.., sig [, shingles]

Each part holds the documents one run kept (its `near_dedup` decisions with a null
reason) and belongs to the run directory that wrote it (`owner` in index.json: its
absolute path, or the output URL): a run into the same directory replaces that part,
whatever changed before near_dedup, so the index holds what the directory's output
holds and a run never meets its own earlier documents. Parts without an owner (written
before owners were recorded, or outside a run) belong to no later run. The file name's
fingerprint is of the part's rows (count, ids, band keys), so a replacement with other
rows is a new file. Every write is atomic (a temporary file, then a rename; `index.json`
last, then the replaced file is deleted), so a crash leaves the index as it was before
the run or with the whole new part (and a temporary file or an unlisted part, which the
next `add` deletes). A repeated decide in the same run directory (the runner on resume)
replaces its own part instead of adding one, so decide is idempotent. One writer at a
time: two runs must not update the same index concurrently.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from curate.errors import ConfigError
from curate.files import parquet_schema, remove_temporary, write_parquet_atomic, write_text_atomic

FORMAT = 1
META = "index.json"
PART_NAME = re.compile(r"part-\d{5}-[0-9a-f]+\.parquet")
"""The name `add` gives a part: a file so named that index.json does not list is a killed
writer's leftover."""
KEY_BASE = -(1 << 62)
INDEX_PART_BITS = 40
"""Index rows get `_key = KEY_BASE + (part << INDEX_PART_BITS) + row`: negative, so they
sort before every row of the current run (whose keys are `(_shard << 32) + _pos`), in the
order they were accepted; `_key >> INDEX_PART_BITS` tells the part."""


class NearDedupIndex:
    """One index folder. `params` are the settings signatures and band keys depend on;
    opening an index built with other settings is a ConfigError."""

    def __init__(self, path: str | Path, params: dict[str, Any]):
        self.path = Path(path)
        self.params = params
        self.meta = self._read_meta()

    def _read_meta(self) -> dict[str, Any]:
        file = self.path / META
        if not file.exists():
            if self.path.exists() and not self.path.is_dir():
                raise ConfigError(f"near_dedup.index: {self.path} is a file; give a folder (created if missing)")
            if self.path.is_dir() and any(self.path.glob("part-*.parquet")):
                raise ConfigError(f"near_dedup.index: {self.path} holds index parts but no {META}; restore {META}, or use a new index folder")
            return {"format": FORMAT, "params": self.params, "parts": []}
        try:
            meta = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ConfigError(f"near_dedup.index: cannot read {file} ({exc}); restore it or use a new index folder") from None
        if meta.get("format") != FORMAT:
            raise ConfigError(f"near_dedup.index: {file} has format {meta.get('format')!r}, this curate reads {FORMAT}; use a new index folder")
        for part in meta.get("parts", []):  # found now, not as a vanished path after every shard's work
            file = self.path / part["file"]
            try:
                parquet_schema(file)
            except (OSError, pl.exceptions.PolarsError):
                what = "is missing" if not file.exists() else "is not a readable Parquet file"
                raise ConfigError(f"near_dedup.index: {file} {what}; restore the index folder from a copy, or use a new one") from None
        old = meta.get("params", {})
        def setting(params: dict[str, Any], key: str) -> str:
            return f"{key}={params[key]!r}" if key in params else f"the default {key}"  # a default is not recorded

        for key in [*self.params, *(k for k in old if k not in self.params)]:
            if old.get(key) != self.params.get(key):
                raise ConfigError(
                    f"near_dedup.index: {self.path} was built with {setting(old, key)}, this stage has {setting(self.params, key)}; "
                    "use the index's settings or a new index folder"
                )
        return meta

    @property
    def documents(self) -> int:
        return sum(part["rows"] for part in self.meta["parts"])

    def scan(self, owner: str | None) -> pl.LazyFrame | None:
        """Every indexed document but those of `owner`'s part, with its `_key`, earliest
        first; None when there is none."""
        frames = []
        for number, part in enumerate(self.meta["parts"]):
            if owner is not None and part.get("owner") == owner:
                continue  # the part this run replaces
            frames.append(
                pl.scan_parquet(self.path / part["file"], glob=False)
                .with_row_index("_row")
                .with_columns((pl.lit(KEY_BASE + (number << INDEX_PART_BITS), dtype=pl.Int64) + pl.col("_row").cast(pl.Int64)).alias("_key"))
                .drop("_row")
            )
        return pl.concat(frames, how="vertical") if frames else None

    def add(self, documents: pl.LazyFrame, owner: str | None, fingerprint: str) -> int:
        """Write the documents a run kept as `owner`'s part (replacing the part it wrote
        before, in its place; None: a part of its own), named by `fingerprint`; returns the
        number written."""
        self.path.mkdir(parents=True, exist_ok=True)
        # a killed writer's half part, or its part index.json never listed or no longer
        # lists: one writer at a time, so none is writing now
        remove_temporary(self.path, recursive=False)
        parts = self.meta["parts"]
        listed = {part["file"] for part in parts}
        for leftover in self.path.glob("part-*.parquet"):
            if PART_NAME.fullmatch(leftover.name) and leftover.name not in listed:
                leftover.unlink(missing_ok=True)
        number = next((i for i, p in enumerate(parts) if owner is not None and p.get("owner") == owner), len(parts))
        name = f"part-{number:05d}-{fingerprint}.parquet"
        target = self.path / name
        write_parquet_atomic(documents, target)  # the same name holds the same number of rows: index.json stays true
        rows = pl.scan_parquet(target, glob=False).select(pl.len()).collect().item()
        entry = {"file": name, "owner": owner, "rows": rows, "written": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        meta = {**self.meta, "parts": [*parts[:number], entry, *parts[number + 1 :]]}
        write_text_atomic(json.dumps(meta, indent=2, sort_keys=True) + "\n", self.path / META)
        self.meta = meta
        if number < len(parts) and parts[number]["file"] != name:
            (self.path / parts[number]["file"]).unlink(missing_ok=True)  # the replaced part
        return rows
