"""Which out-of-fold text model finds the most real label errors? Candidates for
label_noise's built-in model, on the 20 Newsgroups test set's 82 human-verified errors.

    nice -n 10 python bench/label_noise_models.py                 # every candidate
    nice -n 10 python bench/label_noise_models.py word char_wb    # some of them
    nice -n 10 python bench/label_noise_models.py folds           # word unigrams: 5/10/20 folds x cleanlab methods, seeds 0-2

Each candidate gives out-of-fold scores (stratified folds, seed 0), temperature-scaled
into probabilities exactly as the stage does; then cleanlab's `find_label_issues(filter_by="both")`
(the stage's default). Reported: flagged rows, recall of the 82 verified errors,
precision on reviewed rows (`mturk_candidate`), and recall at a fixed flag budget (the
K rows of lowest self-confidence, K = the default model's flag count): "the same flag
rate". Seconds: CPU seconds of features + folds (single process).

Candidates: `word` (the stage's default before issue 15: hashed word unigrams, tf-idf,
SGD hinge, 5 folds), `word12` (+ bigrams), `char_wb` (character 2-5-grams inside word
boundaries), `word+char` (both feature sets side by side, one model), `nbsvm` (word
unigrams scaled by each class's naive-Bayes log-count ratio, one binary SGD per class),
`ens(word,char_wb)` (mean of the two views' calibrated probabilities), `word k10` (10 folds).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from curate.stages.label_noise import oof

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "label_noise" / "20news_test_label_errors.parquet"


class NBSVM:
    """One-vs-rest linear SVMs on naive-Bayes-scaled features (Wang & Manning 2012): for
    class c, every feature is multiplied by its log-count ratio between rows of c and the
    rest, then a binary SGD hinge model is trained. Decision scores, one column per class."""

    def __init__(self, alpha: float, epochs: int, seed: int, smoothing: float = 1.0):
        self.alpha, self.epochs, self.seed, self.smoothing = alpha, epochs, seed, smoothing

    def fit(self, X, y: np.ndarray) -> NBSVM:
        from sklearn.linear_model import SGDClassifier

        classes = int(y.max()) + 1
        self.ratios, self.models = [], []
        total = np.asarray(X.sum(axis=0)).ravel()
        for c in range(classes):
            inside = np.asarray(X[y == c].sum(axis=0)).ravel() + self.smoothing
            outside = total - inside + 2 * self.smoothing
            ratio = np.log(inside / inside.sum()) - np.log(outside / outside.sum())
            self.ratios.append(ratio)
            model = SGDClassifier(loss="hinge", alpha=self.alpha, max_iter=self.epochs, tol=None, random_state=self.seed)
            self.models.append(model.fit(X.multiply(ratio).tocsr(), y == c))
        return self

    def decision_function(self, X) -> np.ndarray:
        return np.column_stack([m.decision_function(X.multiply(r).tocsr()) for r, m in zip(self.ratios, self.models)])


@dataclass(frozen=True)
class NBSVMModel:
    alpha: float = 1e-4
    epochs: int = 5

    def make(self, seed: int) -> NBSVM:
        return NBSVM(self.alpha, self.epochs, seed)


def features(texts: pl.Series, kind: str):
    if kind in ("word", "word12"):
        idx, cnt = oof.hash_texts(texts, 2**20, 2 if kind == "word12" else 1, 20_000)
        return oof.tfidf(oof.csr_from_lists(idx, cnt, 2**20), 2)
    if kind == "char_wb":
        idx, cnt = oof.hash_texts(texts, 2**20, 1, 20_000, analyzer="char_wb")
        return oof.tfidf(oof.csr_from_lists(idx, cnt, 2**20), 2)
    raise ValueError(kind)


def oof_probs(X, y, folds: int, model) -> np.ndarray:
    scores, _ = oof.out_of_fold(X, y, None, model, folds, 0)
    return oof.softmax(scores, oof.fit_temperature(scores, y))


def evaluate(name: str, probs: np.ndarray, y: np.ndarray, truth: pl.DataFrame, budget: int | None, seconds: float) -> tuple[str, int]:
    from cleanlab.filter import find_label_issues

    errors = truth["is_label_error"].to_numpy()
    reviewed = truth["mturk_candidate"].to_numpy()
    flagged = find_label_issues(y, probs, filter_by="both", n_jobs=1)
    hits = int((flagged & errors).sum())
    k = budget or int(flagged.sum())
    lowest = np.argsort(probs[np.arange(len(y)), y], kind="stable")[:k]
    at_budget = int(errors[lowest].sum())
    line = (f"| {name} | {(probs.argmax(1) == y).mean():.3f} | {int(flagged.sum())} ({flagged.mean():.1%}) | {hits / errors.sum():.3f} | "
            f"{hits / max(int((flagged & reviewed).sum()), 1):.3f} | {at_budget / errors.sum():.3f} (K={k}) | {seconds:.0f} |")
    return line, int(flagged.sum())


def folds_and_methods(seeds=(0, 1, 2), fold_counts=(5, 10, 20), methods=("both", "low_self_confidence", "prune_by_noise_rate")) -> None:
    """The word-unigram model with more folds and other cleanlab methods, over fold seeds."""
    from cleanlab.filter import find_label_issues

    truth = pl.read_parquet(DATA, columns=["text", "given_label", "is_label_error", "mturk_candidate"])
    y = truth["given_label"].to_numpy()
    errors, reviewed = truth["is_label_error"].to_numpy(), truth["mturk_candidate"].to_numpy()
    X = features(truth["text"], "word")
    print("| seed | folds | OOF accuracy | CPU s | " + " | ".join(f"{m}: flagged, recall, precision" for m in methods) + " | recall at 138 |")
    print("|---|---:|---:|---:|" + "---|" * len(methods) + "---:|")
    for seed in seeds:
        for folds in fold_counts:
            started = time.process_time()
            scores, _ = oof.out_of_fold(X, y, None, oof.TextModel(), folds, seed)
            probs = oof.softmax(scores, oof.fit_temperature(scores, y))
            seconds = time.process_time() - started
            cells = []
            for method in methods:
                flagged = find_label_issues(y, probs, filter_by=method, n_jobs=1)
                hits = int((flagged & errors).sum())
                cells.append(f"{int(flagged.sum())}, {hits / errors.sum():.3f}, {hits / max(int((flagged & reviewed).sum()), 1):.3f}")
            lowest = np.argsort(probs[np.arange(len(y)), y], kind="stable")[:138]
            print(f"| {seed} | {folds} | {(probs.argmax(1) == y).mean():.3f} | {seconds:.0f} | " + " | ".join(cells)
                  + f" | {errors[lowest].sum() / errors.sum():.3f} |", flush=True)


def main() -> None:
    if sys.argv[1:] == ["folds"]:
        folds_and_methods()
        return
    wanted = sys.argv[1:] or ["word", "word k10", "word12", "char_wb", "word+char", "nbsvm", "ens(word,char_wb)"]
    truth = pl.read_parquet(DATA, columns=["text", "given_label", "is_label_error", "mturk_candidate"])
    y = truth["given_label"].to_numpy()
    print("| model (out-of-fold, temperature-scaled, cleanlab `both`) | OOF accuracy | flagged | recall (82) | reviewed precision | recall at the default's flag count | CPU s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    cache: dict[str, tuple[object, float]] = {}

    def feats(kind: str):
        if kind not in cache:
            started = time.process_time()
            cache[kind] = (features(truth["text"], kind), time.process_time() - started)
        return cache[kind]

    svm = oof.TextModel(n_jobs=1)
    budget = None
    probs_cache: dict[str, tuple[np.ndarray, float]] = {}

    def view(kind: str, folds: int = 5):
        key = f"{kind}/{folds}"
        if key not in probs_cache:
            X, seconds = feats(kind)
            started = time.process_time()
            probs_cache[key] = (oof_probs(X, y, folds, svm), seconds + time.process_time() - started)
        return probs_cache[key]

    for name in wanted:
        if name == "word k10":
            probs, seconds = view("word", 10)
        elif name == "word+char":
            import scipy.sparse as sp
            from sklearn.preprocessing import normalize

            (Xw, sw), (Xc, sc) = feats("word"), feats("char_wb")
            started = time.process_time()
            X = normalize(sp.hstack([Xw, Xc]).tocsr())
            probs, seconds = oof_probs(X, y, 5, svm), sw + sc + time.process_time() - started
        elif name == "nbsvm":
            X, seconds = feats("word")
            started = time.process_time()
            probs = oof_probs(X, y, 5, NBSVMModel())
            seconds += time.process_time() - started
        elif name.startswith("ens("):
            parts = name[4:-1].split(",")
            views = [view(p) for p in parts]
            probs, seconds = np.mean([v[0] for v in views], axis=0), sum(v[1] for v in views)
        else:
            probs, seconds = view(name)
        line, flagged = evaluate(name, probs, y, truth, budget, seconds)
        if budget is None:
            budget = flagged
        print(line, flush=True)


if __name__ == "__main__":
    main()
