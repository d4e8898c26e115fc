"""Bias slicing: who did curation remove, where do label issues concentrate, and which
slices of the data are hurt. An annotate-only analysis stage, usually the last one.

It sees the whole run: the rows that reach it (kept so far) and every row an earlier stage
removed, with that stage's name and reason. Slices are declared columns (categorical, or
numeric cut into quantile or fixed-edge buckets) and conjunctions of two. For every slice
and outcome (removed by a stage, removed by a stage for one reason, flagged as a label
issue) it compares the slice's rate with the rest of the data: Fisher's exact test of the
two proportions, Benjamini–Hochberg over all tests, rate ratio, difference and excess
rows, and SliceLine's size-and-effect score, which ranks the findings. It also measures
representation shift between input and output (per-slice share change, total variation
distance per column and pair).

Rates are shares of the slice's *input* rows (every row that entered the run), so a
slice's per-stage rates add up to its overall removal rate. A null or NaN value is the
`(missing)` bucket. A removed row that left before an earlier stage added the column
(e.g. `lang` for a row exact_dedup removed before langid ran) is `(not measured)`: listed,
but left out of the tests and shares on that column.

The analysis lives in curate/slice_analysis.py and its statistics in curate/slicing.py;
docs/stages/slices.md explains the parameters, tests and wording.
"""

from __future__ import annotations

import math
from typing import Any, Literal

import polars as pl
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PositiveInt,
    field_validator,
    model_validator,
)

from curate.errors import ConfigError
from curate.stages.base import POSITION, REASON, SHARD, DatasetStage, StageConfig

# Columns of the frame the analysis reads (`Slices._rows`), beside the declared ones.
STAGE = "__stage"
WHY = "__reason"
LABEL = "__label"
ISSUE = "__issue"
MEAN = "__mean:"
UNMEASURED = "__unmeasured:"


