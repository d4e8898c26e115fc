"""The slices stage's analysis of the whole run (curate/stages/slices/ builds its input;
docs/stages/slices.md explains it): slice keys and buckets for each declared column and
pair, the slices table, one test per (slice, outcome) with Benjamini–Hochberg within each
family (one stage's removals, or the label issues), which flagged findings a broader one
explains, the ranking by the lower bound of Cohen's h, representation shift, and each
finding in plain words. The statistics themselves live in curate/stages/slices/statistics.py.
"""

from __future__ import annotations

import math
from itertools import combinations
from typing import Any

import numpy as np
import polars as pl

from curate.stages.base import PRIVATE_PREFIX
from curate.stages.slices.config import (
    ISSUE,
    LABEL,
    MEAN,
    OUTPUT,
    STAGE,
    UNMEASURED,
    WHY,
    SlicesConfig,
)
from curate.stages.slices.statistics import (
    MISSING,
    NOT_MEASURED,
    OTHER,
    benjamini_hochberg,
    bucket_expr,
    category,
    cohens_h,
    edge_labels,
    fisher_exact_test,
    p_text,
    percent,
    quantile_edges,
    slice_name,
    total_variation,
    two_proportion_test,
)

EFFECT_Z = 1.96
"""Findings rank by the lower bound of this two-sided normal interval of their effect size."""
LABELS_PER_SLICE = 10
"""The slices table lists this many of each slice's most frequent labels."""
SHIFTS_LISTED = 10
_KEY = f"{PRIVATE_PREFIX}k"


class _Dim:
    """One slice column as the analysis sees it: its key column and bucket labels."""

    def __init__(self, index: int, column: str, numeric: bool):
        self.index = index
        self.column = column
        self.numeric = numeric
        self.key = f"{_KEY}{index}"
        self.output_key = self.key
        """The kept rows' slice now, where a relabel stage changed the column (the label)."""
        self.edges: list[float] = []
        self.order: dict[str, int] = {}
        self.other = False

    def describe(self, rows: pl.DataFrame) -> dict[str, Any]:
        info: dict[str, Any] = {"column": self.column, "kind": "numeric" if self.numeric else "categorical"}
        if self.numeric:
            info["edges"] = self.edges
        info["buckets"] = list(self.order)
        info["missing_rows"] = int((rows[self.key] == MISSING).sum())
        info["not_measured_rows"] = int((rows[self.key] == NOT_MEASURED).sum())
        if not self.numeric:
            info["other_bucket"] = self.other
        return info


def _not_measured(column: str, rows: pl.DataFrame, key: pl.Expr) -> pl.Expr:
    flag = UNMEASURED + column
    return pl.when(pl.col(flag)).then(pl.lit(NOT_MEASURED)).otherwise(key) if flag in rows.columns else key


