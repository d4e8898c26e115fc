"""The web-text pipeline end to end: documents per CPU-second of `curate run` and each
stage's share of the CPU.

    nice -n 10 python bench/web_text_pipeline.py               # 300,000 documents of ~1.5 KB
    nice -n 10 python bench/web_text_pipeline.py --rows 30000  # a quick look
    git worktree add --detach /tmp/round1 f2d61b6
    python bench/web_text_pipeline.py --skip-round1 --baseline /tmp/round1 --rounds 2   # against round 1's code

The pipeline is pipelines/web_text.yaml's length, exact, langid, quality and near stages
(with their settings, in its order; its other stages, expectations and gates left out).
The corpus (cached in bench/out/web_text_<rows>/, 8 shards) is built from
../shared/data/web/enwiki.parquet and ../shared/data/lid/lingua_testdata.parquet; per
100 rows:

- 80 Wikipedia documents: random sentences joined up to a length drawn from 800-2,200
  characters (all distinct, ~1.5 KB on average);
- 4 exact copies of an earlier row, 3 copies in capitals with doubled spaces (exact's
  normalisation removes both);
- 6 near-copies of an earlier row: 60 characters cut out, a line appended;
- 3 documents in another language (lingua's sentences joined, ~1.5 KB; bench/langid.py);
- 2 short texts (under 50 characters: length removes them) and 2 junk pages (a menu
  or a price list repeated: quality removes them).

Two measurements, one after the other in this one run:

1. Throughput: `curate run ... --workers 2 --log-format json` as a child process tree,
   CPU seconds of the whole tree (RUSAGE_CHILDREN, bench/measure.py) and wall. The same
   pipeline with langid predicting every whole text (`sample_chars: null`, the round-1
   path) runs beside it, and so does each `--baseline` checkout's code on the same
   pipeline (issue 21's 1,874 docs per CPU-second was round 1's code, f2d61b6, on
   another day's machine: only runs side by side compare code), interleaved over
   `--rounds`.
2. Shares: the same run in one process (`--workers 1`, POLARS_MAX_THREADS=1), whose
   runner records each stage's seconds (its shard work, the writes of its removed rows
   and summaries, and a dataset stage's decision step) in manifest.json; here the
   runner's clock reads the process's CPU time instead of wall time, so those seconds
   are each stage's CPU seconds. What no stage accounts for (start-up, reading and
   writing each segment's shards, reports, report.html) is "runner".
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
import types
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl
import yaml

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
DATA = REPO.parent / "shared" / "data"
PIPELINE = REPO / "pipelines" / "web_text.yaml"
STAGES = ("length_filter", "exact_dedup", "langid", "quality", "near_dedup")
SHARDS = 8
BASELINE = 1_874  # docs per CPU-second, issue 21 (round 1)

sys.path.insert(0, str(BENCH))

from langid import lingua_documents  # noqa: E402
from measure import run_monitored  # noqa: E402


# --- the corpus ---------------------------------------------------------------------------------


def wiki_documents(rows: int, rng: np.random.Generator) -> pl.Series:
    """`rows` distinct documents of random Wikipedia sentences, each cut to a length drawn
    from 800-2,200 characters."""
    sentences = (
        pl.read_parquet(DATA / "web" / "enwiki.parquet", columns=["text"])
        .select(pl.col("text").str.split(". ").alias("s"))
        .explode("s")
        .filter(pl.col("s").str.len_chars() > 20)["s"]
    )
    per_doc = int(2200 / sentences.str.len_chars().mean()) + 4  # enough sentences for the longest cut
    picks = sentences.gather(rng.integers(0, sentences.len(), rows * per_doc))
    joined = pl.DataFrame({"doc": np.repeat(np.arange(rows), per_doc), "s": picks}).group_by("doc", maintain_order=True).agg(pl.col("s").str.join(". "))
    return joined["s"].str.slice(0, pl.Series(rng.integers(800, 2201, rows)))


def make_corpus(rows: int) -> list[Path]:
    folder = OUT / f"web_text_{rows}"
    files = [folder / f"part-{i:05d}.parquet" for i in range(SHARDS)]
    if all(f.exists() for f in files):
        return files
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(21)
    texts = wiki_documents(rows, rng)
    row = np.arange(rows)
    kind = row % 100

    def replace(selected: np.ndarray, values: pl.Series) -> None:
        """Row i of `values` becomes the text of each selected row i (row 0 stays)."""
        nonlocal texts
        index = np.flatnonzero(selected & (row > 0))
        texts = texts.scatter(index, values.gather(index))

    other = lingua_documents(DATA)["text"]
    replace((kind >= 93) & (kind < 96), other.gather(row % other.len()))
    replace((kind >= 96) & (kind < 98), texts.str.slice(0, pl.Series(rng.integers(5, 45, rows))))
    junk = pl.Series(["Home | About us | Products | Contact | Login | Cart (0)\n" * 25, "Item 4411 - $19.99 - in stock - buy now!\n" * 35])
    replace(kind >= 98, junk.gather(row % 2))
    copied = texts.gather((rng.random(rows) * row).astype(np.int64))  # the text of an earlier row
    replace((kind >= 80) & (kind < 84), copied)
    replace((kind >= 84) & (kind < 87), copied.str.to_uppercase().str.replace_all(" ", "  ", literal=True))
    cut = pl.Series(rng.integers(0, 700, rows))
    replace((kind >= 87) & (kind < 93), copied.str.slice(0, cut) + copied.str.slice(cut + 60) + "\nShared on the forum.")
    frame = pl.DataFrame({"doc_id": pl.Series(row).cast(pl.String), "text": texts})
    per = -(-rows // SHARDS)
    for i, f in enumerate(files):
        frame.slice(i * per, per).write_parquet(f)
    return files


# --- the pipeline --------------------------------------------------------------------------------


def pipeline_file(files: list[Path], name: str, **langid) -> Path:
    """web_text.yaml's stages named in STAGES, on `files`; `langid` overrides its options."""
    spec = yaml.safe_load(PIPELINE.read_text())
    stages = [s if s["stage"] != "langid" else {**s, **langid} for s in spec["stages"] if s["stage"] in STAGES]
    pipeline = {"input": {"path": [str(f) for f in files], "text_column": "text", "id_column": "doc_id"}, "stages": stages}
    path = OUT / f"web_text_{name}.yaml"
    path.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    return path


