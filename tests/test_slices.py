from __future__ import annotations

import importlib.util
import json
import math
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from runs import cli, read_dir, run, write_pipeline, write_shards

from curate.config import parse_pipeline
from curate.errors import ConfigError, ManyErrors
from curate.stages import STAGES
from curate.stages.base import POSITION, REASON, SHARD, Columns
from curate.stages.slices import Slices, SlicesConfig
from curate.stages.slices.statistics import (
    MISSING,
    NOT_MEASURED,
    OTHER,
    benjamini_hochberg,
    edge_labels,
    fisher_exact_test,
    quantile_edges,
    total_variation,
    two_proportion_test,
)

REPO = Path(__file__).resolve().parent.parent


def analyse(kept: pl.DataFrame, removed: pl.DataFrame | None = None, label: str | None = None, order: list[str] | None = None,
            added_by: dict[str, str] | None = None, **config):
    """Run the stage the way the runner does: summarize the kept rows, decide with the
    removed ones, the earlier stages' order and the columns they add."""
    stage = Slices(SlicesConfig(**config), Columns(label=label))
    summaries = stage.summarize(kept).with_columns(pl.lit(0, pl.Int32).alias(SHARD), pl.int_range(pl.len(), dtype=pl.Int64).alias(POSITION))
    stage.stages_before = tuple(order or ())  # what the runner sets
    stage.added_by = added_by or {}
    decisions, stats = stage.decide(summaries.lazy(), removed=None if removed is None else removed.lazy())
    assert decisions.height == kept.height and decisions[REASON].null_count() == kept.height
    return stats


def removed_rows(frame: pl.DataFrame, stage: str, reason: str) -> pl.DataFrame:
    return frame.with_columns(curate_stage=pl.lit(stage), curate_reason=pl.lit(reason))


def one(table: pl.DataFrame, **where) -> dict:
    rows = table.filter(*[pl.col(k) == v for k, v in where.items()])
    assert rows.height == 1, (where, rows)
    return rows.row(0, named=True)


def fisher_by_hand(x1: int, n1: int, x2: int, n2: int) -> float:
    """Two-sided Fisher p (doubling the smaller tail) straight from binomial coefficients."""
    events, total = x1 + x2, n1 + n2

    def prob(k: int) -> float:
        return math.comb(events, k) * math.comb(total - events, n1 - k) / math.comb(total, n1)

    support = range(max(0, n1 - (total - events)), min(events, n1) + 1)
    upper = sum(prob(k) for k in support if k >= x1)
    lower = sum(prob(k) for k in support if k <= x1)
    return min(1.0, 2 * min(upper, lower))


# ---------------------------------------------------------------- the statistics, by hand


def test_two_proportion_z_against_hand_computed_values():
    # 30/100 vs 20/200: pooled 50/300, se = sqrt(1/6 * 5/6 * (1/100 + 1/200)) = sqrt(1/480)
    z, p = two_proportion_test([30, 20, 0, 5], [100, 200, 50, 0], [20, 30, 0, 5], [200, 100, 50, 10])
    assert z[0] == pytest.approx(0.2 * math.sqrt(480)) and z[1] == pytest.approx(-0.2 * math.sqrt(480))
    assert p[0] == pytest.approx(1.1771339e-05, rel=1e-6) and p[1] == p[0]
    assert (z[2], p[2]) == (0.0, 1.0)  # no events anywhere: no evidence
    assert p[3] == 1.0  # an empty group


def test_fisher_exact_against_hand_computed_values():
    # [[3, 1], [1, 3]]: P(X >= 3) = (C(4,3)C(4,1) + C(4,4)) / C(8,4) = 17/70, doubled
    # [[5, 0], [0, 5]]: P(X = 5) = 1/C(10,5) = 1/252, doubled
    p = fisher_exact_test([3, 5, 1, 0, 12], [4, 5, 4, 10, 100], [1, 0, 3, 0, 10], [4, 5, 4, 10, 300])
    assert p[0] == pytest.approx(34 / 70) and p[1] == pytest.approx(2 / 252) and p[2] == pytest.approx(34 / 70)
    assert p[3] == 1.0  # no events
    assert p[4] == pytest.approx(fisher_by_hand(12, 100, 10, 300), rel=1e-9)


def test_benjamini_hochberg_against_hand_computed_values():
    # sorted 0.005, 0.01, 0.03, 0.04 → ×4/1, ×4/2, ×4/3, ×4/4 = 0.02, 0.02, 0.04, 0.04
    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.02, 0.04, 0.04, 0.02])
    # the running minimum from the largest p down: 0.06 → min(0.06, 0.045) = 0.045
    assert benjamini_hochberg([0.02, 0.03, 0.5]) == pytest.approx([0.045, 0.045, 0.5])
    assert benjamini_hochberg([0.9, 0.8]) == pytest.approx([0.9, 0.9])
    assert benjamini_hochberg([0.6]) == pytest.approx([0.6]) and benjamini_hochberg([]).size == 0


def test_total_variation_distance():
    assert total_variation([0.5, 0.5], [0.25, 0.75]) == pytest.approx(0.25)
    assert total_variation([1, 0], [0, 1]) == 1.0 and total_variation([0.2, 0.8], [0.2, 0.8]) == 0.0


# ---------------------------------------------------------------- declared slices


