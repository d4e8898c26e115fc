"""Exact dedup and pass-through cost: curate vs bare polars on the same 1M-row corpus.

    python bench/exact_dedup.py --rows 1000000 --workers 1 2   # 1,000,000 rows, ~1.72 GB of text, 8 shards
    python bench/exact_dedup.py --rows 100000 --workers 1       # a quick look
    POLARS_MAX_THREADS=1 python bench/exact_dedup.py --rows 1000000 --workers 1 --cases exact --rounds 3
    POLARS_MAX_THREADS=1 python bench/exact_dedup.py --rows 1000000 --workers 1 --cases exact sized   # one pass vs two

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
from statistics import median

import polars as pl

from curate.config import parse_pipeline
from curate.console import Reporter
from curate.run.runner import RunOptions, run_pipeline

BENCH = Path(__file__).resolve().parent
WIKI = BENCH.parent.parent / "shared" / "data" / "web" / "enwiki.parquet"
SHARDS = 8


def make_corpus(rows: int) -> list[Path]:
    """The corpus of `rows` rows, built once and cached in bench/out/. v2: version 1 had
    37% exact copies, not 13% (a UInt32 underflow left 28% of its rows empty, and short
    articles picked again repeated whole); docs/benchmarks.md."""
    folder = BENCH / "out" / f"exact_corpus_v2_{rows}"
    files = [folder / f"part-{i:05d}.parquet" for i in range(SHARDS)]
    if all(f.exists() for f in files):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    articles = pl.read_parquet(WIKI, columns=["text"]).get_column("text")
    docs = articles.len()
    row = pl.int_range(rows, eager=True, dtype=pl.Int64)
    # Three articles joined, then a 1,950-character window of them. The second and third
    # article change with each pass over the articles (`row // docs`), so that a short
    # article picked again is not an accidental exact copy: the only copies are the 13%
    # planted below.
    first, cycle = row * 7919 % docs, row // docs
    joined = pl.select(pl.concat_str(
        articles.gather(first), articles.gather((first + 1 + cycle * 37) % docs), articles.gather((first + 2 + cycle * 101) % docs), separator="\n"
    )).to_series()
    length = pl.col("text").str.len_chars().cast(pl.Int64)  # signed: `length - 1950` below must not wrap
    frame = pl.DataFrame({"row": row, "text": joined}).with_columns(text=pl.col("text").str.slice(pl.col("row") * 104729 % (length - 1950).clip(1), 1950))
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


def polars_dedup(files: list[Path], out: Path, normalise: bool, write_removed: bool = False) -> None:
    """polars' hash + unique + write of the kept rows; with `write_removed`, the removed
    rows are written too, from the same scan (what curate's accounting writes)."""
    text = pl.col("text")
    key = text.str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars(" ") if normalise else text
    rows = pl.scan_parquet(files).with_columns(_h=key.hash())
    if not write_removed:
        rows.unique(subset="_h", keep="first", maintain_order=True).drop("_h").sink_parquet(out / "kept.parquet")
        return
    first = pl.col("_h").is_first_distinct()
    pl.collect_all([
        rows.filter(first).drop("_h").sink_parquet(out / "kept.parquet", lazy=True),
        rows.filter(~first).drop("_h").sink_parquet(out / "removed.parquet", lazy=True),
    ])


def polars_passthrough(files: list[Path], out: Path) -> None:
    pl.scan_parquet(files).sink_parquet(out / "copy.parquet")


def curate_run(files: list[Path], out: Path, stage: str, workers: int, limit: int | None = None) -> None:
    pipeline = parse_pipeline(f"input:\n  path: {[str(f) for f in files]}\n  id_column: id\nstages:\n{stage}", "bench")
    run_pipeline(pipeline, out, RunOptions(workers=workers, fresh=True, limit=limit), Reporter())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="curate --workers values, each measured")
    parser.add_argument("--cases", nargs="+", choices=["exact", "sized", "normalised", "pass-through"], default=["exact", "normalised", "pass-through"])
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds of each measurement; the table gives the median ratio")
    args = parser.parse_args()
    files = make_corpus(args.rows)
    size = pl.scan_parquet(files).select(pl.col("text").str.len_bytes().sum()).collect().item()
    scratch = BENCH / "out" / f"scratch-{os.getpid()}"  # two runs at once do not share it
    exact, normalised = "  - stage: exact_dedup\n", "  - stage: exact_dedup\n    normalize: {lowercase: true, whitespace: true}\n"
    sized = "  - stage: exact_dedup\n    cluster_size: true\n"
    cases = {  # key: (label, curate's stage, polars' job, polars writing the removed rows too or None)
        "exact": ("exact_dedup (default: byte-exact)", exact, lambda: polars_dedup(files, scratch, False), lambda: polars_dedup(files, scratch, False, True)),
        "sized": ("exact_dedup (byte-exact, cluster_size: true: two passes)", sized, lambda: polars_dedup(files, scratch, False), lambda: polars_dedup(files, scratch, False, True)),
        "normalised": ("exact_dedup (lowercase + whitespace)", normalised, lambda: polars_dedup(files, scratch, True), lambda: polars_dedup(files, scratch, True, True)),
        "pass-through": ("pass-through (length_filter, nothing removed)", "  - stage: length_filter\n    min_chars: 0\n", lambda: polars_passthrough(files, scratch), None),
    }
    cases = {key: cases[key] for key in args.cases}
    scratch.mkdir(parents=True, exist_ok=True)
    for _, stage, _, _ in cases.values():
        curate_run(files, scratch / "warm-up", stage, 1, limit=1000)
    rows = []
    for label, stage, peer, peer_with_removed in cases.values():
        for workers in args.workers:
            measured: list[tuple[tuple[float, float], tuple[float, float], tuple[float, float] | None]] = []
            for _ in range(args.rounds):  # polars again before each curate run: interleaved
                shutil.rmtree(scratch, ignore_errors=True)
                scratch.mkdir(parents=True)
                bare = timed(f"polars {label}", peer)
                shutil.rmtree(scratch, ignore_errors=True)
                scratch.mkdir(parents=True)
                like = timed(f"polars {label}, removed rows written too", peer_with_removed) if peer_with_removed else None
                ours = timed(f"curate {label}, --workers {workers}", lambda: curate_run(files, scratch / "run", stage, workers))
                measured.append((ours, bare, like))
            rows.append((label, workers, measured))
    shutil.rmtree(scratch, ignore_errors=True)

    print(f"\n{args.rows:,} rows, {size / 1e9:.2f} GB of text, {SHARDS} shards; CPU = this process and its worker processes; "
          f"medians of {args.rounds} interleaved round(s)\n")
    print("| job | --workers | curate CPU s | polars CPU s | **CPU ratio** | per round | polars, removed rows written too, CPU s | CPU ratio to it | curate wall s | polars wall s | wall ratio |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for label, workers, measured in rows:
        cpu, bare_cpu = median([m[0][0] for m in measured]), median([m[1][0] for m in measured])
        wall, bare_wall = median([m[0][1] for m in measured]), median([m[1][1] for m in measured])
        ratios = ", ".join(f"{m[0][0] / m[1][0]:.2f}" for m in measured)
        likes = [m[2][0] for m in measured if m[2] is not None]
        like = f"{median(likes):.2f} | {median([m[0][0] / m[2][0] for m in measured if m[2] is not None]):.2f}×" if likes else "– | –"
        print(f"| {label} | {workers} | {cpu:.2f} | {bare_cpu:.2f} | **{median([m[0][0] / m[1][0] for m in measured]):.2f}×** | {ratios} | {like} "
              f"| {wall:.2f} | {bare_wall:.2f} | {median([m[0][1] / m[1][1] for m in measured]):.2f}× |")


if __name__ == "__main__":
    main()
