"""label_noise: human-verified label errors found, accuracy won back, relabel safety, and 100k rows at scale.

    python bench/label_noise.py proof     # 20 Newsgroups test set, 82 human-verified errors
    python bench/label_noise.py gain      # 20% injected noise: filter / relabel, through `curate evaluate`
    python bench/label_noise.py weak      # relabel with a weak model on systematic noise: accuracy vs truth
    python bench/label_noise.py scale     # 100,000 rows x 20 classes, end to end, time and RSS
    python bench/label_noise.py           # all four

proof: `curate run` (annotate mode) on ../shared/data/label_noise/20news_test_label_errors.parquet
with the texts and given labels only (curate's own out-of-fold probabilities): the
defaults, the defaults before issue 15 (5 folds, `filter_by: both`), and the paper's
cross-validated probabilities as `probabilities_column`. Recall: flagged verified errors
/ 82. Reviewed precision: verified errors / flagged rows that reviewers saw
(`mturk_candidate`). Beside it the stage's own `expected_flag_precision`. The peer: plain
scikit-learn (TfidfVectorizer + LogisticRegression, 5-fold cross_val_predict) with
cleanlab's defaults.

gain: ../shared/data/classification/20news_train.parquet with 20% of labels replaced by a
different random class (numpy default_rng(seed), seeds 0, 1, 2); `curate run` with
`mode: filter` and `mode: relabel`, then `curate evaluate RUN --test 20news_test.parquet`
(its default model: TF-IDF + logistic regression). The same model trained on the clean
labels gives the ceiling. Recovered = (curated - noisy) / (clean - noisy).

weak: 20news train with 40% of labels drawn to move to a class of the same newsgroup
hierarchy (comp.*, rec.*, sci.*, talk.*; the confusions a crowd makes; 34% move, the
rest have no sibling) and a weak model (texts cut to their first 150 or 40 characters:
headers). `curate run` in relabel mode (refused:
exit 3), then with `force_relabel: true`; label accuracy against the true labels before
and after, and what a relabel of every flagged row to its suggestion would have done.

scale: 100,000 rows drawn (with replacement) from 20news train+test, 10% of each post's
words dropped so no two rows are equal, 10% label noise; 8 shards; `curate run --workers 2`
in a child process; wall and CPU seconds of all processes, peak RSS of the process tree.
Corpora and runs go to bench/out/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
from measure import run_monitored

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
OUT = BENCH / "out" / "label_noise"
DATA = REPO.parent / "shared" / "data"
ERRORS = DATA / "label_noise" / "20news_test_label_errors.parquet"
TRAIN = DATA / "classification" / "20news_train.parquet"
TEST = DATA / "classification" / "20news_test.parquet"


def curate_run(name: str, inputs: str, label: str, stage: dict, workers: int = 1, extra: dict | None = None) -> tuple[Path, dict, float]:
    """Run `curate run` on `inputs` in a child process; the run folder, the stage's report
    and the wall seconds."""
    import yaml

    run_dir = OUT / name
    spec = {"input": {"path": inputs, "label_column": label, **(extra or {})}, "output": str(run_dir), "stages": [stage]}
    pipeline = OUT / f"{name}.yaml"
    pipeline.write_text(yaml.safe_dump(spec, sort_keys=False))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "curate", "run", str(pipeline), "--fresh", "--quiet", "--workers", str(workers)], cwd=REPO,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"exit {done.returncode}: {done.stderr.strip()}")
    report = json.loads(next((run_dir / "reports").glob("*label_noise.json")).read_text())
    return run_dir, report, seconds


def read_rows(run_dir: Path, folder: str = "data") -> pl.DataFrame:
    files = sorted((run_dir / folder).glob("part-*.parquet"))
    return pl.concat([pl.read_parquet(f) for f in files]) if files else pl.DataFrame()


def load() -> str:
    uptime = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    return uptime.split("load average:")[-1].strip()


# ---------------------------------------------------------------- proof


def score(flagged: np.ndarray, truth: pl.DataFrame) -> tuple[int, float, float, float]:
    errors = truth["is_label_error"].to_numpy()
    reviewed = truth["mturk_candidate"].to_numpy()
    hits = int((flagged & errors).sum())
    return int(flagged.sum()), float(flagged.mean()), hits / int(errors.sum()), hits / max(int((flagged & reviewed).sum()), 1)


def baseline_flags(truth: pl.DataFrame) -> tuple[np.ndarray, float]:
    """Plain scikit-learn + cleanlab defaults: the peer."""
    from cleanlab.filter import find_label_issues
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    y = truth["given_label"].to_numpy()
    X = TfidfVectorizer().fit_transform(truth["text"].to_list())
    probs = cross_val_predict(LogisticRegression(max_iter=1000), X, y, cv=StratifiedKFold(5, shuffle=True, random_state=0), method="predict_proba", n_jobs=2)
    return find_label_issues(y, probs), float((probs.argmax(1) == y).mean())


def proof(with_baseline: bool) -> list[str]:
    truth = pl.read_parquet(ERRORS, columns=["index", "text", "given_label", "is_label_error", "mturk_candidate"])
    cases = [
        ("curate's own probabilities, defaults (5 folds, `filter_by: low_self_confidence`)", {}),
        ("curate's own probabilities, `folds: 10`", {"folds": 10}),
        ("curate's own probabilities, the defaults before issue 15 (`filter_by: both`)", {"filter_by": "both"}),
        ("reference probabilities column, `filter_by: prune_by_noise_rate` (cleanlab's default)", {"probabilities_column": "reference_pred_probs", "filter_by": "prune_by_noise_rate"}),
    ]
    lines = [
        f"load average when measured: {load()}",
        "",
        "| probabilities and method | flagged rows | share | recall of the 82 verified errors | reviewed-row precision | expected precision (report) | OOF accuracy | seconds (`curate run`) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for i, (label, options) in enumerate(cases):
        run_dir, report, seconds = curate_run(f"proof_{i}", str(ERRORS), "given_label", {"stage": "label_noise", "mode": "annotate", **options})
        rows = read_rows(run_dir).select("index", "label_issue").join(truth, on="index", how="left", maintain_order="left")
        assert rows.height == truth.height
        n, share, recall, precision = score(rows["label_issue"].fill_null(False).to_numpy(), rows)
        stats = report["stats"]
        lines.append(f"| {label} | {n} | {share:.2%} | **{recall:.3f}** | **{precision:.3f}** | {stats['expected_flag_precision']:.2f} | "
                     f"{stats['oof_accuracy']:.3f} | {seconds:.1f} |")
        print("  " + lines[-1], file=sys.stderr, flush=True)
        shutil.rmtree(run_dir, ignore_errors=True)
    if with_baseline:
        started = time.perf_counter()
        flags, accuracy = baseline_flags(truth)
        n, share, recall, precision = score(flags, truth)
        lines.append(f"| peer: TfidfVectorizer + LogisticRegression (5-fold), cleanlab defaults | {n} | {share:.2%} | {recall:.3f} | {precision:.3f} | | {accuracy:.3f} | {time.perf_counter() - started:.1f} (model + cleanlab only) |")
        print("  " + lines[-1], file=sys.stderr, flush=True)
    return lines


# ---------------------------------------------------------------- gain


def noisy_labels(y: np.ndarray, rate: float, classes: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    noisy = y.copy()
    hit = rng.random(len(y)) < rate
    noisy[hit] = (noisy[hit] + rng.integers(1, classes, int(hit.sum()))) % classes  # always a different class
    return noisy


def curate_evaluate(run_dir: Path) -> tuple[dict, float]:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "curate", "evaluate", str(run_dir), "--test", str(TEST)], cwd=REPO, check=True, capture_output=True)
    return json.loads((run_dir / "reports" / "evaluation.json").read_text()), time.perf_counter() - started


def gain(seeds: list[int], rate: float) -> list[str]:
    from curate.evaluate import default_model

    train = pl.read_parquet(TRAIN, columns=["text", "label"]).with_row_index("row")
    test = pl.read_parquet(TEST, columns=["text", "label"])
    clean = float((default_model().fit(train["text"].to_list(), train["label"].to_numpy()).predict(test["text"].to_list()) == test["label"].to_numpy()).mean())
    y_train = train["label"].to_numpy()
    lines = [
        f"load average when measured: {load()}; the default model trained on the clean labels: test accuracy {clean:.4f}",
        "",
        "| noise seed | mode | input (noisy) accuracy | curated accuracy | difference (95% CI) | macro-F1 difference | recovered | rows flagged / relabelled | precision: measured (expected) | `curate run` + `curate evaluate` s |",
        "|---|---|---:|---:|---|---:|---:|---:|---|---:|",
    ]
    recovered: dict[str, list[float]] = {"filter": [], "relabel": []}
    for seed in seeds:
        noisy = noisy_labels(y_train, rate, 20, seed)
        path = OUT / f"gain_train_{seed}.parquet"
        OUT.mkdir(parents=True, exist_ok=True)
        train.with_columns(pl.Series("label", noisy), pl.Series("true_label", y_train)).write_parquet(path)
        wrong = noisy != y_train
        for mode in ("filter", "relabel"):
            run_dir, report, run_seconds = curate_run(f"gain_{mode}_{seed}", str(path), "label", {"stage": "label_noise", "mode": mode})
            evaluation, eval_seconds = curate_evaluate(run_dir)
            stats = report["stats"]
            noisy_acc, curated_acc = evaluation["input"]["accuracy"], evaluation["curated"]["accuracy"]
            share = (curated_acc - noisy_acc) / (clean - noisy_acc)
            recovered[mode].append(share)
            if mode == "filter":
                kept = read_rows(run_dir)["row"].to_numpy()
                flagged = ~np.isin(np.arange(train.height), kept)
                count, measured, expected = int(flagged.sum()), (flagged & wrong).sum() / flagged.sum(), stats["expected_flag_precision"]
            else:
                out = read_rows(run_dir).sort("row")
                changed = (out["label"] != out["original_label"]).to_numpy()
                count = int(changed.sum())
                measured = (out["label"].to_numpy()[changed] == y_train[changed]).mean() if count else float("nan")
                expected = stats["expected_relabel_precision"]
            acc, f1 = evaluation["accuracy"], evaluation["macro_f1"]
            lines.append(
                f"| {seed} | {mode} | {noisy_acc:.4f} | {curated_acc:.4f} | {acc['difference'] * 100:+.2f} ({acc['ci_low'] * 100:+.2f} to {acc['ci_high'] * 100:+.2f}) | "
                f"{f1['difference'] * 100:+.2f} | {share:.0%} | {count:,} | {measured:.2f} ({expected:.2f}) | {run_seconds + eval_seconds:.0f} |"
            )
            print("  " + lines[-1], file=sys.stderr, flush=True)
            shutil.rmtree(run_dir, ignore_errors=True)
    lines.append(f"| **mean** | | | | | | filter **{np.mean(recovered['filter']):.0%}**, relabel **{np.mean(recovered['relabel']):.0%}** | | | |")
    return lines


# ---------------------------------------------------------------- weak


def hierarchy_noise(names: list[str], labels: np.ndarray, rate: float, seed: int) -> np.ndarray:
    """Move `rate` of the labels to another class of the same top-level newsgroup
    hierarchy (comp.*, rec.*, sci.*, talk.*, ...): the systematic confusions of a crowd."""
    rng = np.random.default_rng(seed)
    top = np.array([n.split(".")[0] for n in names])
    noisy = labels.copy()
    for i in np.flatnonzero(rng.random(len(labels)) < rate):
        siblings = np.flatnonzero((top == top[labels[i]]) & (np.arange(len(names)) != labels[i]))
        if siblings.size:
            noisy[i] = rng.choice(siblings)
    return noisy


def weak(rate: float, max_chars: int, seed: int = 0) -> list[str]:
    train = pl.read_parquet(TRAIN, columns=["text", "label", "label_name"]).with_row_index("row")
    names = train.group_by("label").agg(pl.col("label_name").first()).sort("label")["label_name"].to_list()
    y = train["label"].to_numpy()
    noisy = hierarchy_noise(names, y, rate, seed)
    path = OUT / "weak_train.parquet"
    train.with_columns(pl.Series("label", noisy), pl.Series("true_label", y)).write_parquet(path)
    stage = {"stage": "label_noise", "mode": "relabel", "max_chars": max_chars}
    lines = [f"load average when measured: {load()}; {(noisy != y).mean():.1%} of the labels wrong (moved within their hierarchy); "
             f"model: the built-in text model on the first {max_chars} characters", ""]
    try:
        shutil.rmtree(curate_run("weak_refused", str(path), "label", stage)[0], ignore_errors=True)
        lines.append("relabel with the defaults: **ran** (expected a refusal)")
    except RuntimeError as error:
        lines.append(f"relabel with the defaults: **refused**, {error}")
    run_dir, report, seconds = curate_run("weak_forced", str(path), "label", {**stage, "force_relabel": True})
    out = read_rows(run_dir).sort("row")
    stats = report["stats"]
    given, after, suggested = out["original_label"].to_numpy(), out["label"].to_numpy(), out["suggested_label"].to_numpy()
    flagged = out["label_issue"].fill_null(False).to_numpy()
    changed = after != given
    naive = np.where(flagged, suggested, given)
    lines += [
        "",
        "| labels | accuracy against the true labels | changed | fixed | broken | wrong to wrong |",
        "|---|---:|---:|---:|---:|---:|",
        f"| given (noisy) | {(given == y).mean():.4f} | | | | |",
    ]
    for name, labels, moved in (("`force_relabel: true` (curate's per-class precision rule)", after, changed), ("every flagged row to its suggestion (no rule)", naive, naive != given)):
        fixed = int((moved & (labels == y)).sum())
        broken = int((moved & (given == y)).sum())
        lines.append(f"| {name} | **{(labels == y).mean():.4f}** | {int(moved.sum()):,} | {fixed:,} | {broken:,} | {int(moved.sum()) - fixed - broken:,} |")
    lines += ["", f"OOF accuracy {stats['oof_accuracy']:.3f}; flagged {stats['issues']:,}; expected relabel precision "
                  f"{stats.get('expected_relabel_precision')}; warning: {(report.get('warnings') or ['none'])[0]}; {seconds:.0f} s"]
    print("\n".join(lines), file=sys.stderr, flush=True)
    shutil.rmtree(run_dir, ignore_errors=True)
    return lines


# ---------------------------------------------------------------- scale


def scale_corpus(rows: int, shards: int = 8) -> Path:
    folder = OUT / f"scale_{rows}"
    if folder.exists() and len(list(folder.glob("*.parquet"))) == shards:
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    source = pl.concat([pl.read_parquet(TRAIN, columns=["text", "label"]), pl.read_parquet(TEST, columns=["text", "label"])])
    rng = np.random.default_rng(0)
    picked = source[rng.integers(0, source.height, rows)]
    texts = []
    for text in picked["text"].to_list():
        words = text.split(" ")
        keep = rng.random(len(words)) >= 0.1
        texts.append(" ".join(w for w, k in zip(words, keep) if k))
    true = picked["label"].to_numpy()
    frame = pl.DataFrame({"id": [f"r{i}" for i in range(rows)], "text": texts, "label": noisy_labels(true, 0.1, 20, 1), "true_label": true})
    per = -(-rows // shards)
    for i in range(shards):
        frame.slice(i * per, per).write_parquet(folder / f"part-{i:05d}.parquet")
    return folder


def scale(rows: int, workers: int) -> list[str]:
    import yaml

    folder = scale_corpus(rows)
    chars = pl.scan_parquet(folder / "*.parquet").select(pl.col("text").str.len_chars().sum()).collect().item()
    run_dir = OUT / f"scale_run_{rows}"
    pipeline = OUT / f"scale_{rows}.yaml"
    pipeline.write_text(yaml.safe_dump({
        "input": {"path": f"{folder}/*.parquet", "id_column": "id", "label_column": "label"},
        "output": str(run_dir),
        "stages": [{"stage": "label_noise", "mode": "annotate"}],
    }, sort_keys=False))
    load_before = load()
    command = [sys.executable, "-m", "curate", "run", str(pipeline), "--fresh", "--log-format", "json", "--workers", str(workers)]
    run = run_monitored(command, cwd=REPO)  # polls every 0.2 s
    events, wall, cpu, peak = run.events, run.wall, run.cpu, run.peak_rss
    deciding = next(e["time"] for e in events if e["event"] == "deciding")
    finished = max(e["time"] for e in events)
    report = json.loads(next((run_dir / "reports").glob("*label_noise.json")).read_text())
    out = read_rows(run_dir)
    flagged = out["label_issue"].fill_null(False).to_numpy()
    wrong = (out["label"] != out["true_label"]).to_numpy()
    stats = report["stats"]
    lines = [
        f"load average before / after: {load_before} / {load()}",
        "",
        "| rows | classes | text | wall s | CPU s (all processes) | decide (whole-dataset step), wall s | peak RSS (process tree) | OOF accuracy | flagged | precision / recall of the injected noise |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---|",
        f"| {rows:,} | {stats['classes']} | {chars / 1e6:.0f}M chars | **{wall:.0f}** | {cpu:.0f} | {finished - deciding:.0f} | **{peak / 2**30:.2f} GiB** | "
        f"{stats['oof_accuracy']:.3f} | {int(flagged.sum()):,} | {(flagged & wrong).sum() / flagged.sum():.2f} / {(flagged & wrong).sum() / wrong.sum():.2f} |",
    ]
    print("  " + lines[-1], file=sys.stderr, flush=True)
    shutil.rmtree(run_dir, ignore_errors=True)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="*", choices=["proof", "gain", "weak", "scale"], default=[])
    parser.add_argument("--no-baseline", action="store_true", help="proof: skip the plain scikit-learn peer (~1 min)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="gain: noise seeds")
    parser.add_argument("--rate", type=float, default=0.2, help="gain: share of train labels made wrong")
    parser.add_argument("--weak-chars", type=int, nargs="+", default=[150, 40], help="weak: characters of each text the model sees")
    parser.add_argument("--rows", type=int, default=100_000, help="scale: rows")
    parser.add_argument("--workers", type=int, default=2, help="scale: curate --workers")
    args = parser.parse_args()
    what = args.what or ["proof", "gain", "weak", "scale"]
    OUT.mkdir(parents=True, exist_ok=True)
    sections = []
    if "proof" in what:
        sections.append(("20 Newsgroups test set, 82 human-verified label errors", proof(not args.no_baseline)))
    if "gain" in what:
        sections.append((f"Data-centric gain, {args.rate:.0%} injected noise, through `curate evaluate`", gain(args.seeds, args.rate)))
    if "weak" in what:
        for chars in args.weak_chars:
            sections.append((f"Relabel with a weak model ({chars} characters) on systematic noise", weak(0.4, chars)))
    if "scale" in what:
        sections.append((f"Scale: {args.rows:,} rows x 20 classes, `curate run --workers {args.workers}`", scale(args.rows, args.workers)))
    for title, lines in sections:
        print(f"\n### {title}\n")
        print("\n".join(lines))


if __name__ == "__main__":
    main()
