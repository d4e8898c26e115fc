"""Line deduplication: lines (or paragraphs) that occur in many documents, such as
navigation, cookie banners, share buttons and licence footers, are removed from every
document but the first (or from all of them). It rewrites text, under the contract of
`curate.stages.base.RewritesText`; rows left without text are removed as
`line_dedup_empty`. docs/stages/line_dedup.md.

Memory: each shard's summary holds one 64-bit hash per unit; the whole-dataset step
counts documents per hash one hash partition at a time (in parallel tasks inside a run),
with polars' streaming engine, so no step holds every unit of the corpus at once.
"""

from __future__ import annotations

from typing import Any, Literal

import polars as pl
from pydantic import Field, NonNegativeInt

from curate.stages.base import (
    ORDER_KEYS,
    POSITION,
    PRIVATE_PREFIX,
    REASON,
    SHARD,
    DatasetStage,
    RewriteConfig,
    RewritesText,
)
from curate.text import Normalization, normalized, stable_hash

EMPTY = "line_dedup_empty"
PARTITIONS = 16
_HASHES = "_units"
_DROP = f"{PRIVATE_PREFIX}line_dedup_drop"
"""Decision column: the unit indexes to remove from a row; `apply` turns it into text.
It is joined onto the rows beside the input's columns, hence curate's private prefix."""
_EXAMPLES = f"{PRIVATE_PREFIX}line_dedup_examples"
_EXAMPLE_TEXTS = f"{PRIVATE_PREFIX}line_dedup_example_texts"
"""Private columns (never written): on the first document holding one of the most
repeated units, the unit's index and document count, then its text, for the report."""
EXAMPLES = 10
SNIPPET_CHARS = 200
SEPARATORS = {"line": "\n", "paragraph": "\n\n"}


class UnitNormalization(Normalization):
    """How units are compared. Default: whitespace collapsed and trimmed, nothing else."""

    nfkc: bool = False
    """Unicode NFKC (compatibility forms such as full-width letters and ligatures fold)."""
    lowercase: bool = False
    """Unicode lowercase mapping (so "Apple" and "apple" compare equal)."""


class LineDedupConfig(RewriteConfig):
    stage: Literal["line_dedup"] = "line_dedup"
    unit: Literal["line", "paragraph"] = "line"
    """line: split at each newline; paragraph: at each empty line (two newlines)."""
    min_repeats: int = Field(default=3, ge=2)
    """A unit is repeated when at least this many documents contain it."""
    keep_first: bool = True
    """true: the first document (run order) that contains a repeated unit keeps it;
    false: every document loses it (boilerplate that no document needs)."""
    min_unit_chars: NonNegativeInt = 1
    """Units shorter than this (after normalisation) are never counted or removed."""
    min_chars: NonNegativeInt = 1
    """A row that lost units and keeps fewer characters (trimmed) is removed as
    line_dedup_empty; one left without text always is (0 does not turn that off)."""
    normalize: UnitNormalization = UnitNormalization()
    """How units are compared before they are counted (default: whitespace collapsed and
    trimmed, nothing else)."""


