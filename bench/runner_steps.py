"""Where a run's CPU goes between the stages: the runner's file reads and writes, each
timed with the process CPU clock, in one process (`--workers 1`).

    POLARS_MAX_THREADS=1 python bench/runner_steps.py                  # exact_dedup on bench/exact_dedup.py's 1M-row corpus
    POLARS_MAX_THREADS=1 python bench/runner_steps.py --pipeline bench/out/web_text_default.yaml --limit 75000

Prints the run's CPU seconds, then per step (input reads, a segment's rows, removed rows,
summaries, decisions; by folder) the calls and CPU seconds. What is not listed is the
stages' own work, the decisions, the checks, the reports and report.html. A small run
first loads what a run imports on first use, so start-up is not counted.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import sys
import time
from pathlib import Path

from curate.config import load_pipeline, parse_pipeline
from curate.console import Reporter
from curate.run import segments
from curate.run.runner import RunOptions, run_pipeline

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
import exact_dedup  # noqa: E402  (the corpus)

STEPS: dict[str, list[float]] = collections.defaultdict(lambda: [0, 0.0])
_DEPTH = [0]


def timed(name: str, label) -> None:
    """Wrap `segments.<name>` so each call adds its CPU seconds under `label(args)`
    (a wrapped step called by another, as read_rows calls read_parquet, counts once)."""
    original = getattr(segments, name)

    def wrapper(*args, **kwargs):
        started = time.process_time()
        _DEPTH[0] += 1
        try:
            return original(*args, **kwargs)
        finally:
            _DEPTH[0] -= 1
            if _DEPTH[0] == 0:
                step = STEPS[label(args, kwargs)]
                step[0] += 1
                step[1] += time.process_time() - started

    setattr(segments, name, wrapper)


def folder(path: Path) -> str:
    """`seg-01`, `data`, `removed/exact_dedup`, ...: the path below `_work/`."""
    return str(Path(path).parent).split("/_work/")[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipeline", type=Path, help="a pipeline file; default: exact_dedup on bench/exact_dedup.py's corpus")
    parser.add_argument("--rows", type=int, default=1_000_000, help="the exact_dedup corpus's size")
    parser.add_argument("--limit", type=int)
    args = parser.parse_args()
    if args.pipeline is not None:
        pipeline = load_pipeline(args.pipeline)
    else:
        files = exact_dedup.make_corpus(args.rows)
        pipeline = parse_pipeline(f"input:\n  path: {[str(f) for f in files]}\n  id_column: id\nstages:\n  - stage: exact_dedup\n", "bench")
    out = BENCH / "out" / "runner_steps"
    run_pipeline(pipeline, out, RunOptions(workers=1, fresh=True, limit=1000), Reporter())  # first-use imports
    timed("read_input", lambda a, k: "read input" + (f" ({', '.join(k['columns'])})" if k.get("columns") else ""))
    timed("read_rows", lambda a, k: f"read {folder(a[0])}")
    timed("read_parquet", lambda a, k: f"read {folder(a[0])}")
    timed("write_parquet_atomic", lambda a, k: f"write {folder(a[1])}")
    timed("write_ipc_atomic", lambda a, k: f"write {folder(a[1])}")
    started = time.process_time()
    run_pipeline(pipeline, out, RunOptions(workers=1, fresh=True, limit=args.limit), Reporter())
    total = time.process_time() - started
    shutil.rmtree(out)
    print(f"\nthe run: {total:.2f} CPU s, one process\n")
    print("| step | calls | CPU s |")
    print("|---|---:|---:|")
    for label, (calls, seconds) in sorted(STEPS.items(), key=lambda item: -item[1][1]):
        print(f"| {label} | {calls} | {seconds:.2f} |")
    print(f"| everything else (stages, decisions, checks, reports) | | {total - sum(s for _, s in STEPS.values()):.2f} |")


if __name__ == "__main__":
    main()
