"""overlap benchmark: benchmark contamination of 20 Newsgroups (train against test) by
curate, a straightforward Python set-based implementation and datatrove's n-gram
decontamination (when it is installed), and time and memory of the within-corpus mode as
the corpus grows.

    python bench/overlap.py --speed                      # train vs test: curate, Python sets, datatrove
    python bench/overlap.py --scale 100000,300000        # within the corpus: time and peak RSS, curate run --workers 2
    python bench/overlap.py --plagiarism                 # copied passages (256-8,546 characters): recall by length, false partners

datatrove runs in its own environment (`--datatrove-python`, default .venv-bench/bin/python):
    python -m venv .venv-bench && .venv-bench/bin/pip install datatrove 'xxhash<4' spacy polars

Data: ../shared/data/classification/20news_{train,test}.parquet (11,314 training posts,
7,532 test posts, full raw posts). Every tool finds the training posts sharing a word
13-gram with a test post and the test posts that appear (share a 13-gram) in training,
with the same words (NFKC, lowercase, runs of `\\w`). Each tool runs in a fresh process,
end to end (read the Parquet files, build the test set's n-grams, scan the training
posts, write the result); the parent measures wall time, CPU time of the process tree
(user + system, RUSAGE_CHILDREN) and its peak RSS (sampled every 0.1 s). docs per
CPU-second counts the training posts scanned plus the test posts indexed.

The scale corpus is near_dedup's (bench/near_dedup.py: 1.2 KB documents of Wikipedia
sentences, 10% near-copies), cached in bench/out/.

The plagiarism corpus stands in for the held-out one of issue 18 (verbatim passages of
256-8,546 characters copied from a source document into another): every article of
../shared/data/web/enwiki.parquet, of which 500 "suspicious" articles each receive one to
three passages (500 copied pairs in all) cut at random character offsets from other
articles (sources, some used by several suspicious articles), lengths log-uniform over
256-8,546 characters, inserted at a random word boundary of the host; run order shuffled,
so a source may come after its copies. The stage (defaults, annotate mode) runs in this
process; a pair is found when the source is in the copy's `overlap_with` or the copy in
the source's. near_dedup (its defaults and threshold 0.5) runs on the same corpus.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import polars as pl

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out"
DATA = REPO.parent / "shared" / "data" / "classification"
TRAIN, TEST = DATA / "20news_train.parquet", DATA / "20news_test.parquet"
WIKI = REPO.parent / "shared" / "data" / "web" / "enwiki.parquet"
PASSAGE_CHARS = (256, 8546)
COPIED_PAIRS = 500
LENGTH_BINS = (256, 512, 1024, 2048, 4096, 8547)
N = 13
WORD = re.compile(r"\w+")

sys.path.insert(0, str(REPO))

from measure import folder_bytes, process_rss, run_monitored


def curate_pipeline(out: Path) -> Path:
    pipeline = OUT / "overlap_speed.yaml"
    pipeline.write_text(
        f"input:\n  path: {TRAIN}\n  id_column: filename\noutput: {out}\nstages:\n"
        f"  - stage: overlap\n    mode: annotate\n    references: [{TEST}]\n    reference_id_column: filename\n"
    )
    return pipeline


def run_curate() -> dict:
    out = OUT / "overlap_speed_curate"
    done = subprocess.run([sys.executable, "-m", "curate", "run", str(curate_pipeline(out)), "--fresh", "--quiet", "--workers", "1"], cwd=REPO, check=False)
    if done.returncode:
        raise SystemExit(f"curate failed (exit {done.returncode})")
    report = json.loads(next((out / "reports").glob("*overlap.json")).read_text())
    found = report["stats"]["references"][str(TEST)]["rows_in_training_data"]
    return {"test_rows_found": found, "train_docs_contaminated": report["stats"]["documents_contaminated"]}


def run_curate_stage() -> dict:
    """The stage without the runner: `summarize` over the training posts (one shard) and
    `decide` with its tasks in this process: what a run spends beyond start-up and files."""
    from curate.stages.base import POSITION, SHARD, Columns
    from curate.stages.overlap import Overlap, OverlapConfig

    stage = Overlap(OverlapConfig(mode="annotate", references=[str(TEST)], reference_id_column="filename"), Columns(id="filename"))
    train = pl.read_parquet(TRAIN)
    summary = stage.summarize(train).with_columns(pl.lit(0, pl.Int32).alias(SHARD), pl.int_range(pl.len(), dtype=pl.Int64).alias(POSITION))
    decisions, stats = stage.decide(summary.lazy())
    return {"test_rows_found": stats["references"][str(TEST)]["rows_in_training_data"], "train_docs_contaminated": int(decisions["contaminated"].sum())}


def words(text: str | None) -> list[str]:
    return WORD.findall(unicodedata.normalize("NFKC", text or "").lower())


def run_python_sets() -> dict:
    """The straightforward way: a dict from each test 13-gram (a tuple of words) to the
    test rows holding it, then every training post's 13-grams looked up in it."""
    test = pl.read_parquet(TEST, columns=["text"])["text"].to_list()
    index: dict[tuple[str, ...], set[int]] = {}
    for row, text in enumerate(test):
        w = words(text)
        for i in range(len(w) - N + 1):
            index.setdefault(tuple(w[i : i + N]), set()).add(row)
    found: set[int] = set()
    contaminated = 0
    for text in pl.read_parquet(TRAIN, columns=["text"])["text"].to_list():
        w = words(text)
        hits = set()
        for i in range(len(w) - N + 1):
            rows = index.get(tuple(w[i : i + N]))
            if rows:
                hits |= rows
        found |= hits
        contaminated += bool(hits)
    return {"test_rows_found": len(found), "train_docs_contaminated": contaminated}


