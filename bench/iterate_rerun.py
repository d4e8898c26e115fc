"""Iterating on a pipeline: an IMDB-sized run from scratch, then the rerun after moving
only the last stage's threshold (`--set`), in one process tree each, side by side.

    nice -n 10 python bench/iterate_rerun.py --rows 50000 --workers 2 [--fresh-rerun]

The data: 50,000 movie reviews built from the 7,000 real IMDB reviews in
../shared/data/neardup/documents.parquet (each row a real review with some of its
sentences swapped for sentences of other reviews, so lengths and vocabulary stay
IMDB's), plus 2% exact copies, 1% one-line junk and 1% German, French and Spanish
sentences from ../shared/data/lid/lingua_testdata.parquet; 4 Parquet shards.

The pipeline: length_filter, exact_dedup, langid, quality (Gopher + C4), and last a
cheap `length_filter` with a `max_words` threshold that the rerun moves. `--fresh-rerun`
measures the rerun as curate without stage reuse needs it (`--fresh`: everything again).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
from pathlib import Path

import polars as pl
import yaml
from measure import REPO, run_monitored

SHARED = REPO.parent / "shared" / "data"


def reviews(rows: int, seed: int = 19) -> pl.DataFrame:
    rng = random.Random(seed)
    docs = pl.read_parquet(SHARED / "neardup" / "documents.parquet").filter(pl.col("id").str.starts_with("imdb"))["text"].to_list()
    sentences = [re.split(r"(?<=[.!?])\s+", d.replace("<br /><br />", " ")) for d in docs]
    pool = [s for doc in sentences for s in doc if len(s) > 20]
    foreign = (
        pl.read_parquet(SHARED / "lid" / "lingua_testdata.parquet")
        .filter(pl.col("lang").is_in(["de", "fr", "es"]) & (pl.col("granularity") == "sentences"))["text"].to_list()
    )
    junk = ["Great movie!!!", "10/10", "worst. film. ever", "see title", "Loved it", "meh"]
    texts: list[str] = []
    for _ in range(rows):
        roll = rng.random()
        if roll < 0.02 and texts:
            texts.append(texts[rng.randrange(len(texts))])
        elif roll < 0.03:
            texts.append(rng.choice(junk))
        elif roll < 0.04:
            texts.append(" ".join(rng.sample(foreign, rng.randint(2, 6))))
        else:
            base = list(rng.choice(sentences))
            for i in range(len(base)):
                if rng.random() < 0.4:
                    base[i] = rng.choice(pool)
            texts.append(" ".join(base))
    return pl.DataFrame({
        "review_id": [f"imdb-{i:06d}" for i in range(rows)],
        "review": texts,
        "rating": [rng.randint(1, 10) for _ in range(rows)],
    })


def pipeline(folder: Path) -> Path:
    spec = {
        "input": {"path": "in/*.parquet", "text_column": "review", "id_column": "review_id"},
        "stages": [
            {"stage": "length_filter", "name": "length", "min_words": 5},
            {"stage": "exact_dedup", "name": "exact"},
            {"stage": "langid", "keep": ["en"], "min_score": 0.5},
            {"stage": "quality", "rules": ["gopher_quality", "c4"]},
            {"stage": "length_filter", "name": "long", "max_words": 1000},
        ],
    }
    path = folder / "imdb.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--fresh-rerun", action="store_true", help="rerun with --fresh (curate without stage reuse)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="curate-iterate-") as tmp:
        folder = Path(tmp)
        (folder / "in").mkdir()
        frame = reviews(args.rows)
        for i, part in enumerate(frame.iter_slices(-(-frame.height // 4))):
            part.write_parquet(folder / "in" / f"part-{i}.parquet")
        path = pipeline(folder)
        base = [sys.executable, "-m", "curate", "run", str(path), "--output", str(folder / "run"), "--workers", str(args.workers), "--log-format", "json"]
        first = run_monitored(base)
        rerun = run_monitored([*base, "--set", "stages.long.max_words=400", *(["--fresh"] if args.fresh_rerun else [])])
        manifest = json.loads((folder / "run" / "manifest.json").read_text())
    mb = frame["review"].str.len_bytes().sum() / 1e6
    print(f"{args.rows:,} rows, {mb:.0f} MB of text; rerun {'with --fresh' if args.fresh_rerun else 'reusing unchanged stages'}")
    print("| run | wall s | CPU s |\n|---|---:|---:|")
    print(f"| from scratch | {first.wall:.2f} | {first.cpu:.2f} |")
    print(f"| after stages.long.max_words 1000 → 400 | {rerun.wall:.2f} | {rerun.cpu:.2f} |")
    print(f"rerun / first: wall {rerun.wall / first.wall:.1%}, CPU {rerun.cpu / first.cpu:.1%}")
    print("stages:", [(s["name"], s.get("work", "ran"), s["rows_removed"]) for s in manifest["stages"]])


if __name__ == "__main__":
    main()
