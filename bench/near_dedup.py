"""near_dedup benchmark: quality against the planted near-duplicates, speed against
datasketch (and datatrove when it is installed), and memory/time at scale.

    python bench/near_dedup.py                      # quality + speed (run it in .venv-bench for datatrove)
    python bench/near_dedup.py --quality            # P/R/F1 at Jaccard 0.7/0.8/0.9, curate vs datasketch
    python bench/near_dedup.py --speed              # docs/s: curate, datasketch, datatrove; ratios
    python bench/near_dedup.py --scale 100000,300000,1000000   # time and peak RSS as data grows
    python bench/near_dedup.py --one-permutation    # sketch: one_permutation vs minhash: F1, signature CPU
    python bench/near_dedup.py --many-files 250,500,1000   # time as the files grow, 3 short rows each

Data: ../shared/data/neardup/ (25,000 documents, 5,000 planted near-duplicates, the true
word-5-gram Jaccard of every pair >= 0.5). The scale corpus is synthesised from
../shared/data/web/enwiki.parquet (1,200-character windows, 10% near-copies of an
earlier document) and cached in bench/out/.

Quality compares *found pairs* (the pairs a tool declares duplicates, before
clustering) with the true pairs at the same threshold. curate and datasketch run at the
same settings (num_perm, bands x rows, verification); datasketch's shingles are the
ground truth's own (`re.findall(r"\\w+", text.lower())`, 5-grams joined by a space);
curate's normalisation adds NFKC.

Speed runs each tool in a fresh process on the same 25,000 documents read from the same
Parquet files, end to end (read, shingle, MinHash, LSH, verify, cluster, write the kept
rows), after a warm-up on 500 of them (imports, first calls). docs/s is wall time; docs
per CPU-second (user + system time of the process, its threads and its children) is the
per-core figure, the fair one on a shared machine. curate runs through its public API
(run_pipeline, as `curate run`); "1 thread" sets POLARS_MAX_THREADS=1.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
SHARED = REPO.parent / "shared" / "data"
NEARDUP = SHARED / "neardup"
WIKI = SHARED / "web" / "enwiki.parquet"
THRESHOLDS = (0.7, 0.8, 0.9)
NUM_PERM = 128
WORD = re.compile(r"\w+")

sys.path.insert(0, str(REPO))

from measure import folder_bytes, process_rss, run_monitored

from curate.stages.base import Columns
from curate.stages.near_dedup import NearDedup, NearDedupConfig
from curate.stages.near_dedup.minhash import (
    MinHasher,
    document_signatures,
    optimal_bands,
)
from curate.text import Normalization, normalize_texts


def shingles(text: str, n: int = 5) -> list[str]:
    """The ground truth's shingling (MANIFEST.md, neardup/)."""
    tokens = WORD.findall(text.lower())
    if len(tokens) < n:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def cpu_seconds() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def load() -> str:
    return os.popen("uptime").read().strip()


def ordered(frame: pl.DataFrame, a: str = "id_a", b: str = "id_b") -> pl.DataFrame:
    return frame.select(pl.min_horizontal(a, b).alias("x"), pl.max_horizontal(a, b).alias("y")).unique()


def score(found: pl.DataFrame, truth: pl.DataFrame) -> dict[str, float]:
    hits = found.join(truth, on=["x", "y"], how="semi").height
    p = hits / found.height if found.height else 0.0
    r = hits / truth.height if truth.height else 0.0
    return {"found": found.height, "P": p, "R": r, "F1": 2 * p * r / (p + r) if p + r else 0.0}


# ---------------------------------------------------------------- quality


def curate_pairs(docs: pl.DataFrame, **config) -> tuple[pl.DataFrame, tuple[int, int]]:
    stage = NearDedup(NearDedupConfig(stage="near_dedup", **config), Columns(id="id"))
    summaries = [
        stage.summarize(part).with_columns(pl.lit(i, dtype=pl.Int32).alias("_shard"), pl.int_range(pl.len(), dtype=pl.Int64).alias("_pos"))
        for i, part in enumerate(docs.iter_slices(5000))
    ]
    return ordered(stage.similar_pairs(pl.concat([s.lazy() for s in summaries]))), stage.lsh


