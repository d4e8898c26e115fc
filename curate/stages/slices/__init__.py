"""Bias slicing: who did curation remove, where do label issues concentrate, and which
slices of the data are hurt. An annotate-only analysis stage, usually the last one.

It sees the whole run: the rows that reach it (kept so far) and every row an earlier stage
removed, with that stage's name and reason. Slices are declared columns (categorical, or
numeric cut into quantile or fixed-edge buckets) and conjunctions of two. For every slice
and outcome (removed by a stage, removed by a stage for one reason, flagged as a label
issue) it compares the slice's rate with the rest of the data: Fisher's exact test of the
two proportions, Benjamini–Hochberg within each family (one stage's removals, or the label
issues), rate ratio, difference and excess rows, and Cohen's h, whose lower confidence bound
ranks the findings. It also measures
representation shift between input and output (per-slice share change, total variation
distance per column and pair).

A stage's rate in a slice is a share of the slice's rows that *reached* that stage (the
runner passes the pipeline order), so what an earlier stage took away does not make a
later one look biased. The whole pipeline's effect (share of a slice's input rows removed
by any stage) is a separate view, `whole_run`, outside the ranked findings. A null or NaN value is the
`(missing)` bucket. A removed row that left before an earlier stage added the column
(e.g. `lang` for a row exact_dedup removed before langid ran) is `(not measured)`: listed,
but left out of the tests and shares on that column.

The analysis lives in curate/stages/slices/analysis.py and its statistics in curate/stages/slices/statistics.py;
docs/stages/slices.md explains the parameters, tests and wording.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from curate.errors import ConfigError, CurateError, raise_all
from curate.stages.base import POSITION, REASON, SHARD, DatasetStage
from curate.stages.label_noise import ORIGINAL
from curate.stages.slices.config import (
    ISSUE,
    LABEL,
    MEAN,
    OUTPUT,
    SLICE,
    STAGE,
    UNMEASURED,
    WHY,
    Buckets,
    SlicesConfig,
)

__all__ = ["Buckets", "Slices", "SlicesConfig"]


class Slices(DatasetStage):
    kind = "slices"
    summary = "Bias slicing (annotate only): which slices earlier stages removed, where label issues concentrate, representation shift."
    Config = SlicesConfig
    config: SlicesConfig
    sees_removed = True

    # ------------------------------------------------------------ columns

    def required_columns(self) -> list[str]:
        # Declared columns are input columns or added by earlier stages (lang, quality_*,
        # label_issue): the runner's column flow checks which, before the run.
        first = [self.columns.label] if self.columns.label else [self.columns.text]
        return list(dict.fromkeys([*first, *self.config.columns, *self.config.numeric, *self.config.means]))

    def added_columns(self) -> list[str]:
        return []  # an analysis: its findings go to the report, not the rows

    def _means(self) -> list[str]:
        return list(dict.fromkeys([*self.config.numeric, *self.config.means]))

    def _roles(self) -> list[tuple[str, str]]:
        """(the option, the column) of every declared column."""
        cfg = self.config
        return [("columns", c) for c in cfg.columns] + [(f"numeric.{c}", c) for c in cfg.numeric] + [("means", c) for c in cfg.means]

    def check(self, schema: pl.Schema) -> None:
        super().check(schema)
        self._check_types(schema)  # the input's columns; those earlier stages add, on the rows that reach the stage

    def _check(self, schema: pl.Schema) -> None:
        """Every declared column must be on the rows that reach this stage, with a usable type."""
        present = ", ".join(schema.names())
        for key, column in self._roles():
            if column not in schema:
                raise ConfigError(
                    f"stage {self.name!r}: {key}: no column {column!r} in the rows that reach this stage (columns: {present}); "
                    "name an input column or one an earlier stage adds"
                )
        self._check_types(schema)

    def _check_types(self, schema: pl.Schema) -> None:
        """Each declared column that `schema` holds must have a usable type: every one
        that does not is named at once (not one per attempt)."""
        cfg = self.config
        errors: list[CurateError] = []
        for key, column in self._roles():
            if column not in schema:
                continue
            dtype = schema[column]
            if key == "columns" and dtype.is_nested():
                errors.append(ConfigError(f"stage {self.name!r}: {key}: column {column!r} is {dtype}, not a scalar; slice on a text, number or boolean column"))
            if key != "columns" and not dtype.is_numeric():
                errors.append(ConfigError(
                    f"stage {self.name!r}: {key}: column {column!r} is {dtype}, not numeric; list it under `columns:` to slice by its values"
                ))
        issue = cfg.label_issue_column
        if issue in schema and schema[issue] != pl.Boolean:
            errors.append(ConfigError(
                f"stage {self.name!r}: label_issue_column: column {issue!r} is {schema[issue]}, not boolean; "
                "point label_issue_column at the label_noise stage's boolean column"
            ))
        raise_all(errors)

    def _projection(self, present: pl.Schema, with_issue: bool, relabelled: bool, kept: bool) -> list[pl.Expr]:
        """The columns the analysis needs, under fixed names and types; a column absent
        from `present` (removed rows that never got it) becomes null, and so does a NaN
        (missing, not a category named "NaN"). `relabelled`: an earlier stage relabelled
        the label column and kept the given label in `original_label`. The label then
        reads as it entered the run (what label_noise judged, the input's shares), and a
        slice column that is the label also carries the `kept` rows' label now (OUTPUT)."""
        cfg = self.config
        label = self.columns.label

        def source(column: str, dtype: pl.DataType) -> pl.Expr:
            if column not in present:
                return pl.lit(None, dtype)
            value = pl.col(column).fill_nan(None) if present[column].is_float() else pl.col(column)
            return value.cast(dtype, strict=False)

        def entered(column: str) -> pl.Expr:
            if not (relabelled and column == label and ORIGINAL in present):
                return source(column, pl.String)
            # a row removed before the relabel stage has no original_label: its label is the one it entered with
            return pl.coalesce(source(ORIGINAL, pl.String), source(column, pl.String))

        exprs = [entered(c).alias(SLICE + c) for c in cfg.columns]
        if relabelled and label in cfg.columns:
            exprs.append((source(label, pl.String) if kept else pl.lit(None, pl.String)).alias(OUTPUT + label))
        exprs += [source(c, pl.Float64).alias(SLICE + c) for c in cfg.numeric]
        exprs += [source(c, pl.Float64).alias(MEAN + c) for c in self._means()]
        if label:
            exprs.append(entered(label).alias(LABEL))
        if with_issue:
            exprs.append(source(cfg.label_issue_column, pl.Boolean).alias(ISSUE))
        return exprs

    # ------------------------------------------------------------ the stage contract

    def summarize(self, frame: pl.DataFrame) -> pl.DataFrame:
        self._check(frame.schema)
        added = _added_by_stages(frame.columns)
        dims = [c for c in [*self.config.columns, *self.config.numeric] if c in added]
        return frame.select(
            *self._projection(frame.schema, self.config.label_issue_column in frame.columns, ORIGINAL in added, kept=True),
            *[pl.lit(False).alias(UNMEASURED + c) for c in dims],
        )

    def decide(self, summaries: pl.LazyFrame, removed: pl.LazyFrame | None = None) -> tuple[pl.DataFrame, dict[str, Any]]:
        from curate.stages.slices.analysis import analyse

        decisions = summaries.select(SHARD, POSITION, pl.lit(None, pl.String).alias(REASON)).collect()
        rows = self._rows(summaries, removed)
        stats = analyse(rows, self.config, self._means(), list(self.stages_before) or None)
        return decisions, stats

    def finish_stats(self, merged: dict[str, Any], applied: bool = True) -> dict[str, Any]:
        """As `decide` gave them, in its one mode (annotate): the rows they count as removed
        are the earlier stages' removals, which took effect, not this stage's decisions."""
        return merged

    def _rows(self, summaries: pl.LazyFrame, removed: pl.LazyFrame | None) -> pl.DataFrame:
        """Every input row of the run: kept rows (stage null) and earlier removals."""
        kept = summaries.drop(SHARD, POSITION)
        schema = kept.collect_schema()
        declared = [*self.config.columns, *self.config.numeric]
        expected = [c for c in declared if SLICE + c not in schema]
        if expected:
            raise ConfigError(f"stage {self.name!r}: columns: no column {expected[0]!r} in the rows that reach this stage (columns: {', '.join(schema.names())})")
        with_issue = ISSUE in schema
        frames = [kept.with_columns(pl.lit(None, pl.String).alias(STAGE), pl.lit(None, pl.String).alias(WHY))]
        if removed is not None:
            present = removed.collect_schema()
            unmeasured = [name.removeprefix(UNMEASURED) for name in schema.names() if name.startswith(UNMEASURED)]
            frames.append(
                removed.select(
                    *self._projection(present, with_issue, ORIGINAL in self.added_by, kept=False),
                    *[self._unmeasured(c, present).alias(UNMEASURED + c) for c in unmeasured],
                    pl.col("curate_stage").cast(pl.String).alias(STAGE),
                    pl.col("curate_reason").cast(pl.String).alias(WHY),
                ).select(*schema.names(), STAGE, WHY)
            )
        return pl.concat(frames, how="vertical").collect().rename({SLICE + c: c for c in declared})

    def _unmeasured(self, column: str, present: pl.Schema) -> pl.Expr:
        """A removed row never got `column` when a stage before the one that adds it
        removed it; a row removed later that holds null there is missing, not unmeasured."""
        if column not in present:
            return pl.lit(True)
        adder = self.added_by.get(column)
        if adder not in self.stages_before:  # not known (a stage run alone): a null is taken for unmeasured
            return pl.col(column).is_null()
        return pl.col("curate_stage").cast(pl.String).is_in(list(self.stages_before[: self.stages_before.index(adder)]))


def _added_by_stages(columns: list[str]) -> set[str]:
    """Columns an earlier stage added: the runner puts them after the lineage columns
    (docs/run-layout.md: input columns, `curate_source` [, `curate_id`], annotations)."""
    if "curate_source" not in columns:
        return set()
    return {c for c in columns[columns.index("curate_source") + 1:] if c != "curate_id"}