def forum_and_wiki() -> tuple[pl.DataFrame, pl.DataFrame]:
    """200 rows: 50 forum (20 removed by quality), 150 wiki (15 removed)."""
    frame = pl.DataFrame({
        "source": ["forum"] * 50 + ["wiki"] * 150,
        "label": (["a", "b"] * 25) + (["a"] * 100 + ["b"] * 50),
        "score": [1.0] * 50 + [3.0] * 150,
    })
    gone = pl.Series([i < 20 for i in range(50)] + [i < 15 for i in range(150)])
    return frame.filter(~gone), removed_rows(frame.filter(gone), "quality", "rule_x")


def test_declared_categorical_slice_against_hand_computed_numbers():
    kept, removed = forum_and_wiki()
    stats = analyse(kept, removed, label="label", columns=["source"], pairs=False, means=["score"])
    slices, tests = stats["tables"]["slices"], stats["tables"]["tests"]
    forum = one(slices, slice="source=forum")
    assert (forum["rows_in"], forum["rows_out"], forum["rows_removed"]) == (50, 30, 20)
    assert forum["share_in"] == pytest.approx(0.25) and forum["share_out"] == pytest.approx(30 / 165)
    assert forum["share_change"] == pytest.approx(30 / 165 - 0.25) and forum["removal_rate"] == pytest.approx(0.4)
    assert forum["removed_by"] == [{"stage": "quality", "reason": "rule_x", "rows": 20}]
    assert forum["labels"] == [{"label": "a", "rows": 25}, {"label": "b", "rows": 25}]
    assert forum["mean_score"] == pytest.approx(1.0)
    assert stats["representation"]["tvd"]["source"] == pytest.approx(0.25 - 30 / 165, abs=1e-6)  # rounded to 6 digits

    test = one(tests, slice="source=forum")
    assert (test["rows"], test["events"], test["rest_rows"], test["rest_events"]) == (50, 20, 150, 15)
    assert test["rate"] == 0.4 and test["rest_rate"] == pytest.approx(0.1)
    assert test["ratio"] == pytest.approx(4.0) and test["difference"] == pytest.approx(0.3)
    assert test["excess_rows"] == pytest.approx(15.0)
    p = fisher_by_hand(20, 50, 15, 150)
    assert test["p"] == pytest.approx(p, rel=1e-9)
    assert test["q"] == pytest.approx(p, rel=1e-9)  # two tests with equal p: BH leaves them
    # Cohen's h against the rest: 2 asin √0.4 − 2 asin √0.1; ranked by its lower bound
    assert test["effect"] == pytest.approx(2 * math.asin(math.sqrt(0.4)) - 2 * math.asin(math.sqrt(0.1)))
    assert test["effect_low"] == pytest.approx(test["effect"] - 1.96 * math.sqrt(1 / 50 + 1 / 150))
    assert test["flagged"] and test["rank"] == 1
    wiki = one(tests, slice="source=wiki")
    assert wiki["p"] == pytest.approx(p) and not wiki["flagged"]  # depleted, never a finding
    assert stats["findings_total"] == 1
    finding = stats["findings"][0]
    assert finding["sentence"] == (
        f"stage `quality` (`rule_x`) removes 40% of `source=forum` vs 10% elsewhere (4.0×; 50 rows; adjusted p = {p:.2g})"
    )
    assert {k: finding[k] for k in ("rank", "slice", "outcome", "stage", "reason", "rows", "events")} == {
        "rank": 1, "slice": "source=forum", "outcome": "removed", "stage": "quality", "reason": "rule_x", "rows": 50, "events": 20}
    json.dumps({k: v for k, v in stats.items() if k != "tables"}, allow_nan=False)


def test_reason_level_tests_and_label_issue_rates():
    kept, removed = forum_and_wiki()
    # Split the removals over two reasons: forum's all by rule_x, wiki's by rule_y.
    removed = removed.with_columns(curate_reason=pl.when(pl.col("source") == "forum").then(pl.lit("rule_x")).otherwise(pl.lit("rule_y")))
    issue = [i % 2 == 0 for i in range(kept.height)]  # forum's 30 kept rows: 15 issues; wiki's 135: 68
    stats = analyse(kept.with_columns(label_issue=pl.Series(issue)), removed, columns=["source"], pairs=False)
    tests = stats["tables"]["tests"]
    assert set(tests["test_of"]) == {"stage", "reason", "label_issue"}
    x = one(tests, slice="source=forum", test_of="reason", reason="rule_x")
    assert (x["events"], x["rest_events"], x["rate"]) == (20, 0, 0.4) and x["ratio"] is None
    assert x["rank"] == 1 and x["sentence"].startswith("stage `quality`, reason `rule_x`, removes 40% of `source=forum` vs none elsewhere (50 rows;")
    stage_level = one(tests, slice="source=forum", test_of="stage")
    assert stage_level["flagged"] and stage_level["explained_by"] == "reason rule_x" and stage_level["rank"] is None
    issues = one(tests, slice="source=forum", outcome="label_issue")
    assert (issues["rows"], issues["events"], issues["rest_rows"], issues["rest_events"]) == (30, 15, 135, 68)
    assert stats["label_issue_rows"] == 83 and stats["label_issue_known"] == 165  # removed rows have no label_issue
    row = one(stats["tables"]["slices"], slice="source=forum")
    assert (row["label_issue_rows"], row["label_issue_known"]) == (15, 30)


