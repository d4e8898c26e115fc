"""Statistics for bias slicing: the tests, the multiple-testing correction, buckets and
representation shift. Pure functions over numpy arrays and polars expressions, so each
can be checked against hand-computed values (tests/test_slices.py).

- `fisher_exact_test`: is an outcome's rate in a slice different from its rate in the
  rest of the data? Fisher's exact test of the 2×2 table (hypergeometric, two-sided by
  doubling the smaller tail): the p-values the stage uses.
- `two_proportion_test`: the pooled two-proportion z statistic (z² is Pearson's
  chi-square of the 2×2 table), reported as the standardised difference.
- `benjamini_hochberg`: adjusted p-values (q) controlling the false discovery rate.
- `cohens_h`: the effect size findings are ranked by.
- `total_variation`: ½ Σ |p − q| between two distributions.
- `quantile_edges`, `bucket_expr`: numeric columns cut into labelled buckets.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import polars as pl

MISSING = "(missing)"
"""The bucket of a row whose slice column is null or NaN."""
NOT_MEASURED = "(not measured)"
"""The bucket of a removed row that left the run before an earlier stage added the slice
column (e.g. `lang` for a row exact_dedup removed before langid ran). These rows are
listed but left out of every test and share on that column: their value is unknown."""
OTHER = "(other)"
"""The bucket of the rarer values of a categorical column with more than `max_levels` values."""
_LIKE_A_BUCKET = r'^"*\((?:missing|not measured|other)\)"*$'
"""A value that reads like one of the buckets above, in any number of double quotes."""


def category(value: pl.Expr) -> pl.Expr:
    """A categorical value as its slice: the value, or null. A value that reads like one of
    the buckets above (the text `(missing)`) is quoted once more (`"(missing)"`), so a
    real value never merges with nulls, the rarer values or unmeasured rows; values
    distinct before are distinct after."""
    return pl.when(value.str.contains(_LIKE_A_BUCKET)).then(pl.format('"{}"', value)).otherwise(value)


# ---------------------------------------------------------------- tests


def two_proportion_test(
    x1: Sequence[float] | np.ndarray,
    n1: Sequence[float] | np.ndarray,
    x2: Sequence[float] | np.ndarray,
    n2: Sequence[float] | np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised pooled two-proportion z-test of x1/n1 against x2/n2: (z, two-sided p).

    z = (p1 − p2) / √(p̂(1 − p̂)(1/n1 + 1/n2)) with p̂ = (x1 + x2)/(n1 + n2); z² is
    Pearson's chi-square of the 2×2 table (no continuity correction). z = 0 and p = 1
    when a group is empty or no row (or every row) has the outcome. The stage reports z
    as the standardised difference; its p-values come from `fisher_exact_test`, because
    the normal tail is too thin for small slices with low base rates (docs/stages/slices.md).
    """
    from scipy.special import erfc

    x1, n1, x2, n2 = (np.asarray(a, dtype=np.float64) for a in (x1, n1, x2, n2))
    n = n1 + n2
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.where(n > 0, (x1 + x2) / n, 0.0)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = np.where((se > 0) & np.isfinite(se), (x1 / n1 - x2 / n2) / se, 0.0)
    z = np.nan_to_num(z, nan=0.0, posinf=0.0, neginf=0.0)
    p = np.where((n1 > 0) & (n2 > 0), erfc(np.abs(z) / math.sqrt(2)), 1.0)
    return z, np.clip(p, 0.0, 1.0)


def fisher_exact_test(
    x1: Sequence[float] | np.ndarray,
    n1: Sequence[float] | np.ndarray,
    x2: Sequence[float] | np.ndarray,
    n2: Sequence[float] | np.ndarray,
) -> np.ndarray:
    """Vectorised Fisher's exact test of the 2×2 table [[x1, n1 − x1], [x2, n2 − x2]]:
    two-sided p = min(1, 2 · the smaller tail). Under the null, given the margins, x1
    is hypergeometric: n1 draws from n1 + n2 rows of which x1 + x2 have the outcome.
    Exact at every count (conservative, never below the nominal level)."""
    from scipy.stats import hypergeom

    x1, n1, x2, n2 = (np.asarray(a, dtype=np.float64) for a in (x1, n1, x2, n2))
    population, events = n1 + n2, x1 + x2
    with np.errstate(divide="ignore", invalid="ignore"):
        upper = hypergeom.sf(x1 - 1, population, events, n1)
        lower = hypergeom.cdf(x1, population, events, n1)
    p = np.minimum(1.0, 2 * np.minimum(upper, lower))
    p = np.where((n1 > 0) & (n2 > 0) & (events > 0) & (events < population), p, 1.0)
    return np.clip(np.nan_to_num(p, nan=1.0), 0.0, 1.0)


