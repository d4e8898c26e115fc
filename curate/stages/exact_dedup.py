"""Exact deduplication: rows whose (optionally normalised) text hashes alike are
duplicates; the first in run order (input files sorted by path, then row position)
survives and every later row names it in `dup_of`.

A row's decision needs only the rows before it, so a serial run decides each shard as
it reads it (`FirstSeen`) and reads the input once; a parallel run decides over every
shard's hashes at once (`decide`). Both give the same rows the same decisions. Only the
opt-in `dup_cluster_size` needs the rows after a row too: with it, every run is the
parallel kind's two passes."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl

from curate.row_names import as_text
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
    """Unicode lowercase mapping (so "Apple" and "apple" compare equal)."""
    whitespace: bool = False
    """Collapse runs of whitespace to one space and trim the ends."""


class ExactDedupConfig(StageConfig):
    stage: Literal["exact_dedup"] = "exact_dedup"
    normalize: ExactNormalization = ExactNormalization()
    """Normalisation before hashing; texts equal after it are duplicates. Default: none."""
    cluster_size: bool = False
    """Add `dup_cluster_size`, the rows sharing the row's hash in the whole input. It needs
    every row's hash before any row is written, so the input is read twice (about 1.2x
    the CPU of a run without it, docs/benchmarks.md)."""


class ExactDedup(DatasetStage):
    kind = "exact_dedup"
    summary = "Remove rows whose text (optionally normalised) equals an earlier row's; keeps the first."
    cpu_seconds_per_gb = 10.0  # about 2/3 of the 15 bench/workers.py measured: the worker-count estimate errs low
    Config = ExactDedupConfig
    config: ExactDedupConfig

    shared_columns = frozenset({"dup_cluster_size", "dup_of"})

    def added_columns(self) -> list[str]:
        return ["dup_hash", *(["dup_cluster_size"] if self.config.cluster_size else []), "dup_of"]

    def explain(self) -> Explanation:
        return Explanation({"exact_duplicate": [Criterion("dup_of")]}, twin_column="dup_of")

    def summarize(self, frame: pl.DataFrame) -> pl.DataFrame:
        text = normalize_texts(frame[self.columns.text], self.config.normalize)
        return pl.DataFrame({"dup_hash": stable_hash(text), "id": as_text(frame[self.columns.id])})

    def decider_in_order(self) -> FirstSeen | None:
        return None if self.config.cluster_size else FirstSeen()

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
        sizes = decisions.filter(pl.col("dup_cluster_size") > 1).group_by("dup_hash").agg(pl.first("dup_cluster_size"))
        if not self.config.cluster_size:
            decisions = decisions.drop("dup_cluster_size")
        return decisions, group_stats(sizes["dup_cluster_size"].to_numpy())


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
        pl.when(~pl.col("is_first")).then("dup_of").alias("dup_of"),
        pl.when(~pl.col("is_first")).then(pl.lit("exact_duplicate")).alias(REASON),
    ).collect()


def group_stats(sizes: np.ndarray) -> dict[str, Any]:
    """The report's statistics from the sizes of the groups of two or more rows."""
    values, groups = np.unique(sizes, return_counts=True)
    return {
        "duplicate_groups": int(sizes.size),
        "largest_group": int(sizes.max()) if sizes.size else 0,
        "group_size_histogram": {str(int(v)): int(n) for v, n in zip(values, groups)},
    }


class FirstSeen:
    """Exact-duplicate decisions made shard by shard in run order: a row is a duplicate
    when its hash was seen before it, and names the row that had it first.

    The hashes seen so far are a few sorted arrays of geometrically growing size (a
    log-structured merge): a shard's lookups are binary searches in each, and adding a
    shard's new hashes merges only arrays of similar size, so the whole run costs
    O(n log n) however many shards it has. Memory: about 24 bytes and an id per distinct
    text, as `decide` holds."""

    def __init__(self) -> None:
        self._levels: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted hashes, their first rows' numbers)
        self._ids = pl.Series("id", [], dtype=pl.String)  # the first rows' ids, by number
        self._rows = np.zeros(0, dtype=np.int64)  # rows sharing each first row's hash, by number

    def __call__(self, summary: pl.DataFrame) -> pl.DataFrame:
        """Decisions for the next shard's rows (its summary, in row order)."""
        hashes = summary.get_column("dup_hash")
        known = self._find(hashes.to_numpy())
        numbered = summary.with_columns(known=pl.Series(known)).with_columns(
            new=(pl.col("known") < 0) & pl.col("dup_hash").is_first_distinct()
        ).with_columns(
            number=pl.when("new").then(pl.col("new").cum_sum() - 1 + self._ids.len()),
        ).with_columns(
            first=pl.when(pl.col("known") >= 0).then("known").otherwise(pl.col("number").first().over("dup_hash")),
        )
        new = numbered.filter("new")
        self._ids.append(new.get_column("id"))
        self._add(new.get_column("dup_hash").to_numpy(), new.get_column("number").to_numpy())
        first = numbered.get_column("first").to_numpy()
        if self._rows.size < self._ids.len():  # doubling: appending costs O(1) a row
            self._rows = np.concatenate([self._rows, np.zeros(max(self._rows.size, self._ids.len() - self._rows.size), dtype=np.int64)])
        np.add.at(self._rows, first, 1)
        later = ~pl.col("new")
        return numbered.with_columns(survivor=self._ids.gather(first)).select(
            SHARD,
            POSITION,
            _hash_text(pl.col("dup_hash")),
            pl.when(later).then("survivor").alias("dup_of"),
            pl.when(later).then(pl.lit("exact_duplicate")).alias(REASON),
        )

    def stats(self) -> dict[str, Any]:
        return group_stats(self._rows[self._rows > 1])

    def _find(self, hashes: np.ndarray) -> np.ndarray:
        """Each hash's first row's number, -1 where not seen yet."""
        order = np.argsort(hashes)
        wanted = hashes[order]  # searched in order: 3x faster than in row order (cache hits)
        found = np.full(hashes.size, -1, dtype=np.int64)
        for keys, numbers in self._levels:
            at = np.searchsorted(keys, wanted).clip(max=keys.size - 1)
            hit = keys[at] == wanted
            found[order[hit]] = numbers[at[hit]]
        return found

    def _add(self, hashes: np.ndarray, numbers: np.ndarray) -> None:
        if not hashes.size:
            return
        order = np.argsort(hashes)
        self._levels.append((hashes[order], numbers[order]))
        while len(self._levels) > 1 and self._levels[-2][0].size <= 2 * self._levels[-1][0].size:
            (keys, numbers), (older_keys, older_numbers) = self._levels.pop(), self._levels.pop()
            merged = np.concatenate([older_keys, keys])
            order = np.argsort(merged, kind="stable")  # two sorted runs: a linear merge
            self._levels.append((merged[order], np.concatenate([older_numbers, numbers])[order]))
