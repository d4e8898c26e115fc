"""`curate evaluate`: did curating help? One fixed model is trained twice, on a finished
run's input rows and on its curated rows (the kept rows, relabels applied), and both are
scored on the same held-out test set: accuracy, macro-F1, their differences, and paired
bootstrap confidence intervals of the differences. The result goes to
`reports/evaluation.json` and a section of report.html (docs/evaluate.md).

It reads the run directory only (`manifest.json`, `data/`, `removed/`): nothing is lost in
a run, so the input rows are the kept rows plus every removed row, with each row's label
as it entered the run (`original_label` where the run's relabel stage changed it) and its
text as it entered (the `keep_original:` column where a stage rewrote it and kept it).
"""

from __future__ import annotations

import gzip
import importlib
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from curate.errors import ConfigError, InputDataError
from curate.existing_runs import unchanged_run
from curate.files import ndjson_path, write_json_atomic, write_text_atomic
from curate.jsonl_checks import bad_json_line
from curate.report.compare import ORIGINAL_LABEL, RunData, load_run, relabel_stage
from curate.report.rows import part_files, scan_parts

DEFAULT_MODEL = "TF-IDF (words, sublinear tf, min_df 2) + logistic regression (C=10)"
BOOTSTRAP = 1000
CONFIDENCE = 0.95


@dataclass(frozen=True)
class TrainingSets:
    texts_input: list[str]
    labels_input: np.ndarray
    texts_curated: list[str]
    labels_curated: np.ndarray