def throughput(pipeline: Path, run_dir: Path, workers: int, checkout: Path = REPO) -> tuple[float, float, dict]:
    """One `curate run` of `pipeline` with the code of `checkout` (`python -m curate` from
    that folder imports its `curate` first)."""
    command = [sys.executable, "-m", "curate", "run", str(pipeline), "--output", str(run_dir), "--workers", str(workers), "--fresh", "--log-format", "json"]
    seen = run_monitored(command, cwd=checkout, failure=f"curate run {pipeline.name} failed ({checkout})")
    return seen.cpu, seen.wall, json.loads((run_dir / "manifest.json").read_text())


def stage_cpu(pipeline: Path, run_dir: Path) -> None:
    """Child: the run in this process, with the runner's stage clock on CPU time."""
    from curate.config import load_pipeline
    from curate.console import Reporter
    from curate.run import segments
    from curate.run.runner import RunOptions, run_pipeline

    segments.time = types.SimpleNamespace(perf_counter=time.process_time)  # stage seconds become CPU seconds
    run_pipeline(load_pipeline(pipeline), run_dir, RunOptions(workers=1, fresh=True), Reporter())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    (run_dir / "cpu.json").write_text(json.dumps({"cpu": usage.ru_utime + usage.ru_stime}))


def shares(pipeline: Path, run_dir: Path) -> tuple[float, dict[str, float]]:
    env = {**os.environ, "POLARS_MAX_THREADS": "1"}
    subprocess.run([sys.executable, __file__, "--child-shares", str(pipeline), str(run_dir)], env=env, check=True, cwd=REPO)
    cpu = json.loads((run_dir / "cpu.json").read_text())["cpu"]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    seconds = {s["name"]: s["seconds"] for s in manifest["stages"]}
    seconds["runner (start-up, segment reads and writes, reports)"] = cpu - sum(seconds.values())
    return cpu, seconds