def _dims(rows: pl.DataFrame, cfg: SlicesConfig) -> tuple[pl.DataFrame, list[_Dim]]:
    """Add one string key column per slice column: the value (capped at max_levels) or bucket."""
    dims: list[_Dim] = []
    keys: list[pl.Expr] = []
    for column in cfg.columns:
        dim = _Dim(len(dims), column, numeric=False)
        measured = rows.filter(~pl.col(UNMEASURED + column)) if UNMEASURED + column in rows.columns else rows
        counts = measured.group_by(category(pl.col(column)).fill_null(MISSING).alias("v")).len().sort(["len", "v"], descending=[True, False])
        kept_values = counts["v"].to_list()
        values = [v for v in kept_values if v != MISSING]  # a value the text "(missing)" reads quoted (category)
        if len(values) > cfg.max_levels:
            # (missing) is never capped: its rows would vanish into (other), uncounted
            dim.other = True
            missing = [MISSING] if len(values) < len(kept_values) else []
            top = values[: cfg.max_levels - 1]
            kept_values = [*top, *missing]
            dim.order = {v: i for i, v in enumerate([*top, OTHER, *missing])}
        else:
            dim.order = {v: i for i, v in enumerate(kept_values)}
        if UNMEASURED + column in rows.columns:
            dim.order[NOT_MEASURED] = len(dim.order)

        def slice_of(source: str, capped: bool = dim.other, kept_values: list[str] = kept_values) -> pl.Expr:
            value = category(pl.col(source)).fill_null(MISSING)
            return pl.when(value.is_in(kept_values)).then(value).otherwise(pl.lit(OTHER)) if capped else value

        keys.append(_not_measured(column, rows, slice_of(column)).alias(dim.key))
        if OUTPUT + column in rows.columns:
            dim.output_key = f"{_KEY}out{dim.index}"
            keys.append(slice_of(OUTPUT + column).alias(dim.output_key))
        dims.append(dim)
    for column, buckets in cfg.numeric.items():
        dim = _Dim(len(dims), column, numeric=True)
        dim.edges = list(buckets.edges) if buckets.edges is not None else quantile_edges(rows[column], buckets.quantiles or 2)
        dim.order = {label: i for i, label in enumerate([*edge_labels(dim.edges), MISSING, NOT_MEASURED])}
        keys.append(_not_measured(column, rows, bucket_expr(column, dim.edges)).alias(dim.key))
        dims.append(dim)
    rows = rows.with_columns(keys)
    for dim in dims:
        seen = set(rows[dim.key].unique().to_list())
        dim.order = {v: i for v, i in dim.order.items() if v in seen}
    return rows, dims


def _groupings(dims: list[_Dim], cfg: SlicesConfig) -> list[tuple[_Dim, ...]]:
    singles = [(d,) for d in dims]
    by_name = {d.column: d for d in dims}
    if cfg.pairs is True:
        pairs = list(combinations(dims, 2))
    elif cfg.pairs is False:
        pairs = []
    else:
        pairs = list(dict.fromkeys(tuple(sorted((by_name[a], by_name[b]), key=lambda d: d.index)) for a, b in cfg.pairs))
    return singles + pairs


