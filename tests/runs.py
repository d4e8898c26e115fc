"""Helpers for tests that run pipelines: write inputs, run, and check that every run's
rows reconcile (rows in = kept + removed, per stage and per run, against the files)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import yaml

from curate.config import load_pipeline
from curate.console import Reporter
from curate.runner import RunOptions, RunResult, run_pipeline


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


def cli(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "curate", *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=timeout)


def read_dir(folder: Path) -> pl.DataFrame:
    files = sorted(folder.glob("part-*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files], how="vertical") if files else pl.DataFrame()


def assert_reconciles(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    reports = [json.loads(p.read_text()) for p in sorted((run_dir / "reports").glob("[0-9][0-9]_*.json"))]
    input_rows = sum(pl.read_parquet(i["path"]).height for i in manifest["inputs"])
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
