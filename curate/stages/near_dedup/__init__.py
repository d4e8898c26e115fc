"""Near-duplicate removal with MinHash LSH.

Per shard (`summarize`, parallel): normalise, shingle, MinHash signature (vectorised,
datasketch-compatible, curate/stages/near_dedup/minhash.py) and LSH band keys. Whole dataset (`decide`,
its tasks in curate/stages/near_dedup/pairs.py):
candidate pairs from polars group-bys over each band's keys, verified against
`threshold` (estimated Jaccard from the signatures, or exact Jaccard of the shingle
sets), clusters as connected components, one survivor per cluster by the `keep`
policy. With `index:`, documents kept by earlier runs take part too (and always
survive); docs/stages/near_dedup.md describes it all.
"""

from __future__ import annotations

from typing import Any, Literal

import polars as pl
from pydantic import Field, field_validator, model_validator

from curate.errors import ConfigError
from curate.row_names import as_text
from curate.stages.base import (
    POSITION,
    REASON,
    SHARD,
    Criterion,
    DatasetStage,
    Explanation,
    StageConfig,
)
from curate.stages.keep_policy import ID_ORDER, KeepPolicy, id_order, keep_order, keep_values, parse_keep
from curate.stages.near_dedup.index import INDEX_PART_BITS
from curate.stages.near_dedup.pairs import (
    VerifiedRows,
    _band_pairs,
    block_start,
    connected_components,
    _copy_rows,
    _verify_pairs,
    position_of,
    shard_of,
    with_keys,
)
from curate.text import Normalization

REASON_NEAR_DUPLICATE = "near_duplicate"
SOURCE_COLUMN = "curate_source"
"""The runner's lineage column naming each row's input file; used when present."""
ANNOTATIONS = ["dup_cluster_id", "dup_cluster_size", "dup_of", "dup_source", "dup_similarity"]
INDEXED = "dup_in_index"
"""With `index:`, true where the survivor `dup_of` names is a document of the index, not a
row of this run: ids repeat across batches (each day's `data.parquet#0`), so the id alone
does not say which."""
DOCUMENTS_PER_BAND_TASK = 1 << 19
"""A task finding one band's candidate pairs reads the bucket keys of at most about this
many documents (a hash partition of the band's buckets; a bucket is never split, so the
pairs are the same), so its memory does not grow with the data (0.14 GiB for 1M documents
in one task, 0.05 GiB for a quarter of them: docs/benchmarks.md)."""
SHINGLES_PER_BLOCK = 1 << 23
"""Verification reads the shingles of at most two blocks of documents per task; a block
holds about this many (32 MiB as uint32), so a task's memory does not grow with the data.
Smaller blocks cost more reads of the summaries (docs/benchmarks.md: 2**23, 2**24, 2**25)."""