def run_datatrove() -> dict:
    """datatrove's NGramsDecontIndexer (the test set's n-grams, here read from the same
    Parquet file instead of a lighteval task) and NGramsDecontFilter over the training
    posts, in one local process."""
    import numpy as np
    from datatrove.data import Document
    from datatrove.pipeline.decont.n_grams import (
        NGramsDecontConfig,
        NGramsDecontFilter,
        NGramsDecontIndexer,
    )
    from datatrove.utils.hashing import create_hash_func
    from datatrove.utils.typeshelper import Languages
    from datatrove.utils.word_tokenizers import load_word_tokenizer

    folder = OUT / "overlap_speed_datatrove"
    shutil.rmtree(folder, ignore_errors=True)
    # datatrove's defaults except n: its TextNormConfig and English word tokenizer, xxhash 64
    config = NGramsDecontConfig(n_grams=N, find_query_ngrams=True, find_overlap_ngrams=False)

    # the indexer's own hashing (its compute_hashes) on the test posts; its run() would load
    # lighteval tasks, so the index file is written here as run() writes it
    indexer = SimpleNamespace(config=config, tokenizer=load_word_tokenizer(Languages.english), hash_func=create_hash_func(config.hash_config))
    hashes: set[int] = set()
    for text in pl.read_parquet(TEST, columns=["text"])["text"].to_list():
        hashes.update(NGramsDecontIndexer.compute_hashes(indexer, text or ""))
    (folder / "index").mkdir(parents=True)
    np.array(sorted(hashes), dtype=np.dtype(config.hash_config.np_descr)).tofile(folder / "index" / "20news_test.index.hashes")
    train = pl.read_parquet(TRAIN, columns=["text"])["text"].to_list()
    docs = (Document(text=t or "", id=str(i)) for i, t in enumerate(train))
    kept = sum(1 for _ in NGramsDecontFilter(str(folder / "index"), config=config).run(docs))
    # the filter stops at a document's first contaminated n-gram: it cannot say which test rows appear
    return {"test_rows_found": None, "train_docs_contaminated": len(train) - kept}


