"""Bias slicing on real text with planted effects: planted-slice recall and false-flag rate.

    python bench/slices.py                  # 20 seeds (the numbers in docs/benchmarks.md)
    python bench/slices.py --seeds 200      # a tighter estimate of the false-flag rate
    python bench/slices.py --ratio 1.5      # a weaker planted removal effect (also --base-rate, --noise)

Data: ../shared/data/classification/20news_train.parquet (11,314 real newsgroup posts).
Slice columns come from the posts themselves: `label_name` (20 classes; the label
column), `tld` (top-level domain of the sender's address in the From: header),
`reply` (the Subject starts with "Re:") and `text_chars` cut into quartiles; every pair
of them is searched too (1 + 4 + 6 groupings, about 500 slices, 1,000 tests).

Each seed plants two effects (numpy default_rng(seed)):
- a removal slice: one of the single slices holding 3-50% of the rows (tld=edu, com,
  ca, org; reply=false; each text_chars quartile) is drawn; a stage `planted` removes
  its rows with probability 15%, every other row with 5% (3× the base rate);
- a noisy class: one class is drawn and rows of other classes are relabelled to it
  until 25% of the rows carrying its label are wrong. A simulated label-noise detector
  then marks `label_issue` on the rows that reach it: a wrong label with probability
  0.8, a correct one with probability 0.05.
Recall: the seed's top two findings are exactly the planted removal slice and the noisy
class. The null condition uses the same data, seed and rates with nothing planted
(every row removed with 5%, `label_issue` true for 5% of rows at random); a false flag
is any slice flagged at BH-adjusted 5% (explained or not). The stage is called the way
the runner calls it: `summarize` on the kept rows, `decide` with the removed rows.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

from curate.stages.base import POSITION, SHARD, Columns
from curate.stages.slices import Slices, SlicesConfig

BENCH = Path(__file__).resolve().parent
DATA = BENCH.parent.parent / "shared" / "data" / "classification" / "20news_train.parquet"

BASE_RATE = 0.05
RATE_RATIO = 3.0
NOISE = 0.25
DETECTOR_RECALL = 0.8
DETECTOR_FPR = 0.05
CONFIG = {
    "columns": ["label_name", "tld", "reply"],
    "numeric": {"text_chars": {"quantiles": 4}},
    "pairs": True,
}


def load(path: Path = DATA) -> pl.DataFrame:
    """20news with slice columns derived from each post's own headers and length."""
    posts = pl.read_parquet(path, columns=["sklearn_index", "text", "label_name"])
    return posts.select(
        pl.col("sklearn_index").cast(pl.String).alias("id"),
        "label_name",
        pl.col("text").str.extract(r"(?m)^From:.*?@[A-Za-z0-9.\-]*\.([A-Za-z]+)\b", 1).str.to_lowercase().alias("tld"),
        pl.col("text").str.extract(r"(?m)^Subject:\s*(.*)$", 1).str.to_lowercase().str.starts_with("re:").fill_null(False).alias("reply"),
        pl.col("text").str.len_chars().alias("text_chars"),
    )


def candidate_slices(frame: pl.DataFrame) -> list[tuple[str, pl.Expr]]:
    """Single slices with 3-50% of the rows that a removal effect may be planted on."""
    out = []
    n = frame.height
    for column in ("tld", "reply"):
        for value, count in frame.group_by(column).len().sort(column).iter_rows():
            if value is not None and 0.03 <= count / n <= 0.5:
                out.append((f"{column}={str(value).lower()}", pl.col(column) == value))
    edges = frame["text_chars"].quantile(0.25, "linear"), frame["text_chars"].quantile(0.5, "linear"), frame["text_chars"].quantile(0.75, "linear")
    from curate.stages.slices.statistics import edge_labels, slice_name

    labels = edge_labels(list(edges))
    chars = pl.col("text_chars")
    bounds = [chars < edges[0], (chars >= edges[0]) & (chars < edges[1]), (chars >= edges[1]) & (chars < edges[2]), chars >= edges[2]]
    out += [(slice_name("text_chars", label, True), bound) for label, bound in zip(labels, bounds)]
    return out


def plant(
    frame: pl.DataFrame, seed: int, planted: bool, base_rate: float = BASE_RATE, ratio: float = RATE_RATIO, noise: float = NOISE
) -> tuple[pl.DataFrame, pl.DataFrame, str | None, str | None]:
    """(kept rows with label_issue, removed rows, planted removal slice, noisy-class slice)."""
    rng = np.random.default_rng(seed)
    n = frame.height
    slice_label = class_label = None
    wrong = np.zeros(n, dtype=bool)
    rate = np.full(n, base_rate)
    if planted:
        candidates = candidate_slices(frame)
        slice_label, member = candidates[rng.integers(len(candidates))]
        inside = frame.select(member.fill_null(False)).to_series().to_numpy()
        rate[inside] = base_rate * ratio
        classes = sorted(frame["label_name"].unique().to_list())
        noisy = classes[rng.integers(len(classes))]
        labels = frame["label_name"].to_numpy().copy()
        others = np.flatnonzero(labels != noisy)
        moved = rng.choice(others, size=round((labels == noisy).sum() * noise / (1 - noise)), replace=False)
        labels[moved] = noisy
        wrong[moved] = True
        frame = frame.with_columns(pl.Series("label_name", labels))
        class_label = f"label_name={noisy}"
    removed_mask = rng.random(n) < rate
    detector = rng.random(n) < np.where(wrong, DETECTOR_RECALL, DETECTOR_FPR)
    frame = frame.with_columns(pl.Series("label_issue", detector))
    kept = frame.filter(pl.Series(~removed_mask))
    removed = frame.filter(pl.Series(removed_mask)).drop("label_issue").with_columns(
        curate_stage=pl.lit("planted"), curate_reason=pl.lit("planted_rule")
    )
    return kept, removed, slice_label, class_label


