"""An IMDB-sized input made of real texts, for measuring report.html on a run a reviewer
would really get: movie reviews, Wikipedia articles and their synthetic near-duplicates
(neardup/), labelled newsgroup posts (20 Newsgroups), sentences in 70+ languages
(lingua), exact copies of earlier rows (some in other case and spacing) and web junk
(menus, hashtags, "Loading…", lorem ipsum, empty rows). Used by tests/test_report.py
and bench/report_height.py; everything is read from ../shared/data in place.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import yaml

TEXT_CHARS = 3000
"""Texts are cut here: the run's cost stays bounded, reviews (median 1,000 chars) stay whole."""

JUNK = [
    "• Free shipping\n• Student discount\n• Best sellers\n• Members only\n• Track your order\n• Clearance",
    "Loading...\nLoading...\nLoading...\nLoading...\nLoading...\nLoading...",
    "#movies #love #popcorn #cinema #review #film #weekend #instagood",
    "Home | About | Careers | Contact | Press | Sitemap | Log in",
    "Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.",
    "Click here to subscribe! Click here to subscribe! Click here to subscribe! Click here to subscribe!",
    "",
    "ok",
    "10/10 would watch again",
    "BUY NOW!!! LIMITED OFFER!!! 100% GUARANTEED!!! FREE!!!",
]


def write_large_input(folder: Path, shared_data: Path, rows: int = 50_000, shards: int = 4, seed: int = 20,
                      text_chars: int = TEXT_CHARS) -> Path:
    """Parquet shards with columns id, text, label, source in `folder/in/`; returns the
    folder. `text_chars`: where texts are cut (tests cut short to keep the run cheap)."""
    rng = np.random.default_rng(seed)
    docs = pl.read_parquet(shared_data / "neardup" / "documents.parquet").with_columns(
        source=pl.when(pl.col("id").str.starts_with("imdb")).then(pl.lit("imdb"))
        .when(pl.col("id").str.starts_with("syn")).then(pl.lit("web")).otherwise(pl.lit("wikipedia")),
    ).with_columns(label=pl.when(pl.col("source") == "imdb").then(pl.lit("movie_review")).otherwise(pl.lit("encyclopedia")))
    news = pl.concat([pl.read_parquet(shared_data / "classification" / f"20news_{part}.parquet") for part in ("train", "test")])
    news = news.select(pl.format("news_{}", pl.int_range(pl.len())).alias("id"), "text", pl.lit("newsgroups").alias("source"),
                       pl.col("label_name").alias("label"))
    lingua = pl.read_parquet(shared_data / "lid" / "lingua_testdata.parquet")
    sentences = lingua.filter(pl.col("granularity") == "sentences").sample(2_500, seed=seed)
    words = lingua.filter(pl.col("granularity") == "single-words").sample(500, seed=seed)
    multilingual = pl.concat([sentences, words]).select(
        pl.format("lingua_{}", pl.int_range(pl.len())).alias("id"), "text", pl.lit("lingua").alias("source"), pl.lit("multilingual").alias("label"))
    real = pl.concat([docs.select("id", "text", "source", "label"), news, multilingual])
    junk = pl.DataFrame({
        "id": [f"junk_{i}" for i in range(500)],
        "text": [JUNK[i % len(JUNK)] + ("" if i < len(JUNK) else f" {i}") for i in range(500)],
        "source": "web",
        "label": [["movie_review", "encyclopedia", "comp.graphics"][i % 3] for i in range(500)],
    })
    copies = max(rows - real.height - junk.height, 0)
    picked = real.sample(copies, seed=seed + 1)
    variant = rng.integers(0, 3, copies)
    copied = picked.with_columns(
        pl.format("copy_{}", pl.int_range(pl.len())).alias("id"),
        pl.when(pl.Series(variant == 1)).then(pl.col("text").str.to_uppercase())
        .when(pl.Series(variant == 2)).then(pl.col("text").str.replace_all(" ", "  "))
        .otherwise(pl.col("text")).alias("text"),
    )
    everything = pl.concat([real, junk, copied]).head(rows).with_columns(pl.col("text").str.slice(0, text_chars))
    order = rng.permutation(everything.height)
    everything = everything[order]
    target = folder / "in"
    target.mkdir(parents=True, exist_ok=True)
    for i, part in enumerate(np.array_split(np.arange(everything.height), shards)):
        everything[part].write_parquet(target / f"shard-{i:03d}.parquet")
    return folder


def write_large_pipeline(folder: Path) -> Path:
    """The seven stages of the demo pipeline, with every quality rule set (33 metrics)."""
    spec = {
        "input": {"path": "in/*.parquet", "id_column": "id", "label_column": "label"},
        "output": "run",
        "stages": [
            {"stage": "length_filter", "name": "length", "min_chars": 20, "min_words": 3},
            {"stage": "exact_dedup", "name": "exact", "normalize": {"lowercase": True, "whitespace": True}},
            {"stage": "langid", "min_score": 0.5},
            {"stage": "near_dedup", "name": "near", "threshold": 0.8},
            {"stage": "quality"},
            {"stage": "label_noise", "mode": "annotate"},
            {"stage": "slices", "columns": ["source", "label", "lang"], "numeric": {"text_chars": {"quantiles": 4}}},
        ],
        "gates": {"max_removed_fraction": 0.6},
    }
    path = folder / "pipeline.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path
