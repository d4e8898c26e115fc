"""The automatic worker count (curate/run/workers.py): what a worker process costs to
start, what the spine and the common stages cost per GB, and CPU and wall time with
1 worker, 2 workers and the automatic count, for a few input sizes.

    python bench/workers.py                                  # constants, then 20k, 100k, 300k rows
                                                             # (the langid + quality pipeline on a tenth)
    python bench/workers.py --skip-costs --rows 20000 300000

Inputs are bench/exact_dedup.py's corpus (1,950-character windows of Wikipedia, 8
Parquet shards) at each size. Every run is a `curate run` child process, start-up
included as a user pays it: CPU seconds of the process tree (RUSAGE_CHILDREN) and wall
seconds. The constants: a worker's start-up is half the CPU difference between
`--workers 2` and `--workers 1` on a tiny input (8 shards of 10 rows); a pipeline's cost
per GB is its CPU time on `--cost-rows` rows minus its CPU time on the tiny input
(start-up, model loading, reports), divided by the input's uncompressed GB; the spine is
the pass-through's (`length_filter` removing nothing), and a stage's own cost is its
one-stage pipeline's minus the spine for each segment that reads rows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from exact_dedup import SHARDS, make_corpus
from measure import run_monitored

from curate.config import parse_pipeline
from curate.run.segments import build_stages, plan_segments
from curate.run.workers import SPINE_CPU_SECONDS_PER_GB, WORKER_START_CPU_SECONDS, auto_workers

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
PASS_THROUGH = "  - stage: length_filter\n    min_chars: 0\n"
STAGES = {
    "exact_dedup": "  - stage: exact_dedup\n",
    "langid": "  - stage: langid\n    keep: [en]\n",
    "quality": "  - stage: quality\n",
    "near_dedup": "  - stage: near_dedup\n",
}
PIPELINES = {  # name: (stages, fraction of each --rows size it runs on)
    "length_filter + exact_dedup": ("  - stage: length_filter\n    min_words: 5\n  - stage: exact_dedup\n", 1),
    "length_filter + langid + quality": ("  - stage: length_filter\n    min_words: 5\n  - stage: langid\n    keep: [en]\n  - stage: quality\n", 0.1),
}


def tiny_corpus() -> list[Path]:
    folder = OUT / "workers_tiny"
    folder.mkdir(parents=True, exist_ok=True)
    files = [folder / f"part-{i:05d}.parquet" for i in range(SHARDS)]
    for i, f in enumerate(files):
        pl.DataFrame({"id": [f"{i}-{j}" for j in range(10)], "text": [f"a short document number {j} in shard {i}" for j in range(10)]}).write_parquet(f)
    return files


def pipeline_file(name: str, files: list[Path], stages: str) -> Path:
    path = OUT / f"workers_{name}.yaml"
    path.write_text(f"input:\n  path: {[str(f) for f in files]}\n  id_column: id\nstages:\n{stages}")
    return path


def run(pipeline: Path, workers: int | None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one `curate run`; workers None: automatic."""
    command = [sys.executable, "-m", "curate", "run", str(pipeline), "--output", str(OUT / "workers_run"), "--fresh", "--log-format", "json"]
    done = run_monitored(command + ([] if workers is None else ["--workers", str(workers)]), interval=1.0)
    return done.cpu, done.wall


def input_gb(files: list[Path]) -> float:
    """Uncompressed size (Parquet metadata), as the runner weighs it."""
    meta = [pq.ParquetFile(f).metadata for f in files]
    return sum(m.row_group(g).total_byte_size for m in meta for g in range(m.num_row_groups)) / 1e9


def chosen_workers(stages: str, files: list[Path]) -> int:
    built = build_stages(parse_pipeline(f"input:\n  path: {[str(f) for f in files]}\nstages:\n{stages}", "bench"))
    return auto_workers(built, plan_segments(built), input_gb(files) * 1e9, len(files), os.cpu_count() or 1)


def costs(rows: int, repeats: int) -> None:
    tiny = tiny_corpus()
    files = make_corpus(rows)
    gb = input_gb(files)
    one = [run(pipeline_file("tiny", tiny, PASS_THROUGH), 1)[0] for _ in range(repeats)]
    two = [run(pipeline_file("tiny", tiny, PASS_THROUGH), 2)[0] for _ in range(repeats)]
    start = (statistics.median(two) - statistics.median(one)) / 2
    print(f"\nworker start-up: {start:.2f} CPU s per worker (runner assumes {WORKER_START_CPU_SECONDS}); "
          f"tiny run CPU s, --workers 1: {', '.join(f'{c:.2f}' for c in one)}; --workers 2: {', '.join(f'{c:.2f}' for c in two)}")
    print(f"\nper-GB costs on {rows:,} rows ({gb:.3f} GB uncompressed), --workers 1, CPU s:\n")
    print("| pipeline | tiny-input CPU s | CPU s | CPU s per GB | segments reading rows | own cost per GB |")
    print("|---|---:|---:|---:|---:|---:|")
    spine = None
    for name, stages in {"pass-through (spine)": PASS_THROUGH, **STAGES}.items():
        fixed = statistics.median(run(pipeline_file("tiny", tiny, stages), 1)[0] for _ in range(repeats))
        cpu = statistics.median(run(pipeline_file("cost", files, stages), 1)[0] for _ in range(repeats))
        per_gb = (cpu - fixed) / gb
        built = build_stages(parse_pipeline(f"input:\n  path: x.parquet\nstages:\n{stages}", "bench"))
        reading = sum(1 for s in plan_segments(built) if not s.passthrough)
        spine = per_gb if spine is None else spine
        own = per_gb - reading * spine
        print(f"| {name} | {fixed:.2f} | {cpu:.2f} | {per_gb:.1f} | {reading} | {own:.1f} |", flush=True)
    print(f"\n(runner assumes a spine of {SPINE_CPU_SECONDS_PER_GB} CPU s per GB; stage costs: `cpu_seconds_per_gb` on each stage class)")


def scaling(sizes: list[int]) -> None:
    print("\n| pipeline | rows | GB | auto workers | CPU s 1 / 2 / auto | wall s 1 / 2 / auto |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, (stages, fraction) in PIPELINES.items():
        for rows in (int(size * fraction) for size in sizes):
            files = make_corpus(rows)
            pipeline = pipeline_file("scaling", files, stages)
            measured = [run(pipeline, workers) for workers in (1, 2, None)]
            cpus = " / ".join(f"{cpu:.2f}" for cpu, _ in measured)
            walls = " / ".join(f"{wall:.2f}" for _, wall in measured)
            print(f"| {name} | {rows:,} | {input_gb(files):.3f} | {chosen_workers(stages, files)} | {cpus} | {walls} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 100_000, 300_000], help="input sizes for the 1 / 2 / auto comparison")
    parser.add_argument("--cost-rows", type=int, default=20_000, help="rows for the per-GB costs")
    parser.add_argument("--repeats", type=int, default=3, help="runs per constant (median)")
    parser.add_argument("--skip-costs", action="store_true")
    args = parser.parse_args()
    if not args.skip_costs:
        costs(args.cost_rows, args.repeats)
    scaling(args.rows)


if __name__ == "__main__":
    main()