def analyse(rows: pl.DataFrame, cfg: SlicesConfig, means: list[str], stage_order: list[str] | None = None) -> dict[str, Any]:
    """The stage's statistics (and its `tables`) from every input row of the run.
    `stage_order`: the earlier stages' names in pipeline order (default: the order in
    which they first appear among the removed rows)."""
    rows, dims = _dims(rows, cfg)
    has_label = LABEL in rows.columns
    has_issue = ISSUE in rows.columns
    total = rows.height
    total_out = int(rows[STAGE].null_count())

    # What earlier stages removed, as (stage, reason) indicator columns.
    removals = (
        rows.filter(pl.col(STAGE).is_not_null()).group_by(STAGE, WHY).len().sort(STAGE, WHY)
    )
    reasons = [(s, r, int(n)) for s, r, n in removals.iter_rows()]
    indicator = [f"{PRIVATE_PREFIX}r{i}" for i in range(len(reasons))]
    rows = rows.with_columns(
        ((pl.col(STAGE) == s) & (pl.col(WHY) == r)).fill_null(False).alias(name) for (s, r, _), name in zip(reasons, indicator)
    )
    order = list(dict.fromkeys([*(stage_order or []), *rows[STAGE].drop_nulls().unique(maintain_order=True).to_list()]))
    stage_reasons: dict[str, list[int]] = {}
    for i, (s, _, _) in sorted(enumerate(reasons), key=lambda item: (order.index(item[1][0]), item[0])):
        stage_reasons.setdefault(s, []).append(i)
    # A stage's rates are over the rows that reached it: kept rows and rows that a later
    # stage (or this one) removed.
    reached = {s: f"{PRIVATE_PREFIX}reach{i}" for i, s in enumerate(stage_reasons)}
    rows = rows.with_columns(
        (pl.col(STAGE).is_null() | pl.col(STAGE).is_in(order[order.index(s):])).alias(name) for s, name in reached.items()
    )

    counts = [pl.len().alias("rows_in"), pl.col(STAGE).is_not_null().sum().alias("rows_removed")]
    counts += [pl.col(name).sum().alias(name) for name in [*indicator, *reached.values()]]
    if has_issue:
        counts += [pl.col(ISSUE).is_not_null().sum().alias("__issue_n"), pl.col(ISSUE).sum().alias("__issue_x")]
    aggs = [*counts, *[pl.col(MEAN + m).mean().alias(f"mean_{m}") for m in means]]
    kept = rows.filter(pl.col(STAGE).is_null())

    groupings = _groupings(dims, cfg)
    parts = []
    for group in groupings:
        keys = [d.key for d in group]
        # A slice's input rows by the value they entered with; its kept rows by their value
        # now (they differ where a relabel stage changed the label: a row leaves one label's
        # slice for another's).
        output_keys = {d.output_key: d.key for d in group}
        kept_now = kept.group_by(list(output_keys)).agg(pl.len().alias("rows_out")).rename(output_keys)
        agg = rows.group_by(keys).agg(aggs).join(kept_now, on=keys, how="full", coalesce=True, nulls_equal=True)
        agg = agg.with_columns(pl.col(c.meta.output_name()).fill_null(0) for c in [*counts, pl.col("rows_out")])
        if has_label:
            labels = (
                rows.group_by([*keys, category(pl.col(LABEL)).fill_null(MISSING)]).len()
                .sort([*keys, "len", LABEL], descending=[*[False] * len(keys), True, False])
                .group_by(keys, maintain_order=True)
                .agg(pl.struct(label=pl.col(LABEL), rows=pl.col("len")).head(LABELS_PER_SLICE).alias("labels"))
            )
            agg = agg.join(labels, on=keys, how="left")
        a, b = group[0], group[1] if len(group) > 1 else None
        agg = agg.with_columns(
            pl.lit(len(group), pl.Int8).alias("level"),
            pl.lit(a.column).alias("column_a"),
            pl.col(a.key).alias("value_a"),
            pl.col(a.key).replace_strict(a.order, default=len(a.order), return_dtype=pl.Int32).alias("__oa"),
            pl.lit(b.column if b else None, pl.String).alias("column_b"),
            (pl.col(b.key) if b else pl.lit(None, pl.String)).alias("value_b"),
            (pl.col(b.key).replace_strict(b.order, default=len(b.order), return_dtype=pl.Int32) if b else pl.lit(0, pl.Int32)).alias("__ob"),
            pl.lit(a.index, pl.Int32).alias("__da"),
            pl.lit(b.index if b else -1, pl.Int32).alias("__db"),
        ).drop(keys)
        parts.append(agg)
    table = pl.concat(parts, how="diagonal_relaxed").sort("level", "__da", "__db", "__oa", "__ob")
    numeric = {d.column: d.numeric for d in dims}
    names = [
        slice_name(ca, va, numeric[ca]) + ("" if cb is None else " & " + slice_name(cb, vb, numeric[cb]))
        for ca, va, cb, vb in table.select("column_a", "value_a", "column_b", "value_b").iter_rows()
    ]
    table = table.with_columns(
        pl.Series("slice", names, pl.String),
        pl.concat_str([pl.col("column_a"), pl.col("column_b")], separator=" & ", ignore_nulls=True).alias("grouping"),
    )

    tests = _tests(table, reasons, stage_reasons, reached, indicator, has_issue, cfg)
    slices_table = _slices_table(table, reasons, indicator, has_issue, has_label, means, cfg)
    findings = tests.filter(pl.col("rank").is_not_null()).sort("rank")
    representation = _representation(slices_table)

    removed_by = [{"stage": s, "reason": r, "rows": n} for s, r, n in reasons]
    issue_stats: dict[str, Any] = {}
    if has_issue:
        known = int(rows[ISSUE].is_not_null().sum())
        flagged = int(rows[ISSUE].sum() or 0)
        issue_stats = {"label_issue_rows": flagged, "label_issue_known": known, "label_issue_rate": _round(flagged / known if known else None)}
    tested = tests.filter(pl.col("tested"))
    return {
        "rows_in": total,
        "rows_out": total_out,
        "rows_removed_before": total - total_out,
        "removed_by": removed_by,
        **issue_stats,
        "columns": [d.describe(rows) for d in dims],
        "pairs": [[g[0].column, g[1].column] for g in groupings if len(g) == 2],
        "slices": slices_table.height,
        "slices_below_support": int(slices_table["below_support"].sum()),
        "tests": tested.height,
        "alpha": cfg.alpha,
        "min_support": cfg.min_support,
        "flagged": int(tests["flagged"].sum()),
        "findings_total": findings.height,
        "findings": [_finding_json(row) for row in findings.head(cfg.top).iter_rows(named=True)],
        "whole_run": _whole_run(slices_table, cfg),
        "representation": representation,
        "tables": {"slices": slices_table, "tests": tests.drop("__order")},
    }


