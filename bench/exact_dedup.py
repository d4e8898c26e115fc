"""Exact dedup and pass-through cost: curate vs bare polars on the same 1M-row corpus.

    python bench/exact_dedup.py --rows 1000000 --workers 1 2   # 1,000,000 rows, ~1.35 GB of text, 8 shards
    python bench/exact_dedup.py --rows 100000 --workers 1       # a quick look

The corpus is built from ../shared/data/web/enwiki.parquet (1,950-character windows of
Wikipedia articles, 10% exact copies of earlier rows, 3% copies differing in case and
spacing) and cached in bench/out/. Each measurement runs in this one process, one
after another, on the same files, polars again before each curate run; curate runs
through its public API with every worker process (spawn start-up included), polars
with its own thread pool. CPU seconds are this process's and its finished children's
(RUSAGE_SELF + RUSAGE_CHILDREN), so worker processes count. A small curate run first
loads what a run imports on first use (reports, checks), as polars is loaded before
its side is timed; bench/workers.py measures curate's start-up on its own.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import time
from pathlib import Path

import polars as pl

from curate.config import parse_pipeline
from curate.console import Reporter
from curate.run.runner import RunOptions, run_pipeline

BENCH = Path(__file__).resolve().parent
WIKI = BENCH.parent.parent / "shared" / "data" / "web" / "enwiki.parquet"
SHARDS = 8


def make_corpus(rows: int, folder: Path) -> list[Path]:
    files = [folder / f"part-{i:05d}.parquet" for i in range(SHARDS)]
    if all(f.exists() for f in files):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    wiki = pl.read_parquet(WIKI, columns=["text"]).with_row_index("doc")
    docs = wiki.height
    picks = pl.DataFrame({"row": pl.int_range(rows, eager=True)}).with_columns(doc=(pl.col("row") * 7919 % docs).cast(pl.UInt32))
    # Three consecutive articles joined, then a 1,950-character window of them.
    wiki = wiki.with_columns(text=pl.concat_str(pl.col("text"), pl.col("text").shift(-1, fill_value=""), pl.col("text").shift(-2, fill_value=""), separator="\n"))
    wiki = wiki.with_columns(length=pl.col("text").str.len_chars())
    frame = picks.join(wiki, on="doc").sort("row").with_columns(
        text=pl.col("text").str.slice((pl.col("row") * 104729 % pl.max_horizontal(pl.col("length") - 1950, 1)).cast(pl.Int64), 1950)
    )
    # 10% of rows copy an earlier row exactly, 3% copy one with other case and spacing.
    source = ((pl.col("row") * 7919 + 104729) % 1_000_003 % pl.max_horizontal(pl.col("row"), 1)).cast(pl.Int64)
    texts = frame["text"]
    copy_of = frame.select(source).to_series()
    kind = frame.select(pl.col("row") % 100).to_series()
    exact = (kind < 10) & (frame["row"] > 0)
    spaced = (kind >= 10) & (kind < 13) & (frame["row"] > 0)
    copied = texts.gather(copy_of)
    texts = pl.select(
        pl.when(exact).then(copied).when(spaced).then(copied.str.to_uppercase().str.replace_all(" ", "  ")).otherwise(texts)
    ).to_series()
    out = pl.DataFrame({"id": frame["row"].cast(pl.String), "text": texts})
    per = -(-rows // SHARDS)
    for i, f in enumerate(files):
        out.slice(i * per, per).write_parquet(f)
    return files


def timed(label: str, action) -> tuple[float, float]:
    """(CPU seconds of this process and its finished children, wall seconds) of `action()`."""
    def cpu() -> float:
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    cpu_before, started = cpu(), time.perf_counter()
    action()
    seconds, cpu_seconds = time.perf_counter() - started, cpu() - cpu_before
    print(f"  {label}: {cpu_seconds:.2f} CPU s, {seconds:.2f} s", file=sys.stderr)
    return cpu_seconds, seconds


def polars_dedup(files: list[Path], out: Path, normalise: bool) -> None:
    text = pl.col("text")
    key = text.str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars(" ") if normalise else text
    (
        pl.scan_parquet(files)
        .with_columns(_h=key.hash())
        .unique(subset="_h", keep="first", maintain_order=True)
        .drop("_h")
        .sink_parquet(out / "kept.parquet")
    )


def polars_passthrough(files: list[Path], out: Path) -> None:
    pl.scan_parquet(files).sink_parquet(out / "copy.parquet")


def curate_run(files: list[Path], out: Path, stage: str, workers: int, limit: int | None = None) -> None:
    pipeline = parse_pipeline(f"input:\n  path: {[str(f) for f in files]}\n  id_column: id\nstages:\n{stage}", "bench")
    run_pipeline(pipeline, out, RunOptions(workers=workers, fresh=True, limit=limit), Reporter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="curate --workers values, each measured")
    args = parser.parse_args()
    corpus = BENCH / "out" / f"exact_corpus_{args.rows}"
    files = make_corpus(args.rows, corpus)
    size = pl.scan_parquet(files).select(pl.col("text").str.len_bytes().sum()).collect().item()
    scratch = BENCH / "out" / f"scratch-{os.getpid()}"  # two runs at once do not share it
    cases = {
        "exact_dedup (default: byte-exact)": ("  - stage: exact_dedup\n", lambda: polars_dedup(files, scratch, False)),
        "exact_dedup (lowercase + whitespace)": (
            "  - stage: exact_dedup\n    normalize: {lowercase: true, whitespace: true}\n", lambda: polars_dedup(files, scratch, True)
        ),
        "pass-through (length_filter, nothing removed)": ("  - stage: length_filter\n    min_chars: 0\n", lambda: polars_passthrough(files, scratch)),
    }
    scratch.mkdir(parents=True, exist_ok=True)
    for stage, _ in cases.values():
        curate_run(files, scratch / "warm-up", stage, 1, limit=1000)
    rows = []
    for label, (stage, peer) in cases.items():
        for workers in args.workers:  # the peer again before each curate run: interleaved
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir(parents=True)
            bare = timed(f"polars {label}", peer)
            ours = timed(f"curate {label}, --workers {workers}", lambda: curate_run(files, scratch / "run", stage, workers))
            rows.append((label, workers, ours, bare))
    shutil.rmtree(scratch, ignore_errors=True)

    print(f"\n{args.rows:,} rows, {size / 1e9:.2f} GB of text, {SHARDS} shards; CPU = this process and its worker processes\n")
    print("| job | --workers | curate CPU s | polars CPU s | **CPU ratio** | curate wall s | polars wall s | wall ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, workers, (cpu, wall), (bare_cpu, bare_wall) in rows:
        print(f"| {label} | {workers} | {cpu:.2f} | {bare_cpu:.2f} | **{cpu / bare_cpu:.2f}×** | {wall:.2f} | {bare_wall:.2f} | {wall / bare_wall:.2f}× |")


if __name__ == "__main__":
    main()
