"""Bias slicing on real text with a planted effect: planted-slice recall and false-alarm rate.

    python bench/slices.py                  # 20 seeds (the numbers in docs/benchmarks.md)
    python bench/slices.py --seeds 200      # a tighter estimate of the false-alarm rate
    python bench/slices.py --ratio 3        # a weaker planted effect (also --base-rate, --second-rate)

Data: ../shared/data/classification/20news_train.parquet (11,314 real newsgroup posts).
Slice columns come from the posts themselves: `label_name` (20 classes; the label
column), `tld` (top-level domain of the sender's address in the From: header),
`reply` (the Subject starts with "Re:") and `text_chars` cut into quartiles; every pair
of them is searched too (1 + 4 + 6 groupings, about 500 slices, 1,000 tests).

Two stages run, in order (numpy default_rng(seed)):
- `rule`: planted: one of the single slices holding 3-50% of the rows (tld=edu, com,
  ca, org; reply=false; each text_chars quartile) is drawn and removed with probability
  `ratio` × `base_rate` (default 6 × 5% = 30%), every other row with `base_rate`;
- `random`: removes `second_rate` (8%) of the rows that reach it, at random.
A seed passes when the planted slice is the first finding and no finding names the
`random` stage: the big removal by `rule` must not make `random` look biased. The null
condition uses the same data and seed with nothing planted (`rule` removes 5% of every
slice); a false alarm is any seed with a finding. The stage is called the way the
runner calls it: `summarize` on the kept rows, `decide` with the removed rows and the
stage order.
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
RATE_RATIO = 6.0
SECOND_RATE = 0.08
STAGE_ORDER = ["rule", "random"]
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
    frame: pl.DataFrame, seed: int, planted: bool, base_rate: float = BASE_RATE, ratio: float = RATE_RATIO, second_rate: float = SECOND_RATE
) -> tuple[pl.DataFrame, pl.DataFrame, str | None]:
    """(kept rows, removed rows of both stages, the planted slice or None)."""
    rng = np.random.default_rng(seed)
    n = frame.height
    slice_label = None
    rate = np.full(n, base_rate)
    if planted:
        candidates = candidate_slices(frame)
        slice_label, member = candidates[rng.integers(len(candidates))]
        inside = frame.select(member.fill_null(False)).to_series().to_numpy()
        rate[inside] = base_rate * ratio
    first = rng.random(n) < rate
    second = ~first & (rng.random(n) < second_rate)
    removed = pl.concat([
        frame.filter(pl.Series(mask)).with_columns(curate_stage=pl.lit(stage), curate_reason=pl.lit(reason))
        for mask, stage, reason in ((first, "rule", "planted_rule"), (second, "random", "random_rule"))
    ])
    return frame.filter(pl.Series(~first & ~second)), removed, slice_label


def analyse(kept: pl.DataFrame, removed: pl.DataFrame, config: dict | None = None) -> tuple[dict, float]:
    stage = Slices(SlicesConfig(**(config or CONFIG)), Columns(text="text", id="id", label="label_name"))
    started = time.perf_counter()
    summaries = stage.summarize(kept).with_columns(pl.lit(0, pl.Int32).alias(SHARD), pl.int_range(pl.len(), dtype=pl.Int64).alias(POSITION))
    stage.stages_before = tuple(STAGE_ORDER)  # what the runner sets
    _, stats = stage.decide(summaries.lazy(), removed=removed.lazy())
    return stats, time.perf_counter() - started


def z_test_flags(stats: dict, alpha: float = 0.05) -> int:
    """Elevated slices the pooled z-test's normal p-values would flag (BH at `alpha`, the
    stage's families) on the same tests: the comparison that made Fisher's exact test the
    stage's test."""
    from curate.stages.slices.statistics import benjamini_hochberg, two_proportion_test

    tests = stats["tables"]["tests"].filter(pl.col("tested"))
    flagged = 0
    for _, family in tests.group_by("outcome", "stage"):
        _, p = two_proportion_test(*(family[c].to_numpy() for c in ("events", "rows", "rest_events", "rest_rows")))
        flagged += int(((benjamini_hochberg(p) <= alpha) & (family["difference"].to_numpy() > 0)).sum())
    return flagged


def planted_outcome(stats: dict, slice_label: str) -> tuple[int | None, int, int]:
    """(rank of the planted slice's `rule` finding, findings naming `random`, other findings)."""
    tests = stats["tables"]["tests"]
    hit = tests.filter((pl.col("slice") == slice_label) & (pl.col("stage") == "rule") & pl.col("rank").is_not_null())["rank"]
    rank = hit.min() if hit.len() else None
    ranked = tests.filter(pl.col("rank").is_not_null())
    random_findings = ranked.filter(pl.col("stage") == "random").height
    return rank, random_findings, ranked.height - (1 if rank is not None else 0) - random_findings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--base-rate", type=float, default=BASE_RATE, help="`rule`'s removal rate outside the planted slice")
    parser.add_argument("--ratio", type=float, default=RATE_RATIO, help="planted slice's removal rate / base rate")
    parser.add_argument("--second-rate", type=float, default=SECOND_RATE, help="`random`'s removal rate among the rows that reach it")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"needs {DATA}", file=sys.stderr)
        return 2
    frame = load()
    print(f"20news train: {frame.height:,} rows; {args.seeds} seeds; `rule` removes {args.base_rate:.0%} (planted slice ×{args.ratio:g}), "
          f"then `random` removes {args.second_rate:.0%} at random")
    passed = first = 0
    random_seeds, others, seconds, null_alarms, null_findings, z_alarms = 0, [], [], 0, [], 0
    for seed in range(args.seeds):
        kept, removed, slice_label = plant(frame, seed, True, args.base_rate, args.ratio, args.second_rate)
        stats, took = analyse(kept, removed)
        seconds.append(took)
        rank, random_findings, other = planted_outcome(stats, slice_label)
        first += rank == 1
        random_seeds += random_findings > 0
        passed += rank == 1 and random_findings == 0
        others.append(other)
        kept0, removed0, _ = plant(frame, seed, False, args.base_rate, args.ratio, args.second_rate)
        null_stats, took = analyse(kept0, removed0)
        seconds.append(took)
        null_alarms += null_stats["findings_total"] > 0
        z_alarms += z_test_flags(null_stats) > 0
        null_findings.append(null_stats["findings_total"])
        print(f"  seed {seed:3d}: {slice_label} rank {rank}, {random_findings} `random` findings, {other} other findings; "
              f"null: {null_stats['findings_total']} findings ({null_stats['tests']} tests)", file=sys.stderr)
    n = args.seeds
    print(f"\nplanted: the planted slice is first and no `random` finding in {passed}/{n} seeds ({passed / n:.0%}); "
          f"first {first}/{n}; seeds with a `random` finding {random_seeds}/{n}; other `rule` findings per seed: median {statistics.median(others):g}, max {max(others)}")
    print(f"null: {null_alarms}/{n} seeds report a finding (false-alarm rate {null_alarms / n:.0%}); findings per seed: max {max(null_findings)}")
    print(f"null, pooled z-test p-values instead of Fisher's exact test: {z_alarms}/{n} seeds flag a slice ({z_alarms / n:.0%})")
    print(f"time per analysis (summarize + decide, 11,314 rows): median {statistics.median(seconds):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