_ID = ["slice", "level", "grouping", "column_a", "value_a", "column_b", "value_b"]


def _measured() -> pl.Expr:
    """A slice whose rows have a known value on every column of its grouping."""
    return (pl.col("value_a") != NOT_MEASURED) & (pl.col("value_b").is_null() | (pl.col("value_b") != NOT_MEASURED))


def _tests(table, reasons, stage_reasons, reached, indicator, has_issue, cfg) -> pl.DataFrame:
    """One row per (slice, outcome): counts, rates, effect sizes, test, q, flag, effect, rank.
    A removal's rows are the slice's rows that reached the stage."""
    outcomes = []
    for s, members in stage_reasons.items():
        events = pl.sum_horizontal([pl.col(indicator[i]) for i in members])
        single = reasons[members[0]][1] if len(members) == 1 else None
        outcomes.append(("removed", s, single, "stage", pl.col(reached[s]), events))
        if len(members) > 1:
            for i in members:
                outcomes.append(("removed", s, reasons[i][1], "reason", pl.col(reached[s]), pl.col(indicator[i])))
    if has_issue:
        outcomes.append(("label_issue", None, None, "label_issue", pl.col("__issue_n"), pl.col("__issue_x")))
    if not outcomes:  # nothing removed and no label issues: an empty table with every column
        outcomes.append(("removed", None, None, "stage", pl.col("rows_in"), pl.col("rows_in")))
        table = table.clear()
    frames = []
    for order, (outcome, s, r, level, n, x) in enumerate(outcomes):
        frames.append(
            table.select(
                *_ID,
                pl.lit(outcome).alias("outcome"),
                pl.lit(level).alias("test_of"),
                pl.lit(s, pl.String).alias("stage"),
                pl.lit(r, pl.String).alias("reason"),
                n.cast(pl.Int64).alias("rows"),
                x.cast(pl.Int64).alias("events"),
                pl.lit(order, pl.Int32).alias("__order"),
            )
        )
    # The rest of the data: the other slices of the same grouping whose value is known.
    measured = _measured()
    per = ["grouping", "__order"]
    tests = pl.concat(frames, how="vertical").with_columns(
        pl.when(measured).then(pl.col("rows").filter(measured).sum().over(per) - pl.col("rows")).alias("rest_rows"),
        pl.when(measured).then(pl.col("events").filter(measured).sum().over(per) - pl.col("events")).alias("rest_events"),
        (pl.col("events").filter(measured).sum().over(per) / pl.col("rows").filter(measured).sum().over(per)).alias("overall_rate"),
    ).with_columns(
        (pl.col("events") / pl.col("rows")).alias("rate"),
        (pl.col("rest_events") / pl.col("rest_rows")).alias("rest_rate"),
    ).with_columns(
        (pl.col("rate") - pl.col("rest_rate")).alias("difference"),
        pl.when(pl.col("rest_rate") > 0).then(pl.col("rate") / pl.col("rest_rate")).alias("ratio"),
        (measured & (pl.col("rows") >= cfg.min_support) & (pl.col("rest_rows") >= cfg.min_support)).fill_null(False).alias("tested"),
    ).with_columns((pl.col("rows") * pl.col("difference")).alias("excess_rows"))
    counts = [tests[c].fill_null(0).to_numpy() for c in ("events", "rows", "rest_events", "rest_rows")]
    z, _ = two_proportion_test(*counts)
    p = fisher_exact_test(*counts)
    tested = tests["tested"].to_numpy()
    q = np.full(tests.height, np.nan)
    # One Benjamini–Hochberg family per question: "does this stage remove some slices more
    # than others?" (per stage), and "where do label issues concentrate?". Pooled, the many
    # true findings of one stage would loosen the bar for every other stage's tests.
    family = tests.select(pl.concat_str(pl.col("outcome"), pl.col("stage").fill_null(""), separator="|")).to_series().to_numpy()
    for name in np.unique(family[tested]):
        members = tested & (family == name)
        q[members] = benjamini_hochberg(p[members])
    tests = tests.with_columns(
        pl.Series("z", z).round(6),
        pl.Series("p", p),
        pl.Series("q", q).fill_nan(None),
    ).with_columns(
        pl.when(pl.col("tested")).then(pl.col("z")).alias("z"),
        pl.when(pl.col("tested")).then(pl.col("p")).alias("p"),
        (pl.col("tested") & (pl.col("q") <= cfg.alpha) & (pl.col("difference") > 0)).fill_null(False).alias("flagged"),
    )
    tests = _explain_and_score(tests, cfg)
    ranked = (
        tests.filter(pl.col("flagged") & pl.col("explained_by").is_null())
        .with_columns((pl.col("rows") >= cfg.rank_min_rows).alias("__large"))
        .sort(["__large", "effect_low", "q", "__order", "slice"], descending=[True, True, False, False, False])
        .with_row_index("rank", offset=1)
        .select("slice", "__order", pl.col("rank").cast(pl.Int32))
    )
    tests = tests.join(ranked, on=["slice", "__order"], how="left")
    fields = ["slice", "outcome", "test_of", "stage", "reason", "rows", "rate", "rest_rate", "ratio", "q", "rank", "__reasons"]
    sentences = [_sentence(row) if row["rank"] is not None else None for row in tests.select(fields).iter_rows(named=True)]
    tests = tests.with_columns(pl.Series("sentence", sentences, pl.String))
    columns = [*_ID, "outcome", "test_of", "stage", "reason", "rows", "events", "rate", "rest_rows", "rest_events", "rest_rate",
               "overall_rate", "difference", "ratio", "excess_rows", "z", "p", "q", "tested", "flagged", "explained_by",
               "reference_rate", "effect", "effect_low", "rank", "sentence", "__order"]
    return tests.select(columns).sort("__order", "level", "grouping", "rows", "slice", descending=[False, False, False, True, False])


