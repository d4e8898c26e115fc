"""Out-of-fold predicted probabilities: curate's built-in models for label-noise detection.

Two models, both scikit-learn, both seeded:

- **Text**: word n-grams hashed to `n_features` columns (scikit-learn's
  `HashingVectorizer`, MurmurHash3: stateless, so each shard is hashed on its own in the
  worker processes), then over the whole dataset: columns seen in fewer than `min_df`
  rows dropped, sublinear tf, idf, L2 rows; a linear SVM trained by SGD
  (`SGDClassifier(loss="hinge")`, one-vs-rest, fixed epochs). Its decision scores are
  turned into probabilities by a softmax with one temperature fitted on the out-of-fold
  scores (minimum negative log-likelihood of the given labels: temperature scaling).
- **Features** (e.g. embeddings): standardised, multinomial logistic regression (lbfgs).

`out_of_fold` trains one model per stratified fold and scores the held-out fold; rows
that take no part in training (null label, rare class) are scored by the mean of the
fold models. Heavy imports are inside the functions (curate/stages imports this module
lazily too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa

from curate.tasks import Tasks, in_order

TOKEN_PATTERN = r"(?u)\b\w\w+\b"
"""Words: runs of 2+ word characters (scikit-learn's default), after lowercasing."""

CHAR_NGRAMS = (2, 5)
"""Character n-gram lengths of the character view (inside word boundaries)."""

HASH_CHUNK = 4096
"""Rows hashed per call: bounds the Python strings alive at once."""


def hash_texts(texts: pl.Series, n_features: int, ngram_max: int, max_chars: int | None, analyzer: str = "word") -> tuple[pl.Series, pl.Series]:
    """Hashed word n-gram (or, with `analyzer="char_wb"`, character 2-5-gram) counts of
    each text, as two list columns (feature index, count).

    Null text counts as empty. Texts are cut to `max_chars` characters first (bounds the
    cost of a few huge documents). Stateless: the same text always gives the same lists.
    """
    from sklearn.feature_extraction.text import HashingVectorizer

    vectorizer = HashingVectorizer(
        n_features=n_features,
        analyzer=analyzer,
        ngram_range=(1, ngram_max) if analyzer == "word" else CHAR_NGRAMS,
        token_pattern=TOKEN_PATTERN,
        lowercase=True,
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )
    source = texts.fill_null("").cast(pl.String)
    if max_chars is not None:
        source = source.str.slice(0, max_chars)
    indptr = [np.zeros(1, np.int64)]
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    offset = 0
    for start in range(0, len(source), HASH_CHUNK):
        matrix = vectorizer.transform(source.slice(start, HASH_CHUNK).to_list())
        matrix.sort_indices()
        indptr.append(matrix.indptr[1:].astype(np.int64) + offset)
        offset += matrix.nnz
        indices.append(matrix.indices.astype(np.uint32))
        data.append(matrix.data.astype(np.float32))
    offsets = pa.array(np.concatenate(indptr), type=pa.int64())
    idx = pa.LargeListArray.from_arrays(offsets, pa.array(np.concatenate(indices) if indices else np.zeros(0, np.uint32)))
    cnt = pa.LargeListArray.from_arrays(offsets, pa.array(np.concatenate(data) if data else np.zeros(0, np.float32)))
    return pl.Series("feat_idx", idx), pl.Series("feat_cnt", cnt)


def csr_from_lists(idx: pl.Series, cnt: pl.Series, n_features: int):
    """Rebuild the sparse count matrix from `hash_texts`' list columns."""
    import scipy.sparse as sp

    lengths = idx.list.len().fill_null(0).to_numpy().astype(np.int64)
    indptr = np.zeros(len(idx) + 1, np.int64)
    np.cumsum(lengths, out=indptr[1:])
    indices = idx.explode().drop_nulls().to_numpy().astype(np.int32)
    data = cnt.explode().drop_nulls().to_numpy().astype(np.float64)
    return sp.csr_matrix((data, indices, indptr), shape=(len(idx), n_features))


def tfidf(counts, min_df: int):
    """Columns in at least `min_df` rows, sublinear tf, smooth idf, L2-normalised rows.

    The document frequencies are the whole dataset's (no labels involved, so computing
    them over the held-out folds too leaks nothing about the labels)."""
    from sklearn.feature_extraction.text import TfidfTransformer

    df = np.bincount(counts.indices, minlength=counts.shape[1])
    keep = np.flatnonzero(df >= min_df)
    if keep.size == 0:
        keep = np.flatnonzero(df > 0)
    counts = counts[:, keep] if keep.size else counts[:, :1]
    return TfidfTransformer(sublinear_tf=True).fit_transform(counts).tocsr()


def dense_features(frame: pl.DataFrame, needed: np.ndarray, row_name: Callable[[int], str]) -> tuple[np.ndarray, np.ndarray]:
    """Every column of `frame` (numbers, booleans, lists or arrays of numbers) side by side,
    as a float64 matrix, and which rows have all their features: a null value, list or
    list entry leaves a row without (its matrix row is 0, and it gets no prediction).

    Raises ValueError naming the column and the first such row (`row_name` of its index)
    for a `needed` row without features, lists of different lengths, or a NaN or infinite
    value."""
    present = np.ones(frame.height, dtype=bool)
    blocks = []
    for column in frame.get_columns():
        name = column.name
        if isinstance(column.dtype, (pl.List, pl.Array)):
            listed = column.list if isinstance(column.dtype, pl.List) else column.arr
            has = column.is_not_null().to_numpy()
            lengths = listed.len().fill_null(0).to_numpy()
            width = int(np.bincount(lengths[has]).argmax()) if has.any() else 0
            if (wrong := has & (lengths != width)).any():
                first = int(np.flatnonzero(wrong)[0])
                raise ValueError(f"feature column {name!r} has vectors of {lengths[first]} values in {int(wrong.sum()):,} rows "
                                 f"(first: {row_name(first)}) beside vectors of {width}")
            values = listed.explode(empty_as_null=False, keep_nulls=False)
            block = np.zeros((frame.height, width))
            rows = int(has.sum())
            block[has] = values.cast(pl.Float64).to_numpy().reshape(rows, width)
            has[has] = ~values.is_null().to_numpy().reshape(rows, width).any(axis=1)
        else:  # a number or boolean (LabelNoise checks the types)
            has = column.is_not_null().to_numpy()
            block = column.cast(pl.Float64).to_numpy().reshape(-1, 1)
        if (lacking := needed & ~has).any():
            raise ValueError(f"feature column {name!r} is null in {int(lacking.sum()):,} labelled rows (first: {row_name(int(np.argmax(lacking)))}); "
                             "every labelled row needs its features")
        if (bad := has & ~np.isfinite(block).all(axis=1)).any():
            raise ValueError(f"feature column {name!r} has a NaN or infinite value in {int(bad.sum()):,} rows (first: {row_name(int(np.argmax(bad)))})")
        block[~has] = 0.0
        present &= has
        blocks.append(block)
    return (np.hstack(blocks) if blocks else np.zeros((frame.height, 0))), present


@dataclass(frozen=True)
class TextModel:
    alpha: float = 1e-4
    epochs: int = 5
    n_jobs: int = 1

    def make(self, seed: int):
        from sklearn.linear_model import SGDClassifier

        return SGDClassifier(loss="hinge", alpha=self.alpha, max_iter=self.epochs, tol=None, random_state=seed, n_jobs=self.n_jobs)


@dataclass(frozen=True)
class FeatureModel:
    C: float = 1.0
    max_iter: int = 300

    def make(self, seed: int):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=seed))