class LineDedup(RewritesText, DatasetStage):
    kind = "line_dedup"
    summary = "Remove lines or paragraphs repeated in many documents (boilerplate) from all but the first (or all)."
    Config = LineDedupConfig
    config: LineDedupConfig

    def removal_reasons(self) -> list[str]:
        return [EMPTY]

    def added_columns(self) -> list[str]:
        return [*self.rewrite_added_columns(), self.lines_removed_column]

    @property
    def lines_removed_column(self) -> str:
        return f"{self.name}_lines_removed"

    def summarize(self, frame: pl.DataFrame) -> pl.DataFrame:
        cfg = self.config
        units = (
            frame.select(self.text().str.split(SEPARATORS[cfg.unit]).alias("u"))
            .with_row_index("_r")
            .explode("u")
            .with_columns(n=normalized(pl.col("u"), cfg.normalize))
        )
        counted = pl.col("n").str.len_chars() >= max(cfg.min_unit_chars, 1)  # blank units never count
        units = units.with_columns(h=pl.when(counted).then(pl.lit(stable_hash(units["n"]))))
        per_row = units.group_by("_r", maintain_order=True).agg(pl.col("h").alias(_HASHES))
        return per_row.select(_HASHES)

    def decide(self, summaries: pl.LazyFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
        cfg = self.config
        items = [(summaries, p, cfg.min_repeats, cfg.keep_first) for p in range(PARTITIONS)]
        parts = self.tasks(_drops_in_partition, items)
        drops = pl.concat([d for d, _, _ in parts])
        per_row = drops.sort([*ORDER_KEYS, "idx"]).group_by(ORDER_KEYS).agg(pl.col("idx").alias(_DROP))
        examples = pl.concat([e for _, _, e in parts]).sort(["docs", "h"], descending=[True, False]).head(EXAMPLES)
        examples_per_row = examples.group_by(ORDER_KEYS).agg(pl.struct("idx", "docs").alias(_EXAMPLES))
        rows = summaries.select(ORDER_KEYS).collect()
        decisions = (
            rows.join(per_row, on=ORDER_KEYS, how="left", maintain_order="left")
            .join(examples_per_row, on=ORDER_KEYS, how="left", maintain_order="left")
            .with_columns(pl.col(_DROP).fill_null(pl.lit([], dtype=pl.List(pl.UInt32))), pl.lit(None, dtype=pl.String).alias(REASON))
        )
        repeated = [r for _, r, _ in parts]
        stats = {
            "repeated_units": sum(r["units"] for r in repeated),
            "most_documents_sharing_a_unit": max((r["most"] for r in repeated), default=0),
        }
        return decisions, stats

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        sep = SEPARATORS[self.config.unit]
        original = frame.select(self.text()).to_series()
        drop = frame[_DROP]
        changed = (drop.list.len() > 0).arg_true()
        new = original.clone()  # scatter writes in place
        if len(changed):
            units = (
                pl.DataFrame({"_r": changed, "u": original.gather(changed).str.split(sep)})
                .with_columns(idx=pl.int_ranges(pl.col("u").list.len(), dtype=pl.UInt32))
                .explode("u", "idx")
            )
            dropped = pl.DataFrame({"_r": changed, "idx": drop.gather(changed)}).explode("idx")
            kept = units.join(dropped, on=["_r", "idx"], how="anti", maintain_order="left")
            joined = kept.group_by("_r", maintain_order=True).agg(pl.col("u").str.join(sep))
            texts = pl.DataFrame({"_r": changed}).join(joined, on="_r", how="left", maintain_order="left")["u"].fill_null("")
            new = new.scatter(changed, texts)
        lines_removed = drop.list.len().cast(pl.UInt32)
        # the rewrite contract: a row left without a non-whitespace character goes, whatever min_chars says
        too_short = (lines_removed > 0) & (new.str.strip_chars().str.len_chars() < max(self.config.min_chars, 1))
        example_indexes = pl.col(_EXAMPLES).list.eval(pl.element().struct.field("idx"))
        return frame.drop(_DROP).with_columns(
            pl.when(pl.col(_EXAMPLES).is_not_null()).then(self.text().str.split(sep).list.gather(example_indexes)).alias(_EXAMPLE_TEXTS),
            *self.rewrite_columns(pl.lit(original), pl.lit(new)),
            lines_removed.alias(self.lines_removed_column),
            pl.when(too_short).then(pl.lit(EMPTY)).otherwise(None).alias(REASON),
        )

    def shard_stats(self, annotated: pl.DataFrame) -> dict[str, Any]:
        removed = annotated[self.lines_removed_column]
        examples = annotated.select(_EXAMPLES, _EXAMPLE_TEXTS).drop_nulls().explode(_EXAMPLES, _EXAMPLE_TEXTS)
        return {
            "rows_changed": int((removed > 0).sum()),
            "units_removed": int(removed.sum()),
            "chars_removed": int(annotated[self.chars_removed_column].sum()),
            "rows_left_empty": int((annotated[REASON] == EMPTY).sum()),
            "most_repeated": [
                {"documents": int(e["docs"]), "text": text.strip()[:SNIPPET_CHARS]} for e, text in examples.iter_rows()
            ],
        }

    def finish_stats(self, merged: dict[str, Any], applied: bool = True) -> dict[str, Any]:
        """`most_repeated`: the units found in the most documents, with their text (from
        the first document holding each), most documents first."""
        out = dict(merged)
        out["most_repeated"] = sorted(merged.get("most_repeated", []), key=lambda e: (-e["documents"], e["text"]))[:EXAMPLES]
        return out


def _drops_in_partition(item: tuple[pl.LazyFrame, int, int, bool]) -> tuple[pl.DataFrame, dict[str, int], pl.DataFrame]:
    """The units to remove among the units whose hash falls in partition `p`: (shard,
    position, unit index) of every occurrence of a unit found in `min_repeats`+ documents,
    except (with keep_first) those of the first such document in run order; plus the
    partition's most repeated units, where they first occur (for the report)."""
    summaries, p, min_repeats, keep_first = item
    units = (
        summaries.select(*ORDER_KEYS, pl.col(_HASHES).alias("h"), pl.int_ranges(pl.col(_HASHES).list.len(), dtype=pl.UInt32).alias("idx"))
        .explode("h", "idx")
        .filter(pl.col("h").is_not_null() & (pl.col("h") % PARTITIONS == p))
    )
    units = units.with_columns(order=pl.col(SHARD).cast(pl.Int64) * 2**40 + pl.col(POSITION))  # run order as one number
    repeated = (
        units.select("order", "h")
        .unique()
        .group_by("h")
        .agg(pl.len().alias("docs"), pl.col("order").min().alias("first"))
        .filter(pl.col("docs") >= min_repeats)
        .collect(engine="streaming")
    )
    top = repeated.sort(["docs", "h"], descending=[True, False]).head(EXAMPLES)
    examples = (
        units.join(top.lazy(), on="h")
        .filter(pl.col("order") == pl.col("first"))
        .group_by("h")
        .agg(pl.col(SHARD).first(), pl.col(POSITION).first(), pl.col("idx").min(), pl.col("docs").first().cast(pl.UInt32))
        .collect()
    )
    drops = units.join(repeated.lazy(), on="h", how="inner")
    if keep_first:
        drops = drops.filter(pl.col("order") != pl.col("first"))
    out = drops.select(*ORDER_KEYS, "idx").collect(engine="streaming")
    return out, {"units": repeated.height, "most": int(repeated["docs"].max() or 0)}, examples