def _explain_and_score(tests: pl.DataFrame, cfg: SlicesConfig) -> pl.DataFrame:
    """Mark flagged tests that a broader flagged finding explains, and score every test.

    A flagged pair (A & B) is explained by a flagged single parent (A, same outcome) unless
    its rate is significantly higher than the rest of that parent (A without B): Fisher's
    exact test, Benjamini–Hochberg over every such comparison, at `alpha`. A stage-level
    test is explained when one of that stage's reasons is flagged for the same slice.

    The effect is Cohen's h between the slice's rate and a reference rate: the rest of the
    data's, or for a pair under flagged parents the highest parent rate, so a pair ranks by
    what it adds beyond the broader slice already reported. `effect_low` is its lower 95%
    bound, h − 1.96·√(1/rows + 1/rest_rows): findings rank by it, so between two effects
    the one measured on more rows wins unless the other is clearly stronger.
    """
    parents = tests.filter((pl.col("level") == 1) & pl.col("flagged")).select(
        pl.col("column_a").alias("__pc"), pl.col("value_a").alias("__pv"), "__order",
        pl.col("slice").alias("__ps"), pl.col("rows").alias("__pn"), pl.col("events").alias("__px"), pl.col("rate").alias("__pr"),
    )
    out = tests.with_row_index("__i")
    for side in ("a", "b"):
        out = out.join(parents, left_on=[f"column_{side}", f"value_{side}", "__order"], right_on=["__pc", "__pv", "__order"], how="left")
        out = out.rename({c: f"{c}_{side}" for c in ("__ps", "__pn", "__px", "__pr")})
    out = out.sort("__i")
    # Within-parent comparisons: flagged pairs under a flagged parent.
    within = []
    for side in ("a", "b"):
        rows = out.filter(pl.col("flagged") & (pl.col("level") == 2) & pl.col(f"__pn_{side}").is_not_null())
        within.append(rows.select(
            "__i", pl.lit(side).alias("side"), "events", "rows",
            (pl.col(f"__px_{side}") - pl.col("events")).alias("x2"), (pl.col(f"__pn_{side}") - pl.col("rows")).alias("n2"),
        ))
    within = pl.concat(within)
    explained = pl.lit(None, pl.String)
    if within.height:
        p = fisher_exact_test(within["events"].to_numpy(), within["rows"].to_numpy(), within["x2"].to_numpy(), within["n2"].to_numpy())
        rate_in, rate_rest = within["events"].to_numpy() / within["rows"].to_numpy(), within["x2"].to_numpy() / np.maximum(within["n2"].to_numpy(), 1)
        stands_out = (benjamini_hochberg(p) <= cfg.alpha) & (rate_in > rate_rest)
        within = within.with_columns(pl.Series("stands_out", stands_out))
        for side in ("a", "b"):
            marks = within.filter(pl.col("side") == side).select("__i", pl.col("stands_out").alias(f"__so_{side}"))
            out = out.join(marks, on="__i", how="left")
            explained = pl.when(pl.col(f"__so_{side}").not_()).then(pl.col(f"__ps_{side}")).otherwise(explained)
    else:
        out = out.with_columns(pl.lit(None, pl.Boolean).alias("__so_a"), pl.lit(None, pl.Boolean).alias("__so_b"))
    out = out.with_columns(explained.alias("explained_by"))
    # Several reasons of one stage flagged for a slice: one stage-level finding names them;
    # exactly one: the reason-level finding, the more specific, stands for the stage.
    reasons = out.filter((pl.col("test_of") == "reason") & pl.col("flagged") & pl.col("explained_by").is_null())
    groups = [
        {"slice": slice_, "stage": stage, "__nr": len(part), "__by": part["reason"][0],
         "__reasons": ", ".join(f"`{r}` {percent(x)}" for r, x in part.select("reason", "rate").iter_rows())}
        for (slice_, stage), part in reasons.sort("rate", descending=True).group_by("slice", "stage", maintain_order=True)
    ]
    by_reason = pl.DataFrame(groups, schema={"slice": pl.String, "stage": pl.String, "__nr": pl.Int64, "__by": pl.String, "__reasons": pl.String})
    stage_found = out.filter((pl.col("test_of") == "stage") & pl.col("flagged") & pl.col("explained_by").is_null()).select(
        "slice", "stage", pl.lit(True).alias("__sf"))
    out = out.join(by_reason, on=["slice", "stage"], how="left").join(stage_found, on=["slice", "stage"], how="left").sort("__i")
    unexplained = pl.col("flagged") & pl.col("explained_by").is_null()
    out = out.with_columns(
        pl.when(unexplained & (pl.col("test_of") == "stage") & (pl.col("__nr") == 1)).then(pl.lit("reason ") + pl.col("__by"))
        .when(unexplained & (pl.col("test_of") == "reason") & (pl.col("__nr") > 1) & pl.col("__sf").fill_null(False)).then(pl.lit("stage ") + pl.col("stage"))
        .otherwise(pl.col("explained_by"))
        .alias("explained_by"),
        pl.when((pl.col("test_of") == "stage") & (pl.col("__nr") > 1)).then(pl.col("__reasons")).alias("__reasons"),
    )
    reference = pl.max_horizontal(pl.col("__pr_a"), pl.col("__pr_b"))
    reference = pl.when((pl.col("level") == 2) & reference.is_not_null()).then(reference).otherwise(pl.col("rest_rate"))
    out = out.with_columns(reference.alias("reference_rate")).with_columns(
        pl.when(pl.col("tested")).then(cohens_h(pl.col("rate"), pl.col("reference_rate"))).alias("effect")
    ).with_columns(
        # h's standard error is about √(1/n₁ + 1/n₂): rank by what the effect is at least
        (pl.col("effect") - EFFECT_Z * (1 / pl.col("rows") + 1 / pl.col("rest_rows")).sqrt()).alias("effect_low")
    )
    return out.drop("__i", "__by", "__nr", "__sf", *[f"{c}_{side}" for c in ("__ps", "__pn", "__px", "__pr", "__so") for side in ("a", "b")])


