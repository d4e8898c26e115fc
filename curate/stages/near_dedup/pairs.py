"""near_dedup's whole-dataset work, as functions a task runs or the stage calls: the
candidate pairs of one band (`_band_pairs`), where verification reads documents
(`VerifiedRows`, `_copy_rows`), pair similarity (`_verify_pairs`, `pair_similarity`),
and clusters (`connected_components`, in rounds of `_label_round` tasks)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from curate.stages.base import POSITION, SHARD
from curate.stages.near_dedup.index import INDEX_PART_BITS
from curate.tasks import Handed, Tasks, hand_over, scan_handed

WINDOW = 8
"""In an LSH bucket (sorted in run order) each member is paired with the first and the
next WINDOW members: every pair in buckets of up to WINDOW + 2, linear beyond."""

@dataclass(frozen=True)
class VerifiedRows:
    """Where verification reads each document's shingles (or signature): this run's
    summaries and the index."""

    summaries: pl.LazyFrame
    earlier: pl.LazyFrame | None
    column: str
    files: dict[int, Path] | None = None
    """The file of each shard that `summaries` holds rows of (inside a run): a shard is
    read from its own file, not by a filter over all of them, which opens every file."""

    def shard(self, shard: int) -> pl.LazyFrame | None:
        """The summaries of one shard; None when `files` has no file of it."""
        if self.files is None:
            return self.summaries.filter(pl.col(SHARD) == shard)
        path = self.files.get(shard)
        return pl.scan_parquet(path, glob=False) if path is not None else None

    def block(self, first: int, last: int) -> list[pl.LazyFrame]:
        """`_key` and the verified column of the shards first..last (one lazy frame per
        shard, read one after the other: a task then holds one file's column at a time),
        or of the index parts first..last (negative)."""
        if first < 0:
            assert self.earlier is not None
            return [self.earlier.filter(pl.col("_key").is_between(block_start(first), block_start(last + 1) - 1)).select("_key", self.column)]
        shards = (self.shard(shard) for shard in range(first, last + 1))
        return [with_keys(rows).select("_key", self.column) for rows in shards if rows is not None]


def block_start(group: int) -> int:
    """The smallest `_key` of a verification group: a shard (>= 0) or an index part (< 0)."""
    return group << (32 if group >= 0 else INDEX_PART_BITS)


def _copy_rows(item: tuple[pl.LazyFrame, Path]) -> None:
    """One gathering task: some rows of one summary file, written to the scratch folder."""
    rows, path = item
    hand_over(rows.collect(), path)


def _verify_pairs(item: tuple[pl.DataFrame, list[pl.LazyFrame], str]) -> pl.DataFrame:
    """One verification task: the similarity of its pairs (row, a, b), reading the
    shingles (or signatures) of just their documents from its blocks."""
    pairs, parts, verify = item
    nodes = pl.concat([pairs["a"], pairs["b"]]).unique().to_frame("_key").lazy()
    table = pl.concat([part.join(nodes, on="_key", how="semi").collect() for part in parts]).sort("_key")
    return pairs.select("row").with_columns(pair_similarity(pairs, table, verify))


def pair_similarity(pairs: pl.DataFrame, table: pl.DataFrame, verify: str) -> pl.Series:
    """Jaccard similarity of each pair (a, b) of `table`'s documents (_key and shingles or
    sig, sorted by _key): the exact Jaccard of the shingle sets (verify: shingles) or the
    share of equal signature values (verify: signature)."""
    import numpy as np

    if pairs.height == 0:
        return pl.Series("similarity", [], dtype=pl.Float64)
    keys = table["_key"].to_numpy()
    ia = np.searchsorted(keys, pairs["a"].to_numpy())
    ib = np.searchsorted(keys, pairs["b"].to_numpy())
    out = np.empty(len(ia), np.float64)
    if verify == "shingles":
        shingles = table["shingles"]
        step = 1 << 14  # bounds the gathered lists
        for lo in range(0, len(ia), step):
            sa, sb = shingles.gather(ia[lo : lo + step]), shingles.gather(ib[lo : lo + step])
            inter = sa.list.set_intersection(sb).list.len().to_numpy()
            union = sa.list.set_union(sb).list.len().to_numpy()
            out[lo : lo + step] = inter / np.maximum(union, 1)
        return pl.Series("similarity", out)
    sigs = table["sig"].to_numpy()
    step = 1 << 16
    for lo in range(0, len(ia), step):
        hi = lo + step
        out[lo:hi] = np.count_nonzero(sigs[ia[lo:hi]] == sigs[ib[lo:hi]], axis=1) / sigs.shape[1]
    return pl.Series("similarity", out)


def with_keys(summaries: pl.LazyFrame) -> pl.LazyFrame:
    """Adds `_key = (_shard << 32) + _pos`: one Int64 per row, in run order."""
    return summaries.with_columns(((pl.col(SHARD).cast(pl.Int64) * (1 << 32)) + pl.col(POSITION).cast(pl.Int64)).alias("_key"))


def shard_of(key: pl.Expr) -> pl.Expr:
    """The `_shard` of a `_key` of this run (`with_keys`)."""
    return (key // (1 << 32)).cast(pl.Int32)


def position_of(key: pl.Expr) -> pl.Expr:
    """The `_pos` of a `_key` of this run (`with_keys`)."""
    return key % (1 << 32)


EDGES_PER_COMPONENT_TASK = 1 << 22
"""A connected-components task holds the edges of one hash partition of the nodes (about
this many edges, both directions, 32 bytes each: 128 MiB) and their neighbours' labels."""