class NearDedupConfig(StageConfig):
    path_keys = ("index",)
    stage: Literal["near_dedup"] = "near_dedup"
    threshold: float = Field(0.8, gt=0.0, le=1.0)
    """Jaccard similarity of two texts' shingle sets at or above which they are duplicates."""
    keep: KeepPolicy = "first"
    """Survivor of each cluster: first (run order), longest (most characters),
    highest:<column> or lowest:<column> (nulls and NaN lose); ties go to the smaller id (as
    numbers for a numeric id column)."""
    shingle: Literal["word", "char"] = "word"
    """Shingles are word n-grams (words: runs of letters, digits and _) or character n-grams."""
    ngram: int = Field(5, ge=1, le=64)
    """Words (or characters) per shingle; a shorter text is one shingle."""
    normalize: Normalization = Normalization()
    """Normalisation before shingling."""
    num_perm: int = Field(128, ge=2, le=1024)
    """MinHash permutations (signature length)."""
    seed: int = Field(1, ge=0, lt=2**32)
    """Seed of the permutations (datasketch's `seed`)."""
    hash: Literal["poly64", "sha1"] = "poly64"
    """Shingle hash: poly64 (vectorised, fast) or sha1 (datasketch's default: signatures
    equal datasketch's bit for bit; ~3x slower)."""
    scheme: Literal["affine32", "legacy"] = "affine32"
    """MinHash permutation scheme: affine32 (datasketch >= 2.0) or legacy (datasketch < 2)."""
    sketch: Literal["minhash", "one_permutation"] = "minhash"
    """Signatures: minhash (num_perm independent permutations, datasketch's) or
    one_permutation (one permutation cut into num_perm bins, empty bins densified:
    faster signatures, the same quality on the planted set; needs scheme affine32)."""
    bands: int | None = Field(None, ge=1)
    """LSH bands; with rows, overrides the choice from threshold and weights."""
    rows: int | None = Field(None, ge=1)
    """Signature values per LSH band."""
    weights: tuple[float, float] = (0.1, 0.9)
    """Weights of false positives and false negatives when bands x rows are chosen from
    threshold (datasketch's MinHashLSH weights; its default is [0.5, 0.5])."""
    verify: Literal["shingles", "signature"] = "shingles"
    """How a candidate pair's similarity is measured: shingles (exact Jaccard of the
    shingle-hash sets, stored per row) or signature (MinHash estimate; less disk)."""
    index: str | None = None
    """Folder of the incremental index (created if missing): documents kept by earlier
    runs, which new rows are deduplicated against. Relative to the pipeline file."""
    source_column: str | None = None
    """Column naming each row's source file, reported in dup_source and kept in the index
    (default: the runner's curate_source)."""

    @field_validator("weights")
    @classmethod
    def _weights(cls, value: tuple[float, float]) -> tuple[float, float]:
        if min(value) < 0 or abs(sum(value) - 1.0) > 1e-9:
            raise ValueError("must be two non-negative numbers summing to 1, e.g. [0.5, 0.5]")
        return value

    @model_validator(mode="after")
    def _bands(self) -> NearDedupConfig:
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither (then they follow threshold)")
        if self.bands is not None and self.rows is not None and self.bands * self.rows > self.num_perm:
            raise ValueError(f"bands x rows = {self.bands * self.rows} exceeds num_perm = {self.num_perm}")
        if self.sketch == "one_permutation" and self.scheme != "affine32":
            raise ValueError("sketch: one_permutation needs scheme: affine32")
        return self