def _slices_table(table, reasons, indicator, has_issue, has_label, means, cfg) -> pl.DataFrame:
    """One row per slice. Shares are within the slice's grouping, over the rows whose value
    is known there (a `(not measured)` slice has none)."""
    measured = _measured()
    removed = pl.col("rows_removed")
    known = pl.col("rows_in").filter(measured).sum().over("grouping")
    kept = pl.col("rows_out").filter(measured).sum().over("grouping")
    columns = [
        *_ID,
        "rows_in",
        pl.when(measured).then(pl.col("rows_in") / pl.col("rows_in").filter(measured).sum().over("grouping")).alias("share_in"),
        "rows_out",
        pl.when(measured & (kept > 0)).then(pl.col("rows_out") / kept).alias("share_out"),
        removed,
        pl.when(pl.col("rows_in") > 0).then(removed / pl.col("rows_in")).alias("removal_rate"),  # a slice of relabelled rows only has none
    ]
    if reasons:
        entries = [pl.struct(stage=pl.lit(s), reason=pl.lit(r), rows=pl.col(name).cast(pl.Int64)) for (s, r, _), name in zip(reasons, indicator)]
        columns.append(pl.concat_list(entries).list.filter(pl.element().struct.field("rows") > 0).alias("removed_by"))
    if has_issue:
        columns += [
            pl.col("__issue_x").cast(pl.Int64).alias("label_issue_rows"),
            pl.col("__issue_n").cast(pl.Int64).alias("label_issue_known"),
            pl.when(pl.col("__issue_n") > 0).then(pl.col("__issue_x") / pl.col("__issue_n")).alias("label_issue_rate"),  # null, not NaN, where none is known
        ]
    if has_label:
        columns.append("labels")
    columns += [f"mean_{m}" for m in means]
    columns.append(measured.alias("measured"))
    columns.append((measured & ((pl.col("rows_in") < cfg.min_support) | (known - pl.col("rows_in") < cfg.min_support))).alias("below_support"))
    out = table.select(columns)
    return out.with_columns((pl.col("share_out") - pl.col("share_in")).alias("share_change"))