class Datasketch:
    """datasketch MinHash + MinHashLSH over the ground truth's shingles."""

    def __init__(self, docs: pl.DataFrame):
        from datasketch import MinHash

        self.ids = docs["id"].to_list()
        self.texts = docs["text"].to_list()
        self.minhashes = []
        for text in self.texts:
            m = MinHash(num_perm=NUM_PERM, seed=1)
            m.update_batch([s.encode() for s in shingles(text)])
            self.minhashes.append(m)

    def pairs(self, threshold: float, params: tuple[int, int], verify: str) -> pl.DataFrame:
        from datasketch import MinHashLSH

        lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, params=params)
        for i, m in enumerate(self.minhashes):
            if not m.is_empty():
                lsh.insert(i, m)
        candidates = {(min(i, j), max(i, j)) for i, m in enumerate(self.minhashes) if not m.is_empty() for j in lsh.query(m) if j != i}
        sets: dict[int, set[str]] = {}

        def shingle_set(i: int) -> set[str]:
            if i not in sets:
                sets[i] = set(shingles(self.texts[i]))
            return sets[i]

        kept = []
        for i, j in candidates:
            if verify == "shingles":
                a, b = shingle_set(i), shingle_set(j)
                sim = len(a & b) / len(a | b)
            else:
                sim = self.minhashes[i].jaccard(self.minhashes[j])
            if sim >= threshold:
                kept.append((self.ids[i], self.ids[j]))
        return ordered(pl.DataFrame(kept, schema=["id_a", "id_b"], orient="row"))