def decisions(run_dir: Path) -> pl.DataFrame:
    """Every removed row's id, stage and reason: what a change must leave identical."""
    files = sorted((run_dir / "removed").glob("*/*.parquet"))  # each stage's files have their own columns
    return pl.concat([pl.scan_parquet(f).select("doc_id", "curate_stage", "curate_reason") for f in files]).collect().sort("doc_id")


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds of the two throughput runs (best is reported)")
    parser.add_argument("--skip-shares", action="store_true")
    parser.add_argument("--skip-round1", action="store_true", help="skip the whole-text langid run")
    parser.add_argument("--baseline", type=Path, action="append", default=[],
                        help="a checkout of earlier code (`git worktree add --detach /tmp/r1 f2d61b6`): the same pipeline runs with its curate, "
                             "interleaved with this checkout's; repeatable")
    parser.add_argument("--same-as", type=Path, help="removed rows (id, stage, reason) of an earlier run, e.g. of the code before a change: are they identical?")
    parser.add_argument("--child-shares", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_shares:
        return stage_cpu(*args.child_shares)

    load_before, started = os.getloadavg(), datetime.now(timezone.utc)
    earlier = pl.read_parquet(args.same_as) if args.same_as else None  # before this run overwrites it
    files = make_corpus(args.rows)
    corpus = pl.scan_parquet(files).select(pl.len(), pl.col("text").str.len_bytes().mean()).collect().row(0)
    default = pipeline_file(files, "default")
    variants = {"curate": (default, REPO)}
    if not args.skip_round1:
        variants["langid on whole texts (sample_chars: null)"] = (pipeline_file(files, "whole_text", sample_chars=None), REPO)
    for checkout in args.baseline:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=checkout, capture_output=True, text=True).stdout.strip()
        variants[f"the code at {commit or checkout}"] = (default, checkout.resolve())
    best: dict[str, tuple[float, float, dict]] = {}
    for _ in range(args.rounds):
        for i, (label, (pipeline, checkout)) in enumerate(variants.items()):
            run_dir = OUT / f"web_text_run_{i}"
            cpu, wall, manifest = throughput(pipeline, run_dir, args.workers, checkout)
            print(f"  {label}: {cpu:.1f} CPU-s, {wall:.1f} s wall", file=sys.stderr, flush=True)
            if label not in best or cpu < best[label][0]:
                best[label] = (cpu, wall, manifest)
    rows = corpus[0]
    removed = decisions(OUT / "web_text_run_0")
    removed.write_parquet(OUT / f"web_text_removed_{args.rows}.parquet")  # for --same-as after a change
    if not args.skip_round1:
        same = decisions(OUT / "web_text_run_0").filter(pl.col("curate_stage") != "langid").equals(
            decisions(OUT / "web_text_run_1").filter(pl.col("curate_stage") != "langid")
        )

    print(f"\n{rows:,} documents, mean {corpus[1]:,.0f} bytes, {SHARDS} shards; `curate run --workers {args.workers}`; "
          f"started {started:%Y-%m-%d %H:%M} UTC, load average then {load_before[0]:.2f} / {load_before[1]:.2f} / {load_before[2]:.2f}\n")
    print("| run | CPU s (process tree) | wall s | **docs per CPU-second** | docs/s wall | kept | vs issue 21's 1,874 | CPU s vs this checkout |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    ours = best["curate"][0]
    for label, (cpu, wall, manifest) in best.items():
        print(f"| {label} | {cpu:.1f} | {wall:.1f} | **{rows / cpu:,.0f}** | {rows / wall:,.0f} | {manifest['rows_kept']:,} | "
              f"{rows / cpu / BASELINE:.2f}× | {cpu / ours:.2f}× |")
    per_stage = {s["name"]: s["rows_removed"] for s in best["curate"][2]["stages"]}
    print("\nRemoved per stage: " + ", ".join(f"{name} {n:,}" for name, n in per_stage.items()))
    if earlier is not None:
        print(f"Removed rows, stages and reasons identical to {args.same_as.name}: {removed.equals(earlier)} "
              f"({removed.height:,} rows here, {earlier.height:,} there)")
    if not args.skip_round1:
        print(f"Decisions of the other stages identical with whole-text langid: {same}")
    if not args.skip_shares:
        cpu, seconds = shares(default, OUT / "web_text_run_shares")
        print(f"\nShares of CPU, one process (`--workers 1`, POLARS_MAX_THREADS=1): {cpu:.1f} CPU-s, {rows / cpu:,.0f} docs per CPU-second\n")
        print("| stage | CPU s | share |")
        print("|---|---:|---:|")
        for name, s in seconds.items():
            print(f"| {name} | {s:.1f} | {100 * s / cpu:.1f}% |")
    now = os.getloadavg()
    print(f"\nLoad average at end {now[0]:.2f} / {now[1]:.2f} / {now[2]:.2f}")
    for i in range(len(variants)):
        shutil.rmtree(OUT / f"web_text_run_{i}" / "_cache", ignore_errors=True)


if __name__ == "__main__":
    main()