def _whole_run(slices: pl.DataFrame, cfg: SlicesConfig) -> dict[str, Any]:
    """The whole pipeline's effect, apart from the per-stage findings: the share of each
    single-column slice's input rows that any stage removed, against the rest of that
    column's rows; Fisher's exact test, Benjamini–Hochberg within this view."""
    measured = slices.filter(pl.col("level") == 1, pl.col("measured"))
    rest_rows = pl.col("rows_in").sum().over("grouping") - pl.col("rows_in")
    rest_removed = pl.col("rows_removed").sum().over("grouping") - pl.col("rows_removed")
    view = measured.select(
        "slice", "rows_in", "rows_removed", "removal_rate", rest_rows.alias("rest_rows"), rest_removed.alias("rest_removed"),
    ).with_columns((pl.col("rest_removed") / pl.col("rest_rows")).alias("rest_rate")).with_columns(
        ((pl.col("rows_in") >= cfg.min_support) & (pl.col("rest_rows") >= cfg.min_support)).alias("tested"),
        cohens_h(pl.col("removal_rate"), pl.col("rest_rate")).alias("effect"),
    )
    tested = view.filter("tested")
    q = benjamini_hochberg(fisher_exact_test(*(tested[c].to_numpy() for c in ("rows_removed", "rows_in", "rest_removed", "rest_rows"))))
    flagged = tested.with_columns(pl.Series("q", q)).filter((pl.col("q") <= cfg.alpha) & (pl.col("removal_rate") > pl.col("rest_rate")))
    flagged = flagged.sort(["effect", "slice"], descending=[True, False]).head(cfg.top)
    return {
        "what": "share of each slice's input rows removed by all earlier stages together (not a per-stage finding)",
        "slices": [
            {
                "slice": r["slice"], "rows": r["rows_in"], "removed": r["rows_removed"], "rate": _round(r["removal_rate"]),
                "rest_rate": _round(r["rest_rate"]), "effect": _round(r["effect"], 4), "q": r["q"],
                "sentence": f"the whole run removes {percent(r['removal_rate'])} of `{r['slice']}` vs {percent(r['rest_rate'])} elsewhere "
                            f"({r['rows_in']:,} rows; adjusted {p_text(r['q'])})",
            }
            for r in flagged.iter_rows(named=True)
        ],
    }