def connected_components(edges: pl.DataFrame, tasks: Tasks, scratch: Path | None, name: str) -> pl.LazyFrame:
    """Connected components of the graph `edges` (columns a, b): each node's component is
    its smallest node (`_key`, `component`). Min-label propagation with pointer jumping,
    run as rounds of tasks over hash partitions of the nodes (at least two, so that the
    rounds run on the workers), each holding its nodes' edges, as large-scale connected
    components runs on Spark or Ray; rounds grow with the log of the component diameter.
    Within a run the edges and each round's labels are files in `scratch` (named
    `name`-...), and the main process holds only their names; the result reads the last
    round's files. The components do not depend on the partitions: the same for any
    worker count."""
    if edges.height == 0:
        return pl.LazyFrame(schema={"_key": pl.Int64, "component": pl.Int64})
    count = max(2, -(-2 * edges.height // EDGES_PER_COMPONENT_TASK))
    both = pl.concat([edges.select(pl.col("a").alias("src"), pl.col("b").alias("dst")), edges.select(pl.col("b").alias("src"), pl.col("a").alias("dst"))])
    split = both.with_columns((pl.col("src") % count).alias("part")).partition_by("part", as_dict=True, include_key=False)

    def path(what: str, part: int) -> Path | None:
        return scratch / f"{name}-{what}-{part:04d}.parquet" if scratch is not None else None

    parts = [hand_over(split.get((part,), both.clear()), path("edges", part)) for part in range(count)]
    labels: list[Handed] = []
    rounds = 0
    while True:
        items = [(parts[part], labels, part, path(f"labels{rounds:03d}", part)) for part in range(count)]
        results = tasks(_label_round, items)
        labels = [handed for handed, _ in results]
        rounds += 1
        if not any(changed for _, changed in results):
            break
    return scan_handed(labels).select(pl.col("node").alias("_key"), pl.col("label").alias("component"))


def _label_round(item: tuple[Handed, list[Handed], int, Path | None]) -> tuple[Handed, bool]:
    """One round of min-label propagation for one partition of the nodes (its edges src ->
    dst, both directions): each node's label becomes the smallest of its own, its
    neighbours' and its label's label (pointer jumping), from the previous round's labels
    of every partition (none: the first round starts from the node and its neighbours).
    Returns the partition's new labels (node, label) and whether any changed."""
    edges_handed, previous, part, path = item
    edges = scan_handed([edges_handed]).collect()
    if not previous:
        labels = edges.group_by("src").agg(pl.col("dst").min().alias("n")).select(pl.col("src").alias("node"), pl.min_horizontal("src", "n").alias("label"))
        return hand_over(labels, path), True
    mine = scan_handed([previous[part]]).collect()
    known = scan_handed(previous)
    neighbours = known.join(edges.select(pl.col("dst").alias("node")).unique().lazy(), on="node", how="semi").collect()
    nearest = edges.join(neighbours, left_on="dst", right_on="node").group_by("src").agg(pl.col("label").min().alias("n"))
    step = mine.join(nearest, left_on="node", right_on="src", how="left").select("node", pl.min_horizontal("label", "n").alias("label"))
    above = known.join(step.select(pl.col("label").alias("node")).unique().lazy(), on="node", how="semi").collect()
    step = step.join(above.select(pl.col("node").alias("label"), pl.col("label").alias("up")), on="label", how="left").select(
        "node", pl.min_horizontal("label", "up").alias("label")
    )
    changed = step.join(mine, on="node", suffix="_old").filter(pl.col("label") != pl.col("label_old")).height > 0
    return hand_over(step, path), changed


def _band_pairs(band: pl.LazyFrame) -> pl.DataFrame:
    """Candidate pairs of one band (`_key`, `bucket`): polars keeps the buckets that occur
    more than once, sorted; numpy pairs each member with its bucket's first and with the
    next WINDOW members."""
    import numpy as np

    shared = band.drop_nulls("bucket").filter(pl.col("bucket").is_duplicated()).sort("bucket", "_key").collect()
    bucket = shared["bucket"].to_numpy()
    key = shared["_key"].to_numpy()
    opens = np.ones(len(bucket), bool)
    opens[1:] = bucket[1:] != bucket[:-1]
    first = key[opens][np.cumsum(opens) - 1]
    a, b = [first[~opens]], [key[~opens]]
    for d in range(2, WINDOW + 1):  # d = 1 from the first is a star pair already
        same = bucket[d:] == bucket[:-d]
        a.append(key[:-d][same])
        b.append(key[d:][same])
    same = (bucket[1:] == bucket[:-1]) & ~opens[:-1]
    a.append(key[:-1][same])
    b.append(key[1:][same])
    star = np.zeros(sum(len(x) for x in a), bool)
    star[: len(a[0])] = True
    return pl.DataFrame({"a": np.concatenate(a).astype(np.int64), "b": np.concatenate(b).astype(np.int64), "star": star})