def _scores(model: Any, X: Any, n_classes: int) -> np.ndarray:
    """Per-class scores: decision function (text) or log-probabilities (features)."""
    if hasattr(model, "predict_log_proba"):  # False for SGDClassifier(loss="hinge")
        return np.asarray(model.predict_log_proba(X), dtype=np.float64)
    out = np.asarray(model.decision_function(X), dtype=np.float64)
    if out.ndim == 1:  # two classes: one margin, for the second class
        out = np.column_stack([-out / 2, out / 2])
    assert out.shape[1] == n_classes
    return out


def out_of_fold(X: Any, y: np.ndarray, others: Any | None, model: TextModel | FeatureModel, folds: int, seed: int,
                tasks: Tasks = in_order) -> tuple[np.ndarray, np.ndarray | None]:
    """Out-of-fold scores of every row of `X` (labels `y` in 0..k-1, every class at least
    `folds` times), and the fold models' mean scores of `others` (rows not trained on).
    Folds are fitted through `tasks` (in parallel inside a run); results are combined in
    fold order, so they do not depend on where each fold ran."""
    from sklearn.model_selection import StratifiedKFold

    n_classes = int(y.max()) + 1
    scores = np.zeros((X.shape[0], n_classes))
    extra = np.zeros((others.shape[0], n_classes)) if others is not None and others.shape[0] else None
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    splits = list(splitter.split(np.zeros(len(y)), y))
    jobs = [(X[train], y[train], X[test], others if extra is not None else None, model, seed + fold, n_classes) for fold, (train, test) in enumerate(splits)]
    for (_, test), (fold_scores, fold_extra) in zip(splits, tasks(_fit_fold, jobs)):
        scores[test] = fold_scores
        if extra is not None:
            extra += fold_extra / folds
    return scores, extra


def _fit_fold(job: tuple) -> tuple[np.ndarray, np.ndarray | None]:
    """One fold: fit on its training rows, score its held-out rows (and `others`)."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    X_train, y_train, X_test, others, model, seed, n_classes = job
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = model.make(seed).fit(X_train, y_train)
    return _scores(fitted, X_test, n_classes), (_scores(fitted, others, n_classes) if others is not None else None)


def fit_temperature(scores: np.ndarray, y: np.ndarray) -> float:
    """The temperature T minimising the mean negative log-likelihood of `y` under
    softmax(scores / T) (temperature scaling; T in [e^-7, e^5])."""
    from scipy.optimize import minimize_scalar
    from scipy.special import log_softmax

    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        return float(-log_softmax(scores / np.exp(log_t), axis=1)[rows, y].mean())

    result = minimize_scalar(nll, bounds=(-7.0, 5.0), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(result.x))


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    from scipy.special import softmax as _softmax

    return _softmax(scores / temperature, axis=1)