TOOLS = {"curate": run_curate, "curate stage, in one process": run_curate_stage, "Python sets": run_python_sets, "datatrove": run_datatrove}


def speed(datatrove_python: Path) -> list[str]:
    documents = pl.scan_parquet(TRAIN).select(pl.len()).collect().item() + pl.scan_parquet(TEST).select(pl.len()).collect().item()
    rows, ours = [], None
    for name in TOOLS:
        python = sys.executable
        if name == "datatrove":
            python = str(datatrove_python)
            if not datatrove_python.exists():
                print(f"  {name}: no {datatrove_python}; give --datatrove-python (see this file's docstring)", flush=True)
                continue
        out = OUT / ("overlap_speed_" + re.sub(r"\W+", "_", name) + ".json")
        run = run_monitored([python, __file__, "--measure", name, "--result", str(out)], interval=0.1, failure=f"{name} failed")
        result = json.loads(out.read_text())
        ours = ours or run
        rows.append(
            f"| {name} | {run.wall:.2f} | {run.cpu:.2f} | {documents / run.cpu:,.0f} | {run.cpu / ours.cpu:.1f}x | {run.peak_rss / 2**20:,.0f} MiB | "
            f"{result['train_docs_contaminated']:,} | {result['test_rows_found'] if result['test_rows_found'] is not None else 'n/a'} |"
        )
        print("  " + rows[-1], flush=True)
    header = [
        f"| 20 Newsgroups, 11,314 training posts vs 7,532 test posts, word {N}-grams | wall s | CPU s | docs per CPU-second | CPU vs curate | peak RSS | training posts contaminated | test posts found in training |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    return header + rows


def scale(sizes: list[int], workers: int) -> list[str]:
    from near_dedup import scale_corpus

    lines = [
        "| documents | text | wall s | CPU s (all processes) | of which decide, wall s | peak RSS, all processes | peak RSS, largest process | peak RSS, main process | summaries on disk | `_work/` peak | removed | CPU s per million docs |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for rows in sizes:
        folder = scale_corpus(rows)
        gb = pl.scan_parquet(folder / "*.parquet").select(pl.col("text").str.len_bytes().sum()).collect().item() / 1e9
        run_dir = OUT / f"overlap_scale_run_{rows}"
        pipeline = OUT / f"overlap_scale_{rows}.yaml"
        pipeline.write_text(f"input:\n  path: {folder}/*.parquet\n  id_column: id\noutput: {run_dir}\nstages:\n  - stage: overlap\n")
        command = [sys.executable, "-m", "curate", "run", str(pipeline), "--fresh", "--log-format", "json", "--workers", str(workers)]

        def probe(pid: int, run_dir: Path = run_dir) -> dict[str, int]:
            return {"main": process_rss(pid), "summaries": folder_bytes(run_dir / "_work" / "summary"), "work": folder_bytes(run_dir / "_work")}

        run = run_monitored(command, extra_probe=probe, interval=0.25, cwd=REPO, failure=f"curate failed on {rows} rows", last_events=1)
        deciding = next(e["time"] for e in run.events if e["event"] == "deciding")
        decided = next(e["time"] for e in run.events if e["event"] == "segment_started" and e["time"] > deciding)
        report = json.loads(next((run_dir / "reports").glob("*overlap.json")).read_text())
        lines.append(
            f"| {rows:,} | {gb:.2f} GB | {run.wall:.0f} | {run.cpu:.0f} | {decided - deciding:.1f} | {run.peak_rss / 2**30:.2f} GiB | "
            f"{run.peak_single_rss / 2**30:.2f} GiB | {run.peaks.get('main', 0) / 2**30:.2f} GiB | {run.peaks.get('summaries', 0) / 2**30:.2f} GiB | "
            f"{run.peaks.get('work', 0) / 2**30:.2f} GiB | {report['rows_removed']:,} | {run.cpu / rows * 1e6:,.0f} |"
        )
        print("  " + lines[-1], flush=True)
        shutil.rmtree(run_dir, ignore_errors=True)
    return lines


def plagiarism_corpus(seed: int = 18) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The documents with the copies planted (`id`, `text`, run order shuffled), the same
    documents without them, and the planted copies (`source`, `copy`, `chars`): see this
    file's docstring."""
    rng = np.random.default_rng(seed)
    wiki = pl.read_parquet(WIKI, columns=["text"]).with_columns(pl.format("w{}", pl.int_range(pl.len())).alias("id"))
    texts = wiki["text"].to_list()
    lengths = np.array([len(t) for t in texts])
    hosts = rng.choice(np.flatnonzero(lengths >= 1000), COPIED_PAIRS // 2, replace=False)
    host_of = np.sort(rng.choice(hosts, COPIED_PAIRS))  # one passage or more per host
    chars = np.exp(rng.uniform(np.log(PASSAGE_CHARS[0]), np.log(PASSAGE_CHARS[1]), COPIED_PAIRS)).astype(int)
    # sources are not hosts; the 300 first (of a fixed shuffle) long enough for a passage are
    # drawn from, so many are copied from more than once
    pool = rng.permutation(np.setdiff1d(np.flatnonzero(lengths >= 2 * PASSAGE_CHARS[0]), hosts))
    planted, inserts = [], {}
    for host, n in zip(host_of, chars, strict=True):
        source = int(rng.choice(pool[lengths[pool] > n][:300]))
        start = int(rng.integers(0, lengths[source] - n))
        inserts.setdefault(int(host), []).append(texts[source][start : start + n])
        planted.append((f"w{source}", f"w{host}", int(n)))
    for host, passages in inserts.items():
        text = texts[host]
        for passage in passages:
            spaces = [m.start() for m in re.finditer(r"\s", text)] or [len(text)]
            at = spaces[int(rng.integers(0, len(spaces)))]
            text = text[:at] + " " + passage + " " + text[at:]
        texts[host] = text
    order = rng.permutation(wiki.height)
    docs = pl.DataFrame({"id": wiki["id"], "text": texts})[order]
    return docs, wiki.select("id", "text")[order], pl.DataFrame(planted, schema={"source": pl.String, "copy": pl.String, "chars": pl.Int64}, orient="row")


def overlap_pairs(docs: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
    """The overlap stage (defaults, annotate mode) on `docs` in this process: the listed
    partners and every partner pair, both as (x, y) with x < y, and the statistics."""
    from curate.stages.base import POSITION, SHARD, Columns
    from curate.stages.overlap import Overlap, OverlapConfig

    stage = Overlap(OverlapConfig(mode="annotate"), Columns(id="id"))
    summary = stage.summarize(docs).with_columns(pl.lit(0, pl.Int32).alias(SHARD), pl.int_range(pl.len(), dtype=pl.Int64).alias(POSITION))
    decisions, stats = stage.decide(summary.lazy())
    listed = decisions.sort(POSITION).select(docs["id"], pl.col("overlap_with").alias("partner")).explode("partner").drop_nulls()
    return unordered(listed, "id", "partner"), unordered(stats.pop("tables")["pairs"].collect(), "id_a", "id_b"), stats


def pair_key(a: str, b: str) -> list[pl.Expr]:
    """A pair of ids in either order as (x, y), x < y."""
    return [pl.min_horizontal(a, b).alias("x"), pl.max_horizontal(a, b).alias("y")]


def unordered(frame: pl.DataFrame, a: str, b: str) -> pl.DataFrame:
    """Distinct pairs as (x, y), x < y."""
    return frame.select(pair_key(a, b)).unique()


def plagiarism() -> list[str]:
    from near_dedup import curate_pairs

    docs, original, planted = plagiarism_corpus()
    listed, pairs, stats = overlap_pairs(docs)
    truth = planted.with_columns(pair_key("source", "copy"))
    found = truth.join(listed.with_columns(pl.lit(True).alias("found")), on=["x", "y"], how="left").with_columns(pl.col("found").fill_null(False))
    # partner pairs that were not planted: two copies of one source (a true copy too), real
    # overlap between Wikipedia articles (partners in the corpus without the copies), a
    # copy and an article its passage's source partners (inherited), or other: a copy whose
    # passage carries text that more than LEADERS documents hold (the source's partners
    # among them are not all listed), or false
    siblings = unordered(planted.join(planted, on="source").filter(pl.col("copy") != pl.col("copy_right")), "copy", "copy_right")
    natural = overlap_pairs(original)[1]
    other = pairs.join(truth, on=["x", "y"], how="anti").join(siblings, on=["x", "y"], how="anti")
    unexplained = other.join(natural, on=["x", "y"], how="anti")
    source_partners = pl.concat([natural.rename({"x": "source", "y": "z"}), natural.select(pl.col("y").alias("source"), pl.col("x").alias("z"))])
    inherited = unordered(planted.join(source_partners, on="source"), "copy", "z")
    false = unexplained.join(inherited, on=["x", "y"], how="anti")
    lines = ["| passage length (characters) | copied pairs | found by overlap (defaults) | recall |", "|---|---:|---:|---:|"]
    for lo, hi in itertools.pairwise(LENGTH_BINS):
        rows = found.filter((pl.col("chars") >= lo) & (pl.col("chars") < hi))
        lines.append(f"| {lo:,}-{hi - 1:,} | {rows.height} | {int(rows['found'].sum())} | {rows['found'].mean():.1%} |")
    lines.append(f"| all | {found.height} | {int(found['found'].sum())} | **{found['found'].mean():.1%}** |")
    near = {threshold: truth.join(curate_pairs(docs, threshold=threshold)[0], on=["x", "y"], how="semi").height for threshold in (0.8, 0.5)}
    lines += [
        "",
        f"{docs.height:,} documents, {planted['source'].n_unique()} sources; partner pairs: {stats['partner_pairs']:,}: "
        f"{pairs.join(truth, on=['x', 'y'], how='semi').height} planted, {pairs.join(siblings, on=['x', 'y'], how='semi').height} two copies of one source, "
        f"{other.height - unexplained.height} partners without the copies too (Wikipedia's own overlap), "
        f"{unexplained.height - false.height} a copy and an article its source partners, {false.height} other, of which "
        f"{false.filter(pl.col('x').is_in(planted['copy'].implode()) | pl.col('y').is_in(planted['copy'].implode())).height} involve a copy.",
        f"near_dedup (bench/near_dedup.py's curate_pairs) on the same corpus: {near[0.8]} of {found.height} copied pairs at threshold 0.8, {near[0.5]} at 0.5.",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--speed", action="store_true")
    parser.add_argument("--scale", type=lambda s: [int(x) for x in s.split(",")], default=None, metavar="N,N,...")
    parser.add_argument("--workers", type=int, default=2, help="worker processes for --scale (default 2)")
    parser.add_argument("--plagiarism", action="store_true")
    parser.add_argument("--datatrove-python", type=Path, default=REPO / ".venv-bench" / "bin" / "python", help="a Python with datatrove installed")
    parser.add_argument("--measure", choices=list(TOOLS), help=argparse.SUPPRESS)
    parser.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.measure:
        args.result.write_text(json.dumps(TOOLS[args.measure]()))
        return
    if args.speed:
        print("\n".join(speed(args.datatrove_python)))
    if args.scale:
        print("\n".join(scale(args.scale, args.workers)))
    if args.plagiarism:
        print("\n".join(plagiarism()))


if __name__ == "__main__":
    main()