def _representation(slices: pl.DataFrame) -> dict[str, Any]:
    """Total variation distance between input and output shares per column (and pair),
    and the single-column slices whose share moved most."""
    tvd: dict[str, float | None] = {}
    for (grouping,), part in slices.filter(pl.col("measured")).group_by("grouping", maintain_order=True):
        if part["share_out"].null_count() == part.height:
            tvd[grouping] = None  # nothing of it was kept
        else:
            tvd[grouping] = _round(total_variation(part["share_in"].to_numpy(), part["share_out"].fill_null(0).to_numpy()))
    shifts = (
        slices.filter(pl.col("level") == 1, pl.col("share_change").is_not_null())
        .sort(pl.col("share_change").abs(), "slice", descending=[True, False])
        .head(SHIFTS_LISTED)
    )
    return {
        "tvd": tvd,
        "largest_shifts": [
            {"slice": r["slice"], "share_in": _round(r["share_in"]), "share_out": _round(r["share_out"]), "change": _round(r["share_change"])}
            for r in shifts.iter_rows(named=True)
        ],
    }


def _round(value: float | None, digits: int = 6) -> float | None:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    return round(float(value), digits)


def _finding_json(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "rank": row["rank"],
        "sentence": row["sentence"],
        "slice": row["slice"],
        "columns": [c for c in (row["column_a"], row["column_b"]) if c is not None],
        "outcome": row["outcome"],
        "stage": row["stage"],
        "reason": row["reason"],
        "rows": row["rows"],
        "events": row["events"],
        "rate": _round(row["rate"]),
        "rest_rate": _round(row["rest_rate"]),
        "ratio": _round(row["ratio"], 4),
        "difference": _round(row["difference"]),
        "excess_rows": _round(row["excess_rows"], 1),
        "effect": _round(row["effect"], 4),
        "effect_low": _round(row["effect_low"], 4),
        "p": row["p"],
        "q": row["q"],
    }


def _sentence(row: dict[str, Any]) -> str:
    """A finding in plain words, e.g. "stage `quality`, reason `gopher_below_alpha_threshold`,
    removes 41% of `source=forum` vs 6.0% elsewhere (6.8×; 1,234 rows; adjusted p < 1e-6)"."""
    rest = "none elsewhere" if row["rest_rate"] == 0 else f"{percent(row['rest_rate'])} elsewhere"
    ratio = "" if row["ratio"] is None else f"{row['ratio']:.1f}×; "
    tail = f"({ratio}{row['rows']:,} rows; adjusted {p_text(row['q'])})"
    if row["outcome"] == "label_issue":
        return f"`{row['slice']}` has label issues in {percent(row['rate'])} of its rows vs {rest} {tail}"
    if row["test_of"] == "reason":
        who = f"stage `{row['stage']}`, reason `{row['reason']}`,"
    elif row["reason"] is not None:
        who = f"stage `{row['stage']}` (`{row['reason']}`)"
    else:
        who = f"stage `{row['stage']}`"
    reasons = f"; reasons: {row['__reasons']}" if row.get("__reasons") else ""
    return f"{who} removes {percent(row['rate'])} of `{row['slice']}` vs {rest} {tail}{reasons}"