def test_a_stage_rate_is_over_the_rows_that_reached_it():
    """The issue-15 false alarm: `dedup` removes 30% of source=s2, then `length` removes
    7.8% of what reaches it, at random. Over input rows `length` would seem to remove more
    of s1 (8.1%) than elsewhere; over the rows that reached it, it does not."""
    rng = np.random.default_rng(0)
    frame = pl.DataFrame({"source": np.repeat(["s1", "s2", "s3"], 4000)})
    first = (frame["source"] == "s2").to_numpy() & (rng.random(frame.height) < 0.3)
    second = ~first & (rng.random(frame.height) < 0.078)
    removed = pl.concat([removed_rows(frame.filter(pl.Series(first)), "dedup", "duplicate"),
                         removed_rows(frame.filter(pl.Series(second)), "length", "too_short")])
    kept = frame.filter(pl.Series(~first & ~second))
    stats = analyse(kept, removed, order=["dedup", "length"], columns=["source"])
    s1 = one(stats["tables"]["tests"], slice="source=s1", stage="length")
    assert s1["rows"] == 4000 and s1["events"] == int(second[:4000].sum())
    s2 = one(stats["tables"]["tests"], slice="source=s2", stage="length")
    assert s2["rows"] == 4000 - int(first.sum())  # the rows of s2 that reached `length`
    assert s2["rate"] == pytest.approx(second[4000:8000].sum() / s2["rows"])
    assert [(f["stage"], f["slice"]) for f in stats["findings"]] == [("dedup", "source=s2")]
    # the whole pipeline's effect is its own, labelled view
    whole = stats["whole_run"]
    assert "all earlier stages together" in whole["what"]
    assert [w["slice"] for w in whole["slices"]] == ["source=s2"]
    assert whole["slices"][0]["sentence"].startswith("the whole run removes 3")


def test_a_few_rows_never_outrank_a_large_strong_effect():
    """A 20-row slice removed entirely (tested: min_support 10) ranks after a 1,000-row
    slice that loses half its rows (rank_min_rows 50)."""
    rng = np.random.default_rng(1)
    source = np.array(["short"] * 1000 + ["tiny"] * 20 + ["long"] * 3000)
    gone = np.where(source == "short", rng.random(source.size) < 0.5, np.where(source == "tiny", True, rng.random(source.size) < 0.05))
    frame = pl.DataFrame({"source": source})
    stats = analyse(frame.filter(pl.Series(~gone)), removed_rows(frame.filter(pl.Series(gone)), "quality", "rule"),
                    columns=["source"], min_support=10)
    ranked = [f["slice"] for f in stats["findings"]]
    assert ranked == ["source=short", "source=tiny"]
    assert stats["findings"][1]["effect"] > stats["findings"][0]["effect"]  # stronger, but on 20 rows


def test_quantile_and_edge_buckets():
    assert quantile_edges(pl.Series([1, 2, 3, 4, 5, 6, 7, 8]), 4) == [2.75, 4.5, 6.25]
    assert quantile_edges(pl.Series([5, 5, 5, 5]), 4) == []  # all ties: one bucket
    assert quantile_edges(pl.Series([1, 1, 1, 1, 1, 1, 9, 10]), 4) == [3.0]  # duplicate cuts dropped
    assert edge_labels([2.75, 4.5, 6.25]) == ["<2.75", "[2.75, 4.5)", "[4.5, 6.25)", ">=6.25"]
    assert edge_labels([]) == ["(all)"] and edge_labels([0.33333, 0.33334]) == ["<0.33333", "[0.33333, 0.33334)", ">=0.33334"]

    kept = pl.DataFrame({"n": [1.0, 2, 3, 4, 5, 6, None, float("nan")], "m": [1, 5, 10, 50, 100, 500, 1000, 2]})
    removed = removed_rows(pl.DataFrame({"n": [7.0, 8.0], "m": [3, 3]}), "length", "too_short")
    stats = analyse(kept, removed, numeric={"n": {"quantiles": 4}, "m": {"edges": [10, 100]}}, pairs=False, min_support=1)
    slices = stats["tables"]["slices"]
    # n's edges come from every input row (kept and removed): 1..8
    assert stats["columns"][0] == {"column": "n", "kind": "numeric", "edges": [2.75, 4.5, 6.25],
                                   "buckets": ["<2.75", "[2.75, 4.5)", "[4.5, 6.25)", ">=6.25", MISSING], "missing_rows": 2,
                                   "not_measured_rows": 0}
    got = dict(slices.filter(pl.col("column_a") == "n").select("slice", "rows_in").iter_rows())
    assert got == {"n<2.75": 2, "n in [2.75, 4.5)": 2, "n in [4.5, 6.25)": 2, "n>=6.25": 2, f"n={MISSING}": 2}
    assert one(slices, slice="n>=6.25")["rows_removed"] == 2 and one(slices, slice="n>=6.25")["mean_n"] == 7.5
    got = dict(slices.filter(pl.col("column_a") == "m").select("slice", "rows_in").iter_rows())
    assert got == {"m<10": 5, "m in [10, 100)": 2, "m>=100": 3}


