"""Helpers for tests that run pipelines: write inputs, run, and check that every run's
rows reconcile (rows in = kept + removed, per stage and per run, against the files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import yaml

from curate.config import load_pipeline
from curate.console import Reporter
from curate.run.runner import RunOptions, RunResult, run_pipeline


def write_pipeline(folder: Path, stages: list[dict], **input_spec) -> Path:
    spec = {"input": {"path": "in/*.parquet", **input_spec}, "output": "run", "stages": stages}
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def write_shards(folder: Path, frames: list[pl.DataFrame]) -> None:
    (folder / "in").mkdir(parents=True, exist_ok=True)
    for i, frame in enumerate(frames):
        frame.write_parquet(folder / "in" / f"shard-{i:03d}.parquet")


def run(pipeline: Path, output: Path | None = None, **options) -> RunResult:
    spec = load_pipeline(pipeline)
    target = output or Path(spec.output)
    result = run_pipeline(spec, target, RunOptions(**{"workers": 1, **options}), Reporter())
    assert_reconciles(result.output)
    return result


def planned_workers(monkeypatch) -> list[int]:
    """The worker count of each local executor a run plans, recorded; the runs start no
    processes (the plan is what is tested)."""
    from curate.run import runner

    planned: list[int] = []

    class Recording(runner.LocalExecutor):
        def __init__(self, workers: int):
            planned.append(workers)
            super().__init__(1)

    monkeypatch.setattr(runner, "LocalExecutor", Recording)
    return planned


def cli(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "curate", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def read_dir(folder: Path) -> pl.DataFrame:
    files = sorted(folder.glob("part-*.parquet"))
    return pl.concat([pl.read_parquet(f, glob=False) for f in files], how="vertical") if files else pl.DataFrame()


def every_row(run_dir: Path, columns: list[str]) -> pl.DataFrame:
    """Every input row of a finished run: `columns` and `curate_reason` (null: kept); kept
    rows first, then removed/<stage>/ in stage order. A column a row never reached (the
    `lang` of a row removed before langid) is a null string."""
    kept = read_dir(run_dir / "data").select(*columns, curate_reason=pl.lit(None, pl.String))
    removed = [read_dir(d) for d in sorted((run_dir / "removed").iterdir())] if (run_dir / "removed").exists() else []
    present = lambda frame: [pl.col(c) if c in frame.columns else pl.lit(None, pl.String).alias(c) for c in columns]  # noqa: E731
    return pl.concat([kept, *(r.select(*present(r), "curate_reason") for r in removed if r.height)], how="vertical")


def assert_reconciles(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    reports = [json.loads(p.read_text()) for p in sorted((run_dir / "reports").glob("[0-9][0-9]_*.json"))]
    input_rows = sum(_rows_in_file(i) for i in manifest["inputs"])
    if manifest.get("slice"):  # --limit / --sample: the run's rows are a slice of the files'
        assert manifest["rows_in"] <= input_rows
        input_rows = manifest["rows_in"]
    kept = read_dir(run_dir / "data").height
    removed_total = 0
    expected_in = input_rows
    for report in reports:
        assert report["rows_in"] == expected_in, report["name"]
        assert report["rows_in"] == report["rows_kept"] + report["rows_removed"], report["name"]
        assert sum(report["removed_by_reason"].values()) == report["rows_removed"], report["name"]
        removed = read_dir(run_dir / "removed" / report["name"])
        assert removed.height == report["rows_removed"], report["name"]
        if removed.height:
            assert set(removed["curate_stage"].unique()) == {report["name"]}
            assert removed["curate_reason"].null_count() == 0
        removed_total += removed.height
        expected_in = report["rows_kept"]
    assert manifest["rows_in"] == input_rows == kept + removed_total
    assert manifest["rows_kept"] == kept and manifest["rows_removed"] == removed_total


def _rows_in_file(described: dict) -> int:
    """Count a local input file's rows with a reader independent of curate's."""
    path, kind = described["path"], described.get("format", "parquet")
    if "://" in path:
        return described["rows"]
    if kind == "parquet":
        return pl.read_parquet(path).height
    if kind.startswith("jsonl"):
        import bz2
        import gzip
        import lzma

        import zstandard

        raw = Path(path).read_bytes()
        decompress = {"jsonl": lambda b: b, "jsonl+gzip": gzip.decompress, "jsonl+zstd": zstandard.ZstdDecompressor().decompressobj().decompress, "jsonl+bz2": bz2.decompress, "jsonl+xz": lzma.decompress}
        text = decompress[kind](raw)
        return sum(1 for line in text.splitlines() if line.strip())
    return described["rows"]


def assert_same_output(run_dir: Path, reference: Path) -> None:
    """Kept and removed rows identical, row for row, and the same report numbers."""
    removed = sorted((reference / "removed").iterdir()) if (reference / "removed").exists() else []
    folders = ["data"] + [f"removed/{d.name}" for d in removed]
    for folder in folders:
        assert read_dir(run_dir / folder).equals(read_dir(reference / folder)), folder
    numbers = lambda d: [{k: v for k, v in json.loads(p.read_text()).items() if k not in ("seconds", "work")} for p in sorted((d / "reports").glob("[0-9][0-9]_*.json"))]  # noqa: E731
    assert numbers(run_dir) == numbers(reference)


def slow_run_and_reference(folder: Path, stages: list[dict]) -> tuple[Path, RunResult]:
    """24 shards of 20,000 rows: long enough to be killed mid-run; plus an uninterrupted run."""
    frames = [pl.DataFrame({"text": [f"row {(s * 7 + r) % 4000} of shard text" for r in range(20_000)]}) for s in range(24)]
    write_shards(folder, frames)
    pipeline = write_pipeline(folder, stages)
    return pipeline, run(pipeline, folder / "reference")


def kill_mid_run(pipeline: Path, target: Path, shards: int) -> None:
    """Start `curate run` in a real process and SIGKILL it once 3 shards are done."""
    command = [sys.executable, "-m", "curate", "run", str(pipeline), "--output", str(target), "--workers", "1", "--quiet"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    markers = target / "_work" / "markers" / "seg-00"
    deadline = time.monotonic() + 120
    while len(list(markers.glob("part-*.json"))) < 3 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    process.kill()  # SIGKILL; a no-op if it already finished (the assert below then says so)
    process.wait()
    assert 3 <= len(list(markers.glob("part-*.json"))) < shards, "the kill should land mid-run"
    assert not (target / "manifest.json").exists() and not (target / "data").exists()
