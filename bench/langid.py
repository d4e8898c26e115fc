"""Benchmark of the `langid` stage: accuracy on lingua's test set, throughput against raw
fasttext-predict in the same process, and scaling over worker processes.

    python bench/langid.py                  # accuracy + speed + 1 vs 2 workers
    python bench/langid.py --workers 2 --skip-accuracy --rounds 7

Prints a markdown section for docs/benchmarks.md. Data: ../shared/data (read-only,
never copied): lid/lingua_testdata.parquet for accuracy and short texts,
web/enwiki.parquet for long documents.

Accuracy: the stage with its defaults (shipped lid.176.ftz unless --model-path, whole
text, min_chars 1) over every row; a row is correct when the predicted code equals the
test set's code after the explicit mapping in CODE_MAP. Languages whose code the model
does not have at all can never be right; they are listed and the macro averages are
given both over all languages and over the ones the model supports.

Speed: in one process, alternating rounds of
  raw-binding  [model.f.predict(t, 1, 0.0, "strict") for t in texts], texts already
               normalised and ending in "\n" (the least work fastText allows from Python)
  raw-predict  [model.predict(t) for t in texts], fasttext-predict's public Python API,
               texts already normalised
  stage        LangId.annotate(frame) on a polars frame holding the same texts: text out
               of Arrow, normalisation, prediction, columns and reasons back
Raw loops start from a ready Python list of freshly decoded strings (built before each
round, not timed); the stage starts from the frame. Best round of each is reported (the
machine is shared; the best round is the least disturbed), with the median beside it,
and the same ratio by CPU time of the process.

Scaling: `spawn` processes, each given its share of the texts as its own frame, load the
model and warm up, then wait on a barrier; the clock runs from the barrier to the last
worker's end. Throughput with N workers over throughput with 1.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

from wikitext_articles import lingua_articles  # noqa: E402

from curate.stages.base import Columns  # noqa: E402
from curate.stages.langid import LangId, LangIdConfig, load_model  # noqa: E402

DATA = REPO.parent / "shared" / "data"

CODE_MAP = {"nb": "no"}
"""lingua code -> lid.176 label, where they differ. lingua tests Norwegian Bokmål as `nb`;
lid.176 has `no` (Norwegian, trained on Bokmål-dominated Wikipedia) and `nn` (Nynorsk)."""

GRANULARITIES = ["sentences", "word-pairs", "single-words"]
WIKI_LANGS = ["ar", "bn", "de", "el", "hi", "hy", "ja", "ko", "mr", "ru", "th", "uk", "vi", "zh"]
"""Languages of the Wikipedia-style pages in the agreement test (bench/wikitext_languages.py's)."""


def stage_for(model_path: str | None, **params) -> LangId:
    return LangId(LangIdConfig(stage="langid", model_path=model_path, **params), Columns(text="text"))


# --- accuracy ---------------------------------------------------------------------------------


def evaluate(frame: pl.DataFrame, stage: LangId, labels: frozenset[str]) -> tuple[pl.DataFrame, dict, float, pl.DataFrame]:
    """Per-language accuracy table (one column per granularity) and its averages."""
    started = time.perf_counter()
    out = stage.annotate(frame)
    seconds = time.perf_counter() - started
    out = out.with_columns(expected=pl.col("true_lang").replace(CODE_MAP)).with_columns(
        correct=pl.col("lang") == pl.col("expected")
    )
    table = (
        out.group_by("true_lang", "expected", "granularity")
        .agg(acc=pl.col("correct").mean())
        .pivot(on="granularity", index=["true_lang", "expected"], values="acc")
        .sort("true_lang")
    )
    present = [g for g in GRANULARITIES if g in table.columns]
    supported = table.filter(pl.col("expected").is_in(list(labels)))
    averages = {
        "macro_all": {g: float(table[g].mean()) * 100 for g in present},
        "macro_supported": {g: float(supported[g].mean()) * 100 for g in present},
        "micro_all": {g: float(out.filter(pl.col("granularity") == g)["correct"].mean()) * 100 for g in present},
    }
    return table, averages, seconds, out


def accuracy(data: Path, model_path: str | None) -> tuple[list[str], dict]:
    frame = pl.read_parquet(data / "lid" / "lingua_testdata.parquet").rename({"lang": "true_lang"})
    stage = stage_for(model_path)
    labels = load_model(stage.config.model_path).labels
    table, summary, seconds, predicted = evaluate(frame, stage, labels)
    supported = [code for code in table["expected"] if code in labels]
    unsupported = [code for code in table["true_lang"] if CODE_MAP.get(code, code) not in labels]
    model_name = Path(stage.config.model_path or load_model(None).path).name
    lines = [
        f"### Accuracy: lingua test set, model `{model_name}`",
        "",
        f"{frame.height:,} texts, {table.height} languages; each text predicted once by the stage with its defaults "
        f"(whole text, newlines to spaces, lowercased, `min_chars: 1`), {seconds:.1f} s. A prediction is right when the "
        "model's code equals the test set's code; **code mapping:** "
        + ", ".join(f"lingua `{a}` = lid.176 `{b}`" for a, b in CODE_MAP.items())
        + " (lid.176 has `no` and `nn`, not `nb`); every other code is the same in both. "
        f"{len(unsupported)} test languages are not among the model's {len(labels)} labels and always count as wrong: "
        + ", ".join(f"`{c}`" for c in unsupported)
        + ". No other merging: `sh` (Serbo-Croatian) predicted for `hr`, `bs` or `sr` counts as wrong.",
        "",
        "| average (accuracy %) | sentences | word pairs | single words |",
        "|---|---|---|---|",
    ]
    for title, key in [
        (f"macro, all {table.height} languages", "macro_all"),
        (f"macro, the {len(supported)} languages the model has", "macro_supported"),
        ("micro, all texts", "micro_all"),
    ]:
        values = summary[key]
        lines.append(f"| {title} | " + " | ".join(f"{values[g]:.1f}" for g in GRANULARITIES) + " |")

    # Case: the same test set with `lowercase: false`, and the sentences in capitals.
    as_is = stage_for(model_path, lowercase=False)
    _, raw_case, _, _ = evaluate(frame, as_is, labels)
    shouted = frame.filter(pl.col("granularity") == "sentences").with_columns(pl.col("text").str.to_uppercase())
    _, caps_lower, _, _ = evaluate(shouted, stage, labels)
    _, caps_raw, _, _ = evaluate(shouted, as_is, labels)
    lines += [
        "",
        f"Effect of `lowercase` (macro over the {len(supported)} languages the model has, accuracy %):",
        "",
        "| variant | sentences | word pairs | single words |",
        "|---|---|---|---|",
        "| `lowercase: true` (default) | "
        + " | ".join(f"{summary['macro_supported'][g]:.1f}" for g in GRANULARITIES)
        + " |",
        "| `lowercase: false` (fastText on the text's own case) | "
        + " | ".join(f"{raw_case['macro_supported'][g]:.1f}" for g in GRANULARITIES)
        + " |",
        f"| sentences in capitals, `lowercase: true` | {caps_lower['macro_supported']['sentences']:.1f} | | |",
        f"| sentences in capitals, `lowercase: false` | {caps_raw['macro_supported']['sentences']:.1f} | | |",
    ]
    # Thresholds: what min_score keeps, and how right the kept predictions are (sentences).
    sentences = predicted.filter(pl.col("granularity") == "sentences")
    lines += [
        "",
        ("`min_score` on the sentences (defaults otherwise): share of sentences kept, and share of kept ones whose "
        "language is right:"),
        "",
        "| min_score | kept % | right among kept % |",
        "|---|---|---|",
    ]
    for threshold in (0.0, 0.3, 0.5, 0.65, 0.8, 0.9):
        kept = sentences.filter(pl.col("lang_score") >= threshold)
        lines.append(f"| {threshold} | {100 * kept.height / sentences.height:.1f} | {100 * float(kept['correct'].mean()):.1f} |")
    low = (
        sentences.filter(pl.col("expected").is_in(list(labels)))
        .group_by("expected")
        .agg(
            right=pl.col("correct").mean(),
            median=pl.col("lang_score").filter(pl.col("correct")).median(),
            at_065=(pl.col("correct") & (pl.col("lang_score") >= 0.65)).mean(),
            at_04=(pl.col("correct") & (pl.col("lang_score") >= 0.4)).mean(),
        )
        .filter(pl.col("right") >= 0.5)
        .sort("median")
        .head(8)
    )
    lines += [
        "",
        ("Languages whose right answers score lowest (sentences, languages identified at least half the time): "
        "candidates for a lower `min_score_by_lang`."),
        "",
        "| code | right % | median score when right | right and ≥ 0.65 % | right and ≥ 0.4 % |",
        "|---|---|---|---|---|",
    ]
    for row in low.iter_rows(named=True):
        lines.append(
            f"| {row['expected']} | {100 * row['right']:.1f} | {row['median']:.2f} | {100 * row['at_065']:.1f} | {100 * row['at_04']:.1f} |"
        )
    lines += [
        "",
        "<details><summary>Per language (accuracy %, defaults)</summary>",
        "",
        "| lingua code | model code | sentences | word pairs | single words |",
        "|---|---|---|---|---|",
    ]
    for row in table.iter_rows(named=True):
        mark = "" if row["expected"] in labels else " (not in model)"
        lines.append(
            f"| {row['true_lang']} | {row['expected']}{mark} | "
            + " | ".join(f"{100 * (row[g] or 0):.1f}" for g in GRANULARITIES)
            + " |"
        )
    lines += ["", "</details>", ""]
    return lines, summary


# --- speed in one process ------------------------------------------------------------------------


def speed_corpora(data: Path, wiki_rows: int) -> dict[str, pl.DataFrame]:
    lingua = pl.read_parquet(data / "lid" / "lingua_testdata.parquet", columns=["granularity", "text"])
    sentences = lingua.filter(pl.col("granularity") == "sentences").select("text")
    wiki = pl.read_parquet(data / "web" / "enwiki.parquet", columns=["text"]).head(wiki_rows)
    documents = (
        pl.read_parquet(data / "web" / "enwiki.parquet", columns=["text"])
        .filter(pl.col("text").str.len_chars() >= 1500)
        .head(wiki_rows)
        .select(pl.col("text").str.slice(0, 1500))
    )
    return {
        f"1.5 KB documents ({documents.height:,} Wikipedia articles cut to 1,500 chars)": documents,
        f"lingua sentences ({sentences.height:,} texts, mean {sentences['text'].str.len_chars().mean():.0f} chars)": sentences,
        f"Wikipedia articles ({wiki.height:,} texts, mean {wiki['text'].str.len_chars().mean():.0f} chars)": wiki,
    }


def speed(frame: pl.DataFrame, model_path: str | None, rounds: int, slices: int) -> dict:
    """Rows per second of each method. The texts are cut into `slices` consecutive slices;
    each slice is run `rounds` times by every method, methods rotating; a method's time
    is the sum over slices of its best (and of its median) round on that slice. Short
    slices give every method more chances at an undisturbed stretch of a busy machine."""
    stage = stage_for(model_path, min_score=0.5)
    model = load_model(stage.config.model_path)
    import fasttext

    wrapper = fasttext.load_model(str(model.path))
    binding = model.predict
    stage.annotate(frame.head(100))  # warm-up: model load outside the clock
    size = -(-frame.height // slices)
    parts = [frame.slice(i * size, size) for i in range(slices) if i * size < frame.height]
    encoded = [[t.encode() for t in part.select(stage.model_input()).to_series().to_list()] for part in parts]

    # Raw loops get freshly decoded `str` objects every round (not timed), as a reader
    # would hand them over: re-used strings would carry the UTF-8 copy the binding cached
    # in them during the previous round, an advantage no real pipeline has.
    def raw_binding(i):
        texts = [b.decode() + "\n" for b in encoded[i]]
        return texts, lambda: [binding(text, 1, 0.0, "strict") for text in texts]

    def raw_predict(i):
        texts = [b.decode() for b in encoded[i]]
        return texts, lambda: [wrapper.predict(text) for text in texts]

    def run_stage(i):
        return None, lambda: stage.annotate(parts[i])

    runs = {"raw-binding": raw_binding, "raw-predict": raw_predict, "stage": run_stage}
    order = list(runs)
    wall = {name: [[] for _ in parts] for name in runs}
    cpu = {name: [[] for _ in parts] for name in runs}
    outputs: dict[str, list] = {name: [None] * len(parts) for name in runs}
    turn = 0
    for _ in range(rounds):
        for i in range(len(parts)):
            turn += 1
            for name in order[turn % 3 :] + order[: turn % 3]:  # rotate so no method always runs first
                data, run = runs[name](i)
                started, started_cpu = time.perf_counter(), time.process_time()
                outputs[name][i] = run()
                wall[name][i].append(time.perf_counter() - started)
                cpu[name][i].append(time.process_time() - started_cpu)
                del data, run
    # The stage's labels must be raw fastText's labels on the same text.
    raw_labels = pl.Series(
        [r[0][1].removeprefix("__label__") if r else "und" for part in outputs["raw-binding"] for r in part]
    )
    stage_labels = pl.concat([out["lang"] for out in outputs["stage"]])
    short = frame.select(stage._too_short()).to_series()
    same = int(((stage_labels == raw_labels) | short).sum())
    n = frame.height

    def rate(times: dict[str, list[list[float]]], pick) -> dict[str, float]:
        return {name: n / sum(pick(ts) for ts in per_slice) for name, per_slice in times.items()}

    return {
        "best": rate(wall, min),
        "median": rate(wall, statistics.median),
        "cpu": rate(cpu, min),
        "same": same,
        "rows": n,
        "slices": len(parts),
    }


# --- sampled first look vs whole text -----------------------------------------------------------


def lingua_documents(data: Path, chars: int = 1500) -> pl.DataFrame:
    """lingua's sentences joined, in order, into documents of about `chars` characters per language."""
    sentences = pl.read_parquet(data / "lid" / "lingua_testdata.parquet").filter(pl.col("granularity") == "sentences")
    return (
        sentences.with_columns(doc=pl.col("text").str.len_chars().cum_sum().over("lang") // chars)
        .group_by("lang", "doc", maintain_order=True)
        .agg(pl.col("text").str.join(" "))
        .select("lang", "text")
    )


def agreement(data: Path, model_path: str | None, mixed_docs: int = 2000) -> list[str]:
    """Per language: how often the default (a short sample, then a 500-character one, then
    the whole text, each only when the one before is not sure) gives the whole text's
    label, and the same for the previous default (the 500-character sample first).
    Documents: lingua sentences joined per language, documents joining two of them at a
    random share, English Wikipedia articles, and Wikipedia-style pages (raw markup) in
    fourteen languages and scripts (tests/wikitext_articles.py)."""
    docs = lingua_documents(data)
    rng = np.random.default_rng(0)
    texts = docs["text"].to_list()
    pairs, shares = rng.choice(len(texts), size=(mixed_docs, 2)), rng.choice([0.2, 0.35, 0.5, 0.65, 0.8], size=mixed_docs)
    mixed = [texts[a][: int(1500 * f)] + " " + texts[b][: 1500 - int(1500 * f)] for (a, b), f in zip(pairs, shares)]
    wiki = pl.read_parquet(data / "web" / "enwiki.parquet", columns=["text"]).head(5000)
    pages = lingua_articles(data / "lid" / "lingua_testdata.parquet", WIKI_LANGS, "build", 0)
    corpus = pl.concat([
        docs,
        pl.DataFrame({"lang": ["(mixed: two languages)"] * mixed_docs, "text": mixed}),
        wiki.select(pl.lit("(English Wikipedia, whole articles)").alias("lang"), "text"),
        pl.DataFrame({"lang": [f"(Wikipedia page, {p['lang']})" for p in pages], "text": [p["text"] for p in pages]}),
    ])
    variants = {
        "default": stage_for(model_path),
        "500 first": stage_for(model_path, first_sample_chars=None),
        "whole": stage_for(model_path, sample_chars=None),
    }
    labels, cpu = {}, {}
    for name, stage in variants.items():
        started = time.process_time()
        labels[name] = stage.annotate(corpus.select("text"))["lang"]
        cpu[name] = time.process_time() - started
    default = variants["default"].config
    table = (
        corpus.with_columns(
            same=labels["default"] == labels["whole"],
            same_before=labels["500 first"] == labels["whole"],
            long=pl.col("text").str.len_chars() > 2 * default.first_sample_chars,  # the texts the short sample takes
        )
        .group_by("lang")
        .agg(docs=pl.len(), sampled=pl.col("long").sum(), agree=pl.col("same").mean(), agree_before=pl.col("same_before").mean())
        .sort("agree", "agree_before", "lang")
    )
    worst = table.head(12)
    differing = table.filter(pl.col("agree") < 1)
    lines = [
        "### Sampled first look vs whole text: agreement per language",
        "",
        (f"The default stage (`first_sample_chars: {default.first_sample_chars}`, `first_sample_ratio: "
         f"{default.first_sample_ratio:g}`, `sample_chars: {default.sample_chars}`, `sure_score: {default.sure_score}`) "
         "and the previous default (`first_sample_chars: null`: the 500-character sample first) against the same "
         "stage predicting every whole text (`sample_chars: null`): how often the labels agree. "
         f"{docs.height:,} documents of ~1,500 characters (lingua's sentences joined per language, "
         f"{docs['lang'].n_unique()} languages), {mixed_docs:,} documents joining two of them at 20–80%, "
         f"{wiki.height:,} whole English Wikipedia articles and {len(pages):,} Wikipedia-style pages in raw markup "
         f"({len(WIKI_LANGS)} languages: {', '.join(WIKI_LANGS)}). Lowest {len(worst)} of {table.height} groups; "
         f"groups below 100% with the default: {differing.height} "
         f"({', '.join(f'{r[0]} {r[1] - round(r[1] * r[2])}' for r in differing.select('lang', 'docs', 'agree').iter_rows()) or 'none'} "
         "documents). Whole corpus CPU: "
         f"default {cpu['default']:.1f} s, 500 first {cpu['500 first']:.1f} s, whole text {cpu['whole']:.1f} s "
         f"(**{cpu['whole'] / cpu['default']:.2f}×** whole text, {cpu['500 first'] / cpu['default']:.2f}× the previous default)."),
        "",
        f"| language | documents | sampled (longer than {2 * default.first_sample_chars} characters) | same label as whole text: default | previous default |",
        "|---|---|---|---|---|",
        *[f"| {r['lang']} | {r['docs']:,} | {r['sampled']:,} | {r['agree'] * 100:.2f}% | {r['agree_before'] * 100:.2f}% |"
          for r in worst.iter_rows(named=True)],
        "",
    ]
    return lines


# --- scaling over processes ----------------------------------------------------------------------


def _worker(texts: list[str], model_path: str | None, barrier, results) -> None:
    frame = pl.DataFrame({"text": texts})
    stage = stage_for(model_path, min_score=0.5)
    stage.annotate(frame.head(100))  # model load and warm-up before the clock
    barrier.wait()
    started, started_cpu = time.monotonic(), time.process_time()
    out = stage.annotate(frame)
    results.put((started, time.monotonic(), out.height, time.process_time() - started_cpu))


def scaled(texts: list[str], workers: int, model_path: str | None) -> tuple[float, float]:
    """Rows per second with `workers` spawned processes sharing `texts` equally, and rows
    per CPU second summed over the workers."""
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(workers)
    results = ctx.Queue()
    size = -(-len(texts) // workers)
    procs = [
        ctx.Process(target=_worker, args=(texts[i * size : (i + 1) * size], model_path, barrier, results))
        for i in range(workers)
    ]
    # As curate's runner does: each worker's polars gets an equal share of the cores.
    threads = os.environ.get("POLARS_MAX_THREADS")
    os.environ["POLARS_MAX_THREADS"] = str(max(1, (os.cpu_count() or 1) // workers))
    try:
        for proc in procs:
            proc.start()
    finally:
        if threads is None:
            os.environ.pop("POLARS_MAX_THREADS", None)
        else:
            os.environ["POLARS_MAX_THREADS"] = threads
    got = [results.get() for _ in procs]
    for proc in procs:
        proc.join()
        if proc.exitcode:
            raise SystemExit(f"worker failed with exit code {proc.exitcode}")
    rows = sum(g[2] for g in got)
    return rows / (max(g[1] for g in got) - min(g[0] for g in got)), rows / sum(g[3] for g in got)


def scaling(data: Path, workers: int, model_path: str | None, rounds: int, repeat: int) -> dict:
    lingua = pl.read_parquet(data / "lid" / "lingua_testdata.parquet", columns=["granularity", "text"])
    texts = lingua.filter(pl.col("granularity") == "sentences")["text"].to_list() * repeat
    one, many, one_cpu, many_cpu = [], [], [], []
    for _ in range(rounds):
        rate, cpu_rate = scaled(texts, 1, model_path)
        one.append(rate)
        one_cpu.append(cpu_rate)
        rate, cpu_rate = scaled(texts, workers, model_path)
        many.append(rate)
        many_cpu.append(cpu_rate)
    return {"rows": len(texts), "one": one, "many": many, "one_cpu": one_cpu, "many_cpu": many_cpu}


# --- main ----------------------------------------------------------------------------------------


def load_line() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA, help="the shared benchmark data directory")
    parser.add_argument("--model-path", default=None, help="a fastText LID model (default: shipped lid.176.ftz)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes to compare with one (default 2)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per method and slice (best is reported)")
    parser.add_argument("--slices", type=int, default=8, help="slices each speed corpus is cut into")
    parser.add_argument("--scale-rounds", type=int, default=3, help="rounds of the 1-vs-N worker comparison")
    parser.add_argument("--scale-repeat", type=int, default=2, help="the lingua sentences, repeated this often, are the scaling workload")
    parser.add_argument("--wiki-rows", type=int, default=5000, help="Wikipedia articles in the long-text speed test")
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--skip-scaling", action="store_true")
    parser.add_argument("--skip-agreement", action="store_true")
    args = parser.parse_args()
    if not (args.data / "lid" / "lingua_testdata.parquet").is_file():
        raise SystemExit(f"{args.data} lacks lid/lingua_testdata.parquet; pass --data with the shared benchmark data")

    command = "python bench/langid.py " + " ".join(sys.argv[1:])
    load_before = load_line()
    out = [
        "## Language identification (langid)",
        "",
        (f"Command: `{command.strip()}` (from the repository root). "
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, fasttext-predict {metadata.version('fasttext-predict')}, polars {pl.__version__}."),
        "",
    ]
    if not args.skip_accuracy:
        lines, _ = accuracy(args.data, args.model_path)
        out += lines
    if not args.skip_speed:
        out += [
            "### Throughput: stage vs raw fastText, one process",
            "",
            (f"Same texts, same process. Each corpus is cut into {args.slices} slices; every method runs every slice "
            f"{args.rounds} times, methods rotating; rows per second from the best round of each slice by wall clock "
            "(median rounds in brackets), and by CPU time of the process (counts only time this process ran, so it "
            "is steadier when other processes compete for the cores). *raw-binding* is a bare loop over "
            "fasttext-predict's C++ binding (`model.f.predict`) on texts already normalised and newline-terminated "
            "in a Python list; *raw-predict* is its public `model.predict(text)` on normalised texts; *stage* is "
            "`LangId.annotate` on a polars frame (text out of Arrow, newline replacement, prediction, "
            "`lang`/`lang_score`/`curate_reason` columns back) with `min_score: 0.5`."),
            "",
            "| texts | raw-binding | raw-predict | stage | **stage / raw-binding** | stage / raw-predict | by CPU time: stage / raw-binding | same labels as raw |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for title, frame in speed_corpora(args.data, args.wiki_rows).items():
            r = speed(frame, args.model_path, args.rounds, args.slices)
            b, m, c = r["best"], r["median"], r["cpu"]
            out.append(
                f"| {title} | {b['raw-binding']:,.0f} ({m['raw-binding']:,.0f}) | {b['raw-predict']:,.0f} ({m['raw-predict']:,.0f}) "
                f"| {b['stage']:,.0f} ({m['stage']:,.0f}) | **{b['stage'] / b['raw-binding']:.2f}×** "
                f"({m['stage'] / m['raw-binding']:.2f}×) | {b['stage'] / b['raw-predict']:.2f}× ({m['stage'] / m['raw-predict']:.2f}×) "
                f"| {c['stage'] / c['raw-binding']:.2f}× | {r['same']:,} / {r['rows']:,} |"
            )
        out.append("")
    if not args.skip_agreement:
        out += agreement(args.data, args.model_path)
    if not args.skip_scaling:
        s = scaling(args.data, args.workers, args.model_path, args.scale_rounds, args.scale_repeat)
        best_one, best_many = max(s["one"]), max(s["many"])
        out += [
            f"### Scaling: {args.workers} worker processes vs 1",
            "",
            (f"{s['rows']:,} lingua sentences (the set repeated {args.scale_repeat}×) split evenly over spawned processes, "
            "each running the stage on its own frame after loading the model (polars threads per worker: cores / "
            "workers, as curate's runner sets them); clock from a shared barrier to the last "
            "worker's end. Rows per second per round: "
            f"1 worker {', '.join(f'{v:,.0f}' for v in s['one'])}; {args.workers} workers {', '.join(f'{v:,.0f}' for v in s['many'])}."),
            "",
            (f"**{args.workers} workers / 1 worker: {best_many / best_one:.2f}×** (best rounds; "
            f"median rounds {statistics.median(s['many']) / statistics.median(s['one']):.2f}×)."),
            "",
            (f"Rows per CPU second (summed over workers): {max(s['one_cpu']):,.0f} with 1 worker, "
            f"{max(s['many_cpu']):,.0f} with {args.workers} (ratio {max(s['many_cpu']) / max(s['one_cpu']):.2f}). "
            + ("The work per row does not grow with workers, so wall-clock scaling is bounded by the cores "
               "other processes leave free, not by the stage."
               if max(s["many_cpu"]) / max(s["one_cpu"]) >= 0.95
               else "The work per row grows with workers: the processes compete for something besides CPU.")),
            "",
        ]
    out.append(
        f"Load average (1/5/15 min) at start {load_before}, at end {load_line()}, {os.cpu_count()} cores. It counts "
        "this benchmark's own processes (one, two while workers run); above that, other work was competing "
        "for the cores and the speed and scaling figures are lower bounds."
    )
    print("\n".join(out))


if __name__ == "__main__":
    main()
