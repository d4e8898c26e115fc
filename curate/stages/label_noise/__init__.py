"""Label noise: rows whose label disagrees with out-of-sample predicted probabilities,
found with cleanlab (confident learning). Flags, drops or relabels them.

Probabilities come from, in order: a probability column the user supplies; else curate's
own out-of-fold model on feature columns (e.g. embeddings); else its out-of-fold text
model (curate/stages/label_noise/oof.py). docs/stages/label_noise.md has the details and the measurements.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import polars as pl
from pydantic import Field, PositiveInt, StrictBool, StrictInt, StrictStr, field_validator, model_validator

from curate.errors import ConfigError, InputDataError
from curate.row_names import as_text
from curate.stages.base import (
    ORDER_KEYS,
    POSITION,
    REASON,
    SHARD,
    Columns,
    Criterion,
    DatasetStage,
    Explanation,
    StageConfig,
)
from curate.stages.label_noise.confident import (
    expected_flag_precision,
    find_issues,
    relabel_plan,
    round_finite,
)

REASON_ISSUE = "label_issue"
ISSUE = "label_issue"
QUALITY = "label_quality"
SUGGESTED = "suggested_label"
ORIGINAL = "original_label"
SNIPPET_CHARS = 200

FilterBy = Literal[
    "both",
    "prune_by_noise_rate",
    "prune_by_class",
    "confident_learning",
    "predicted_neq_given",
    "low_normalized_margin",
    "low_self_confidence",
]


class LabelNoiseConfig(StageConfig):
    stage: Literal["label_noise"] = "label_noise"
    mode: Literal["filter", "annotate", "relabel"] = "annotate"
    """annotate (default): add `label_issue`, `label_quality`, `suggested_label`, remove
    nothing; filter: also remove the rows flagged as label issues; relabel: replace the
    label of flagged rows with `suggested_label` where that is safe (`relabel_precision`,
    `min_oof_accuracy`), the old value kept in `original_label`; nothing is removed."""
    probabilities_column: str | None = None
    """A column of out-of-sample predicted probabilities (list or array of floats, one per
    class in `classes` order, default the sorted distinct labels). When set, no model is
    trained."""
    feature_columns: list[str] = Field(default_factory=list)
    """Numeric columns or list/array columns (e.g. embeddings) to train the out-of-fold
    model on (standardised, logistic regression) instead of the text."""
    classes: list[StrictBool | StrictInt | StrictStr] | None = None
    """The class labels, in probability-column order, of the label column's type (strings,
    integers, or true and false) and values it can hold, as written: YAML's true is not 1.
    Labels outside it are an input error. Default: the distinct non-null labels of the
    data, sorted."""
    folds: int = Field(default=5, ge=2, le=50)
    """Cross-validation folds for the out-of-fold model (stratified, shuffled with `seed`).
    10 found the same share of real label errors on 20 Newsgroups with 10% fewer rows
    flagged, for 1.6x the CPU and 1.3x the memory at 100,000 rows, and fewer on a few
    hundred rows (docs/stages/label_noise.md)."""
    seed: int = 0
    """Seeds the folds and the model: the same input gives the same output."""
    min_class_rows: int = Field(default=5, ge=2)
    """Classes with fewer labelled rows are not assessed (their rows get null
    `label_issue` and `label_quality`, are not trained on and never flagged or relabelled).
    If the smallest assessed class has fewer rows than `folds`, the folds are reduced to it.
    Ignored with `probabilities_column` (every labelled row is assessed)."""
    filter_by: FilterBy = "low_self_confidence"
    """cleanlab's `find_label_issues` method. `low_self_confidence` (per class, as many
    rows as the confident joint estimates are wrong, those whose given label has the lowest
    probability) found the most human-verified errors on 20 Newsgroups at the same flag
    rate; `both` is the most conservative (docs/stages/label_noise.md)."""
    frac_noise: float = Field(default=1.0, gt=0, le=1)
    """cleanlab: flag this fraction of the estimated number of label errors (prune methods)."""
    quality_score: Literal["self_confidence", "normalized_margin", "confidence_weighted_entropy"] = "self_confidence"
    """cleanlab's label quality score (`label_quality`, 0 to 1, low = likely wrong)."""
    calibrate: bool = True
    """Temperature-scale the built-in model's out-of-fold scores into probabilities (one
    temperature, fitted by likelihood of the given labels). User probabilities are never
    changed."""
    relabel_threshold: float = Field(default=0.5, ge=0, le=1)
    """relabel mode: the lowest calibrated probability of the suggested class that may
    relabel a row. Each class's own threshold is learned on the out-of-fold predictions
    (the lowest at which its estimated relabel precision reaches `relabel_precision`) and
    is never below this."""
    relabel_precision: float = Field(default=0.8, gt=0.5, le=1)
    """relabel mode: a class receives relabels only where the estimated share of its
    relabels that are right (from the out-of-fold confusion, docs/stages/label_noise.md)
    is at least this. Above 0.5, a relabel is expected to fix more labels than it breaks."""
    min_oof_accuracy: float = Field(default=0.6, ge=0, le=1)
    """Below this out-of-fold accuracy the model is too weak to correct labels: relabel
    mode stops the run (exit code 3) unless `force_relabel`, and every mode writes a
    warning. The accuracy is against the given labels, so wrong labels lower it too: with
    20% of them wrong a perfect model scores 0.8."""
    force_relabel: bool = False
    """relabel mode: relabel even below `min_oof_accuracy` (the per-class precision rule
    still applies)."""
    ngram_max: int = Field(default=1, ge=1, le=3)
    """Text model: word n-grams from 1 to this (2 adds bigrams: ~2.5x the work, no better
    on 20 Newsgroups)."""
    n_features: int = Field(default=2**20, ge=2**10, le=2**24)
    """Text model: hashed feature columns."""
    min_df: PositiveInt = 2
    """Text model: drop features seen in fewer rows."""
    max_chars: int | None = Field(default=20_000, ge=1)
    """Text model: read at most this many characters of each text (bounds the cost of a
    few huge documents)."""
    alpha: float = Field(default=1e-4, gt=0)
    """Text model: L2 regularisation of the linear SVM."""
    epochs: PositiveInt = 5
    """Text model: passes of SGD over each fold's training rows."""
    n_jobs: int = Field(default=2, ge=1, le=64)
    """Threads for the text model (one-vs-rest classes in parallel)."""
    top_issues: int = Field(default=20, ge=0)
    """How many flagged rows (lowest label quality first) the report lists with a snippet."""
    batched_above_rows: PositiveInt = 2_000_000
    """With more assessed rows than this, cleanlab's memory-bounded
    `find_label_issues_batched` replaces `find_label_issues` (its own method, an
    approximation of `low_self_confidence`; `filter_by` and `frac_noise` then do not apply)."""

    @field_validator("classes", mode="before")
    @classmethod
    def _class_values(cls, value: Any) -> Any:
        # one line for a value of no class type, not one per member of the union
        for v in value if isinstance(value, list) else []:
            if not isinstance(v, (bool, int, str)):
                raise ValueError(f"{v!r} is not a class label; list strings, integers, or true and false (quote any other value)")
        return value

    @model_validator(mode="after")
    def _check(self) -> LabelNoiseConfig:
        if self.probabilities_column and self.feature_columns:
            raise ValueError("give probabilities_column or feature_columns, not both")
        if self.classes is not None and len({type(c) for c in self.classes}) > 1:
            raise ValueError("classes mixes types; list all strings (quoted: '1'), all integers, or true and false")
        if self.classes is not None and len(set(self.classes)) != len(self.classes):
            raise ValueError("classes has duplicates")
        if self.classes is not None and len(self.classes) < 2:
            raise ValueError("classes needs at least two classes")
        return self


