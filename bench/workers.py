"""The automatic worker count (curate/run/workers.py): what a worker process costs to
start, what the spine and the common stages cost per GB, and CPU and wall time with
1 worker, 2 workers and the automatic count, for a few input sizes.

    python bench/workers.py                                  # constants, then 20k, 100k, 300k rows
                                                             # (the langid + quality pipeline on a tenth)
    python bench/workers.py --skip-costs --rows 20000 300000
    python bench/workers.py --start-up-only                  # what a worker costs to start, per pipeline
    python bench/workers.py --wide                           # short texts beside a wide binary column

Inputs are bench/exact_dedup.py's corpus (1,950-character windows of Wikipedia, 8
Parquet shards) at each size. Every run is a `curate run` child process, start-up
included as a user pays it: CPU seconds of the process tree (RUSAGE_CHILDREN) and wall
seconds. The constants: a worker's start-up is half the CPU difference between
`--workers 2` and `--workers 1` on a tiny input (8 shards of 10 labelled rows), for a
pass-through, each kind of stage after it (what the kind adds: `worker_start_cpu_seconds`
on its class) and a 10-stage pipeline; a pipeline's cost per GB is its CPU time on `--cost-rows` rows minus its CPU
time on the tiny input (start-up, model loading, reports), divided by the input's
uncompressed GB (the spine's) or its text column's (a stage's, which reads the text);
the spine is the pass-through's (`length_filter` removing nothing), and a stage's own
cost is its one-stage pipeline's minus the spine for each segment that reads rows.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from exact_dedup import SHARDS, make_corpus
from measure import run_monitored

from curate.config import parse_pipeline
from curate.run.segments import build_stages, plan_segments
from curate.run.workers import SPINE_CPU_SECONDS_PER_GB, auto_workers, worker_start_cpu_seconds

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
PASS_THROUGH = "  - stage: length_filter\n    min_chars: 0\n"
STAGES = {
    "exact_dedup": "  - stage: exact_dedup\n",
    "langid": "  - stage: langid\n    keep: [en]\n",
    "quality": "  - stage: quality\n",
    "near_dedup": "  - stage: near_dedup\n",
}
START_UP = {  # name: stages, for the worker start-up
    "pass-through": PASS_THROUGH,
    "length_filter + langid + quality": "  - stage: length_filter\n    min_words: 5\n  - stage: langid\n    keep: [en]\n  - stage: quality\n",
    **{f"pass-through + {kind}": PASS_THROUGH + f"  - stage: {kind}\n{more}" for kind, more in (
        ("exact_dedup", ""), ("near_dedup", ""), ("line_dedup", ""), ("overlap", "    mode: annotate\n"),
        ("label_noise", "    mode: annotate\n"), ("slices", "    columns: [label]\n"),
    )},
    "10 stages (clean … slices)": (
        "  - stage: clean\n  - stage: length_filter\n    min_chars: 3\n  - stage: exact_dedup\n  - stage: langid\n"
        "  - stage: quality\n    rules: [gopher_quality, c4]\n    mode: annotate\n  - stage: near_dedup\n  - stage: line_dedup\n"
        "  - stage: overlap\n    mode: annotate\n  - stage: label_noise\n    mode: annotate\n  - stage: slices\n    columns: [lang, label]\n"
    ),
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
        pl.DataFrame({
            "id": [f"{i}-{j}" for j in range(10)],
            "text": [f"a short document number {j} in shard {i}" for j in range(10)],
            "label": ["even" if j % 2 == 0 else "odd" for j in range(10)],
        }).write_parquet(f)
    return files


def pipeline_file(name: str, files: list[Path], stages: str) -> Path:
    path = OUT / f"workers_{name}.yaml"
    labels = "  label_column: label\n" if "label_noise" in stages else ""
    path.write_text(f"input:\n  path: {[str(f) for f in files]}\n  id_column: id\n{labels}stages:\n{stages}")
    return path


def run(pipeline: Path, workers: int | None) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of one `curate run`; workers None: automatic."""
    command = [sys.executable, "-m", "curate", "run", str(pipeline), "--output", str(OUT / "workers_run"), "--fresh", "--log-format", "json"]
    done = run_monitored(command + ([] if workers is None else ["--workers", str(workers)]), interval=1.0)
    return done.cpu, done.wall


def input_gb(files: list[Path]) -> tuple[float, float]:
    """Uncompressed size and the text column's (Parquet metadata), as the runner weighs them."""
    groups = [m.row_group(g) for m in (pq.ParquetFile(f).metadata for f in files) for g in range(m.num_row_groups)]
    text = [groups[0].column(i).path_in_schema for i in range(groups[0].num_columns)].index("text")
    return sum(g.total_byte_size for g in groups) / 1e9, sum(g.column(text).total_uncompressed_size for g in groups) / 1e9


def chosen_workers(stages: str, files: list[Path]) -> int:
    built = build_stages(parse_pipeline(f"input:\n  path: {[str(f) for f in files]}\nstages:\n{stages}", "bench"))
    gb, text_gb = input_gb(files)
    return auto_workers(built, plan_segments(built), gb * 1e9, text_gb * 1e9, len(files), os.cpu_count() or 1)