def test_a_value_that_reads_like_a_bucket_is_its_own_slice():
    tags = ["(missing)"] * 100 + [None] * 50 + ['"(missing)"'] * 40 + ["(other)"] * 30 + ["x"] * 80
    kept = pl.DataFrame({"tag": tags, "label": tags})
    stats = analyse(kept, label="label", columns=["tag"], pairs=False)
    assert stats["columns"][0]["missing_rows"] == 50
    slices = stats["tables"]["slices"]
    assert dict(slices.select("slice", "rows_in").iter_rows()) == {
        'tag="(missing)"': 100, "tag=x": 80, f"tag={MISSING}": 50, 'tag=""(missing)""': 40, 'tag="(other)"': 30}
    assert one(slices, slice=f"tag={MISSING}")["labels"] == [{"label": MISSING, "rows": 50}]
    assert one(slices, slice='tag="(missing)"')["labels"] == [{"label": '"(missing)"', "rows": 100}]


def test_bucket_labels_never_put_a_value_on_the_wrong_side():
    """Edges are shown exactly: 1000.4 read as 1000 would label the bucket holding 1000 `<1000`."""
    assert edge_labels([1000.4]) == ["<1000.4", ">=1000.4"]
    assert edge_labels([1 / 3, 1.2345e20]) == ["<0.3333333333333333", "[0.3333333333333333, 1.2345e+20)", ">=1.2345e+20"]
    kept = pl.DataFrame({"n": list(range(1000, 1010))})  # quartile edges 1002.25, 1004.5, 1006.75
    stats = analyse(kept.with_columns(pl.col("n").alias("e")), numeric={"n": {"quantiles": 4}, "e": {"edges": [1003.4]}}, pairs=False, min_support=1)
    slices = stats["tables"]["slices"]
    got = dict(slices.select("slice", "rows_in").iter_rows())
    # 1002 is in n<1002.25 (4 digits read it `<1002`), 1003 in e<1003.4 (`<1003`)
    assert got == {"n<1002.25": 3, "n in [1002.25, 1004.5)": 2, "n in [1004.5, 1006.75)": 2, "n>=1006.75": 3, "e<1003.4": 4, "e>=1003.4": 6}


def test_conjunctions_of_two_columns():
    kept = pl.DataFrame({"a": ["x", "x", "y", "y", "y"], "b": ["p", "q", "p", "p", None], "c": [1, 2, 3, 4, 5]})
    stats = analyse(kept, None, columns=["a", "b"], numeric={"c": {"edges": [3]}}, min_support=1)
    assert stats["pairs"] == [["a", "b"], ["a", "c"], ["b", "c"]]
    slices = stats["tables"]["slices"]
    pairs = dict(slices.filter(pl.col("grouping") == "a & b").select("slice", "rows_in").iter_rows())
    assert pairs == {"a=y & b=p": 2, "a=x & b=p": 1, "a=x & b=q": 1, f"a=y & b={MISSING}": 1}
    assert one(slices, slice="a=y & c>=3")["rows_in"] == 3 and one(slices, slice="a=y & c>=3")["level"] == 2
    listed = analyse(kept, None, columns=["a", "b"], numeric={"c": {"edges": [3]}}, pairs=[["c", "a"]], min_support=1)
    assert listed["pairs"] == [["a", "c"]]
    assert analyse(kept, None, columns=["a", "b"], pairs=False)["pairs"] == []


def test_tiny_slices_below_support_are_reported_but_never_tested():
    frame = pl.DataFrame({"source": ["blog"] * 10 + ["web"] * 300})
    gone = pl.Series([True] * 10 + [i < 15 for i in range(300)])
    stats = analyse(frame.filter(~gone), removed_rows(frame.filter(gone), "quality", "rule"), columns=["source"], min_support=30)
    blog = one(stats["tables"]["tests"], slice="source=blog")
    assert blog["rate"] == 1.0 and not blog["tested"] and blog["p"] is None and blog["q"] is None and not blog["flagged"]
    assert one(stats["tables"]["slices"], slice="source=blog")["below_support"]
    # web has support, but its rest (blog, 10 rows) does not: untested too
    assert not one(stats["tables"]["tests"], slice="source=web")["tested"]
    assert stats["tests"] == 0 and stats["slices_below_support"] == 2 and stats["findings"] == []
    # with support 10 the blog slice is tested and flagged
    assert analyse(frame.filter(~gone), removed_rows(frame.filter(gone), "quality", "rule"), columns=["source"], min_support=10)["findings"][0]["slice"] == "source=blog"