class LabelNoise(DatasetStage):
    kind = "label_noise"
    summary = "Flag, remove or relabel rows whose label disagrees with out-of-fold predictions (cleanlab)."
    # each worker imports scikit-learn and cleanlab: 1.75 and 1.27 CPU s more than a pass-through's in two runs of
    # bench/workers.py --start-up-only; 2.7 in all on the 1.5 assumed for any worker, against 2.35 and 1.97 measured
    worker_start_cpu_seconds = 1.2
    Config = LabelNoiseConfig
    config: LabelNoiseConfig

    def __init__(self, config: StageConfig, columns: Columns):
        super().__init__(config, columns)
        if columns.label is None:
            raise ConfigError(
                f"stage {self.name!r} needs a label column: set input.label_column in the pipeline file to the column holding the labels"
            )

    # --- per shard -----------------------------------------------------------------

    def added_columns(self) -> list[str]:
        return [ISSUE, QUALITY, SUGGESTED] + ([ORIGINAL] if self.config.mode == "relabel" else [])

    def removes(self, annotate_only: bool) -> bool:
        # relabel keeps every row: its flagged rows are counted and shown as flagged, kept
        return self.config.mode == "filter" and self.applies(annotate_only)

    def finish_stats(self, merged: dict[str, Any], applied: bool = True) -> dict[str, Any]:
        if self.config.mode == "relabel" and not applied and "relabelled" in merged:  # --annotate-only: no label changed
            flagged = merged["relabelled"] + merged["flagged_not_relabelled"]
            return {**merged, "headline": _headline(merged, flagged, merged["relabelled"], "would relabel")}
        return merged

    def explain(self) -> Explanation:
        given = [Criterion(self.columns.label)] if self.columns.label else []
        return Explanation({REASON_ISSUE: [Criterion(QUALITY), *given, Criterion(SUGGESTED)]})

    def required_columns(self) -> list[str]:
        cfg = self.config
        needed = [self.columns.label, self.columns.text]
        if cfg.probabilities_column:
            needed.append(cfg.probabilities_column)
        needed.extend(cfg.feature_columns)
        return list(dict.fromkeys(c for c in needed if c))

    def _uses_text(self) -> bool:
        return not self.config.probabilities_column and not self.config.feature_columns

    def check(self, schema: pl.Schema) -> None:
        super().check(schema)
        self._check_column_types(schema)
        if self.columns.label in schema:
            self._check_class_types(schema[self.columns.label])

    def _check_column_types(self, schema: pl.Schema) -> None:
        """The types of the columns the stage reads that `schema` holds: the label, the
        probabilities, the features (the input's before any work, a column an earlier
        stage adds in `summarize`)."""
        cfg = self.config
        label = schema.get(self.columns.label)
        if label is not None and (label.is_float() or label.is_nested() or label.is_temporal()):
            raise InputDataError(
                f"stage {self.name!r}: label column {self.columns.label!r} is {label}; "
                "label_noise needs integer, string, categorical or boolean class labels: cast the column"
            )
        probabilities = schema.get(cfg.probabilities_column) if cfg.probabilities_column else None
        if probabilities is not None and not (isinstance(probabilities, (pl.List, pl.Array)) and probabilities.inner.is_numeric()):
            raise ConfigError(
                f"stage {self.name!r}: probabilities_column {cfg.probabilities_column!r} is {probabilities}; "
                "name a column holding a list of numbers per row, one probability per class"
            )
        for column in cfg.feature_columns:
            dtype = schema.get(column)
            values = dtype.inner if isinstance(dtype, (pl.List, pl.Array)) else dtype
            if dtype is not None and not (values.is_numeric() or values == pl.Boolean):
                raise ConfigError(f"stage {self.name!r}: feature_columns: column {column!r} is {dtype}, not numeric or a list of numbers")

    def _check_class_types(self, dtype: pl.DataType) -> None:
        """`classes:` must hold the label column's values: integers for an integer column,
        true and false for a boolean one, strings otherwise."""
        if self.config.classes is None:
            return
        kind, write = (int, "integer classes, e.g. [0, 1]") if dtype.is_integer() else (bool, "true and false") if dtype == pl.Boolean else (
            str, "the classes as strings (quoted: '1')")
        if not all(type(v) is kind for v in self.config.classes):
            raise ConfigError(f"stage {self.name!r}: classes: the label column {self.columns.label!r} is {dtype}; list {write}")
        # suggested_label is written in the label's type: a class it cannot hold (300 or -1
        # for a UInt8, a string outside an Enum's categories) could not be suggested
        held = pl.Series(self.config.classes).cast(_class_dtype(dtype), strict=False)
        unheld = [v for v, is_null in zip(self.config.classes, held.is_null().to_list()) if is_null]
        if unheld:
            holds = f"an Enum of {', '.join(dtype.categories.to_list())}" if isinstance(dtype, pl.Enum) else str(dtype)
            raise ConfigError(
                f"stage {self.name!r}: classes: the label column {self.columns.label!r} is {holds}, which cannot hold {', '.join(map(repr, unheld))}; "
                f"remove {'it' if len(unheld) == 1 else 'them'} from classes, or cast the column to a type that holds {'it' if len(unheld) == 1 else 'them'}"
            )

    def _unknown_labels(self, rows: int, examples: list[str]) -> InputDataError:
        """The error for `rows` labels outside `classes:` (checked on the input before the
        run, and on the rows that reach the stage)."""
        return InputDataError(
            f"stage {self.name!r}: {rows:,} rows have labels not in `classes` (e.g. {examples}); "
            "add them to classes, or null those labels to leave the rows unassessed"
        )

    def _check_classes(self, classes: list[Any], labelled: int) -> None:
        if len(classes) >= 2:
            return
        found = "no labels (every value is null)" if not classes else f"one class ({classes[0]!r}) in all {labelled:,} labelled rows"
        raise InputDataError(
            f"stage {self.name!r}: label column {self.columns.label!r} has {found}; label_noise needs labels of at least two classes "
            "(it judges each label against the other classes): check input.label_column, or remove the stage"
        )

    def check_input(self, rows: pl.LazyFrame) -> None:
        label = self.columns.label
        found = rows.select(pl.col(label).drop_nulls().unique().head(2).cast(pl.String)).collect().to_series().to_list()
        labelled = rows.select(pl.col(label).count()).collect().item() if len(found) == 1 else 0
        self._check_classes(found, labelled)
        if self.config.classes is not None:
            keys = pl.col(label).cast(pl.String)
            unknown = rows.select(keys.alias("key")).filter(pl.col("key").is_not_null() & ~pl.col("key").is_in(self._class_keys(self.config.classes)))
            counted = unknown.select(pl.len(), pl.col("key").unique(maintain_order=True).head(5).implode()).collect()
            if counted[0, 0]:
                raise self._unknown_labels(counted[0, 0], counted[0, 1].to_list())

    def summarize(self, frame: pl.DataFrame) -> pl.DataFrame:
        cfg = self.config
        label = frame[self.columns.label]
        self._check_column_types(frame.schema)
        snippet = self.text().str.replace_all(r"\s+", " ").str.strip_chars().str.slice(0, SNIPPET_CHARS)
        out = frame.select(
            label.alias("label"),
            as_text(frame[self.columns.id]).alias("id") if self.columns.id in frame.columns else pl.lit(None, pl.String).alias("id"),
            snippet.alias("snippet"),
            (snippet.str.len_chars() > 0).alias("has_text"),
        )
        if cfg.probabilities_column:
            out = out.with_columns(frame[cfg.probabilities_column].alias("probs"))
        elif cfg.feature_columns:
            out = out.with_columns(frame[c].alias(f"_f{i}") for i, c in enumerate(cfg.feature_columns))
        else:
            from curate.stages.label_noise.oof import hash_texts

            idx, cnt = hash_texts(frame[self.columns.text], cfg.n_features, cfg.ngram_max, cfg.max_chars)
            out = out.with_columns(idx, cnt)
        return out

    # --- whole dataset ---------------------------------------------------------------

    def decide(self, summaries: pl.LazyFrame) -> tuple[pl.DataFrame, dict[str, Any]]:
        cfg = self.config
        rows = summaries.sort(ORDER_KEYS).collect()
        n = rows.height
        label = rows["label"]
        label_dtype = label.dtype
        keys = label.cast(pl.String)  # one representation to map: "3", "spam", "true"
        classes, class_keys = self._classes(label, keys)
        lookup = pl.DataFrame({"key": pl.Series(class_keys, dtype=pl.String), "code": np.arange(len(class_keys), dtype=np.int64)})
        codes_series = pl.DataFrame({"key": keys}).join(lookup, on="key", how="left", maintain_order="left")["code"]
        unknown = keys.is_not_null() & codes_series.is_null()
        if unknown.any():
            raise self._unknown_labels(int(unknown.sum()), keys.filter(unknown).unique(maintain_order=True).head(5).to_list())
        codes = codes_series.fill_null(-1).to_numpy().copy()
        # The text model never judges the label of a null, empty or blank text: it has
        # nothing to judge it by (probabilities and feature columns do not need the text).
        no_text = ~rows["has_text"].to_numpy() if self._uses_text() else np.zeros(n, dtype=bool)
        without_text = no_text & (codes >= 0)
        codes[without_text] = -1
        if n:
            self._check_classes([classes[c] for c in np.unique(codes[codes >= 0])], int((codes >= 0).sum()))
        k = len(class_keys)
        counts = np.bincount(codes[codes >= 0], minlength=k)

        stats: dict[str, Any] = {
            "rows": n,
            "labelled_rows": int((codes >= 0).sum()),
            "null_label_rows": int(label.null_count()),
            "empty_text_rows": int(without_text.sum()),
            "classes": k,
        }
        probs = np.zeros((n, k))  # the probabilities of every row that has them
        has_probs = np.zeros(n, dtype=bool)
        if cfg.probabilities_column:
            assessed_class = np.ones(k, dtype=bool)
            probs, has_probs = self._given_probabilities(rows["probs"], rows["id"], codes, k)
            stats["probabilities"] = f"column {cfg.probabilities_column}"
        else:
            assessed_class = counts >= cfg.min_class_rows
            stats["rare_classes"] = {class_keys[c]: int(counts[c]) for c in np.flatnonzero(~assessed_class)}
            if assessed_class.sum() >= 2:
                X, has_probs, info = self._features(rows, codes)
                rows = rows.select(SHARD, POSITION, "id", "snippet")  # free the per-row features before training
                probs, fold_info = self._out_of_fold(X, codes, assessed_class)
                del X
                stats.update(info)
                stats.update(fold_info)
            else:
                stats["probabilities"] = None
                stats["not_assessed_because"] = f"fewer than two classes with at least min_class_rows={cfg.min_class_rows} labelled rows"
        has_probs &= ~no_text  # no suggestion for a row without text either
        assessed = (codes >= 0) & assessed_class[np.maximum(codes, 0)] & has_probs
        stats["assessed_rows"] = int(assessed.sum())
        stats["unassessed_labelled_rows"] = int(((codes >= 0) & ~assessed).sum())
        stats["not_assessed"] = _not_assessed(label.is_null().to_numpy(), without_text, codes, assessed_class, has_probs)

        issue = np.zeros(n, dtype=bool)
        quality = np.full(n, np.nan)
        model_classes = np.flatnonzero(assessed_class)
        kept_share = None  # per model class: P(given = j | true = j)
        if assessed.any():
            issue_a, quality_a, cl_stats, kept_share = find_issues(cfg, codes[assessed], probs[assessed][:, model_classes], model_classes, class_keys)
            issue[assessed] = issue_a
            quality[assessed] = quality_a
            stats.update(cl_stats)
        suggested_code = np.where(has_probs, model_classes[np.argmax(probs[:, model_classes], axis=1)] if model_classes.size else -1, -1)
        warnings_ = []
        accuracy = stats.get("oof_accuracy")
        if accuracy is not None and accuracy < cfg.min_oof_accuracy:
            warnings_.append(
                f"out-of-fold accuracy {accuracy:.2f} is below min_oof_accuracy {cfg.min_oof_accuracy:g}: the model is too weak "
                "for its flags and suggestions to be trusted; review them before acting (docs/stages/label_noise.md)"
            )
        if kept_share is not None:
            stats["expected_flag_precision"] = round_finite(expected_flag_precision(issue, codes, probs, kept_share, model_classes))

        relabel = np.zeros(n, dtype=bool)
        if cfg.mode == "relabel":
            if accuracy is not None and accuracy < cfg.min_oof_accuracy and not cfg.force_relabel:
                raise InputDataError(
                    f"stage {self.name!r}: out-of-fold accuracy {accuracy:.3f} is below min_oof_accuracy {cfg.min_oof_accuracy:g}, "
                    "so relabelling would likely break as many labels as it fixes; use mode: annotate to review the flags, "
                    "give better probabilities (probabilities_column, feature_columns), or set force_relabel: true"
                )
            if kept_share is not None:
                relabel, plan = relabel_plan(cfg, issue, assessed, codes, suggested_code, probs, kept_share, model_classes, class_keys)
                stats.update(plan)
            stats["relabelled"] = int(relabel.sum())
            stats["flagged_not_relabelled"] = int(issue.sum() - relabel.sum())
        stats["warnings"] = warnings_
        stats["headline"] = _headline(stats, int(issue.sum()), int(relabel.sum()), "relabelled" if cfg.mode == "relabel" else None)

        class_series = pl.Series("v", classes, dtype=_class_dtype(label_dtype))
        suggested = _take(class_series, suggested_code).cast(label_dtype) if n else pl.Series([], dtype=label_dtype)
        decisions = rows.select(SHARD, POSITION).with_columns(
            pl.Series(ISSUE, issue).set(pl.Series(~assessed), None) if n else pl.Series(ISSUE, [], pl.Boolean),
            pl.Series(QUALITY, quality).fill_nan(None) if n else pl.Series(QUALITY, [], pl.Float64),
            suggested.alias(SUGGESTED),
        )
        if cfg.mode == "relabel":
            decisions = decisions.with_columns(
                pl.when(pl.Series(relabel)).then(pl.col(SUGGESTED)).otherwise(label).alias(self.columns.label),
                label.alias(ORIGINAL),
            )
        # flagged rows carry the reason; in relabel mode they stay (LabelNoise.removes), counted as flagged
        decisions = decisions.with_columns(pl.when(pl.col(ISSUE)).then(pl.lit(REASON_ISSUE)).otherwise(None).alias(REASON))

        stats.update(self._report(rows, codes, issue, quality, suggested_code, class_keys, probs))
        return decisions, stats

    # --- pieces ----------------------------------------------------------------------

    def _classes(self, label: pl.Series, keys: pl.Series) -> tuple[list[Any], list[str]]:
        """Class values and their string keys, in class-index order."""
        cfg = self.config
        if cfg.classes is not None:
            self._check_class_types(label.dtype)
            return list(cfg.classes), self._class_keys(cfg.classes)
        values = label.drop_nulls().unique()
        # a categorical or enum sorts by its categories' order; classes sort by the text
        values = values.cast(pl.String).sort() if isinstance(label.dtype, (pl.Categorical, pl.Enum)) else values.sort()
        return values.to_list(), values.cast(pl.String).to_list()

    @staticmethod
    def _class_keys(classes: list[Any]) -> list[str]:
        """Each class as its label reads cast to text: "3", "spam", "true"."""
        return [str(v).lower() if isinstance(v, bool) else str(v) for v in classes]

    def _given_probabilities(self, column: pl.Series, ids: pl.Series, codes: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        name = cfg.probabilities_column
        dtype = column.dtype  # a list or array of numbers (_check_column_types)
        lengths = (column.list.len() if isinstance(dtype, pl.List) else column.arr.len()).fill_null(0).to_numpy()
        present = column.is_not_null().to_numpy()
        if (wrong := present & (lengths != k)).any():
            first = int(np.flatnonzero(wrong)[0])
            raise InputDataError(
                f"stage {self.name!r}: probabilities_column {name!r} has rows of {lengths[first]} values ({int(wrong.sum()):,} rows, first: {self._row(ids, first)}) "
                f"but there are {k} classes; set classes to the model's class list, in its order"
            )
        missing = (codes >= 0) & ~present
        if missing.any():
            raise InputDataError(f"stage {self.name!r}: probabilities_column {name!r} is null in {int(missing.sum()):,} labelled rows; every labelled row needs probabilities")
        probs = np.zeros((len(codes), k))
        if present.any():
            values = column.filter(pl.Series(present))
            flat = values.explode() if isinstance(dtype, pl.List) else values.arr.explode()
            matrix = flat.cast(pl.Float64).to_numpy().reshape(-1, k)
            rows = np.flatnonzero(present)  # rows[i]: the row whose list is the matrix's row i
            # null first: to_numpy makes it NaN, and the message would send the user looking for one
            problems = ((flat.is_null().to_numpy().reshape(-1, k), "a null value"), (~np.isfinite(matrix), "a NaN or infinite value"), (matrix < 0, "a negative value"))
            for bad, what in problems:
                if (bad_rows := bad.any(axis=1)).any():
                    raise InputDataError(
                        f"stage {self.name!r}: probabilities_column {name!r} has {what} in {int(bad_rows.sum()):,} rows "
                        f"(first: {self._row(ids, rows[np.argmax(bad_rows)])}); every probability must be a number of 0 or more"
                    )
            sums = matrix.sum(axis=1, keepdims=True)
            if (sums <= 0).any():
                raise InputDataError(f"stage {self.name!r}: probabilities_column {name!r} has rows that sum to 0")
            probs[present] = matrix / sums
        return probs, present

    def _row(self, ids: pl.Series, row: int) -> str:
        """A row of the frame `decide` reads, named as the user knows it: by its id."""
        return f"{self.columns.id} {ids[int(row)]!r}"

    def _features(self, rows: pl.DataFrame, codes: np.ndarray) -> tuple[Any, np.ndarray, dict[str, Any]]:
        """The model's input matrix (dense feature columns, or the text's tf-idf), and the
        rows it can predict: those with every feature (a row without text is the caller's)."""
        from curate.stages.label_noise import oof

        cfg = self.config
        info: dict[str, Any] = {}
        present = np.ones(rows.height, dtype=bool)
        if cfg.feature_columns:
            features = rows.select(pl.col(f"_f{i}").alias(c) for i, c in enumerate(cfg.feature_columns))
            try:
                X, present = oof.dense_features(features, codes >= 0, lambda row: self._row(rows["id"], row))
            except ValueError as error:
                raise InputDataError(f"stage {self.name!r}: {error}") from None
            info["probabilities"] = f"out-of-fold logistic regression on {', '.join(cfg.feature_columns)} ({X.shape[1]} features)"
        else:
            X = oof.tfidf(oof.csr_from_lists(rows["feat_idx"], rows["feat_cnt"], cfg.n_features), cfg.min_df)
            grams = "word unigrams" if cfg.ngram_max == 1 else f"word 1- to {cfg.ngram_max}-grams"
            info["probabilities"] = f"out-of-fold text model (hashed {grams}, tf-idf, linear SVM by SGD)"
            info["text_features"] = int(X.shape[1])
        return X, present, info

    def _out_of_fold(self, X: Any, codes: np.ndarray, assessed_class: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
        from curate.stages.label_noise import oof

        cfg = self.config
        n, k = len(codes), len(assessed_class)
        train = (codes >= 0) & assessed_class[np.maximum(codes, 0)]
        model_classes = np.flatnonzero(assessed_class)
        remap = np.full(k, -1)
        remap[model_classes] = np.arange(model_classes.size)
        y = remap[codes[train]]
        folds = int(min(cfg.folds, np.bincount(y).min()))
        info: dict[str, Any] = {"folds": folds}
        if cfg.feature_columns:
            model: oof.TextModel | oof.FeatureModel = oof.FeatureModel()
        else:
            model = oof.TextModel(alpha=cfg.alpha, epochs=cfg.epochs, n_jobs=cfg.n_jobs)
        others = X[~train] if (~train).any() else None
        scores, extra = oof.out_of_fold(X if others is None else X[train], y, others, model, folds, cfg.seed, self.tasks)
        temperature = oof.fit_temperature(scores, y) if cfg.calibrate else 1.0
        info["temperature"] = round(temperature, 6)
        probs = np.zeros((n, k))
        probs[np.ix_(np.flatnonzero(train), model_classes)] = oof.softmax(scores, temperature)
        if extra is not None:
            probs[np.ix_(np.flatnonzero(~train), model_classes)] = oof.softmax(extra, temperature)
        return probs, info

    def _report(self, rows: pl.DataFrame, codes: np.ndarray, issue: np.ndarray, quality: np.ndarray, suggested: np.ndarray, classes: list[str], probs: np.ndarray) -> dict[str, Any]:
        cfg = self.config
        names = classes
        flagged = np.flatnonzero(issue)
        assessed_rows = int((~np.isnan(quality)).sum())
        per_class = np.bincount(codes[flagged], minlength=len(classes)) if flagged.size else np.zeros(len(classes), int)
        confusion: dict[str, dict[str, int]] = {}
        for given, sugg in zip(codes[flagged].tolist(), suggested[flagged].tolist()):
            row = confusion.setdefault(names[given], {})
            row[names[sugg]] = row.get(names[sugg], 0) + 1
        order = flagged[np.argsort(quality[flagged], kind="stable")]
        table = pl.DataFrame(
            {
                SHARD: rows[SHARD].gather(order),
                POSITION: rows[POSITION].gather(order),
                "id": rows["id"].gather(order),
                "given_label": [names[c] for c in codes[order]],
                "suggested_label": [names[c] for c in suggested[order]],
                "label_quality": quality[order],
                "suggested_probability": probs[order, suggested[order]] if order.size else np.zeros(0),
                "snippet": rows["snippet"].gather(order),
            },
            schema_overrides={"given_label": pl.String, "suggested_label": pl.String},
        )
        return {
            "issues": int(flagged.size),
            "issue_rate": round(flagged.size / assessed_rows, 6) if assessed_rows else None,
            "issues_per_class": {names[c]: int(per_class[c]) for c in range(len(classes)) if per_class[c]},
            "confusion": {g: dict(sorted(s.items())) for g, s in sorted(confusion.items())},
            "top_issues": [
                {k: (round(v, 6) if isinstance(v, float) else v) for k, v in r.items() if k not in (SHARD, POSITION)}
                for r in table.head(cfg.top_issues).iter_rows(named=True)
            ],
            "tables": {"issues": table},
        }


def _not_assessed(no_label: np.ndarray, without_text: np.ndarray, codes: np.ndarray, assessed_class: np.ndarray,
                  has_probs: np.ndarray) -> dict[str, int]:
    """Rows left unjudged, by reason (docs/stages/label_noise.md); `codes` is -1 for both of
    the first two."""
    labelled = codes >= 0
    rare = labelled & ~assessed_class[np.maximum(codes, 0)]
    reasons = {"null_label": no_label, "empty_text": without_text, "rare_class": rare, "no_probabilities": labelled & ~rare & ~has_probs}
    return {reason: int(mask.sum()) for reason, mask in reasons.items() if mask.any()}


def _headline(stats: dict[str, Any], flagged: int, relabelled: int, relabel_verb: str | None) -> str:
    """One line for the terminal: what was found and the model's accuracy. The model's own
    precision estimates stay in the report: they assume its confident disagreements are
    label errors and read high (0.99 where 0.79-0.90 was measured, docs/stages/label_noise.md)."""
    assessed = stats["assessed_rows"]
    if not assessed:
        return "no row could be assessed"
    parts = [f"{flagged:,} of {assessed:,} assessed rows flagged ({flagged / assessed:.1%})"]
    if relabel_verb is not None:
        parts.append(f"{relabelled:,} {relabel_verb}")
    parts.append(f"out-of-fold accuracy {stats['oof_accuracy']:.3f}")
    not_assessed = sum(stats["not_assessed"].values())
    if not_assessed:
        parts.append(f"{not_assessed:,} rows not assessed")
    return "; ".join(parts)


def _class_dtype(label: pl.DataType) -> pl.DataType:
    """The type the classes are held in: the label's, a categorical's as text."""
    return pl.String if label == pl.Categorical else label


def _take(values: pl.Series, codes: np.ndarray) -> pl.Series:
    """values[codes], null where the code is negative."""
    index = pl.Series(np.maximum(codes, 0), dtype=pl.Int64)
    if values.len() == 0:
        return pl.Series([None] * len(codes), dtype=values.dtype)
    return values.gather(index).set(pl.Series(codes < 0), None) if len(codes) else values.clear()
