"""The run's rows as report.html needs them, read from the run's own files: `data/` (kept)
and `removed/<stage>/` (removed, with `curate_stage` and `curate_reason`).

Stage reports carry a few samples with 300-character snippets; the page needs more: a
removed duplicate's kept twin (found by id), full texts to set side by side, and each
row's fate for the kept-vs-removed histograms and the per-language and per-slice
removal bars. Everything is read lazily, only the columns asked for.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from curate.files import parquet_schema

KEPT = "kept"
"""`where` of a row in data/."""


class RunRows:
    def __init__(self, run_dir: Path, stage_names: list[str], id_column: str):
        self.run_dir = run_dir
        self.stage_names = stage_names
        self.id_column = id_column
        self._folders = [(KEPT, run_dir / "data")] + [(name, run_dir / "removed" / name) for name in stage_names]

    def _files(self, folder: Path) -> list[Path]:
        return sorted(folder.glob("part-*.parquet")) if folder.is_dir() else []

    def _schema(self, files: list[Path]) -> dict[str, pl.DataType]:
        return dict(parquet_schema(files[0])) if files else {}

    def by_id(self, ids: list[str], where: list[str] | None = None) -> dict[str, dict[str, Any]]:
        """Full rows by id (all their columns, plus `_where`: `kept` or the stage that
        removed them, and `_file`: the part file relative to the run directory)."""
        wanted = sorted({str(i) for i in ids if i is not None})
        out: dict[str, dict[str, Any]] = {}
        if not wanted:
            return out
        for name, folder in self._folders:
            if len(out) == len(wanted):
                break  # the rest of the folders can only repeat what was found
            if where is not None and name not in where:
                continue
            files = self._files(folder)
            try:
                if not files or self.id_column not in self._schema(files):
                    continue
                found = (
                    pl.scan_parquet(files, include_file_paths="_file", glob=False)
                    .filter(pl.col(self.id_column).cast(pl.String).is_in(wanted))
                    .collect()
                )
            except (OSError, pl.exceptions.PolarsError):
                continue  # a part file moved or damaged after the run: the page shows the report's snippets
            for row in found.iter_rows(named=True):
                key = str(row[self.id_column])
                if key not in out:
                    row["_where"] = name
                    row["_file"] = str(Path(row["_file"]).relative_to(self.run_dir))
                    out[key] = row
        return out

    def fates(self, columns: list[str]) -> pl.DataFrame:
        """One row per input row: `_stage` (1-based index of the stage that removed it;
        len(stages) + 1 when kept) and the requested columns (null where a row's file
        lacks them, e.g. a language for rows removed before language ID)."""
        parts = []
        for index, (name, folder) in enumerate(self._folders):
            files = self._files(folder)
            if not files:
                continue
            schema = self._schema(files)
            order = len(self.stage_names) + 1 if name == KEPT else index
            present = [c for c in columns if c in schema]
            frame = pl.scan_parquet(files, glob=False).select([pl.col(c) for c in present]).with_columns(pl.lit(order, pl.Int32).alias("_stage"))
            parts.append(frame.collect())
        if not parts:
            return pl.DataFrame(schema={"_stage": pl.Int32, **{c: pl.Null for c in columns}})
        out = pl.concat(parts, how="diagonal_relaxed")
        missing = [c for c in columns if c not in out.columns]
        return out.with_columns([pl.lit(None).alias(c) for c in missing]) if missing else out
