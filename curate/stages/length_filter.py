"""Length filter: removes empty texts (no character but whitespace) and texts outside
character and word bounds."""

from __future__ import annotations

from typing import Any, Literal

import polars as pl
from pydantic import NonNegativeInt

from curate.stages.base import REASON, Criterion, Explanation, ShardStage, StageConfig


class LengthFilterConfig(StageConfig):
    stage: Literal["length_filter"] = "length_filter"
    min_chars: NonNegativeInt = 1
    """Texts with fewer characters are removed. Null text, and text of whitespace alone, is
    removed as empty whatever this says."""
    max_chars: NonNegativeInt | None = None
    """Texts with more characters are removed; null: no upper bound."""
    min_words: NonNegativeInt = 0
    """Texts with fewer words (runs of non-whitespace) are removed. Words are counted, and
    `text_words` added, only when `min_words` or `max_words` is set."""
    max_words: NonNegativeInt | None = None
    """Texts with more words are removed; null: no upper bound."""

    @property
    def counts_words(self) -> bool:
        return self.min_words > 0 or self.max_words is not None


class LengthFilter(ShardStage):
    kind = "length_filter"
    summary = "Remove empty texts and texts outside character and word-count bounds."
    Config = LengthFilterConfig
    config: LengthFilterConfig

    shared_columns = frozenset({"text_chars", "text_words"})  # a second length filter (after cleaning) measures again

    def added_columns(self) -> list[str]:
        return ["text_chars", "text_words"] if self.config.counts_words else ["text_chars"]

    def annotate(self, frame: pl.DataFrame) -> pl.DataFrame:
        cfg = self.config
        chars = pl.col("text_chars")
        words = pl.col("text_words")
        # empty as clean and quality see it: no non-whitespace character (a regex that stops at the first)
        empty = ~self.text().fill_null("").str.contains(r"\S")
        reason = pl.when(empty).then(pl.lit("empty_text")).when(chars < cfg.min_chars).then(pl.lit("too_few_chars"))
        if cfg.max_chars is not None:
            reason = reason.when(chars > cfg.max_chars).then(pl.lit("too_many_chars"))
        counts = {"text_chars": self.text().str.len_chars().cast(pl.UInt32)}
        if cfg.counts_words:  # a regex over every text: only when a word bound asks for it
            counts["text_words"] = self.text().str.count_matches(r"\S+").cast(pl.UInt32)
            reason = reason.when(words < cfg.min_words).then(pl.lit("too_few_words"))
            if cfg.max_words is not None:
                reason = reason.when(words > cfg.max_words).then(pl.lit("too_many_words"))
        return frame.with_columns(**counts).with_columns(reason.otherwise(None).alias(REASON))

    def explain(self) -> Explanation:
        cfg = self.config
        # empty_text: no non-whitespace character, which text_chars alone does not show ("   " has 3)
        reasons = {"empty_text": [Criterion("text_chars")], "too_few_chars": [Criterion("text_chars", "<", cfg.min_chars)]}
        if cfg.max_chars is not None:
            reasons["too_many_chars"] = [Criterion("text_chars", ">", cfg.max_chars)]
        if cfg.counts_words:
            reasons["too_few_words"] = [Criterion("text_words", "<", cfg.min_words)]
        if cfg.max_words is not None:
            reasons["too_many_words"] = [Criterion("text_words", ">", cfg.max_words)]
        return Explanation(reasons)

    def shard_stats(self, annotated: pl.DataFrame) -> dict[str, Any]:
        return {"chars_sum": int(annotated["text_chars"].sum()), "rows": annotated.height}

    def finish_stats(self, merged: dict[str, Any], applied: bool = True) -> dict[str, Any]:
        rows = merged.get("rows", 0)
        return {"mean_chars": round(merged.get("chars_sum", 0) / rows, 1) if rows else None}
