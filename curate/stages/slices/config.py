"""The slices stage's parameters, and the names of the columns its analysis reads."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    field_validator,
    model_validator,
)

from curate.stages.base import PRIVATE_PREFIX, StageConfig

# Columns of the frame the analysis reads (`Slices._rows`), beside the declared ones,
# which may have any name but curate's private prefix.
STAGE = f"{PRIVATE_PREFIX}stage"
WHY = f"{PRIVATE_PREFIX}reason"
LABEL = f"{PRIVATE_PREFIX}label"
ISSUE = f"{PRIVATE_PREFIX}issue"
MEAN = f"{PRIVATE_PREFIX}mean:"
UNMEASURED = f"{PRIVATE_PREFIX}unmeasured:"
OUTPUT = f"{PRIVATE_PREFIX}output:"
"""Beside a slice column a relabel stage changed (the label): its value on the kept rows
now; the column itself holds the value the row entered the run with."""
SLICE = f"{PRIVATE_PREFIX}slice:"
"""Before a declared column's name in the summaries, beside the `_shard` and `_pos` the
runner adds (an input column may have either name); `Slices._rows` gives the names back."""


class Buckets(BaseModel):
    """How a numeric slice column is cut: `quantiles: N` equal-count buckets over the run's
    input rows, or fixed `edges: [a, b, …]` (buckets <a, [a, b), …, >=last)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quantiles: int | None = Field(default=None, ge=2, le=100, description="Equal-count buckets over the run's input rows (give this or edges).")
    edges: list[float] | None = Field(default=None, description="Fixed, strictly increasing bucket edges: <a, [a, b), …, >=last (give this or quantiles).")

    @model_validator(mode="after")
    def _one_of(self) -> Buckets:
        if (self.quantiles is None) == (self.edges is None):
            raise ValueError("give a numeric column exactly one of `quantiles: N` or `edges: [100, 1000]` (your own numbers)")
        if self.edges is not None and (not self.edges or any(b <= a for a, b in zip(self.edges, self.edges[1:]))):
            raise ValueError("edges must be a non-empty list of strictly increasing numbers, e.g. [100, 1000]")
        if self.edges is not None and not all(math.isfinite(e) for e in self.edges):
            raise ValueError("edges must be finite numbers")
        return self


class SlicesConfig(StageConfig):
    stage: Literal["slices"] = "slices"
    mode: Literal["annotate"] = "annotate"
    """Always annotate: this stage analyses and reports, it never removes a row."""
    columns: list[str] = []
    """Categorical slice columns: each distinct value is a slice (`source`, `lang`, `label`,
    any metadata). Values are compared as text; null is `(missing)`."""
    numeric: dict[str, Buckets] = {}
    """Numeric slice columns and their buckets, e.g. `{text_chars: {quantiles: 4},
    lang_score: {edges: [0.5, 0.9]}}`. Quantile edges come from the run's input rows."""
    pairs: bool | list[tuple[str, str]] = True
    """Conjunctions of two slice columns: true (every pair of declared columns), false
    (none), or a list of pairs, each a list of two declared columns."""
    means: list[str] = []
    """Numeric columns whose mean is reported per slice (the numeric slice columns always are)."""
    label_issue_column: str = "label_issue"
    """Boolean column marking suspected label errors (the label_noise stage writes
    `label_issue`). Used when present in the data; a rate per slice is then tested too."""
    min_support: PositiveInt = 30
    """A slice is tested only when it and the rest of the data each have at least this
    many rows (for label issues: rows with a known label_issue)."""
    alpha: float = Field(default=0.05, gt=0, lt=1)
    """False discovery rate for flagging (Benjamini–Hochberg within each family of tests:
    one stage's removals, or the label issues)."""
    max_levels: int = Field(default=50, ge=2)
    """A categorical column with more distinct non-null values keeps its most frequent
    `max_levels - 1` values and groups the rest as `(other)`; `(missing)` stays a slice
    of its own."""
    rank_min_rows: PositiveInt = 50
    """Findings are ranked by effect size (Cohen's h); a finding on fewer rows than this
    ranks after every finding on at least this many, so a few rows never outrank a
    large, strong effect."""
    top: int = Field(default=20, ge=0)
    """How many findings the report lists (the tests table has all of them)."""

    @field_validator("numeric", mode="before")
    @classmethod
    def _bucket_keys(cls, value: Any) -> Any:
        # Named here: the pipeline loader would list this stage's keys for an unknown key inside.
        if isinstance(value, dict):
            for column, spec in value.items():
                if not isinstance(spec, dict):
                    raise ValueError(f"numeric.{column}: give {{quantiles: N}} or {{edges: [100, 1000]}} (got {spec!r})")
                unknown = [key for key in spec if key not in Buckets.model_fields]
                if unknown:
                    raise ValueError(f"numeric.{column}: unknown key {unknown[0]!r}; valid keys: quantiles, edges")
        return value

    @model_validator(mode="after")
    def _declared(self) -> SlicesConfig:
        declared = [*self.columns, *self.numeric]
        if not declared:
            raise ValueError("declare at least one slice column in `columns:` or `numeric:`, e.g. columns: [label]")
        twice = sorted({c for c in declared if declared.count(c) > 1})
        if twice:
            raise ValueError(f"column {twice[0]!r} is declared twice; list each column once, in `columns:` or in `numeric:`")
        if isinstance(self.pairs, list):
            for a, b in self.pairs:
                unknown = [c for c in (a, b) if c not in declared]
                if unknown:
                    raise ValueError(f"pairs: {unknown[0]!r} is not a declared slice column; declared: {', '.join(declared)}")
                if a == b:
                    raise ValueError(f"pairs: [{a}, {b}] pairs a column with itself; pair two different columns")
        return self