class NearDedup(DatasetStage):
    kind = "near_dedup"
    summary = "Remove near-duplicate texts (MinHash LSH over shingles, Jaccard >= threshold); one survivor per cluster."
    cpu_seconds_per_gb = 35.0  # about 2/3 of the 51 bench/workers.py measured: the worker-count estimate errs low
    Config = NearDedupConfig
    config: NearDedupConfig

    # -- settings

    @property
    def lsh(self) -> tuple[int, int]:
        """(bands, rows) of the LSH."""
        cfg = self.config
        if cfg.bands is not None and cfg.rows is not None:
            return cfg.bands, cfg.rows
        cached = getattr(self, "_lsh", None)
        if cached is None:
            from curate.stages.near_dedup.minhash import optimal_bands

            cached = self._lsh = optimal_bands(cfg.threshold, cfg.num_perm, cfg.weights)
        return cached

    def _policy(self) -> tuple[str, str | None]:
        return parse_keep(self.config.keep)

    def _source(self, columns: list[str]) -> str | None:
        if self.config.source_column:
            return self.config.source_column
        return SOURCE_COLUMN if SOURCE_COLUMN in columns else None

    def added_columns(self) -> list[str]:
        return [*ANNOTATIONS, INDEXED] if self.config.index is not None else list(ANNOTATIONS)

    def explain(self) -> Explanation:
        return Explanation({REASON_NEAR_DUPLICATE: [Criterion("dup_similarity", ">=", self.config.threshold)]},
                           twin_column="dup_of", similarity_column="dup_similarity",
                           twin_indexed_column=INDEXED if self.config.index is not None else None)

    def required_columns(self) -> list[str]:
        needed = [self.columns.text]
        column = self._policy()[1]
        if column:
            needed.append(column)
        if self.config.source_column:
            needed.append(self.config.source_column)
        return needed

    shared_columns = frozenset({"dup_cluster_size", "dup_of"})

    def check(self, schema: pl.Schema) -> None:
        super().check(schema)
        # dup_source and the index hold one name a row: a list or struct has no one name
        source = self.config.source_column
        if source in schema and schema[source].is_nested():
            raise ConfigError(
                f"near_dedup ({self.name}): source_column {source!r} is a column of {schema[source]}, not one value a row; "
                "name a column that holds each row's source file, or leave source_column out to use curate_source"
            )

    def band_columns(self) -> list[str]:
        return [f"band_{i:03d}" for i in range(self.lsh[0])]

    def index_params(self) -> dict[str, Any]:
        """Settings the stored signatures and band keys depend on."""
        cfg = self.config
        bands, rows = self.lsh
        return {
            "shingle": cfg.shingle,
            "ngram": cfg.ngram,
            "normalize": cfg.normalize.model_dump(),
            "num_perm": cfg.num_perm,
            "seed": cfg.seed,
            "hash": cfg.hash,
            "scheme": cfg.scheme,
            "bands": bands,
            "rows": rows,
            "verify": cfg.verify,
            # recorded only when not the default, so indexes built before the option open
            **({"sketch": cfg.sketch} if cfg.sketch != "minhash" else {}),
        }

    # -- per shard

    def summarize(self, frame: pl.DataFrame) -> pl.DataFrame:
        from curate.stages.near_dedup.minhash import (
            MinHasher,
            band_keys,
            document_signatures,
        )

        cfg = self.config
        bands, rows = self.lsh
        options = cfg.normalize
        if cfg.shingle == "word":
            # whitespace is never part of a word: collapsing it changes no word shingle
            options = options.model_copy(update={"whitespace": False})
        hasher = MinHasher(cfg.num_perm, cfg.seed, cfg.scheme, cfg.sketch)
        sigs, counts, shingles = document_signatures(
            frame[self.columns.text], hasher, cfg.shingle, cfg.ngram, cfg.hash, keep_shingles=cfg.verify == "shingles", normalization=options
        )
        keys = band_keys(sigs, bands, rows)
        empty = pl.Series(counts == 0)
        columns: dict[str, pl.Series] = {"id": as_text(frame[self.columns.id]).alias("id")}
        source = self._source(frame.columns)
        columns["source"] = as_text(frame[source]).alias("source") if source else pl.Series("source", [None] * frame.height, dtype=pl.String)
        if "dup_of" in frame.columns:  # an earlier exact_dedup or near_dedup flagged rows and kept them (annotate mode)
            columns["flagged_as"] = frame["dup_of"].cast(pl.String).alias("flagged_as")
        policy, column = self._policy()
        if policy == "longest":
            columns["_len"] = frame[self.columns.text].fill_null("").str.len_chars().cast(pl.UInt32).alias("_len")
        elif column:
            columns["_keep"] = keep_values(frame[column])
        if policy != "first":
            columns[ID_ORDER] = id_order(frame[self.columns.id])
        out = pl.DataFrame(columns).with_columns(
            pl.Series("n_shingles", counts, dtype=pl.UInt32),
            *[
                pl.when(empty).then(None).otherwise(pl.Series(name, keys[:, i], dtype=pl.UInt64)).alias(name)
                for i, name in enumerate(self.band_columns())
            ],
        )
        # what verification reads: the shingle hashes, or the signature
        return out.with_columns(shingles.alias("shingles") if shingles is not None else pl.Series("sig", sigs, dtype=pl.Array(pl.UInt32, cfg.num_perm)))

    # -- whole dataset

    def decide(self, summaries: pl.LazyFrame) -> tuple[pl.LazyFrame, dict[str, Any]]:
        current = with_keys(summaries)
        index = self._open_index()
        # this run directory's own part is left out whole: this run replaces it
        earlier = index.scan(self.run_directory) if index is not None else None
        if earlier is not None:
            # a document of another part with the id and the band keys of a row of this run
            # is that row (the batch re-run into another directory, or a part written before
            # parts had owners): the row stands for it. Ids alone are not enough:
            # `<file>#<row>` repeats when each day's batch is `data.parquet`.
            same = ["id", *self.band_columns()]
            earlier = earlier.join(current.select(same), on=same, how="anti")
        columns = ["_key", "id", "source", *self.band_columns()]
        everything = current.select(columns) if earlier is None else pl.concat([earlier.select(columns), current.select(columns)])
        rows = VerifiedRows(summaries, earlier, self._verified_by(), dict(enumerate(self.summary_files)) if self.summary_files else None)

        pairs = self._candidate_pairs(everything)
        rows = self._gathered(pairs, rows)
        edges, checked = self._verified_edges(pairs, rows)
        members = self._survivors(self._members(connected_components(edges, self.tasks, self.scratch, "clusters"), everything, current))
        # similarity of each member to its survivor: an edge's when they are adjacent
        to_survivor = members.filter(pl.col("_key") != pl.col("survivor")).select(pl.col("_key").alias("a"), pl.col("survivor").alias("b"))
        known = pl.concat([edges.select("a", "b", "similarity"), edges.select(pl.col("b").alias("a"), pl.col("a").alias("b"), "similarity")])
        to_survivor = to_survivor.join(known, on=["a", "b"], how="left")
        missing = to_survivor.filter(pl.col("similarity").is_null()).drop("similarity")
        if missing.height:
            to_survivor = pl.concat([to_survivor.drop_nulls("similarity"), missing.with_columns(self._similarities(missing, rows))])
        members = members.join(to_survivor.select(pl.col("a").alias("_key"), "similarity"), on="_key", how="left").with_columns(
            pl.col("similarity").fill_null(1.0)
        )
        clustered = members.filter(pl.col("_key") >= 0).select(
            "_key",
            pl.col("component").rank("dense").cast(pl.Int64).sub(1).alias("dup_cluster_id"),
            pl.col("size").cast(pl.UInt32).alias("dup_cluster_size"),
            pl.col("survivor_id").alias("dup_of"),
            pl.col("survivor_source").alias("dup_source"),
            pl.col("similarity").cast(pl.Float32).alias("dup_similarity"),
            *([(pl.col("survivor") < 0).alias(INDEXED)] if index is not None else []),
            pl.when(pl.col("_key") != pl.col("survivor")).then(pl.lit(REASON_NEAR_DUPLICATE)).alias(REASON),
        )
        # one row per document, lazy: the runner collects it a shard at a time, so the
        # main process holds only the clustered rows (few) beyond one shard's decisions.
        # A shard's rows are positions 0..n-1, made from its row count: a plan over the
        # summary files read every file again for each shard (3,000 files of 3 rows: 705 s).
        shard_rows = current.group_by(SHARD).agg(pl.len()).collect()
        annotated = pl.concat([clustered, self._flagged_before(current, clustered)], how="diagonal")
        decisions = (
            shard_rows.lazy()
            .select(SHARD, pl.int_ranges(pl.col("len"), dtype=pl.Int64).alias(POSITION))
            .explode(POSITION)
            .join(
                annotated.lazy().select(shard_of(pl.col("_key")).alias(SHARD), position_of(pl.col("_key")).alias(POSITION), *self.added_columns(), REASON),
                on=[SHARD, POSITION],
                how="left",
            )
            .with_columns(pl.col("dup_cluster_size").fill_null(1))
        )
        removed = clustered.filter(pl.col(REASON).is_not_null())
        stats = self._stats(current, removed, pairs.height, checked, edges.height, members)
        if index is not None and not self.trial_run:
            kept = current.join(removed.lazy().select("_key"), on="_key", how="anti").sort("_key")
            stored = ["id", "source", *self.band_columns(), self._verified_by()]
            stats["index_added"] = index.add(kept.select(stored), self.run_directory, self._fingerprint(kept))
        if index is not None:
            stats["index_documents"] = index.documents
        return decisions, stats

    @staticmethod
    def _flagged_before(current: pl.LazyFrame, clustered: pl.DataFrame) -> pl.DataFrame:
        """(_key, dup_cluster_size) of the rows an earlier stage of the family flagged and
        kept (`flagged_as` names another row) that no cluster here holds (an exact copy of
        "!!!" has no shingle): the size of that stage's group, the row and every other
        naming the same one. The runner keeps the earlier `dup_of` on such a row
        (curate/run/segments.py); beside a size of 1 it would say "a duplicate, in a group of one"."""
        if "flagged_as" not in current.collect_schema().names():
            return pl.DataFrame(schema={"_key": pl.Int64, "dup_cluster_size": pl.UInt32})
        flagged = current.filter(pl.col("flagged_as").is_not_null() & (pl.col("flagged_as") != pl.col("id")))
        named = flagged.select(pl.col("flagged_as").alias("id")).unique()
        members = pl.concat([flagged.select(pl.col("flagged_as").alias("group")), current.join(named, on="id", how="semi").select(pl.col("id").alias("group"))])
        sizes = members.group_by("group").agg(pl.len().cast(pl.UInt32).alias("dup_cluster_size"))
        return (
            flagged.join(clustered.lazy().select("_key"), on="_key", how="anti")
            .join(sizes, left_on="flagged_as", right_on="group")
            .select("_key", "dup_cluster_size")
            .collect()
        )

    def similar_pairs(self, summaries: pl.LazyFrame) -> pl.DataFrame:
        """Every verified pair (id_a, id_b, similarity) of the summaries, without index or
        clustering: what the quality benchmark compares with the true pairs."""
        everything = with_keys(summaries)
        pairs = self._candidate_pairs(everything).drop("star")
        edges = pairs.with_columns(self._similarities(pairs, VerifiedRows(summaries, None, self._verified_by()))).filter(
            pl.col("similarity") >= self.config.threshold
        )
        ids = everything.select("_key", "id").join(pl.concat([edges["a"], edges["b"]]).unique().to_frame("_key").lazy(), on="_key", how="semi").collect()
        return (
            edges.join(ids.rename({"_key": "a", "id": "id_a"}), on="a")
            .join(ids.rename({"_key": "b", "id": "id_b"}), on="b")
            .select("id_a", "id_b", "similarity")
        )

    def _verified_by(self) -> str:
        """The summary column verification reads."""
        return "shingles" if self.config.verify == "shingles" else "sig"

    def check_settings(self) -> None:
        super().check_settings()
        self._open_index()  # a damaged index or other settings stop the run before any work

    def _open_index(self) -> Any:
        if self.config.index is None:
            return None
        from curate.stages.near_dedup.index import NearDedupIndex

        return NearDedupIndex(self.config.index, self.index_params())

    def _candidate_pairs(self, everything: pl.LazyFrame) -> pl.DataFrame:
        """Pairs (a < b, by `_key`) sharing a bucket in some band, each once, `star` when
        b was paired with its bucket's first member a in some band; pairs of two indexed
        documents are left out (both were accepted already). Bands are independent, and
        so are a band's buckets: one task per band and hash partition of its buckets (in
        parallel inside a run)."""
        documents = everything.select(pl.len()).collect().item()
        parts = -(-documents // DOCUMENTS_PER_BAND_TASK)
        items = []
        for band in self.band_columns():
            keys = everything.select("_key", pl.col(band).alias("bucket"))
            items += [keys.filter(pl.col("bucket") % parts == part) for part in range(parts)] if parts > 1 else [keys]
        found = [pl.DataFrame(schema={"a": pl.Int64, "b": pl.Int64, "star": pl.Boolean})]
        found += self.tasks(_band_pairs, items)
        return (
            pl.concat(found)
            .filter(pl.col("b") >= 0)
            .group_by("a", "b")
            .agg(pl.col("star").any())
            .sort("a", "b")
        )

    def _gathered(self, pairs: pl.DataFrame, rows: VerifiedRows) -> VerifiedRows:
        """Where verification reads this run's candidate documents: with a scratch folder
        (inside a run), one task per shard copies its candidates' rows of the summary
        there, so each summary file is read once instead of once per verification task
        whose blocks include it (at 1M documents those reads were 24 of verification's 26
        CPU-s, and their count grows with the square of the candidates). Without one,
        the summaries themselves."""
        if self.scratch is None or pairs.height == 0:
            return rows
        nodes = pl.concat([pairs["a"], pairs["b"]]).unique().to_frame("_key").filter(pl.col("_key") >= 0)
        copied = ["_shard", "_pos", "n_shingles", rows.column]
        parts = sorted(nodes.with_columns(shard=shard_of(pl.col("_key"))).partition_by("shard", as_dict=True, include_key=False).items())
        files = {shard: self.scratch / f"candidates-{shard:05d}.parquet" for (shard,), _ in parts}
        items = [(with_keys(rows.shard(shard)).join(part.lazy(), on="_key", how="semi").select(copied), files[shard]) for (shard,), part in parts]
        self.tasks(_copy_rows, items)
        return VerifiedRows(pl.scan_parquet(list(files.values()), glob=False), rows.earlier, rows.column, files)

    def _verified_edges(self, pairs: pl.DataFrame, rows: VerifiedRows) -> tuple[pl.DataFrame, int]:
        """The candidate pairs at or above the threshold, with their similarity, and how
        many pairs were checked. Pairs with a bucket's first member are checked first;
        of the others only those whose ends are not yet in one cluster, which gives the
        same clusters as checking every pair (large clusters of copies stay linear)."""
        threshold = self.config.threshold
        # Each round of verification tasks reads the candidates' summaries again: when
        # the other pairs are no more than the first ones, measuring them in the same
        # round costs less than a second round (same edges and counts either way).
        one_round = 2 * int(pairs["star"].sum()) >= pairs.height
        measured = pairs if one_round else pairs.filter(pl.col("star"))
        measured = measured.select("a", "b", "star").with_columns(self._similarities(measured, rows))
        first = measured.filter(pl.col("star")).drop("star")
        edges = first.filter(pl.col("similarity") >= threshold)
        rest = (measured if one_round else pairs).filter(~pl.col("star")).drop("star")
        if rest.height and edges.height:
            labels = connected_components(edges, self.tasks, self.scratch, "first")
            rest = (
                rest.lazy()
                .join(labels.rename({"_key": "a", "component": "ca"}), on="a", how="left")
                .join(labels.rename({"_key": "b", "component": "cb"}), on="b", how="left")
                .filter(pl.col("ca").is_null() | pl.col("cb").is_null() | (pl.col("ca") != pl.col("cb")))
                .drop("ca", "cb")
                .collect()
            )
        if not one_round:
            rest = rest.with_columns(self._similarities(rest, rows))
        edges = pl.concat([edges, rest.filter(pl.col("similarity") >= threshold)])
        return edges, first.height + rest.height

    def _similarities(self, pairs: pl.DataFrame, rows: VerifiedRows) -> pl.Series:
        """Similarity of each pair (a, b), computed as tasks so that no process but a task's
        holds shingles: the documents are cut into blocks (runs of whole shards, the index
        apart) of about SHINGLES_PER_BLOCK shingles of the documents in `pairs`, and each
        task verifies the pairs between two blocks (or within one), reading only those
        blocks' files. Memory per task is bounded; the files are read about once per block."""
        if pairs.height == 0:
            return pl.Series("similarity", [], dtype=pl.Float64)
        import numpy as np

        blocks = self._blocks(pl.concat([pairs["a"], pairs["b"]]).unique().to_frame("_key"), rows)
        starts = np.array([block_start(first) for first, _ in blocks], np.int64)
        numbered = pairs.select("a", "b").with_row_index("row").with_columns(
            pl.Series("block_a", np.searchsorted(starts, pairs["a"].to_numpy(), side="right") - 1),
            pl.Series("block_b", np.searchsorted(starts, pairs["b"].to_numpy(), side="right") - 1),
        )
        items = []
        for (block_a, block_b), part in sorted(numbered.partition_by("block_a", "block_b", as_dict=True).items()):
            frames = rows.block(*blocks[block_a])
            if block_b != block_a:
                frames += rows.block(*blocks[block_b])
            items.append((part.select("row", "a", "b"), frames, self.config.verify))
        found = pl.concat(self.tasks(_verify_pairs, items)).sort("row")
        return found["similarity"]

    def _blocks(self, nodes: pl.DataFrame, rows: VerifiedRows) -> list[tuple[int, int]]:
        """Blocks of the documents in `nodes` (_key), in key order, as (first group, last
        group) where a group is one shard of this run (its number, `_key >> 32`) or one
        part of the index (`_key >> INDEX_PART_BITS`, negative); a block never mixes them.
        Consecutive groups are cut into about total / SHINGLES_PER_BLOCK blocks of nearly
        equal shingles of `nodes` (at least two for shards; reading a shard's summary again
        is cheap: about 0.15 CPU-s per 65 MB file, docs/benchmarks.md)."""
        group = pl.when(pl.col("_key") < 0).then(pl.col("_key") // (1 << INDEX_PART_BITS)).otherwise(pl.col("_key") // (1 << 32)).alias("group")
        if self.config.verify == "shingles":
            counted = with_keys(rows.summaries).select("_key", "n_shingles").join(nodes.lazy(), on="_key", how="semi").collect()
            # the index keeps no shingle counts: its documents count as this run's average
            weight = nodes.join(counted, on="_key", how="left").with_columns(pl.col("n_shingles").fill_null(pl.col("n_shingles").mean()).fill_null(self.config.num_perm))
        else:
            weight = nodes.with_columns(pl.lit(self.config.num_perm).alias("n_shingles"))
        shingles = pl.col("n_shingles")
        # index parts and shards are blocked apart; shards in at least two blocks, as an
        # executor runs a lone task in the main process
        count = pl.max_horizontal((shingles.sum() / SHINGLES_PER_BLOCK).ceil(), pl.when(pl.col("shard")).then(2).otherwise(1))
        middle = shingles.cum_sum() - shingles / 2  # where the group sits in its kind's total
        blocked = (
            weight.group_by(group)
            .agg(shingles.cast(pl.Int64).sum())
            .sort("group")
            .with_columns((pl.col("group") >= 0).alias("shard"))
            .with_columns((middle * count / shingles.sum()).floor().cast(pl.Int64).over("shard").alias("block"))
            .group_by("shard", "block")
            .agg(pl.col("group").min().alias("first"), pl.col("group").max().alias("last"))
            .sort("first")
        )
        return list(zip(blocked["first"].to_list(), blocked["last"].to_list()))

    def _members(self, components: pl.LazyFrame, everything: pl.LazyFrame, current: pl.LazyFrame) -> pl.DataFrame:
        """Every clustered document: _key, component (its smallest _key), size, id, source
        and what the survivor policy reads."""
        policy, _ = self._policy()
        extra = {"longest": ["_len", ID_ORDER], "first": []}.get(policy, ["_keep", ID_ORDER])
        info = everything.select("_key", "id", "source").join(components, on="_key", how="inner")
        if extra:
            info = info.join(current.select("_key", *extra), on="_key", how="left")
        return info.collect().with_columns(pl.len().over("component").alias("size"))

    def _survivors(self, members: pl.DataFrame) -> pl.DataFrame:
        """Adds survivor (its _key), survivor_id and survivor_source to each member. A
        cluster with indexed documents keeps its earliest indexed one (its component,
        the smallest _key); otherwise the policy decides, ties by id, then run order."""
        policy, _ = self._policy()
        order, descending = keep_order(policy)
        chosen = (
            members.sort(["component", *order], descending=[False, *descending], nulls_last=True)
            .group_by("component", maintain_order=True)
            .agg(pl.col("_key").first().alias("survivor"))
            .with_columns(pl.when(pl.col("component") < 0).then("component").otherwise("survivor").alias("survivor"))
        )
        named = members.select(pl.col("_key").alias("survivor"), pl.col("id").alias("survivor_id"), pl.col("source").alias("survivor_source"))
        return members.join(chosen, on="component").join(named, on="survivor")

    def _stats(self, current: pl.LazyFrame, removed: pl.DataFrame, candidates: int, checked: int, verified: int, members: pl.DataFrame) -> dict[str, Any]:
        bands, rows = self.lsh
        documents, without_shingles = current.select(pl.len(), (pl.col("n_shingles") == 0).sum()).collect().row(0)
        clusters = members.filter(pl.col("_key") >= 0).group_by("component").agg(pl.col("size").first(), (pl.col("survivor") < 0).first().alias("indexed"))
        histogram = clusters.group_by("size").agg(pl.len().alias("n")).sort("size")
        return {
            "bands": bands,
            "rows": rows,
            "threshold": self.config.threshold,
            "documents": documents,
            "documents_without_shingles": int(without_shingles),
            "candidate_pairs": candidates,
            "pairs_checked": checked,
            "verified_pairs": verified,
            "clusters": clusters.height,
            "largest_cluster": int(clusters["size"].max() or 0),
            "cluster_size_histogram": {str(k): int(v) for k, v in histogram.iter_rows()},
            "removed": removed.height,
            "removed_matching_index": int(removed.join(members.filter(pl.col("survivor") < 0).select("_key"), on="_key", how="semi").height),
        }

    def _fingerprint(self, kept: pl.LazyFrame) -> str:
        """Names this run's part file: its rows' count, ids and band keys
        (order-independent), so a part replaced by other rows is written beside the one it
        replaces (index.json switches from one to the other), and the same rows again
        overwrite the same number of rows."""
        from curate.text import stable_hash

        rows = kept.select(pl.concat_str([pl.col("id"), *(pl.col(b).cast(pl.String) for b in self.band_columns())], separator="|")).collect().to_series()
        total = int(stable_hash(rows).to_numpy().sum(dtype="uint64")) if len(rows) else 0
        return f"{len(rows):x}{total:016x}"