def benjamini_hochberg(p: Sequence[float] | np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values: q_(i) = min over j ≥ i of m·p_(j)/j, capped
    at 1, in the input's order. A test is significant at FDR α when q ≤ α."""
    p = np.asarray(p, dtype=np.float64)
    m = p.size
    if m == 0:
        return p.copy()
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted = np.minimum.accumulate(scaled[::-1])[::-1]
    q = np.empty(m)
    q[order] = np.minimum(adjusted, 1.0)
    return q


def cohens_h(rate: pl.Expr, reference: pl.Expr) -> pl.Expr:
    """Cohen's h, the effect size of two proportions: 2·asin(√rate) − 2·asin(√reference).
    Unlike a ratio it is finite at a zero reference and does not blow up for rare outcomes:
    0.2 is small, 0.5 medium, 0.8 large."""
    return 2 * rate.clip(0, 1).sqrt().arcsin() - 2 * reference.clip(0, 1).sqrt().arcsin()


def total_variation(p: Sequence[float] | np.ndarray, q: Sequence[float] | np.ndarray) -> float:
    """½ Σ |p_i − q_i|: 0 for the same distribution, 1 for disjoint ones."""
    return float(0.5 * np.abs(np.asarray(p, dtype=np.float64) - np.asarray(q, dtype=np.float64)).sum())


# ---------------------------------------------------------------- buckets


def format_number(value: float) -> str:
    """An edge as a label: 120, 2.75, 1000.4, 0.3333333333333333, 1.2345e+20. The shortest
    text that reads back as the edge itself, so a label never puts a value on the wrong
    side (1000.4 rounded to 1000 would label the bucket holding 1000 `<1000`)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return next(text for digits in range(4, 18) if float(text := f"{value:.{digits}g}") == value)


def quantile_edges(values: pl.Series, buckets: int) -> list[float]:
    """Inner cut points splitting the non-missing values into `buckets` equal-count buckets
    (linear interpolation between order statistics); duplicates are dropped, so columns
    with many ties get fewer buckets."""
    clean = values.cast(pl.Float64).fill_nan(None).drop_nulls()
    if clean.is_empty():
        return []
    cuts = [clean.quantile(i / buckets, "linear") for i in range(1, buckets)]
    low, high = clean.min(), clean.max()
    return sorted({float(c) for c in cuts if c is not None and low < c <= high})


def edge_labels(edges: Sequence[float]) -> list[str]:
    """Bucket labels for the cut points: `<a`, `[a, b)`, …, `>=z` (one `(all)` bucket
    when there are none), each edge exact (`format_number`)."""
    if not edges:
        return ["(all)"]
    text = [format_number(e) for e in edges]
    labels = [f"<{text[0]}"]
    labels += [f"[{a}, {b})" for a, b in pairwise(text)]
    labels.append(f">={text[-1]}")
    return labels


def bucket_expr(column: str, edges: Sequence[float]) -> pl.Expr:
    """The bucket label of each row (left-closed buckets), `(missing)` for null and NaN."""
    value = pl.col(column).cast(pl.Float64).fill_nan(None)
    labels = edge_labels(edges)
    if not edges:
        expr = pl.when(value.is_not_null()).then(pl.lit(labels[0]))
    else:
        expr = pl.when(value < edges[0]).then(pl.lit(labels[0]))
        for edge, label in zip(edges[1:], labels[1:-1]):
            expr = expr.when(value < edge).then(pl.lit(label))
        expr = expr.when(value.is_not_null()).then(pl.lit(labels[-1]))
    return expr.otherwise(pl.lit(MISSING)).alias(column)


def slice_name(column: str, value: str, numeric: bool) -> str:
    """How a slice reads in findings: `source=forum`, `text_chars<120`,
    `text_chars in [120, 480)`, `text_chars>=480`, `lang=(missing)`."""
    if numeric and value.startswith("["):
        return f"{column} in {value}"
    if numeric and value[:1] in "<>":
        return f"{column}{value}"
    return f"{column}={value}"


# ---------------------------------------------------------------- wording


def percent(rate: float | None) -> str:
    if rate is None or math.isnan(rate):
        return "n/a"
    if rate == 0:
        return "0%"
    if rate >= 0.995:
        return "100%" if rate >= 1 else ">99.9%" if rate >= 0.9995 else f"{rate:.1%}"
    if rate >= 0.1:
        return f"{rate:.0%}"
    if rate >= 0.01:
        return f"{rate:.1%}"
    if rate >= 0.0001:
        return f"{rate:.2%}"
    return "<0.01%"


def p_text(p: float) -> str:
    return "p < 1e-6" if p < 1e-6 else f"p = {p:.2g}"