def test_null_values_are_missing_and_columns_added_after_a_removal_are_not_measured():
    # `lang` comes after the lineage column: an earlier stage added it (docs/run-layout.md)
    kept = pl.DataFrame({
        "source": ["a"] * 40 + ["b"] * 40, "curate_source": ["f"] * 80,
        "lang": ["en"] * 30 + [None] * 10 + ["de"] * 40,
    })
    # exact removed these before langid added `lang`: their files have no such column
    early = removed_rows(pl.DataFrame({"source": ["a"] * 50, "curate_source": ["f"] * 50}), "exact", "exact_duplicate")
    # langid removed these: they have `lang`
    late = removed_rows(pl.DataFrame({"source": ["b"] * 10, "curate_source": ["f"] * 10, "lang": ["fr"] * 10}), "langid", "lang_not_kept:fr")
    stats = analyse(kept, pl.concat([early, late], how="diagonal"), columns=["lang", "source"], min_support=5)
    lang = stats["columns"][0]
    assert (lang["missing_rows"], lang["not_measured_rows"]) == (10, 50) and stats["columns"][1]["not_measured_rows"] == 0
    slices, tests = stats["tables"]["slices"], stats["tables"]["tests"]
    assert dict(slices.filter(pl.col("grouping") == "lang").select("value_a", "rows_in").iter_rows()) == {
        "de": 40, "en": 30, "fr": 10, MISSING: 10, NOT_MEASURED: 50}
    unmeasured = one(slices, slice=f"lang={NOT_MEASURED}")
    assert not unmeasured["measured"] and unmeasured["share_in"] is None and unmeasured["removed_by"] == [
        {"stage": "exact", "reason": "exact_duplicate", "rows": 50}]
    # shares and tests on lang count only the 90 rows whose language is known
    assert one(slices, slice="lang=de")["share_in"] == pytest.approx(40 / 90)
    assert stats["representation"]["tvd"]["lang"] == pytest.approx(0.5 * (abs(40 / 80 - 40 / 90) + abs(30 / 80 - 30 / 90) + 10 / 90 + abs(10 / 80 - 10 / 90)), abs=1e-6)
    fr = one(tests, slice="lang=fr", stage="langid")
    assert (fr["rows"], fr["events"], fr["rest_rows"], fr["rest_events"]) == (10, 10, 80, 0) and fr["flagged"]
    assert not one(tests, slice=f"lang={NOT_MEASURED}", stage="exact")["tested"]
    # exact's removals are not "elsewhere" for lang: no lang slice is tested against them as rest
    assert one(tests, slice="lang=de", stage="exact")["rest_events"] == 0
    assert not any(f["slice"].startswith("lang=(") for f in stats["findings"])
    # pairs with lang: unmeasured too; `source` alone still sees every row
    assert not one(slices, slice=f"lang={NOT_MEASURED} & source=a")["measured"]
    assert one(tests, slice="source=a", stage="exact")["rows"] == 90


def test_many_values_are_capped_with_an_other_bucket():
    kept = pl.DataFrame({"site": [f"s{i}" for i in range(10)] + ["big"] * 20})
    stats = analyse(kept, None, columns=["site"], max_levels=3)
    assert stats["columns"][0]["buckets"] == ["big", "s0", OTHER] and stats["columns"][0]["other_bucket"]
    assert dict(stats["tables"]["slices"].select("value_a", "rows_in").iter_rows()) == {"big": 20, "s0": 1, OTHER: 9}
    # null is (missing) however rare, never merged into (other)
    with_nulls = pl.concat([kept, pl.DataFrame({"site": [None, None]}, schema={"site": pl.String})])
    stats = analyse(with_nulls, None, columns=["site"], max_levels=3)
    assert (stats["columns"][0]["buckets"], stats["columns"][0]["missing_rows"]) == (["big", "s0", OTHER, MISSING], 2)
    assert dict(stats["tables"]["slices"].select("value_a", "rows_in").iter_rows()) == {"big": 20, "s0": 1, OTHER: 9, MISSING: 2}


def test_nothing_removed_and_no_label_issues_gives_empty_tests():
    stats = analyse(pl.DataFrame({"source": ["a", "b"] * 40}), None, columns=["source"])
    assert stats["tests"] == 0 and stats["tables"]["tests"].height == 0 and stats["removed_by"] == []
    assert stats["representation"]["tvd"]["source"] == 0.0


def test_pair_under_a_flagged_parent_is_explained_unless_it_stands_out():
    rng = np.random.default_rng(1)
    n = 4000
    source = rng.choice(["forum", "wiki"], n, p=[0.3, 0.7])
    kind = rng.choice(["q", "r", "s"], n)
    rate = np.where(source == "forum", 0.3, 0.05)
    rate = np.where((source == "forum") & (kind == "s"), 0.8, rate)  # a pair that stands out within forum
    gone = pl.Series(rng.random(n) < rate)
    frame = pl.DataFrame({"source": source, "kind": kind})
    stats = analyse(frame.filter(~gone), removed_rows(frame.filter(gone), "quality", "rule"), columns=["source", "kind"])
    tests = stats["tables"]["tests"]
    assert one(tests, slice="source=forum & kind=q")["explained_by"] == "source=forum"
    standout = one(tests, slice="source=forum & kind=s")
    assert standout["explained_by"] is None and standout["rank"] is not None
    # a pair's effect is measured against its flagged parent's rate
    parent = one(tests, slice="source=forum")
    assert standout["reference_rate"] == pytest.approx(max(parent["rate"], one(tests, slice="kind=s")["rate"]))
    # forum is the top finding; the pair (80% against its parent's 30%) is the next strongest
    # effect; kind=s, elevated only through forum's s rows, is the weakest
    assert [f["slice"] for f in stats["findings"]] == ["source=forum", "source=forum & kind=s", "kind=s"]


# ---------------------------------------------------------------- configuration and errors


def config_error(entry: dict) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_pipeline(json.dumps({"input": {"path": "x"}, "stages": [entry]}), "p.yaml")
    return str(caught.value)


def test_config_errors_name_the_key():
    assert "stages[0]: declare at least one slice column" in config_error({"stage": "slices"})
    assert "stages[0].mode" in config_error({"stage": "slices", "columns": ["a"], "mode": "filter"})
    assert "exactly one of `quantiles: N` or `edges" in config_error({"stage": "slices", "numeric": {"n": {}}})
    assert "strictly increasing" in config_error({"stage": "slices", "numeric": {"n": {"edges": [3, 1]}}})
    assert "'b' is not a declared slice column; declared: a" in config_error({"stage": "slices", "columns": ["a"], "pairs": [["a", "b"]]})
    assert "stages[0].numeric: numeric.n: unknown key 'quantile'; valid keys: quantiles, edges" in config_error(
        {"stage": "slices", "numeric": {"n": {"quantile": 4}}})
    assert "declared twice" in config_error({"stage": "slices", "columns": ["a"], "numeric": {"a": {"quantiles": 2}}})
    ok = parse_pipeline("input: {path: x}\nstages:\n  - stage: slices\n    columns: [source]\n    numeric: {text_chars: {quantiles: 4}}\n", "p.yaml")
    assert ok.stages[0].mode == "annotate" and ok.stages[0].pairs is True