def start_up(repeats: int) -> None:
    tiny = tiny_corpus()
    print("\nworker start-up, CPU s per worker:\n")
    print("| pipeline | stages | CPU s per worker | runner assumes | tiny run CPU s, --workers 1 | --workers 2 |")
    print("|---|---:|---:|---:|---|---|")
    for name, stages in START_UP.items():
        pipeline = pipeline_file("tiny", tiny, stages)
        one, two = zip(*((run(pipeline, 1)[0], run(pipeline, 2)[0]) for _ in range(repeats)))  # alternating: load drifts
        start = (statistics.median(two) - statistics.median(one)) / 2
        built = build_stages(parse_pipeline(pipeline.read_text(), "bench"))
        print(f"| {name} | {len(built)} | {start:.2f} | {worker_start_cpu_seconds(built):.2f} | "
              f"{', '.join(f'{c:.2f}' for c in one)} | {', '.join(f'{c:.2f}' for c in two)} |", flush=True)


def costs(rows: int, repeats: int) -> None:
    tiny = tiny_corpus()
    files = make_corpus(rows)
    gb, text_gb = input_gb(files)
    print(f"\nper-GB costs on {rows:,} rows ({gb:.3f} GB uncompressed, {text_gb:.3f} GB of it text), --workers 1, CPU s:\n")
    print("| pipeline | tiny-input CPU s | CPU s | CPU s per GB | segments reading rows | own cost per text GB |")
    print("|---|---:|---:|---:|---:|---:|")
    spine = None
    for name, stages in {"pass-through (spine)": PASS_THROUGH, **STAGES}.items():
        fixed = statistics.median(run(pipeline_file("tiny", tiny, stages), 1)[0] for _ in range(repeats))
        cpu = statistics.median(run(pipeline_file("cost", files, stages), 1)[0] for _ in range(repeats))
        per_gb = (cpu - fixed) / gb
        built = build_stages(parse_pipeline(f"input:\n  path: x.parquet\nstages:\n{stages}", "bench"))
        reading = sum(1 for s in plan_segments(built) if not s.passthrough)
        spine = per_gb if spine is None else spine
        own = (per_gb - reading * spine) * gb / text_gb
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
            print(f"| {name} | {rows:,} | {input_gb(files)[0]:.3f} | {chosen_workers(stages, files)} | {cpus} | {walls} |", flush=True)


def wide(repeats: int) -> None:
    """2 files of 1,000 short English texts, each row with 25 KB of bytes beside its text
    (50 MB of rows, 0.1 MB of text): the stages are charged on the text, so no worker starts."""
    folder = OUT / "workers_wide"
    folder.mkdir(parents=True, exist_ok=True)
    words = "the quick brown fox jumps over a lazy dog while some birds sing in tall green trees".split()
    files = [folder / f"part-{i}.parquet" for i in range(2)]
    for i, f in enumerate(files):
        rows, noise = range(i * 1000, (i + 1) * 1000), random.Random(i)  # bytes that do not compress, as an image's
        pl.DataFrame({
            "id": [str(n) for n in rows],
            "text": [" ".join(words[(n * 7 + k) % len(words)] for k in range(8 + n % 22)) + "." for n in rows],
            "blob": [noise.randbytes(25_000) for _ in rows],
        }).write_parquet(f)
    stages = PIPELINES["length_filter + langid + quality"][0]
    pipeline = pipeline_file("wide", files, stages)
    gb, text_gb = input_gb(files)
    print(f"\n{gb:.3f} GB of rows, {text_gb:.4f} GB of text; automatic count: {chosen_workers(stages, files)} worker(s)\n")
    measured: dict[str, list[tuple[float, float]]] = {"1": [], "automatic": [], "2": []}
    for _ in range(repeats):  # alternating: load drifts
        for name, workers in (("1", 1), ("automatic", None), ("2", 2)):
            measured[name].append(run(pipeline, workers))
    print("| workers | median CPU s | median wall s |\n|---|---:|---:|")
    for name, runs in measured.items():
        print(f"| {name} | {statistics.median(c for c, _ in runs):.2f} | {statistics.median(w for _, w in runs):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[20_000, 100_000, 300_000], help="input sizes for the 1 / 2 / auto comparison")
    parser.add_argument("--cost-rows", type=int, default=20_000, help="rows for the per-GB costs")
    parser.add_argument("--repeats", type=int, default=3, help="runs per constant (median)")
    parser.add_argument("--skip-costs", action="store_true")
    parser.add_argument("--start-up-only", action="store_true", help="measure the worker start-up and stop")
    parser.add_argument("--wide", action="store_true", help="only 1 / 2 / automatic workers on short texts beside a wide binary column")
    args = parser.parse_args()
    if args.wide:
        wide(args.repeats)
        return
    if not args.skip_costs:
        start_up(args.repeats)
        if args.start_up_only:
            return
        costs(args.cost_rows, args.repeats)
    scaling(args.rows)


if __name__ == "__main__":
    main()