def default_model() -> Any:
    """The fixed model: what a team would train first on labelled text."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(sublinear_tf=True, min_df=2), LogisticRegression(C=10, max_iter=1000))


def model_from_path(path: str | None) -> tuple[Any, str]:
    """A fresh estimator and its description. `path` names a scikit-learn estimator class
    (or a function returning one) as `package.module.Name` or `package.module:Name`, built
    with no arguments; a classifier gets the default TF-IDF features in front of it, a
    Pipeline is used as given. Anything that does not build a classifier (a regressor, a
    clusterer, a function needing arguments), or a classifier whose tags say it cannot
    take sparse features, is refused with the import path."""
    if path is None:
        return default_model(), DEFAULT_MODEL
    module_name, _, attribute = path.replace(":", ".").rpartition(".")
    if not module_name:
        raise ConfigError(f"--model {path}: give an import path such as sklearn.svm.LinearSVC or mypackage.models:make")
    try:
        factory = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ConfigError(f"--model {path}: cannot import it ({error}); give an importable estimator such as sklearn.svm.LinearSVC") from None
    if not callable(factory):
        raise ConfigError(f"--model {path}: not a class or function; give an estimator class or a function returning one")
    try:
        estimator = factory()
    except TypeError as error:  # a function or class that needs arguments (os.system)
        raise ConfigError(f"--model {path}: cannot build it with no arguments ({error}); give an estimator class or a function returning one") from None
    except Exception as error:  # noqa: BLE001 - the user's own code: its error is theirs, not curate's
        raise _models_error(path, "building it", error) from None
    from sklearn.base import is_clusterer, is_regressor
    from sklearn.pipeline import Pipeline

    try:
        other_kind = is_regressor(estimator) or is_clusterer(estimator)
    except Exception:  # noqa: BLE001 - an estimator of the user's own without scikit-learn's tags: taken as a classifier
        other_kind = False
    if not (hasattr(estimator, "fit") and hasattr(estimator, "predict")) or other_kind:
        raise ConfigError(f"--model {path}: not a classifier (it builds {type(estimator).__name__}); give one such as sklearn.svm.LinearSVC")
    if isinstance(estimator, Pipeline):
        return estimator, path
    if not _takes_sparse(estimator):
        raise ConfigError(
            f"--model {path}: it needs dense features and curate gives it sparse TF-IDF ones; give a function returning a Pipeline "
            "that makes dense features (e.g. TfidfVectorizer, TruncatedSVD, then the model) as mypackage.models:make"
        )
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(sublinear_tf=True, min_df=2), estimator), f"TF-IDF + {path}"


def _models_error(path: str, doing: str, error: Exception) -> ConfigError:
    return ConfigError(f"--model {path}: {doing} raised {type(error).__name__}: {error}; fix the model or give another")


def _takes_sparse(estimator: Any) -> bool:
    """Whether the estimator takes the sparse TF-IDF matrix, by its scikit-learn tags
    (GaussianNB and HistGradientBoostingClassifier do not: they fail inside fit)."""
    try:
        from sklearn.utils import get_tags

        return bool(get_tags(estimator).input_tags.sparse)
    except Exception:  # noqa: BLE001 - scikit-learn before 1.6, or an estimator of the user's own without its tags: taken to accept them
        return True


def _read_rows(folder: Path) -> pl.DataFrame | None:
    """The rows of a run's folder (Parquet parts, or JSON Lines ones with `output.format:
    jsonl`), or None when it holds no row."""
    files = part_files(folder)
    rows = scan_parts(files).collect() if files else pl.DataFrame()
    return rows if rows.height else None


def relabelled_from(run: RunData, label: str) -> str | None:
    """The column holding `label` as it entered the run: `original_label` when one of the
    run's own stages relabelled `label` (`relabel_stage`), else None."""
    if label != run.manifest.get("pipeline", {}).get("input", {}).get("label_column"):
        return None  # a relabel stage changes the pipeline's label column only
    return ORIGINAL_LABEL if relabel_stage(run.reports) is not None else None


def texts_entered_in(run: RunData, text: str) -> dict[str | None, str]:
    """Where the rows of each folder (None: data/, else the name of the stage whose
    removed/ it is) hold `text` as it entered the run, when that is not `text` itself: the
    `keep_original:` column of the run's first stage that kept the text it received before
    rewriting it (filter mode: the column is in its report), for the rows that stage
    passed on. The rows it or an earlier stage removed hold it in `text` (a removed row
    keeps the text it came with), as do all rows of a run without such a column."""
    if text != (run.manifest.get("pipeline", {}).get("input", {}).get("text_column") or "text"):
        return {}  # a rewriting stage rewrites the pipeline's text column only
    options = {entry.get("name") or entry.get("stage"): entry for entry in run.manifest.get("pipeline", {}).get("stages", [])}
    found: dict[str | None, str] = {}
    kept_in = None
    for report in run.reports:
        if kept_in is not None:
            found[report["name"]] = kept_in
        elif (column := options.get(report["name"], {}).get("keep_original")) and column in (report.get("annotation_columns") or []):
            kept_in = column
    if kept_in is not None:
        found[None] = kept_in
    return found


def training_sets(run_dir: Path, text: str, label: str, original: str | None = None, text_given: bool = False,
                  label_given: bool = False, texts_entered: dict[str | None, str] | None = None) -> TrainingSets:
    """The run's input rows (label as it entered the run: `original` where it is not null,
    see `relabelled_from`; text as it entered the run: the column `texts_entered` names for
    the folder, see `texts_entered_in`) and its curated rows (kept, relabels and rewrites
    applied); rows without a label or text are left out of both. `text_given`,
    `label_given`: the column came from --text-column / --label-column (the error names the option)."""
    kept = _read_rows(run_dir / "data")
    if kept is None:
        raise InputDataError(f"{run_dir / 'data'}: no kept rows; evaluate needs a finished run of labelled data")
    for column, what, given in ((label, "label", label_given), (text, "text", text_given)):
        named = f"--{what}-column {column}" if given else f"the run's {what} column {column!r}"
        if column not in kept.columns:
            raise InputDataError(
                f"{named}: the run's data has no such column (columns: {', '.join(kept.columns)}); give --{what}-column one of them "
                f"(--test-{what}-column names the test file's column)"
            )
        if (need := _unusable(kept.schema[column], what)) is not None:
            raise InputDataError(f"{named}: the run's column is {kept.schema[column]}; give --{what}-column a column of {need}")
    removed = [(folder.name, frame) for folder in sorted((run_dir / "removed").glob("*")) if (frame := _read_rows(folder)) is not None]

    def entered(frame: pl.DataFrame, folder: str | None) -> pl.DataFrame:
        given = pl.coalesce(pl.col(original), pl.col(label)) if original in frame.columns else pl.col(label)
        written = (texts_entered or {}).get(folder, text)
        return frame.select(pl.col(written).cast(pl.String).alias("text"), label_text(given, frame.schema[label]).alias("label"))

    every = pl.concat([entered(kept, None), *(entered(frame, name) for name, frame in removed)])
    curated = kept.select(pl.col(text).cast(pl.String).alias("text"), label_text(pl.col(label), kept.schema[label]).alias("label"))
    usable = pl.col("label").is_not_null() & (pl.col("text").fill_null("").str.strip_chars() != "")
    every, curated = every.filter(usable), curated.filter(usable)
    return TrainingSets(every["text"].to_list(), every["label"].to_numpy(), curated["text"].to_list(), curated["label"].to_numpy())


def _refuse_a_stages_column(run: RunData, column: str | None, what: str) -> None:
    """A column one of the run's stages added (its report lists it: suggested_label, a
    keep_original: column) is not one the rows came in with: the rows a stage before it
    removed lack it, so the input rows cannot be trained on it."""
    added = next((r["name"] for r in run.reports if column in (r.get("annotation_columns") or [])), None)
    if column is None or added is None:
        return
    stage_columns = {c for r in run.reports for c in r.get("annotation_columns") or []}
    columns = [c for c in _read_columns(run.path / "data") if c not in stage_columns]
    raise InputDataError(
        f"--{what}-column {column}: stage {added!r} added it: the rows as they came in, on which the input model is trained, have no such column; "
        f"give --{what}-column a column of the input (columns: {', '.join(columns)})"
    )


def _read_columns(folder: Path) -> list[str]:
    files = part_files(folder)
    return list(scan_parts(files).collect_schema()) if files else []


def _unusable(dtype: pl.DataType, what: str) -> str | None:
    """What a `what` ("text" or "label") column must hold, when `dtype` is not that; else None.
    Texts are strings (a column of nulls only counts: its rows are left out), labels any
    scalar (compared as text)."""
    if what == "text":
        return None if dtype in (pl.String, pl.Null) or isinstance(dtype, (pl.Categorical, pl.Enum)) else "text (strings)"
    return "class labels (strings, integers or booleans)" if dtype.is_nested() else None


def label_text(label: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """Labels compared as text, a whole float as its integer (a test file whose labels a
    NaN made floats, 1.0, names the run's class 1)."""
    if dtype.is_float():
        label = pl.when(label.round(0) == label).then(label.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(label.cast(pl.String))
    return label.cast(pl.String)


def read_test(path: Path, text: str, label: str) -> tuple[list[str], np.ndarray]:
    wanted = f"give a Parquet or JSONL file with {text!r} and {label!r} columns"
    if path.is_dir():
        raise InputDataError(f"--test {path}: a directory; {wanted}")
    if not path.is_file():
        raise InputDataError(f"--test {path}: no such file; {wanted}")
    jsonl = path.name.lower().removesuffix(".gz").endswith((".jsonl", ".ndjson"))  # .gz: as curate's output.format: jsonl writes it
    try:
        frame = pl.read_ndjson(ndjson_path(path)) if jsonl else pl.read_parquet(path, glob=False)
    except Exception as error:  # noqa: BLE001 - polars raises several types for unreadable files
        if jsonl and (content := _test_file_bytes(path, wanted)).strip():  # read again on this error path only, to name the line
            raise bad_json_line(f"--test {path}", content, 1, error) from None
        if jsonl or path.stat().st_size == 0:
            raise InputDataError(f"--test {path}: the file is empty; {wanted}") from None
        # the run's readers (CSV, .json, .zst, Arrow) are the run's: evaluate reads what a run writes
        raise InputDataError(
            f"--test {path}: cannot read it as Parquet ({type(error).__name__}); --test reads Parquet, or JSON Lines named .jsonl "
            "or .ndjson (plain or .gz): convert the file to one of them, or rename a JSON Lines file to .jsonl"
        ) from None
    for column, what in ((text, "text"), (label, "label")):
        if column not in frame.columns:
            raise InputDataError(
                f"--test {path}: no {what} column {column!r} (columns: {', '.join(frame.columns)}); "
                f"name the test file's {what} column with --test-{what}-column"
            )
        if (need := _unusable(frame.schema[column], what)) is not None:
            raise InputDataError(f"--test {path}: its {what} column {column!r} is {frame.schema[column]}; name a column of {need} with --test-{what}-column")
    frame = frame.select(pl.col(text).cast(pl.String).fill_null(""), label_text(pl.col(label), frame.schema[label])).filter(pl.col(label).is_not_null())
    if frame.height == 0:
        raise InputDataError(f"--test {path}: no rows with a label")
    return frame[text].to_list(), frame[label].to_numpy()


def _test_file_bytes(path: Path, wanted: str) -> bytes:
    """A JSON Lines test file's lines, gzip or not: polars tells them by the first bytes, whatever the name."""
    content = path.read_bytes()
    if content[:2] != b"\x1f\x8b":
        return content
    try:
        return gzip.decompress(content)
    except (OSError, EOFError) as error:  # cut short, or damaged
        raise InputDataError(f"--test {path}: a damaged gzip file ({error}); {wanted}") from None


def macro_f1(confusion: np.ndarray) -> np.ndarray:
    """Macro-F1 from confusion counts `[..., true, predicted]` (batched over leading axes);
    classes never seen in truth or predictions are left out of the mean."""
    tp = np.diagonal(confusion, axis1=-2, axis2=-1).astype(np.float64)
    support = confusion.sum(axis=-1) + confusion.sum(axis=-2)  # true + predicted counts
    present = support > 0
    f1 = np.divide(2 * tp, support, out=np.zeros_like(tp), where=present)
    return (f1 * present).sum(axis=-1) / np.maximum(present.sum(axis=-1), 1)


def paired_bootstrap(y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, classes: int, rounds: int, seed: int) -> dict[str, np.ndarray]:
    """Accuracy and macro-F1 of both prediction sets on `rounds` resamples of the test
    rows (the same resample for both, so the differences are paired)."""
    rng = np.random.default_rng(seed)
    n = len(y)
    out: dict[str, list[np.ndarray]] = {"accuracy_a": [], "accuracy_b": [], "f1_a": [], "f1_b": []}
    chunk = max(1, 2_000_000 // max(n, 1))
    for start in range(0, rounds, chunk):
        size = min(chunk, rounds - start)
        picks = rng.integers(0, n, (size, n))
        offset = (np.arange(size) * classes * classes)[:, None]
        for side, pred in (("a", pred_a), ("b", pred_b)):
            out[f"accuracy_{side}"].append((pred[picks] == y[picks]).mean(axis=1))
            cells = np.bincount((offset + y[picks] * classes + pred[picks]).ravel(), minlength=size * classes * classes)
            out[f"f1_{side}"].append(macro_f1(cells.reshape(size, classes, classes)))
    return {k: np.concatenate(v) for k, v in out.items()}


def evaluate(run_dir: Path, test: Path, model: str | None = None, text_column: str | None = None, label_column: str | None = None,
             seed: int = 0, rounds: int = BOOTSTRAP, test_text_column: str | None = None, test_label_column: str | None = None) -> dict[str, Any]:
    """Train the model on the input and on the curated rows, score both on `test`, write
    reports/evaluation.json and report.html's section; the result. The test file's columns
    (`test_text_column`, `test_label_column`) default to the run's names. Both are written
    only beside the run whose rows were evaluated: a rerun that replaced it meanwhile, or
    works in the directory at the end, stops it (exit 4) with nothing written."""
    run = load_run(run_dir)
    spec = run.manifest.get("pipeline", {}).get("input", {})
    text = text_column or spec.get("text_column") or "text"
    label = label_column or spec.get("label_column")
    if not label:
        raise ConfigError(f"{run_dir}: the run's pipeline names no input.label_column; give --label-column")
    model_from_path(model)  # a wrong --model stops before any work
    for column, what in ((label_column, "label"), (text_column, "text")):
        _refuse_a_stages_column(run, column, what)
    sets = training_sets(run_dir, text, label, relabelled_from(run, label), text_given=text_column is not None, label_given=label_column is not None,
                         texts_entered=texts_entered_in(run, text))
    test_text, test_label = test_text_column or text, test_label_column or label
    test_texts, test_labels = read_test(test, test_text, test_label)
    known = np.union1d(sets.labels_input, sets.labels_curated)
    if not np.isin(test_labels, known).any():
        shown = ", ".join(repr(str(v)) for v in np.unique(test_labels)[:3])
        raise InputDataError(f"--test {test}: none of its labels ({shown} …) is a class of the run ({', '.join(repr(str(v)) for v in known[:3])} …); "
                             f"give the test file the run's labels in column {test_label!r}")
    classes = np.unique(np.concatenate([sets.labels_input, sets.labels_curated, test_labels]))
    code = {c: i for i, c in enumerate(classes)}
    y = np.array([code[c] for c in test_labels])

    results = {}
    predictions = {}
    for name, texts, labels in (("input", sets.texts_input, sets.labels_input), ("curated", sets.texts_curated, sets.labels_curated)):
        if len(set(labels.tolist())) < 2:
            raise InputDataError(f"{run_dir}: the {name} rows hold fewer than two classes; nothing to train a classifier on")
        estimator, description = model_from_path(model)
        started = time.process_time()
        try:
            with warnings.catch_warnings():
                # LogisticRegressionCV warns on every fit that its defaults will change in a later
                # scikit-learn; --model builds it with no arguments, so the user cannot act on it
                warnings.filterwarnings("ignore", category=FutureWarning, module=r"sklearn\.linear_model\._logistic")
                estimator.fit(texts, labels)
            predicted = np.array([code.get(p, -1) for p in np.asarray(estimator.predict(test_texts)).astype(str)])
        except Exception as error:  # noqa: BLE001 - the user's model failing on these rows is theirs to fix; curate's default model is not
            if model is None:
                raise
            raise _models_error(model, f"training it on the {name} rows or predicting the test rows", error) from None
        predictions[name] = predicted
        confusion = np.bincount(y * len(classes) + predicted, minlength=len(classes) ** 2).reshape(len(classes), len(classes))
        results[name] = {
            "train_rows": len(labels),
            "accuracy": round(float((predicted == y).mean()), 6),
            "macro_f1": round(float(macro_f1(confusion)), 6),
            "cpu_seconds": round(time.process_time() - started, 2),
        }
    boot = paired_bootstrap(y, predictions["input"], predictions["curated"], len(classes), rounds, seed)
    low, high = (1 - CONFIDENCE) / 2 * 100, (1 + CONFIDENCE) / 2 * 100

    def difference(metric: str, key: str) -> dict[str, Any]:
        spread = boot[f"{key}_b"] - boot[f"{key}_a"]
        return {
            "difference": round(results["curated"][metric] - results["input"][metric], 6),
            "ci_low": round(float(np.percentile(spread, low)), 6),
            "ci_high": round(float(np.percentile(spread, high)), 6),
        }

    evaluation = {
        "run": str(run_dir),
        "test": str(test),
        "test_rows": len(y),
        "classes": len(classes),
        "model": description,
        "text_column": text,
        "label_column": label,
        "test_text_column": test_text,
        "test_label_column": test_label,
        "input": results["input"],
        "curated": results["curated"],
        "accuracy": difference("accuracy", "accuracy"),
        "macro_f1": difference("macro_f1", "f1"),
        "bootstrap": {"rounds": rounds, "confidence": CONFIDENCE, "seed": seed, "paired": True},
    }
    evaluation["verdict"] = verdict(evaluation)
    from curate.report.html import report_page

    html = report_page(run_dir, run.manifest, run.reports, evaluation=evaluation)
    with unchanged_run(run_dir, run.manifest, "evaluate"):
        write_json_atomic(evaluation, run_dir / "reports" / "evaluation.json")
        write_text_atomic(html, run_dir / "report.html")
    return evaluation


def verdict(evaluation: dict[str, Any]) -> str:
    """One sentence: did curating help, by the accuracy difference's confidence interval."""
    acc = evaluation["accuracy"]
    span = f"{acc['difference'] * 100:+.2f} points accuracy (95% CI {acc['ci_low'] * 100:+.2f} to {acc['ci_high'] * 100:+.2f})"
    if acc["ci_low"] > 0:
        return f"curating helped: {span}"
    if acc["ci_high"] < 0:
        return f"curating hurt: {span}"
    return f"no significant difference: {span}"