def test_absent_or_mistyped_columns_stop_with_one_line():
    stage = Slices(SlicesConfig(columns=["source"], numeric={"lang_score": {"quantiles": 4}}), Columns())
    frame = pl.DataFrame({"text": ["a"], "source": ["x"]})
    with pytest.raises(ConfigError, match=r"stage 'slices': numeric.lang_score: no column 'lang_score' in the rows that reach this stage \(columns: text, source\)"):
        stage.summarize(frame)
    with pytest.raises(ConfigError, match=r"numeric.lang_score: column 'lang_score' is String, not numeric"):
        stage.summarize(frame.with_columns(lang_score=pl.lit("high")))
    with pytest.raises(ConfigError, match=r"label_issue_column: column 'label_issue' is Int64, not boolean"):
        stage.summarize(frame.with_columns(lang_score=pl.lit(0.5), label_issue=pl.lit(1, pl.Int64)))
    assert stage.required_columns() == ["text", "source", "lang_score"]  # the column flow checks them before a run
    assert Slices(SlicesConfig(columns=["x"]), Columns(label="label")).required_columns() == ["label", "x"]


# ---------------------------------------------------------------- through the runner


def test_mistyped_input_columns_stop_the_run_before_its_directory(tmp_path):
    write_shards(tmp_path, corpus())
    for option, message in [({"numeric": {"label": {"quantiles": 4}}}, "numeric.label: column 'label' is String, not numeric"),
                            ({"label_issue_column": "source"}, "label_issue_column: column 'source' is String, not boolean")]:
        stages = [{"stage": "length_filter", "min_words": 3}, {"stage": "slices", "columns": ["source"], **option}]
        with pytest.raises(ConfigError, match=rf"pipeline.yaml, line 8: stages\[1\] \(slices\): {message}"):
            run(write_pipeline(tmp_path, stages, label_column="label"), tmp_path / "out")
        assert not (tmp_path / "out").exists()


def test_every_non_numeric_numeric_column_is_named_at_once_at_its_stages_line(tmp_path):
    """check and run named only the first (d32), without a line: one more per attempt."""
    (tmp_path / "in").mkdir()
    days = [date(2024, 1, d) for d in range(1, 7)]
    pl.DataFrame({
        "text": [f"a post about topic {n} in a few words" for n in range(6)],
        "d32": days,
        "dur": [timedelta(minutes=n) for n in range(6)],
        "published": [datetime(2024, 1, 1, n) for n in range(6)],
        "score": [0.1, 0.4, 0.2, 0.9, 0.5, 0.7],
    }).write_parquet(tmp_path / "in" / "posts.parquet")
    numeric = {c: {"quantiles": 2} for c in ("d32", "score", "dur", "published")}
    path = write_pipeline(tmp_path, [{"stage": "length_filter", "min_words": 3}, {"stage": "slices", "columns": ["text"], "numeric": numeric}])
    expected = [f"{path}, line 7: stages[1] (slices): numeric.{column}: column {column!r} is {dtype}, not numeric; list it under `columns:` to slice by its values"
                for column, dtype in [("d32", "Date"), ("dur", "Duration(time_unit='us')"), ("published", "Datetime(time_unit='us', time_zone=None)")]]
    checked = cli("check", str(path))
    assert checked.returncode == 2 and checked.stderr.splitlines() == [f"error: {line}" for line in expected]
    with pytest.raises(ManyErrors) as stopped:
        run(path, tmp_path / "out")
    assert [str(e) for e in stopped.value.errors] == expected and stopped.value.exit_code == 2
    assert not (tmp_path / "out").exists()


def corpus() -> list[pl.DataFrame]:
    """Two shards. `forum` rows are mostly short (length_filter removes them); every
    fifth `wiki` row repeats an earlier one (exact_dedup removes the repeats)."""
    frames = []
    for shard in range(2):
        texts, sources, labels = [], [], []
        for r in range(150):
            n = shard * 150 + r
            if n % 3 == 0:
                texts.append(f"hi {n}" if n % 2 else f"forum post number {n} with enough words")
                sources.append("forum")
            else:
                texts.append("a wiki article repeated word for word" if n % 5 == 0 else f"wiki article {n} about a topic in some detail")
                sources.append("wiki")
            labels.append(["sport", "science"][n % 2])
        frames.append(pl.DataFrame({"text": texts, "source": sources, "label": labels}))
    return frames