def quality() -> list[str]:
    docs = pl.read_parquet(NEARDUP / "documents.parquet")
    truth_all = pl.read_parquet(NEARDUP / "pairs_gt.parquet")
    started = time.perf_counter()
    sketch = Datasketch(docs)
    print(f"  datasketch MinHash of {docs.height} documents: {time.perf_counter() - started:.1f} s", flush=True)
    settings = [
        ("curate default: weights 0.1/0.9, exact Jaccard", {"weights": (0.1, 0.9), "verify": "shingles"}, "shingles"),
        ("datasketch default: weights 0.5/0.5, estimated Jaccard", {"weights": (0.5, 0.5), "verify": "signature", "hash": "sha1"}, "signature"),
    ]
    lines = [
        "| threshold | setting | bands x rows | tool | pairs found | precision | recall | F1 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for threshold in THRESHOLDS:
        truth = ordered(truth_all.filter(pl.col("jaccard") >= threshold))
        for label, config, verify in settings:
            found, lsh = curate_pairs(docs, threshold=threshold, **config)
            theirs = sketch.pairs(threshold, lsh, verify)
            for tool, pairs in [("curate", found), ("datasketch", theirs)]:
                s = score(pairs, truth)
                lines.append(f"| {threshold} | {label} | {lsh[0]} x {lsh[1]} | {tool} | {s['found']:,} | {s['P']:.3f} | {s['R']:.3f} | **{s['F1']:.3f}** |")
                print("  " + lines[-1], flush=True)
        lines.append(f"| {threshold} | truth | | | {truth.height:,} | | | |")
    return lines


# ---------------------------------------------------------------- speed


def speed_corpus() -> Path:
    folder = OUT / "near_speed"
    if not (folder / "part-00003.parquet").exists():
        folder.mkdir(parents=True, exist_ok=True)
        docs = pl.read_parquet(NEARDUP / "documents.parquet")
        for i, part in enumerate(docs.iter_slices(-(-docs.height // 4))):
            part.write_parquet(folder / f"part-{i:05d}.parquet")
    return folder


def run_curate(folder: Path, out: Path, workers: int, **stage) -> str:
    from curate.config import parse_pipeline
    from curate.console import Reporter
    from curate.run.runner import RunOptions, run_pipeline

    spec = {"input": {"path": [str(folder / "*.parquet")], "id_column": "id"}, "stages": [{"stage": "near_dedup", "threshold": 0.8, **stage}]}
    import yaml

    pipeline = parse_pipeline(yaml.safe_dump(spec), "bench")
    result = run_pipeline(pipeline, out, RunOptions(workers=workers, fresh=True), Reporter())
    return f"kept {result.manifest['rows_kept']:,}"


def run_datasketch(folder: Path, out: Path, params: tuple[int, int], threshold: float = 0.8) -> str:
    """The usual datasketch dedup, end to end and at curate's settings: MinHash per
    document, MinHashLSH, candidates verified by exact Jaccard, connected components,
    the first of each cluster kept, kept rows written."""
    from datasketch import MinHash, MinHashLSH

    frame = pl.concat([pl.read_parquet(f) for f in sorted(folder.glob("*.parquet"))])
    texts = frame["text"].to_list()
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM, params=params)
    minhashes = []
    for i, text in enumerate(texts):
        m = MinHash(num_perm=NUM_PERM, seed=1)
        m.update_batch([s.encode() for s in shingles(text)])
        minhashes.append(m)
        if not m.is_empty():
            lsh.insert(i, m)
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    sets: dict[int, set[str]] = {}
    for i, m in enumerate(minhashes):
        if m.is_empty():
            continue
        for j in lsh.query(m):
            if j <= i:
                continue
            a = sets.setdefault(i, set(shingles(texts[i])))
            b = sets.setdefault(j, set(shingles(texts[j])))
            if len(a & b) / len(a | b) >= threshold:
                ri, rj = root(i), root(j)
                parent[max(ri, rj)] = min(ri, rj)
    keep = [root(i) == i for i in range(len(texts))]
    out.mkdir(parents=True, exist_ok=True)
    frame.filter(pl.Series(keep)).write_parquet(out / "kept.parquet")
    return f"kept {sum(keep):,}"


def run_datatrove(folder: Path, out: Path, params: tuple[int, int]) -> str:
    import datatrove.utils.hashes.xxhash as dt_xxhash
    import xxhash
    from loguru import logger

    logger.remove()  # datatrove logs every task to stderr
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import ParquetReader
    from datatrove.pipeline.writers import ParquetWriter

    # datatrove 0.10 hands str to xxhash, which xxhash >= 4 refuses; encode as UTF-8,
    # as older xxhash did, so datatrove runs its default (xxhash, 64-bit) configuration
    dt_xxhash.xxhash64 = lambda text: xxhash.xxh64_intdigest(text.encode() if isinstance(text, str) else text)
    dt_xxhash.xxhash32 = lambda text: xxhash.xxh32_intdigest(text.encode() if isinstance(text, str) else text)
    shutil.rmtree(out, ignore_errors=True)
    config = MinhashConfig(n_grams=5, num_buckets=params[0], hashes_per_bucket=params[1], seed=1)

    def reader():
        return ParquetReader(str(folder), glob_pattern="*.parquet", text_key="text", id_key="id")

    steps = [
        ([reader(), MinhashDedupSignature(output_folder=str(out / "sigs"), config=config)], 1),
        ([MinhashDedupBuckets(input_folder=str(out / "sigs"), output_folder=str(out / "buckets"), config=config)], config.num_buckets),
        ([MinhashDedupCluster(input_folder=str(out / "buckets"), output_folder=str(out / "remove"), config=config)], 1),
        ([reader(), MinhashDedupFilter(input_folder=str(out / "remove")), ParquetWriter(str(out / "kept"))], 1),
    ]
    for i, (pipeline, tasks) in enumerate(steps):
        LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=str(out / f"logs{i}")).run()
    kept = pl.read_parquet(sorted((out / "kept").glob("*.parquet"))).height
    return f"kept {kept:,}"


def signatures_only(docs: pl.DataFrame) -> list[str]:
    """MinHash signatures alone, same shingles: curate's batch path vs datasketch."""
    from datasketch import MinHash

    texts = docs["text"].to_list()
    rows = []
    wall, cpu = time.perf_counter(), cpu_seconds()
    for text in texts:
        m = MinHash(num_perm=NUM_PERM, seed=1)
        m.update_batch([s.encode() for s in shingles(text)])
    base = time.perf_counter() - wall, cpu_seconds() - cpu
    rows.append(("datasketch: `re` shingles, `MinHash.update_batch` (sha1)", *base))
    hasher = MinHasher(NUM_PERM, 1)
    for method in ("sha1", "poly64"):
        wall, cpu = time.perf_counter(), cpu_seconds()
        normal = normalize_texts(docs["text"], Normalization(whitespace=False))
        document_signatures(normal, hasher, "word", 5, method)
        rows.append((f"curate: `normalize_texts` + `document_signatures` ({method})", time.perf_counter() - wall, cpu_seconds() - cpu))
    lines = ["| signatures of 25,000 documents | wall s | CPU s | docs/CPU-s | vs datasketch (CPU) |", "|---|---|---|---|---|"]
    for name, w, c in rows:
        lines.append(f"| {name} | {w:.2f} | {c:.2f} | {docs.height / c:,.0f} | {base[1] / c:.1f}x |")
        print("  " + lines[-1], flush=True)
    return lines


def one_permutation() -> list[str]:
    """`sketch: one_permutation` against the default (128 independent permutations), in one
    run: F1 on the planted set at each threshold (exact Jaccard verification, and the
    signature estimate), then the CPU seconds of the signatures of the 25,000 documents
    (shingle hashes computed once) and of the whole per-shard step (`document_signatures`
    with normalisation: normalise, shingle, hash, sign), each sketch 5 times,
    interleaved, the median."""
    docs = pl.read_parquet(NEARDUP / "documents.parquet")
    truth_all = pl.read_parquet(NEARDUP / "pairs_gt.parquet")
    lines = ["| threshold | verify | bands x rows | sketch | pairs found | precision | recall | F1 |", "|---|---|---|---|---|---|---|---|"]
    for threshold in THRESHOLDS:
        truth = ordered(truth_all.filter(pl.col("jaccard") >= threshold))
        for verify in ("shingles", "signature"):
            for sketch in ("minhash", "one_permutation"):
                found, lsh = curate_pairs(docs, threshold=threshold, verify=verify, sketch=sketch)
                s = score(found, truth)
                lines.append(f"| {threshold} | {verify} | {lsh[0]} x {lsh[1]} | {sketch} | {s['found']:,} | {s['P']:.3f} | {s['R']:.3f} | **{s['F1']:.3f}** |")
                print("  " + lines[-1], flush=True)
    from curate.stages.near_dedup.minhash import shingle_hashes

    hashes, counts = shingle_hashes(normalize_texts(docs["text"], Normalization(whitespace=False)), "word", 5, "poly64")
    steps = {
        "signatures (`MinHasher.signatures`)": lambda hasher: hasher.signatures(hashes, counts),
        "whole step (`document_signatures`, normalising)": lambda hasher: document_signatures(docs["text"], hasher, "word", 5, "poly64", normalization=Normalization(whitespace=False)),
    }
    times = {(step, sketch): [] for step in steps for sketch in ("minhash", "one_permutation")}
    for _ in range(5):
        for step, sketch in times:
            hasher = MinHasher(NUM_PERM, 1, sketch=sketch)
            hasher.permutations()
            cpu = cpu_seconds()
            steps[step](hasher)
            times[step, sketch].append(cpu_seconds() - cpu)
    median = {key: sorted(runs)[len(runs) // 2] for key, runs in times.items()}
    lines += ["", f"| {docs.height:,} documents ({len(hashes):,} shingles) | sketch | CPU s, median of 5 | runs | vs minhash |", "|---|---|---|---|---|"]
    for (step, sketch), runs in times.items():
        lines.append(f"| {step} | {sketch} | {median[step, sketch]:.3f} | {', '.join(f'{r:.3f}' for r in runs)} | {median[step, 'minhash'] / median[step, sketch]:.2f}x |")
        print("  " + lines[-1], flush=True)
    return lines


TOOLS = {
    # name: (environment, how to run it on a folder)
    "curate, 1 process, 1 thread": ({"POLARS_MAX_THREADS": "1"}, lambda folder, params: run_curate(folder, OUT / "near_speed_curate", 1)),
    "curate, 1 process, 2 threads": ({"POLARS_MAX_THREADS": "2"}, lambda folder, params: run_curate(folder, OUT / "near_speed_curate", 1)),
    "curate, hash: sha1, 1 process, 1 thread": (
        {"POLARS_MAX_THREADS": "1"},
        lambda folder, params: run_curate(folder, OUT / "near_speed_curate", 1, hash="sha1"),
    ),
    "curate, 2 worker processes": ({}, lambda folder, params: run_curate(folder, OUT / "near_speed_curate", 2)),
    "datasketch, 1 process": ({}, lambda folder, params: run_datasketch(folder, OUT / "near_speed_datasketch", params)),
    "datatrove, 1 process": ({}, lambda folder, params: run_datatrove(folder, OUT / "near_speed_datatrove", params)),
}


def measure(name: str) -> None:
    """In a fresh process (`--measure`): warm up on 500 documents (imports, first calls),
    then run `name` on the 25,000 (curate: 3 times, the run with the median CPU time
    counts) and print wall and CPU seconds as JSON."""
    import json

    _, run = TOOLS[name]
    params = optimal_bands(0.8, NUM_PERM, (0.1, 0.9))
    folder = speed_corpus()
    warm = OUT / "near_speed_warm"
    if not (warm / "part-00000.parquet").exists():
        warm.mkdir(parents=True, exist_ok=True)
        pl.read_parquet(NEARDUP / "documents.parquet").head(500).write_parquet(warm / "part-00000.parquet")
    run(warm, params)
    runs = []
    for _ in range(3 if name.startswith("curate") else 1):  # curate: the median of 3
        wall, cpu = time.perf_counter(), cpu_seconds()
        detail = run(folder, params)
        runs.append((time.perf_counter() - wall, cpu_seconds() - cpu))
    wall, cpu = sorted(runs, key=lambda r: r[1])[len(runs) // 2]
    print(json.dumps({"name": name, "wall": wall, "cpu": cpu, "detail": detail, "runs": runs}))


def speed() -> list[str]:
    import json

    speed_corpus()
    docs = pl.read_parquet(NEARDUP / "documents.parquet")
    n = docs.height
    params = optimal_bands(0.8, NUM_PERM, (0.1, 0.9))
    results = []
    for name, (env, _) in TOOLS.items():
        if name.startswith("datatrove"):
            try:
                import datatrove.pipeline.dedup  # noqa: F401
            except ImportError as exc:
                print(f"  {name}: cannot import here ({exc}); run this in .venv-bench", flush=True)
                continue
        done = subprocess.run(
            [sys.executable, __file__, "--measure", name], env={**os.environ, **env}, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"{name} failed:\n{done.stderr[-3000:]}")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        results.append(r)
        print(f"  {name}: {r['wall']:.2f} s wall, {r['cpu']:.2f} CPU-s, {n / r['wall']:,.0f} docs/s, {n / r['cpu']:,.0f} docs/CPU-s, {r['detail']}", flush=True)
    ours = results[0]
    lines = [
        f"| end to end, {n:,} documents, threshold 0.8, {params[0]} x {params[1]} bands | wall s | docs/s | CPU s | docs per CPU-second | CPU time / curate's | rows kept |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} | {r['wall']:.2f} | {n / r['wall']:,.0f} | {r['cpu']:.2f} | {n / r['cpu']:,.0f} | {r['cpu'] / ours['cpu']:.1f}x | {r['detail'].removeprefix('kept ')} |"
        )
    return lines + [""] + signatures_only(docs)


# ---------------------------------------------------------------- scale


def scale_corpus(rows: int) -> Path:
    """`rows` documents of 7 sentences drawn at random from Wikipedia (about 1.2 KB, all
    distinct); 10% of them (rows 3, 13, 23, ...) are near-copies of a random earlier
    document: 60 characters cut out at some position, a line appended (Jaccard to the
    original about 0.8 to 0.9)."""
    folder = OUT / f"near_scale_v2_{rows}"
    shards = max(4, rows // 62_500)
    files = [folder / f"part-{i:05d}.parquet" for i in range(shards)]
    if all(f.exists() for f in files):
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    sentences = (
        pl.read_parquet(WIKI, columns=["text"])
        .select(pl.col("text").str.split(". ").alias("s"))
        .explode("s")
        .filter(pl.col("s").str.len_chars() > 20)
        .with_row_index("sentence")
    )
    rng = np.random.default_rng(rows)
    per_doc = 7
    picks = pl.DataFrame(
        {
            "row": np.repeat(np.arange(rows, dtype=np.int64), per_doc),
            "sentence": rng.integers(0, sentences.height, rows * per_doc, dtype=np.int64).astype(np.uint32),
        }
    )
    texts = (
        picks.with_row_index("order")
        .join(sentences, on="sentence")
        .sort("order")
        .group_by("row", maintain_order=True)
        .agg(pl.col("s").str.join(". "))
        .sort("row")["s"]
    )
    near = np.flatnonzero((np.arange(rows) % 10 == 3) & (np.arange(rows) > 0))
    sources = (rng.random(len(near)) * near).astype(np.int64)
    copied = texts.gather(sources)
    cut = pl.Series(rng.integers(0, 1000, len(near)))
    edited = pl.select(copied.str.slice(0, cut) + copied.str.slice(cut + 60) + pl.lit("\nShared on the forum.")).to_series()
    texts = texts.scatter(near, edited)
    out = pl.DataFrame({"id": pl.Series(np.arange(rows)).cast(pl.String), "text": texts})
    per = -(-rows // shards)
    for i, f in enumerate(files):
        out.slice(i * per, per).write_parquet(f)
    return folder


def scale(sizes: list[int], workers: int) -> list[str]:
    import json

    lines = [
        "| documents | text | wall s | CPU s (all processes) | of which decide, wall s | peak RSS, all processes | peak RSS, largest process | peak RSS, main process (decide) | removed | summaries on disk | `_work/` at its peak |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for rows in sizes:
        folder = scale_corpus(rows)
        gb = pl.scan_parquet(folder / "*.parquet").select(pl.col("text").str.len_bytes().sum()).collect().item() / 1e9
        run_dir = OUT / f"near_scale_run_{rows}"
        pipeline = OUT / f"near_scale_{rows}.yaml"
        pipeline.write_text(
            f"input:\n  path: {folder}/*.parquet\n  id_column: id\noutput: {run_dir}\nstages:\n  - stage: near_dedup\n    threshold: 0.8\n    keep: first\n"
        )
        command = [sys.executable, "-m", "curate", "run", str(pipeline), "--fresh", "--log-format", "json", "--workers", str(workers)]

        def probe(pid: int, run_dir: Path = run_dir) -> dict[str, int]:
            return {"main": process_rss(pid), "summaries": folder_bytes(run_dir / "_work" / "summary"), "work": folder_bytes(run_dir / "_work")}

        run = run_monitored(command, extra_probe=probe, interval=0.25, cwd=REPO, failure=f"curate failed on {rows} rows", last_events=1)
        events, wall, cpu = run.events, run.wall, run.cpu
        peak, largest, main, summaries, work = run.peak_rss, run.peak_single_rss, run.peaks.get("main", 0), run.peaks.get("summaries", 0), run.peaks.get("work", 0)
        deciding = next(e["time"] for e in events if e["event"] == "deciding")
        decided = next(e["time"] for e in events if e["event"] == "segment_started" and e["time"] > deciding)
        report = json.loads(next((run_dir / "reports").glob("*near_dedup*.json")).read_text())
        lines.append(
            f"| {rows:,} | {gb:.2f} GB | {wall:.0f} | {cpu:.0f} | {decided - deciding:.1f} | {peak / 2**30:.2f} GiB | {largest / 2**30:.2f} GiB | {main / 2**30:.2f} GiB | "
            f"{report['rows_removed']:,} | {summaries / 2**30:.2f} GiB | {work / 2**30:.2f} GiB |"
        )
        print("  " + lines[-1], flush=True)
        shutil.rmtree(run_dir, ignore_errors=True)
    return lines


# ---------------------------------------------------------------- many small files


def many_files(counts: list[int]) -> list[str]:
    """near_dedup alone (`--workers 1`) over N Parquet files of 3 short rows each: its
    time should grow with the files, not their square. Two corpora: rows of 12 words
    drawn from 19 (no candidate pairs), and rows that are one of 200 texts of 40 words
    with one word changed (candidate pairs across nearly every file)."""
    import json
    import random

    import pyarrow as pa
    import pyarrow.parquet as pq

    greek = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau".split()
    vocabulary = [f"w{i}" for i in range(5000)]
    lines = ["| rows | files | wall s | near_dedup s | candidate pairs | removed |", "|---|---:|---:|---:|---:|---:|"]
    for corpus in ("distinct", "near-copies"):
        for count in counts:
            rng = random.Random(2)
            texts = random.Random(1)
            bases = [[texts.choice(vocabulary) for _ in range(40)] for _ in range(200)]

            def row(rng: random.Random = rng, bases: list[list[str]] = bases) -> str:
                if corpus == "distinct":
                    return " ".join(rng.choices(greek, k=12))
                words = list(rng.choice(bases))
                words[rng.randrange(40)] = rng.choice(vocabulary)
                return " ".join(words)

            folder = OUT / f"near_many_{corpus}_{count}"
            shutil.rmtree(folder, ignore_errors=True)
            (folder / "in").mkdir(parents=True)
            for i in range(count):
                pq.write_table(pa.table({"text": [row() for _ in range(3)]}), folder / "in" / f"f{i:05d}.parquet")
            (folder / "p.yaml").write_text("input:\n  path: in/\nstages:\n  - stage: near_dedup\n")
            started = time.perf_counter()
            command = [sys.executable, "-m", "curate", "run", str(folder / "p.yaml"), "--output", str(folder / "run"), "--workers", "1", "-q"]
            subprocess.run(command, cwd=REPO, check=True)
            wall = time.perf_counter() - started
            report = json.loads((folder / "run" / "reports" / "01_near_dedup.json").read_text())
            lines.append(f"| {corpus} | {count:,} | {wall:.1f} | {report['seconds']:.1f} | {report['stats']['candidate_pairs']:,} | {report['rows_removed']:,} |")
            print("  " + lines[-1], flush=True)
            shutil.rmtree(folder, ignore_errors=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--scale", type=lambda s: [int(x) for x in s.split(",")], default=None, metavar="N,N,...")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for --scale (default 2)")
    parser.add_argument("--one-permutation", action="store_true", help="sketch: one_permutation vs the default: F1 and signature CPU")
    parser.add_argument("--many-files", type=lambda s: [int(x) for x in s.split(",")], default=None, metavar="N,N,...", help="near_dedup over N files of 3 rows")
    parser.add_argument("--measure", choices=list(TOOLS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure)
        return
    everything = not (args.quality or args.speed or args.scale or args.one_permutation or args.many_files)
    print(f"# {load()}\n# python {sys.version.split()[0]}, {sys.executable}", flush=True)
    sections = []
    if args.quality or everything:
        print("quality:", flush=True)
        sections.append(("Quality", quality()))
    if args.speed or everything:
        print("speed:", flush=True)
        sections.append(("Speed", speed()))
    if args.one_permutation:
        print("one permutation:", flush=True)
        sections.append(("One-permutation hashing", one_permutation()))
    if args.scale:
        print("scale:", flush=True)
        sections.append(("Scale", scale(args.scale, args.workers)))
    if args.many_files:
        print("many files:", flush=True)
        sections.append(("Many small files", many_files(args.many_files)))
    print(f"# {load()}")
    for title, lines in sections:
        print(f"\n### {title}\n")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
