"""The metric library of the `quality` stage: document-level text statistics, each a
vectorised polars computation, each with a fixed definition (docs/stages/quality.md).

Metrics are named, parameterless or parameterised through a *parameter group* that a
rule file sets (`params:`). `compute_metrics` computes any set of them for a column of
texts, sharing the intermediate results (lines, word tokens, n-gram hashes) between
metrics, so a metric used by several rules, and the tokens used by several metrics, are
computed once per document.

Definitions follow the reference implementations (datatrove's GopherQualityFilter,
GopherRepetitionFilter, C4QualityFilter and FineWebQualityFilter, which implement the
Gopher paper's Table A1, C4 and FineWeb heuristics), including their edge cases: which
line split is used where, which denominators, which punctuation sets.

The library is split by idea: `curate.stages.quality.tokens` (datatrove's character sets and the
spaCy-compatible English word tokenizer, with how it works), `curate.stages.quality.catalogue`
(parameter groups and the `Metric` records), `curate.stages.quality.work` (the shared
intermediate results, and the word and line metrics), `curate.stages.quality.c4` (C4's line
filter) and `curate.stages.quality.ngrams` (the n-gram metrics). This module dispatches metric
names to them and computes in batches; the public names stay importable from here.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import polars as pl

from curate.stages.quality.c4 import CURLY_BEFORE_LOREM, _c4, c4_cleaned_text
from curate.stages.quality.catalogue import (
    METRICS,
    PARAM_GROUPS,
    C4LineParams,
    Metric,
    ShortLineParams,
    StopWordsParams,
    _Params,
    metric,
    metric_names,
)
from curate.stages.quality.ngrams import _dup_ngram, _top_ngram
from curate.stages.quality.segment import tokenizer_for
from curate.stages.quality.tokens import word_tokens
from curate.stages.quality.work import (
    _alpha_word_ratio,
    _fineweb_lines,
    _gopher_lines,
    _paragraphs,
    _rep_lines,
    _series,
    _stop_word_count,
    _word_metrics,
    _Work,
)

__all__ = [
    "BATCH_BYTES",
    "METRICS",
    "PARAM_GROUPS",
    "C4LineParams",
    "Metric",
    "ShortLineParams",
    "StopWordsParams",
    "compute_metrics",
    "metric",
    "metric_dtype",
    "metric_names",
    "word_tokens",
]

# -- dispatch -----------------------------------------------------------------------------

_WORD_METRICS = ("word_count", "non_symbol_word_count", "mean_word_length", "hash_word_ratio", "ellipsis_word_ratio", "newline_word_ratio")


def _compute_one(w: _Work, name: str) -> np.ndarray:
    m = metric(name)
    if m is None:
        raise KeyError(name)
    if name == "char_count":
        return w.chars().astype(np.float64)
    if name in _WORD_METRICS:
        return _word_metrics(w)[name]
    if name == "alpha_word_ratio":
        return _alpha_word_ratio(w)
    if name == "stop_word_count":
        return _stop_word_count(w)
    if name in ("bullet_line_ratio", "ellipsis_line_ratio"):
        return _gopher_lines(w)[name]
    if name in ("dup_line_frac", "dup_line_char_frac"):
        return _rep_lines(w)[name]
    if name in ("dup_para_frac", "dup_para_char_frac"):
        return _paragraphs(w)[name]
    if name in ("nonempty_line_count", "line_punct_ratio", "short_line_ratio", "dup_nonempty_line_char_frac"):
        return _fineweb_lines(w)[name]
    if m.family == "c4":
        return _c4(w)[name]
    assert m.n is not None
    return _top_ngram(w, m.n) if name.startswith("top_") else _dup_ngram(w, m.n)


_INTEGER_METRICS = {
    "char_count", "word_count", "non_symbol_word_count", "stop_word_count", "nonempty_line_count",
    "c4_sentence_count", "c4_lines_removed", "c4_chars_removed",
}
_FLAG_METRICS = {"c4_lorem_ipsum", "c4_curly_bracket"}


def metric_dtype(name: str) -> pl.DataType:
    if name in _INTEGER_METRICS:
        return pl.UInt32()
    if name in _FLAG_METRICS:
        return pl.UInt8()
    return pl.Float64()


_COUNTS_AS_WRITTEN = ("char_count", "c4_chars_removed")
"""Metrics that count the characters of the text as written (a CRLF text's carriage
returns too), not of the LF text the other metrics read: the rewrite contract's
characters removed is the original length minus the new length."""


BATCH_BYTES = 8_000_000
"""Texts are processed in batches of about this many bytes of text: every metric is per
document, so batches only bound memory (intermediate token frames take roughly 25 times
the text size) and change no value."""


ParamRuns = list[tuple[int, dict[str, _Params]]]
"""Runs of consecutive texts and the parameter groups of each: [(texts, params), ...]."""


def compute_metrics(
    text: pl.Series, names: list[str], params: dict[str, _Params] | ParamRuns | None = None, c4_text: bool = False, lang: str | None = None
) -> pl.DataFrame:
    """Metrics `names` for every text (nulls count as empty), one column per metric, same
    row order; with `c4_text`, also `_c4_text`: the text after C4's line cleaning; with
    both C4 line flags, also `_c4_curly_before_lorem` (c4.CURLY_BEFORE_LOREM). Words
    are split with the tokenizer of language `lang` (None: English, as datatrove).
    `params`: the parameter groups of every text, or runs of texts with their own (the
    languages that share a tokenizer): lines, tokens and n-grams are then built once for
    all of them, and only the metrics that read a parameter differing between runs are
    computed per run."""
    runs = params if isinstance(params, list) else [(len(text), dict(params or {}))]
    text = text.fill_null("").cast(pl.String).rename("text")
    carriage_returns = None
    if text.str.contains("\r\n", literal=True).any():
        # Windows line ends: a CRLF file gets the decisions of its LF twin (datatrove, which
        # splits on "\n", would find no line ending in punctuation and no empty line)
        carriage_returns = text.str.count_matches("\r\n", literal=True).cast(pl.UInt32)
        text = text.str.replace_all("\r\n", "\n", literal=True)
    sizes = text.str.len_bytes().cast(pl.Int64).to_numpy()
    bounds = [0]
    if len(text):
        cuts = np.flatnonzero(np.diff(np.cumsum(sizes) // BATCH_BYTES)) + 1
        bounds += cuts.tolist()
    bounds.append(len(text))
    parts = []
    for start, stop in pairwise(bounds):
        if stop > start or len(text) == 0:
            parts.append(_compute_batch(text.slice(start, stop - start), names, _runs_within(runs, start, stop), c4_text, lang))
    values = pl.concat(parts) if len(parts) > 1 else parts[0]
    counted_as_written = [name for name in _COUNTS_AS_WRITTEN if name in values.columns]
    if carriage_returns is not None and counted_as_written:
        # the text's own characters: each carriage return the line metrics did not see is one more
        values = values.with_columns(pl.col(name) + carriage_returns for name in counted_as_written)
    return values


def _runs_within(runs: ParamRuns, start: int, stop: int) -> ParamRuns:
    """The parts of `runs` that fall in texts start..stop."""
    out, offset = [], 0
    for rows, params in runs:
        first, last = max(offset, start), min(offset + rows, stop)
        if last > first:
            out.append((last - first, params))
        offset += rows
    return out or [(0, runs[0][1])]


def _compute_batch(text: pl.Series, names: list[str], runs: ParamRuns, c4_text: bool, lang: str | None) -> pl.DataFrame:
    w = _Work(text, dict(runs[0][1]), tokenizer_for(lang))
    views = []
    if len(runs) > 1:
        starts = np.cumsum([0] + [rows for rows, _ in runs])
        views = [w.view(int(a), int(b), dict(p)) for a, b, (_, p) in zip(starts[:-1], starts[1:], runs)]

    def per_run(group: str | None) -> bool:
        """The runs differ in this parameter group: its metrics are computed per run."""
        return bool(views) and group is not None and len({p.get(group) for _, p in runs}) > 1

    columns = {}
    for name in names:
        m = metric(name)
        values = np.concatenate([_compute_one(v, name) for v in views]) if m is not None and per_run(m.group) else _compute_one(w, name)
        columns[name] = _series(values, metric_dtype(name)).rename(name)
    if c4_text:
        columns["_c4_text"] = pl.concat([c4_cleaned_text(v) for v in views]) if per_run("c4_lines") else c4_cleaned_text(w)
    if {"c4_lorem_ipsum", "c4_curly_bracket"} <= set(names):
        order = np.concatenate([_c4(v)[CURLY_BEFORE_LOREM] for v in views]) if per_run("c4_lines") else _c4(w)[CURLY_BEFORE_LOREM]
        columns[CURLY_BEFORE_LOREM] = pl.Series(CURLY_BEFORE_LOREM, order, dtype=pl.Boolean)
    return pl.DataFrame(list(columns.values())) if columns else pl.DataFrame(height=len(text))