def test_full_run_with_length_filter_and_dedup(tmp_path):
    write_shards(tmp_path, corpus())
    stages = [
        {"stage": "length_filter", "name": "length", "min_words": 3},
        {"stage": "exact_dedup", "name": "exact"},
        {"stage": "slices", "columns": ["source", "label"], "numeric": {"text_chars": {"quantiles": 4}}, "pairs": True},
    ]
    result = run(write_pipeline(tmp_path, stages, label_column="label"))
    length, exact, report = result.reports
    assert report["stage"] == "slices" and report["mode"] == "annotate" and report["rows_removed"] == 0
    assert report["rows_in"] == report["rows_kept"] == 300 - exact["rows_removed"] - length["rows_removed"]
    stats = report["stats"]
    assert stats["rows_in"] == 300 and stats["rows_out"] == report["rows_kept"]
    assert {(r["stage"], r["reason"]): r["rows"] for r in stats["removed_by"]} == {
        ("exact", "exact_duplicate"): exact["rows_removed"], ("length", "too_few_words"): length["rows_removed"]}
    chars = next(c for c in stats["columns"] if c["column"] == "text_chars")
    assert (chars["missing_rows"], chars["not_measured_rows"]) == (0, 0)
    findings = {(f["stage"], f["slice"]): f for f in stats["findings"]}
    # length_filter removes exactly the shortest bucket: the top finding
    assert stats["findings"][0]["slice"] == "text_chars<37" and stats["findings"][0]["rate"] == 1.0
    forum = findings[("length", "source=forum")]
    assert forum["sentence"] == "stage `length` (`too_few_words`) removes 50% of `source=forum` vs none elsewhere (100 rows; adjusted p < 1e-6)"
    assert ("exact", "source=wiki") in findings and [f["rank"] for f in stats["findings"]] == list(range(1, len(findings) + 1))
    assert report["tables"] == {"slices": "reports/03_slices.slices.parquet", "tests": "reports/03_slices.tests.parquet"}
    slices = pl.read_parquet(result.output / report["tables"]["slices"])
    assert slices.filter(pl.col("grouping") == "source")["rows_in"].sum() == 300
    assert slices.filter(pl.col("grouping") == "source & label")["rows_in"].sum() == 300
    forum = one(slices, slice="source=forum")
    assert forum["rows_removed"] == 50 and forum["removed_by"] == [{"stage": "length", "reason": "too_few_words", "rows": 50}]
    tests = pl.read_parquet(result.output / report["tables"]["tests"])
    assert tests.filter(pl.col("rank").is_not_null()).height == stats["findings_total"]
    # the runner passes the stage order: `exact` is measured on the forum rows `length` left
    assert one(tests, slice="source=forum", stage="exact", test_of="stage")["rows"] == 100 - 50
    assert read_dir(result.output / "data").height == report["rows_kept"]
    assert "vs none elsewhere" in (result.output / "report.html").read_text()  # a finding's sentence


def test_slice_columns_named_like_working_columns_slice_by_their_own_values(tmp_path):
    # `_shard` (a crawl's shard name) and `__stage` beside the runner's order keys and the
    # analysis's working columns: each must slice exactly as the same values under another name.
    write_shards(tmp_path, [f.with_columns(pl.col("source").alias("_shard"), pl.col("label").alias("__stage")) for f in corpus()])
    stages = [
        {"stage": "length_filter", "name": "length", "min_words": 3},
        {"stage": "slices", "columns": ["source", "label", "_shard", "__stage"], "pairs": False},
    ]
    report = run(write_pipeline(tmp_path, stages, label_column="label")).reports[1]
    slices = pl.read_parquet(tmp_path / "run" / report["tables"]["slices"])
    counts = ["value_a", "rows_in", "rows_out", "rows_removed", "labels"]
    for renamed, column in (("_shard", "source"), ("__stage", "label")):
        assert slices.filter(pl.col("column_a") == renamed).select(counts).equals(slices.filter(pl.col("column_a") == column).select(counts))
    assert one(slices, column_a="_shard", value_a="forum")["rows_removed"] == 50  # length_filter's short forum posts


def test_after_a_relabel_stage_label_slices_are_the_labels_as_input_and_as_kept(tmp_path):
    """Slices of the label read the label each row entered with (the shares of the input,
    the label label_noise judged); the kept rows count under their label now."""
    rng = np.random.default_rng(3)
    topics = ["food", "sport", "tech"]
    true = np.repeat(topics, 80)
    texts = [" ".join(rng.choice([f"{t}{i}" for i in range(30)], 12)) + " " + " ".join(rng.choice([f"w{i}" for i in range(40)], 8)) for t in true]
    texts[::40] = ["too short"] * 6  # length removes these after the relabel
    given = np.where(rng.random(true.size) < 0.12, np.roll(true, 80), true)
    write_shards(tmp_path, [pl.DataFrame({"text": texts, "label": given, "source": rng.choice(["forum", "news"], true.size)})])
    stages = [{"stage": "label_noise", "mode": "relabel"}, {"stage": "length_filter", "name": "length", "min_words": 3},
              {"stage": "slices", "columns": ["label", "source"], "min_support": 5}]
    result = run(write_pipeline(tmp_path, stages, label_column="label"))
    noise, length, report = result.reports
    assert noise["stats"]["relabelled"] > 0 and length["rows_removed"] == 6
    slices = pl.read_parquet(result.output / report["tables"]["slices"]).filter(pl.col("grouping") == "label")
    kept, removed = read_dir(result.output / "data"), read_dir(result.output / "removed" / "length")

    def per_label(frame: pl.DataFrame, column: str) -> dict[str, int]:
        return {f"label={k}": v for k, v in frame[column].value_counts().iter_rows()}

    got = {name: dict(slices.select("slice", name).iter_rows()) for name in ("rows_in", "rows_out", "rows_removed", "label_issue_rows")}
    assert got["rows_in"] == {f"label={k}": int((given == k).sum()) for k in topics}
    assert got["rows_out"] == per_label(kept, "label") != per_label(kept, "original_label")
    assert {k: v for k, v in got["rows_removed"].items() if v} == per_label(removed, "original_label")
    assert got["label_issue_rows"] == {f"label={k}": n for k, n in noise["stats"]["issues_per_class"].items()}
    assert report["stats"]["representation"]["tvd"]["label"] > 0


