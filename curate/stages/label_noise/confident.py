"""Confident learning on out-of-sample probabilities: which rows cleanlab flags, and how
far its flags and relabels can be trusted (the estimates docs/stages/label_noise.md
describes and measures)."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from curate.stages.label_noise import LabelNoiseConfig


def find_issues(config: LabelNoiseConfig, codes: np.ndarray, probs: np.ndarray, model_classes: np.ndarray, classes: list[str]) -> tuple[np.ndarray, np.ndarray, dict[str, Any], np.ndarray]:
    """Issues and quality of the assessed rows (`probs` has the model classes' columns),
    and per model class the estimated share of its true members whose given label is
    that class, P(given = j | true = j), from the calibrated confident joint."""
    from cleanlab.count import compute_confident_joint
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    remap = np.full(len(classes), -1)
    remap[model_classes] = np.arange(model_classes.size)
    y = remap[codes]
    stats: dict[str, Any] = {"oof_accuracy": round(float((probs.argmax(axis=1) == y).mean()), 6)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cleanlab warns about classes without examples
        if len(y) > config.batched_above_rows:
            from cleanlab.experimental.label_issues_batched import (
                find_label_issues_batched,
            )

            issues = find_label_issues_batched(y, probs, batch_size=100_000, n_jobs=1, verbose=False, return_mask=True)
            stats["method"] = "cleanlab find_label_issues_batched (low self-confidence)"
        else:
            issues = find_label_issues(y, probs, filter_by=config.filter_by, frac_noise=config.frac_noise, n_jobs=1)
            stats["method"] = f"cleanlab find_label_issues, filter_by={config.filter_by}"
        quality = get_label_quality_scores(y, probs, method=config.quality_score)
        joint = compute_confident_joint(y, probs, calibrate=True)
    given = joint.sum(axis=1)
    stats["noise_rate_per_class"] = {
        classes[c]: round(float(1 - joint[i, i] / given[i]), 6) if given[i] > 0 else None for i, c in enumerate(model_classes)
    }
    true = joint.sum(axis=0)
    kept = np.divide(np.diag(joint), true, out=np.ones(len(true)), where=true > 0)
    return np.asarray(issues, dtype=bool), np.clip(np.asarray(quality, dtype=np.float64), 0, 1), stats, kept


def relabel_plan(config: LabelNoiseConfig, issue: np.ndarray, assessed: np.ndarray, codes: np.ndarray, suggested: np.ndarray, probs: np.ndarray,
                 kept: np.ndarray, model_classes: np.ndarray, classes: list[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """Which flagged rows to relabel, and the estimated precision of doing so.

    For each suggested class j, the assessed rows the model assigns to j are taken from
    the most probable down. Among them, A rows are labelled j and D are labelled
    otherwise. Under class-conditional noise, the D rows that truly are j number about
    A · (1 − k_j) / k_j, with k_j = P(given = j | true = j) from the confident joint;
    the rest of D are the model's mistakes. So the estimated precision of relabelling
    the D rows into j is A · (1 − k_j) / (k_j · D). Class j's threshold is the lowest
    probability at which that estimate, over every row above it, still reaches
    `relabel_precision` (and at least `relabel_threshold`); a class that never reaches
    it gets no relabels."""
    n = len(codes)
    p_suggested = probs[np.arange(n), np.maximum(suggested, 0)]
    threshold = np.full(len(classes), np.inf)
    estimate = np.full(len(classes), np.nan)
    for m, c in enumerate(model_classes):
        members = np.flatnonzero(assessed & (suggested == c) & (p_suggested >= config.relabel_threshold))
        if members.size == 0:
            continue
        members = members[np.argsort(-p_suggested[members], kind="stable")]
        agree = np.cumsum(codes[members] == c)
        disagree = np.cumsum(codes[members] != c)
        ratio = (1 - kept[m]) / kept[m] if kept[m] > 0 else np.inf
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.minimum(1.0, agree * ratio / disagree)
        # a cut is only as good as the rows above it: cut where every row's probability ends
        last_of_tie = np.r_[p_suggested[members][1:] != p_suggested[members][:-1], True]
        good = np.flatnonzero((disagree > 0) & (precision >= config.relabel_precision) & last_of_tie)
        if good.size:
            threshold[c] = p_suggested[members[good[-1]]]
            estimate[c] = precision[good[-1]]
    relabel = issue & assessed & (suggested >= 0) & (suggested != codes) & (p_suggested >= threshold[np.maximum(suggested, 0)])
    into = suggested[relabel]
    expected = float(estimate[into].mean()) if into.size else None
    return relabel, {
        "relabel_thresholds": {classes[c]: (None if np.isinf(threshold[c]) else round_finite(threshold[c])) for c in model_classes},
        "relabel_precision_per_class": {classes[c]: round_finite(estimate[c]) for c in model_classes if not np.isnan(estimate[c])},
        "expected_relabel_precision": round_finite(expected),
    }


def expected_flag_precision(issue: np.ndarray, codes: np.ndarray, probs: np.ndarray, kept: np.ndarray, model_classes: np.ndarray) -> float | None:
    """The expected share of flagged rows whose given label is wrong. The calibrated
    probability p of the given label i predicts the given labels, noise included; the
    probability that i is the true label is at most p / P(given = i | true = i)."""
    if not issue.any():
        return None
    remap = np.full(probs.shape[1], -1)
    remap[model_classes] = np.arange(model_classes.size)
    given = codes[issue]
    k = kept[remap[given]]
    p = probs[np.flatnonzero(issue), given]
    return float(np.mean(1 - np.minimum(1.0, np.divide(p, k, out=np.ones_like(p), where=k > 0))))


def round_finite(value: float | None, digits: int = 6) -> float | None:
    """A float for the stats, None when it is missing or not finite."""
    return None if value is None or not np.isfinite(value) else round(float(value), digits)
