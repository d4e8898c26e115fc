"""A stage's fixed cost per shard: the same rows in one file and in many small files.

    python bench/many_small_files.py                        # quality and langid, 1 and 600 files
    python bench/many_small_files.py --stages quality --files 1 150 600

The rows: 4,800 sentences of ../shared/data/lid/lingua_testdata.parquet (75 languages,
read in place), written as N Parquet files of equal rows; each stage runs alone
(`curate run --workers 1`, one file a shard). Reported per stage and file count: CPU
seconds of the run's process tree, wall seconds, the stage's own `seconds` from its
report, and the ratio of N files to one file. langid, whose work per shard is one
model call per text, is the reference for what a shard costs beside its rows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import polars as pl

from measure import REPO, run_monitored

LINGUA = REPO.parent / "shared" / "data" / "lid" / "lingua_testdata.parquet"


def write_files(rows: pl.DataFrame, count: int, folder: Path) -> None:
    folder.mkdir(parents=True)
    per = rows.height // count
    for i in range(count):
        rows.slice(i * per, per).write_parquet(folder / f"part-{i:04d}.parquet")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stages", nargs="+", default=["quality", "langid"])
    parser.add_argument("--files", nargs="+", type=int, default=[1, 600])
    args = parser.parse_args()
    rows = (
        pl.read_parquet(LINGUA).filter(pl.col("granularity") == "sentences").sample(4800, seed=1)
        .with_row_index("i").select(pl.format("r{}", "i").alias("id"), "text")
    )
    work = Path(tempfile.mkdtemp(prefix="many_small_files_"))
    try:
        print("| stage | files | CPU s (tree) | wall s | stage `seconds` | CPU vs 1 file |\n|---|---:|---:|---:|---:|---:|")
        for stage in args.stages:
            single = None
            for count in args.files:
                folder = work / f"in{count}"
                if not folder.exists():
                    write_files(rows, count, folder)
                pipeline = work / f"{stage}.yaml"
                pipeline.write_text(f"input:\n  path: {folder}/\n  text_column: text\n  id_column: id\nstages:\n  - stage: {stage}\n")
                out = work / f"run-{stage}-{count}"
                seen = run_monitored([sys.executable, "-m", "curate", "run", str(pipeline), "-o", str(out), "--workers", "1", "--log-format", "json", "-q"])
                report = json.loads(next((out / "reports").glob("01_*.json")).read_text())
                single = seen.cpu if single is None else single
                print(f"| {stage} | {count} | {seen.cpu:.2f} | {seen.wall:.2f} | {report['seconds']:.2f} | {seen.cpu / single:.2f}× |", flush=True)
                shutil.rmtree(out)
    finally:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