def test_a_null_in_a_row_removed_after_its_column_was_added_is_missing_and_nan_is_missing():
    # length removed the 30 rows whose `suggested` label_noise left null: they had the
    # column, so their null is a finding (all of them removed), not "(not measured)"
    kept = pl.DataFrame({"curate_source": ["f"] * 60, "suggested": ["x", "y"] * 30, "score": [1.0, 2.0, float("nan")] * 20})
    late = removed_rows(pl.DataFrame({"curate_source": ["f"] * 30, "suggested": [None] * 30, "score": [1.0] * 30}, schema_overrides={"suggested": pl.String}), "length", "too_few_words")
    stats = analyse(kept, late, order=["noise", "length"], added_by={"suggested": "noise", "score": "noise"}, columns=["suggested", "score"], min_support=5)
    suggested, score = stats["columns"]
    assert (suggested["missing_rows"], suggested["not_measured_rows"]) == (30, 0)
    assert one(stats["tables"]["tests"], slice=f"suggested={MISSING}", stage="length")["flagged"]
    # a NaN in a column sliced by its values is missing too, not a category "NaN"
    values = dict(stats["tables"]["slices"].filter(pl.col("grouping") == "score").select("value_a", "rows_in").iter_rows())
    assert values == {"1.0": 50, "2.0": 20, MISSING: 20} and score["missing_rows"] == 20


def test_removed_rows_keep_columns_added_after_an_earlier_removal(tmp_path):
    write_shards(tmp_path, corpus())
    stages = [
        {"stage": "exact_dedup", "name": "exact"},
        {"stage": "length_filter", "name": "length", "min_words": 3},
        {"stage": "slices", "columns": ["source"], "numeric": {"text_chars": {"quantiles": 4}}},
    ]
    result = run(write_pipeline(tmp_path, stages))
    exact = result.reports[0]
    # Only exact's rows never had text_chars (length_filter added it later): they alone are not measured.
    chars = next(c for c in result.reports[-1]["stats"]["columns"] if c["column"] == "text_chars")
    assert (chars["not_measured_rows"], chars["missing_rows"]) == (exact["rows_removed"], 0)


def test_stage_is_listed_and_a_pipeline_with_it_checks(tmp_path):
    assert "slices" in STAGES
    slices = "  - stage: slices\n    columns: [source, label]\n    numeric: {text_chars: {quantiles: 4}}\n    pairs: true\n"
    (tmp_path / "p.yaml").write_text(f"input: {{path: x.parquet}}\nstages:\n  - stage: length_filter\n{slices}")
    checked = cli("check", "--no-input", str(tmp_path / "p.yaml"))  # no input file: its columns go unchecked
    assert checked.returncode == 0, checked.stderr
    # first, it would report on no removal at all
    (tmp_path / "first.yaml").write_text("input: {path: x.parquet}\nstages:\n  - stage: slices\n    columns: [source]\n  - stage: length_filter\n")
    checked = cli("check", "--no-input", str(tmp_path / "first.yaml"))
    assert (checked.returncode, checked.stderr.strip()) == (2, f"error: {tmp_path / 'first.yaml'}, line 3: stages[0] (slices): comes first, but it "
                                                               "reports on what earlier stages removed; put it after them (usually last in `stages:`)")
    described = cli("stages", "slices")
    assert described.returncode == 0 and "min_support" in described.stdout and "label_issue_column" in described.stdout


# ---------------------------------------------------------------- the proof on real text


def bench_module():
    spec = importlib.util.spec_from_file_location("bench_slices", REPO / "bench" / "slices.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.shared_data
@pytest.mark.slow
def test_planted_effect_on_20news_ranks_first_and_null_flags_nothing(shared_data):
    """bench/slices.py's planting, fewer seeds: `rule` removes a slice at 30% (5% elsewhere),
    then `random` removes 8% at random. The planted slice is the first finding and no finding
    names `random`; with nothing planted, at most one seed in 20 reports any finding."""
    bench = bench_module()
    frame = bench.load(shared_data / "classification" / "20news_train.parquet")
    assert frame.height == 11_314
    for seed in range(3):
        kept, removed, slice_label = bench.plant(frame, seed, planted=True)
        stats, _ = bench.analyse(kept, removed)
        rank, random_findings, _ = bench.planted_outcome(stats, slice_label)
        assert rank == 1 and random_findings == 0, (seed, stats["findings"][:3])
        planted = stats["findings"][0]
        # the rate of `random` is over the rows that reached it: no slice looks over-removed
        rest = stats["tables"]["tests"].filter(pl.col("stage") == "random", pl.col("slice") == slice_label).row(0, named=True)
        assert rest["rows"] == planted["rows"] - planted["events"]
    alarms = 0
    for seed in range(20):
        kept, removed, _ = bench.plant(frame, seed, planted=False)
        stats, _ = bench.analyse(kept, removed)
        assert stats["tests"] > 500
        alarms += stats["findings_total"] > 0
    assert alarms <= 1
