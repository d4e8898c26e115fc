"""The Ray executor's overhead vs the local executor, on this machine, same pipeline.

    python bench/ray_overhead.py                # the demo pipeline and a 16-shard corpus

Both executors use 2 workers. Ray's start-up (ray.init of a local cluster) is timed
separately from the run, since a cluster that is already up does not pay it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import polars as pl

from curate.config import load_pipeline, parse_pipeline
from curate.console import Reporter
from curate.run.runner import RunOptions, run_pipeline
from curate.run.segments import build_stages, plan_segments

BENCH = Path(__file__).resolve().parent
WIKI = BENCH.parent.parent / "shared" / "data" / "web" / "enwiki.parquet"


def corpus(folder: Path, shards: int = 16) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    wiki = pl.read_parquet(WIKI, columns=["text"])
    per = wiki.height // shards
    files = []
    for i in range(shards):
        path = folder / f"part-{i:05d}.parquet"
        wiki.slice(i * per, per).write_parquet(path)
        files.append(str(path))
    return files


def on_ray_inputs(run_dir: Path) -> list:
    return json.loads((run_dir / "manifest.json").read_text())["inputs"]


def timed(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def main() -> None:
    import ray

    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    scratch = BENCH / "out" / "ray"
    shutil.rmtree(scratch, ignore_errors=True)
    files = corpus(scratch / "input")
    web = parse_pipeline(
        f"input:\n  path: {files}\nstages:\n  - stage: length_filter\n    min_words: 50\n  - stage: exact_dedup\n    normalize: {{lowercase: true, whitespace: true}}\n",
        "bench",
    )
    pipelines = {"demo (4,000 rows, 3 shards)": load_pipeline(BENCH.parent / "pipelines" / "demo.yaml"), "enwiki (36,542 rows, 16 shards)": web}
    started = time.perf_counter()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    startup = time.perf_counter() - started
    rows = []
    for label, spec in pipelines.items():
        local = timed(lambda: run_pipeline(spec, scratch / "local", RunOptions(workers=2, fresh=True), Reporter()))
        on_ray = timed(lambda: run_pipeline(spec, scratch / "ray", RunOptions(workers=2, fresh=True, executor="ray"), Reporter()))
        manifest_inputs = len(on_ray_inputs(scratch / "ray"))
        tasks = manifest_inputs * len(plan_segments(build_stages(spec)))
        rows.append((label, local, on_ray, tasks))
        print(f"  {label}: local {local:.2f} s, ray {on_ray:.2f} s", file=sys.stderr)
    ray.shutdown()
    print(f"\nray.init of a local 2-CPU cluster: {startup:.1f} s (paid once per run by `curate run --executor ray`)\n")
    print("| pipeline | shard tasks (shards × segments) | local, 2 workers (s) | Ray, 2 CPUs (s) | Ray / local |")
    print("|---|---:|---:|---:|---:|")
    for label, local, on_ray, tasks in rows:
        print(f"| {label} | {tasks} | {local:.2f} | {on_ray:.2f} | {on_ray / local:.2f}× |")


if __name__ == "__main__":
    main()
