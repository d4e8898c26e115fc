"""The run's rows as report.html needs them, read from the run's own files: `data/` (kept)
and `removed/<stage>/` (removed, with `curate_stage` and `curate_reason`).

Stage reports carry a few samples with 300-character snippets; the page needs more: a
removed duplicate's kept twin (found by id), full texts to set side by side, and each
row's fate for the kept-vs-removed histograms and the per-language and per-slice
removal bars. Everything is read lazily, only the columns asked for.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import polars as pl

from curate.files import exported_part_name, ndjson_path

KEPT = "kept"
"""`where` of a row in data/."""

PARTS = ("part-*.parquet", "part-*.jsonl.gz")
"""The part files of data/ and removed/<stage>/: Parquet, or JSON Lines with `output.format: jsonl`."""


def part_files(folder: Path) -> list[Path]:
    """A folder's part files (none when the folder is gone) that hold rows, or may: the
    export writes a JSON Lines part without a line for a shard none of whose rows reached
    the folder, which polars cannot read (it takes a JSON Lines file's columns from its
    lines), so such a part is left out."""
    if not folder.is_dir():
        return []
    return sorted(path for pattern in PARTS for path in folder.glob(pattern) if path.name.endswith(".parquet") or _holds_a_line(path))


def _holds_a_line(path: Path) -> bool:
    with gzip.open(path, "rb") as handle:
        return handle.read(1) != b""


def scan_parts(files: list[Path], place: bool = False) -> pl.LazyFrame:
    """The rows of part files as one frame (a JSON Lines column takes the type its values
    in every file fit); `place`: each row's file in `_file` and its number in that file in `_row`."""
    where = {"include_file_paths": "_file", "row_index_name": "_row"} if place else {}
    scans = [pl.scan_parquet(f, glob=False, **where) if f.name.endswith(".parquet") else pl.scan_ndjson(ndjson_path(f), infer_schema_length=None, **where)
             for f in files]
    return pl.concat(scans, how="diagonal_relaxed")


class RunRows:
    def __init__(self, run_dir: Path, stage_names: list[str], id_column: str, output_files: dict[str, Any] | None = None):
        """`output_files`: the run's `output.format` and `output.max_rows_per_file` (the
        manifest's state), which rewrite its Parquet parts after report.html is drawn."""
        self.run_dir = run_dir
        self.stage_names = stage_names
        self.id_column = id_column
        self.output_files = output_files
        self._folders = [(KEPT, run_dir / "data")] + [(name, run_dir / "removed" / name) for name in stage_names]

    @property
    def file_format(self) -> str:
        return "JSON Lines, gzip" if (self.output_files or {}).get("format") == "jsonl" else "Parquet"

    def _schema(self, files: list[Path]) -> dict[str, pl.DataType]:
        return dict(scan_parts(files).collect_schema()) if files else {}

    def _file_name(self, path: str, row: int) -> str:
        """A row's part file relative to the run directory, as the run leaves it: a Parquet
        part the run's output format has yet to rewrite (the run's own page is drawn
        before) by the name the rewrite gives the row's file."""
        file = Path(path)
        if self.output_files is not None and re.fullmatch(r"part-\d{5}\.parquet", file.name):
            file = file.with_name(exported_part_name(file.stem, self.output_files["format"], self.output_files["max_rows_per_file"], row))
        return str(file.relative_to(self.run_dir))

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
            files = part_files(folder)
            try:
                if not files or self.id_column not in self._schema(files):
                    continue
                found = scan_parts(files, place=True).filter(pl.col(self.id_column).cast(pl.String).is_in(wanted)).collect()
            except (OSError, pl.exceptions.PolarsError):
                continue  # a part file moved or damaged after the run: the page shows the report's snippets
            for row in found.iter_rows(named=True):
                key = str(row[self.id_column])
                if key not in out:
                    row["_where"] = name
                    row["_file"] = self._file_name(row["_file"], row.pop("_row"))
                    out[key] = row
        return out

    def fates(self, columns: list[str]) -> pl.DataFrame:
        """One row per input row: `_stage` (1-based index of the stage that removed it;
        len(stages) + 1 when kept) and the requested columns (null where a row's file
        lacks them, e.g. a language for rows removed before language ID)."""
        parts = []
        for index, (name, folder) in enumerate(self._folders):
            files = part_files(folder)
            if not files:
                continue
            schema = self._schema(files)
            order = len(self.stage_names) + 1 if name == KEPT else index
            present = [c for c in columns if c in schema]
            # `_stage` before the select: a folder holding none of the columns still gives
            # one row per row it holds (a select of no column gives none)
            frame = scan_parts(files).with_columns(pl.lit(order, pl.Int32).alias("_stage")).select(*present, "_stage")
            parts.append(frame.collect())
        if not parts:
            return pl.DataFrame(schema={"_stage": pl.Int32, **{c: pl.Null for c in columns}})
        out = pl.concat(parts, how="diagonal_relaxed")
        missing = [c for c in columns if c not in out.columns]
        return out.with_columns([pl.lit(None).alias(c) for c in missing]) if missing else out