def analyse(kept: pl.DataFrame, removed: pl.DataFrame, config: dict | None = None) -> tuple[dict, float]:
    stage = Slices(SlicesConfig(**(config or CONFIG)), Columns(text="text", id="id", label="label_name"))
    started = time.perf_counter()
    summaries = stage.summarize(kept).with_columns(pl.lit(0, pl.Int32).alias(SHARD), pl.int_range(pl.len(), dtype=pl.Int64).alias(POSITION))
    _, stats = stage.decide(summaries.lazy(), removed=removed.lazy())
    return stats, time.perf_counter() - started


def z_test_flags(stats: dict, alpha: float = 0.05) -> int:
    """Elevated slices the pooled z-test's normal p-values would flag (BH at `alpha`) on
    the same tests: the comparison that made Fisher's exact test the stage's test."""
    from curate.stages.slices.statistics import benjamini_hochberg, two_proportion_test

    tests = stats["tables"]["tests"].filter(pl.col("tested"))
    _, p = two_proportion_test(*(tests[c].to_numpy() for c in ("events", "rows", "rest_events", "rest_rows")))
    q = benjamini_hochberg(p)
    return int(((q <= alpha) & (tests["difference"].to_numpy() > 0)).sum())


def planted_ranks(stats: dict, slice_label: str, class_label: str) -> tuple[int | None, int | None]:
    tests = stats["tables"]["tests"]
    ranks = []
    for name, outcome in ((slice_label, "removed"), (class_label, "label_issue")):
        hit = tests.filter((pl.col("slice") == name) & (pl.col("outcome") == outcome))["rank"]
        ranks.append(hit.item() if hit.len() else None)
    return ranks[0], ranks[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--base-rate", type=float, default=BASE_RATE, help="removal rate outside the planted slice")
    parser.add_argument("--ratio", type=float, default=RATE_RATIO, help="planted slice's removal rate / base rate")
    parser.add_argument("--noise", type=float, default=NOISE, help="share of wrong labels in the noisy class")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"needs {DATA}", file=sys.stderr)
        return 2
    frame = load()
    print(f"20news train: {frame.height:,} rows; {args.seeds} seeds; base removal rate {args.base_rate:.0%}, planted slice ×{args.ratio:g}, "
          f"noisy class {args.noise:.0%} wrong labels")
    both = slice_top = class_top = 0
    slice_ranks, class_ranks, extra, seconds, null_flagged, null_findings, z_flagged = [], [], [], [], 0, [], 0
    for seed in range(args.seeds):
        kept, removed, slice_label, class_label = plant(frame, seed, True, args.base_rate, args.ratio, args.noise)
        stats, took = analyse(kept, removed)
        seconds.append(took)
        rank_slice, rank_class = planted_ranks(stats, slice_label, class_label)
        slice_ranks.append(rank_slice)
        class_ranks.append(rank_class)
        both += {rank_slice, rank_class} == {1, 2}
        slice_top += rank_slice is not None and rank_slice <= 2
        class_top += rank_class is not None and rank_class <= 2
        extra.append(stats["findings_total"] - sum(r is not None for r in (rank_slice, rank_class)))
        kept0, removed0, _, _ = plant(frame, seed, False, args.base_rate)
        null_stats, took = analyse(kept0, removed0)
        seconds.append(took)
        flagged = null_stats["flagged"]
        null_flagged += flagged > 0
        null_findings.append(flagged)
        z_flagged += z_test_flags(null_stats) > 0
        print(f"  seed {seed:3d}: {slice_label} rank {rank_slice}, {class_label} rank {rank_class}, "
              f"{extra[-1]} other findings; null: {flagged} flagged ({null_stats['tests']} tests)", file=sys.stderr)
    n = args.seeds
    print(f"\nplanted: both planted effects are the top two findings in {both}/{n} seeds ({both / n:.0%}); "
          f"removal slice in the top two {slice_top}/{n}, noisy class in the top two {class_top}/{n}; "
          f"other findings per seed: median {statistics.median(extra):g}, max {max(extra)}")
    print(f"null: {null_flagged}/{n} seeds flag a slice (false-flag rate {null_flagged / n:.0%}); "
          f"{n - null_flagged}/{n} flag none; flagged tests per seed: max {max(null_findings)}")
    print(f"null, pooled z-test p-values instead of Fisher's exact test: {z_flagged}/{n} seeds flag a slice ({z_flagged / n:.0%})")
    print(f"time per analysis (summarize + decide, 11,314 rows): median {statistics.median(seconds):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
