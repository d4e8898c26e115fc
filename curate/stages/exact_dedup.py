"""Exact deduplication: rows whose (optionally normalised) text hashes alike are
duplicates; the first in run order (input files sorted by path, then row position)
survives and every other row names it in `dup_of`."""

from __future__ import annotations

from typing import Any, Literal

import polars as pl

from curate.stages.base import (
    ORDER_KEYS,
    POSITION,
    REASON,
    SHARD,
    Criterion,
    DatasetStage,
    Explanation,
    StageConfig,
)
from curate.text import Normalization, normalize_texts, stable_hash


class ExactNormalization(Normalization):
    """Every step off unless the pipeline turns it on: by default only byte-identical
    texts are duplicates. Each step costs time on large corpora (docs/benchmarks.md)."""

    nfkc: bool = False
    """Unicode NFKC (compatibility forms such as full-width letters and ligatures fold)."""
    lowercase: bool = False
    whitespace: bool = False
    """Collapse runs of whitespace to one space and trim the ends."""


class ExactDedupConfig(StageConfig):
    stage: Literal["exact_dedup"] = "exact_dedup"
    normalize: ExactNormalization = ExactNormalization()
    """Normalisation before hashing; texts equal after it are duplicates. Default: none."""


class ExactDedup(DatasetStage):
    kind = "exact_dedup"
    summary = "Remove rows whose text (optionally normalised) equals an earlier row's; keeps the first."
    cpu_seconds_per_gb = 10.0  # about 2/3 of the 15 bench/workers.py measured: the worker-count estimate errs low
    Config = ExactDedupConfig
    config: ExactDedupConfig

    shared_columns = frozenset({"dup_cluster_size", "dup_of"})

    def added_columns(self) -> list[str]:
        return ["dup_hash", "dup_cluster_size", "dup_of"]

    def explain(self) -> Explanation:
        return Explanation({"exact_duplicate": [Criterion("dup_cluster_size")]}, twin_column="dup_of")

    def summarize(self, frame: pl.DataFrame) -> pl.DataFrame:
        text = normalize_texts(frame[self.columns.text], self.config.normalize)
        return pl.DataFrame({"dup_hash": stable_hash(text), "id": frame[self.columns.id].cast(pl.String)})

    def decide(self, summaries: pl.LazyFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
        rows = summaries.collect()
        # Most texts occur once, and such a row's decision needs no grouping: only rows
        # whose hash repeats are grouped. Equal texts share a hash, so hash partitions
        # of those are decided independently (in parallel tasks inside a run) and give
        # the same answer as one group-by.
        repeats = rows.get_column("dup_hash").is_duplicated()
        repeated = rows.filter(repeats).lazy()
        parts = self.tasks(_decide_partition, [repeated.filter(pl.col("dup_hash") % PARTITIONS == p) for p in range(PARTITIONS)])
        once = rows.filter(~repeats).select(
            SHARD,
            POSITION,
            _hash_text(pl.col("dup_hash")),
            pl.lit(1, dtype=pl.UInt32).alias("dup_cluster_size"),
            pl.lit(None, dtype=pl.String).alias("dup_of"),
            pl.lit(None, dtype=pl.String).alias(REASON),
        )
        decisions = pl.concat([once, *parts])  # in any order: the runner sorts each shard's rows
        sizes = decisions.filter(pl.col("dup_of").is_not_null()).group_by("dup_hash").agg(pl.len().alias("size"))
        stats = {
            "duplicate_groups": sizes.height,
            "largest_group": int(sizes["size"].max() or 0),
            "group_size_histogram": {
                str(k): int(v) for k, v in sizes.group_by("size").agg(pl.len()).sort("size").iter_rows()
            },
        }
        return decisions, stats


PARTITIONS = 16


def _hash_text(hash: pl.Expr) -> pl.Expr:
    """The `dup_hash` annotation: the 64-bit hash as 20 decimal digits."""
    return hash.cast(pl.String).str.zfill(20).alias("dup_hash")


def _decide_partition(summaries: pl.LazyFrame) -> pl.DataFrame:
    """Decisions for the rows of some hash partition: first in run order survives."""
    ranked = summaries.sort(ORDER_KEYS).with_columns(
        dup_of=pl.col("id").first().over("dup_hash"),
        dup_cluster_size=pl.len().over("dup_hash").cast(pl.UInt32),
        is_first=pl.int_range(pl.len()).over("dup_hash") == 0,
    )
    return ranked.select(
        SHARD,
        POSITION,
        _hash_text(pl.col("dup_hash")),
        "dup_cluster_size",
        pl.when(pl.col("dup_cluster_size") > 1).then("dup_of").alias("dup_of"),
        pl.when(~pl.col("is_first")).then(pl.lit("exact_duplicate")).alias(REASON),
    ).collect()