class Buckets(BaseModel):
    """How a numeric slice column is cut: `quantiles: N` equal-count buckets over the run's
    input rows, or fixed `edges: [a, b, …]` (buckets <a, [a, b), …, >=last)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    quantiles: int | None = Field(default=None, ge=2, le=100)
    edges: list[float] | None = None

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
    """False discovery rate for flagging (Benjamini–Hochberg over every test of the run)."""
    max_levels: int = Field(default=50, ge=2)
    """A categorical column with more distinct values keeps its most frequent
    `max_levels - 1` values and groups the rest as `(other)`."""
    score_alpha: float = Field(default=0.95, gt=0, le=1)
    """SliceLine's α: how the ranking score weighs a slice's effect (its rate relative to
    the overall rate) against its size. Higher favours strong effects in smaller slices."""
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


class Slices(DatasetStage):
    kind = "slices"
    summary = "Bias slicing (annotate only): which slices earlier stages removed, where label issues concentrate, representation shift."
    Config = SlicesConfig
    config: SlicesConfig
    sees_removed = True

    # ------------------------------------------------------------ columns

    def required_columns(self) -> list[str]:
        # Declared columns may be added by earlier stages (lang, quality_*, label_issue), so
        # they cannot be checked against the input files; `summarize` checks them instead.
        return [self.columns.label] if self.columns.label else [self.columns.text]

    def _means(self) -> list[str]:
        return list(dict.fromkeys([*self.config.numeric, *self.config.means]))

    def _check(self, schema: pl.Schema) -> None:
        """Every declared column must be on the rows that reach this stage, with a usable type."""
        cfg = self.config
        present = ", ".join(schema.names())
        roles = [("columns", c) for c in cfg.columns] + [(f"numeric.{c}", c) for c in cfg.numeric] + [("means", c) for c in cfg.means]
        for key, column in roles:
            if column not in schema:
                raise ConfigError(
                    f"stage {self.name!r}: {key}: no column {column!r} in the rows that reach this stage (columns: {present}); "
                    "name an input column or one an earlier stage adds"
                )
            dtype = schema[column]
            if key == "columns" and dtype.is_nested():
                raise ConfigError(f"stage {self.name!r}: {key}: column {column!r} is {dtype}, not a scalar; slice on a text, number or boolean column")
            if key != "columns" and not dtype.is_numeric():
                raise ConfigError(
                    f"stage {self.name!r}: {key}: column {column!r} is {dtype}, not numeric; list it under `columns:` to slice by its values"
                )
        issue = cfg.label_issue_column
        if issue in schema and schema[issue] != pl.Boolean:
            raise ConfigError(
                f"stage {self.name!r}: label_issue_column: column {issue!r} is {schema[issue]}, not boolean; "
                "point label_issue_column at the label_noise stage's boolean column"
            )

    def _projection(self, present: set[str], with_issue: bool) -> list[pl.Expr]:
        """The columns the analysis needs, under fixed names and types; a column absent
        from `present` (removed rows that never got it) becomes null."""
        cfg = self.config

        def source(column: str, dtype: pl.DataType) -> pl.Expr:
            return pl.col(column).cast(dtype, strict=False) if column in present else pl.lit(None, dtype)

        exprs = [source(c, pl.String).alias(c) for c in cfg.columns]
        exprs += [source(c, pl.Float64).alias(c) for c in cfg.numeric]
        exprs += [source(c, pl.Float64).alias(MEAN + c) for c in self._means()]
        if self.columns.label:
            exprs.append(source(self.columns.label, pl.String).alias(LABEL))
        if with_issue:
            exprs.append(source(cfg.label_issue_column, pl.Boolean).alias(ISSUE))
        return exprs

    # ------------------------------------------------------------ the stage contract

    def summarize(self, frame: pl.DataFrame) -> pl.DataFrame:
        declared = [*self.config.columns, *self.config.numeric, *self.config.means]
        lineage = {*self.required_columns(), "curate_source", "curate_id", self.columns.id}
        if any(c not in frame.columns for c in declared) and set(frame.columns) <= lineage:
            # The runner reads only required columns for a dataset stage that comes first.
            raise ConfigError(
                f"stage {self.name!r} is the first stage: it audits what earlier stages removed, "
                "so put it after them (usually last in `stages:`)"
            )
        self._check(frame.schema)
        present = set(frame.columns)
        added = _added_by_stages(frame.columns)
        dims = [c for c in [*self.config.columns, *self.config.numeric] if c in added]
        return frame.select(
            *self._projection(present, self.config.label_issue_column in present),
            *[pl.lit(False).alias(UNMEASURED + c) for c in dims],
        )

    def decide(self, summaries: pl.LazyFrame, removed: pl.LazyFrame | None = None) -> tuple[pl.DataFrame, dict[str, Any]]:
        from curate.slice_analysis import analyse

        decisions = summaries.select(SHARD, POSITION, pl.lit(None, pl.String).alias(REASON)).collect()
        rows = self._rows(summaries, removed)
        stats = analyse(rows, self.config, self._means())
        return decisions, stats

    def _rows(self, summaries: pl.LazyFrame, removed: pl.LazyFrame | None) -> pl.DataFrame:
        """Every input row of the run: kept rows (stage null) and earlier removals."""
        kept = summaries.drop(SHARD, POSITION)
        schema = kept.collect_schema()
        expected = [c for c in [*self.config.columns, *self.config.numeric] if c not in schema]
        if expected:
            raise ConfigError(f"stage {self.name!r}: columns: no column {expected[0]!r} in the rows that reach this stage (columns: {', '.join(schema.names())})")
        with_issue = ISSUE in schema
        frames = [kept.with_columns(pl.lit(None, pl.String).alias(STAGE), pl.lit(None, pl.String).alias(WHY))]
        if removed is not None:
            present = set(removed.collect_schema().names())
            unmeasured = [name.removeprefix(UNMEASURED) for name in schema.names() if name.startswith(UNMEASURED)]
            frames.append(
                removed.select(
                    *self._projection(present, with_issue),
                    *[(pl.col(c).is_null() if c in present else pl.lit(True)).alias(UNMEASURED + c) for c in unmeasured],
                    pl.col("curate_stage").cast(pl.String).alias(STAGE),
                    pl.col("curate_reason").cast(pl.String).alias(WHY),
                ).select(*schema.names(), STAGE, WHY)
            )
        return pl.concat(frames, how="vertical").collect()


def _added_by_stages(columns: list[str]) -> set[str]:
    """Columns an earlier stage added: the runner puts them after the lineage columns
    (docs/run-layout.md: input columns, `curate_source` [, `curate_id`], annotations)."""
    if "curate_source" not in columns:
        return set()
    return {c for c in columns[columns.index("curate_source") + 1:] if c != "curate_id"}
