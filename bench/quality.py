"""Quality rules vs datatrove: keep/drop agreement and speed, same documents, one run.

curate's rule sets (rules/gopher_quality.yaml, gopher_repetition.yaml, c4.yaml,
fineweb.yaml) against datatrove's GopherQualityFilter, GopherRepetitionFilter,
C4QualityFilter (default filter_no_terminal_punct=True) and FineWebQualityFilter with
their defaults, on ../shared/data/web/enwiki.parquet (36,542 Wikipedia articles).
datatrove's LanguageFilter and C4BadWordsFilter download files and are left out.

Setup, once (a separate venv: datatrove and spaCy never go into .venv):

    python3 -m venv .venv-bench
    .venv-bench/bin/pip install -e . datatrove spacy regex

(datatrove's filters need `regex` and spaCy's blank English tokenizer, which loads
without any download; datatrove's extras, which pull fastText, are not needed.)

Run, from the repository root:

    .venv-bench/bin/python bench/quality.py                # all 36,542 documents
    .venv-bench/bin/python bench/quality.py --limit 2000   # a quick look
    .venv-bench/bin/python bench/quality.py --reuse-datatrove   # rerun curate's side only

Each side runs in its own process pinned to one CPU core (POLARS_MAX_THREADS=1 for
curate), one after the other. Speed is documents per second of CPU time (robust on a
shared machine) and of wall time; datatrove's "all four" time is the sum of its four
filters, each run over every document. Results go to bench/out/quality.json and a
markdown summary is printed (docs/benchmarks.md, section "Quality rules (quality)").
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATA = REPO.parent / "shared" / "data" / "web" / "enwiki.parquet"
OUT = REPO / "bench" / "out"
RULE_SETS = {
    "gopher_quality": "GopherQualityFilter",
    "gopher_repetition": "GopherRepetitionFilter",
    "c4": "C4QualityFilter",
    "fineweb": "FineWebQualityFilter",
}


def _pin() -> int:
    cores = sorted(os.sched_getaffinity(0))
    core = cores[-1]
    os.sched_setaffinity(0, {core})
    return core


def _clocks() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


# --- children ----------------------------------------------------------------------------


def child_datatrove(data: Path, limit: int | None, out: Path) -> None:
    core = _pin()
    import pyarrow.parquet as pq
    from datatrove.data import Document
    from datatrove.pipeline.filters import (
        C4QualityFilter,
        FineWebQualityFilter,
        GopherQualityFilter,
        GopherRepetitionFilter,
    )

    texts = pq.read_table(data, columns=["text"]).column("text").to_pylist()
    texts = [t or "" for t in (texts[:limit] if limit else texts)]
    filters = {
        "gopher_quality": GopherQualityFilter(),
        "gopher_repetition": GopherRepetitionFilter(),
        "c4": C4QualityFilter(),
        "fineweb": FineWebQualityFilter(),
    }
    result: dict = {"core": core, "docs": len(texts), "timing": {}, "reasons": {}, "c4_text": []}
    for name, f in filters.items():
        f.filter(Document(text="Warm up the tokenizer. It loads once. Then it is timed.", id="w"))  # spaCy loads here
        docs = [Document(text=t, id=str(i)) for i, t in enumerate(texts)]
        reasons = []
        wall, cpu = _clocks()
        for doc in docs:
            r = f.filter(doc)
            ok, reason = (r, None) if not isinstance(r, tuple) else r
            reasons.append(None if ok else (reason or "removed"))
        wall2, cpu2 = _clocks()
        result["timing"][name] = {"wall": wall2 - wall, "cpu": cpu2 - cpu}
        result["reasons"][name] = reasons
        if name == "c4":
            result["c4_text"] = [d.text if r is None else None for d, r in zip(docs, reasons)]
        print(f"datatrove {name}: {len(texts) / (cpu2 - cpu):.0f} docs/s CPU", file=sys.stderr, flush=True)
    out.write_text(json.dumps(result))


def child_curate(data: Path, limit: int | None, out: Path) -> None:
    core = _pin()
    import polars as pl

    from curate.stages.base import Columns
    from curate.stages.quality import Quality, QualityConfig

    frame = pl.read_parquet(data, columns=["doc_id", "text"])
    frame = frame.head(limit) if limit else frame
    columns = Columns(text="text", id="doc_id")
    result: dict = {"core": core, "docs": frame.height, "threads": pl.thread_pool_size(), "timing": {}, "reasons": {}}
    everything = Quality(QualityConfig(stage="quality", rules=list(RULE_SETS)), columns)
    everything.annotate(frame.head(200))  # warm-up: regex compilation
    wall, cpu = _clocks()
    annotated = everything.annotate(frame)
    wall2, cpu2 = _clocks()
    result["timing"]["all_four"] = {"wall": wall2 - wall, "cpu": cpu2 - cpu}
    print(f"curate all four: {frame.height / (cpu2 - cpu):.0f} docs/s CPU", file=sys.stderr, flush=True)
    for name in RULE_SETS:
        stage = Quality(QualityConfig(stage="quality", rules=[name]), columns)
        stage.annotate(frame.head(200))
        wall, cpu = _clocks()
        out_frame = stage.annotate(frame)
        wall2, cpu2 = _clocks()
        result["timing"][name] = {"wall": wall2 - wall, "cpu": cpu2 - cpu}
        result["reasons"][name] = out_frame["curate_reason"].to_list()
        if name == "c4":
            cleaner = Quality(QualityConfig(stage="quality", rules=["c4"], clean_lines=True), columns)
            cleaned = cleaner.annotate(frame)
            result["c4_text"] = cleaned.select(pl.when(pl.col("curate_reason").is_null()).then(pl.col("quality_text"))).to_series().to_list()
    result["all_four_removed"] = int(annotated["curate_reason"].is_not_null().sum())
    out.write_text(json.dumps(result))


# --- explaining disagreements ----------------------------------------------------------------


DATATROVE_REASON = {
    "gopher_enough_stop_words": "gopher_few_stop_words",
    "empty": None,  # per rule set below
    "dup_para_frac": "gopher_dup_para_frac",
    "dup_para_char_frac": "gopher_dup_para_char_frac",
    "dup_line_frac": "gopher_dup_line_frac",
    "dup_line_char_frac": "gopher_dup_line_char_frac",
    **{f"top_{n}_gram": f"gopher_top_{n}gram" for n in (2, 3, 4)},
    **{f"duplicated_{n}_n_grams": f"gopher_dup_{n}gram" for n in range(5, 11)},
    "lorem_ipsum": "c4_lorem_ipsum",
    "curly_bracket": "c4_curly_bracket",
    "too_few_sentences": "c4_too_few_sentences",
    "line_punct_ratio": "fineweb_line_punct_ratio",
    "short_line_ratio": "fineweb_short_line_ratio",
    "char_dup_ratio": "fineweb_char_dup_ratio",
    "list_ratio": "fineweb_list_ratio",
}


def _reference_values(text: str) -> dict:
    """The metrics computed with datatrove's own helpers (spaCy words), for explaining."""
    import re

    from datatrove.pipeline.filters.c4_filters import (
        CITATION_REGEX,
        ELLIPSIS,
        END_PUNCTUATION,
        POLICY_SUBSTRINGS,
    )
    from datatrove.pipeline.filters.gopher_repetition_filter import (
        find_all_duplicate,
        find_duplicates,
        find_top_duplicate,
        get_n_grams,
    )
    from datatrove.utils.text import (
        PUNCTUATION_SET,
        TERMINAL_PUNCTUATION,
        split_into_sentences,
        split_into_words,
    )

    words = split_into_words(text)
    n = len(words) or 1
    ns = [w for w in words if any(ch not in PUNCTUATION_SET for ch in w)]
    out = {
        "non_symbol_word_count": len(ns),
        "mean_word_length": sum(map(len, ns)) / len(ns) if ns else None,
        "hash_word_ratio": text.count("#") / n,
        "ellipsis_word_ratio": (text.count("...") + text.count("…")) / n,
        "alpha_word_ratio": sum(any(c.isalpha() for c in w) for w in words) / n,
        "newline_word_ratio": text.count("\n") / n,
    }
    length = len(text) or 1
    for k in (2, 3, 4):
        grams = get_n_grams(words, k)
        out[f"top_{k}gram_char_frac"] = find_top_duplicate(grams) / length if grams else 0.0
    for k in range(5, 11):
        out[f"dup_{k}gram_char_frac"] = find_all_duplicate(words, k) / length
    paragraphs = re.split(r"\n{2,}", text.strip())
    out["dup_para_frac"] = find_duplicates(paragraphs)[0] / len(paragraphs)
    sentences = 0
    for line in text.splitlines():
        line = line.strip()
        parts = line.split()
        line = CITATION_REGEX.sub("", line)
        if any(len(p) > 1000 for p in parts) or not line.endswith(END_PUNCTUATION) or line.endswith(ELLIPSIS) or len(parts) < 3:
            continue
        low = line.lower()
        if "javascript" in low or any(p in low for p in POLICY_SUBSTRINGS):
            continue
        sentences += len(split_into_sentences(line))
    out["c4_sentence_count"] = sentences
    lines = [l for l in text.split("\n") if l.strip()]
    out["line_punct_ratio"] = sum(l.endswith(tuple(TERMINAL_PUNCTUATION)) for l in lines) / (len(lines) or 1)
    return out


def _explain(text: str, rule_set: str, ours: str | None, theirs: str | None) -> dict:
    """Which words differ between datatrove's spaCy tokens and curate's, and the metric
    of the deciding rule on both sides, for one document the two sides decide differently."""
    import polars as pl
    from datatrove.utils.text import split_into_words

    from curate.stages.quality.metrics import compute_metrics, word_tokens
    from curate.stages.quality.rules import load_rule_set

    spacy_words = split_into_words(text)
    lines = pl.DataFrame({"line": text.split("\n")})
    curate_words = lines.select(word_tokens(pl.col("line"))).to_series().explode().drop_nulls().to_list()
    diffs = []
    matcher = difflib.SequenceMatcher(a=spacy_words, b=curate_words, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op != "equal":
            diffs.append({"spacy": spacy_words[max(a1 - 1, 0) : a2 + 1], "curate": curate_words[max(b1 - 1, 0) : b2 + 1]})
    rules = load_rule_set([rule_set])
    ours_values = compute_metrics(pl.Series([text]), rules.metrics, rules.params).to_dicts()[0]
    theirs_rule = DATATROVE_REASON.get(theirs, theirs) if theirs else None
    rule_name = ours or theirs_rule
    rule = next((r for r in rules.rules if r.name == rule_name), None)
    reference = _reference_values(text)
    metric_name = rule.metric if rule else None
    return {
        "curate": ours,
        "datatrove": theirs,
        "rule": rule_name,
        "metric": metric_name,
        "curate_value": ours_values.get(metric_name) if metric_name else None,
        "datatrove_value": reference.get(metric_name) if metric_name else None,
        "threshold": f"{rule.keep_if} {rule.threshold:g}" if rule else None,
        "words_spacy": len(spacy_words),
        "words_curate": len(curate_words),
        "token_differences": diffs[:6],
        "chars": len(text),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=None, help="first N documents only")
    parser.add_argument("--child", choices=["datatrove", "curate"], help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--reuse-datatrove", action="store_true", help="reuse datatrove's side from an earlier run (bench/out/quality-datatrove.json)")
    args = parser.parse_args()
    if args.child == "datatrove":
        return child_datatrove(args.data, args.limit, args.out)
    if args.child == "curate":
        return child_curate(args.data, args.limit, args.out)

    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "POLARS_MAX_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "RAYON_NUM_THREADS": "1"}
    sides = {}
    for side in ("curate", "datatrove"):
        path = OUT / f"quality-{side}.json"
        if not (side == "datatrove" and args.reuse_datatrove and path.exists()):
            cmd = [sys.executable, __file__, "--child", side, "--data", str(args.data), "--out", str(path)]
            if args.limit:
                cmd += ["--limit", str(args.limit)]
            subprocess.run(cmd, env=env, check=True)
        sides[side] = json.loads(path.read_text())
    cur, dt = sides["curate"], sides["datatrove"]
    assert cur["docs"] == dt["docs"], "the two sides saw different documents"
    docs = cur["docs"]

    import polars as pl

    texts = pl.read_parquet(args.data, columns=["doc_id", "text"]).head(docs)
    report: dict = {"docs": docs, "data": str(args.data), "agreement": {}, "speed": {}}
    for name, filter_name in RULE_SETS.items():
        ours, theirs = cur["reasons"][name], dt["reasons"][name]
        differ = [i for i, (a, b) in enumerate(zip(ours, theirs)) if (a is None) != (b is None)]
        same_reason = sum(1 for a, b in zip(ours, theirs) if a is not None and b is not None)
        explained = [
            {"row": i, "doc_id": texts["doc_id"][i], **_explain(texts["text"][i] or "", name, ours[i], theirs[i])} for i in differ[:40]
        ]
        report["agreement"][name] = {
            "datatrove": filter_name,
            "agree": docs - len(differ),
            "agreement": (docs - len(differ)) / docs,
            "removed_curate": sum(r is not None for r in ours),
            "removed_datatrove": sum(r is not None for r in theirs),
            "both_removed": same_reason,
            "disagreements": explained,
        }
    both = [(a, b) for a, b in zip(cur["c4_text"], dt["c4_text"]) if a is not None and b is not None]
    report["c4_cleaned_text_identical"] = {"docs_kept_by_both": len(both), "identical": sum(a == b for a, b in both)}
    dt_cpu = sum(dt["timing"][n]["cpu"] for n in RULE_SETS)
    dt_wall = sum(dt["timing"][n]["wall"] for n in RULE_SETS)
    cur_cpu = cur["timing"]["all_four"]["cpu"]
    cur_wall = cur["timing"]["all_four"]["wall"]
    for name in RULE_SETS:
        report["speed"][name] = {
            "datatrove_docs_per_s_cpu": docs / dt["timing"][name]["cpu"],
            "curate_docs_per_s_cpu": docs / cur["timing"][name]["cpu"],
        }
    report["speed"]["all_four"] = {
        "datatrove_docs_per_s_cpu": docs / dt_cpu,
        "datatrove_docs_per_s_wall": docs / dt_wall,
        "curate_docs_per_s_cpu": docs / cur_cpu,
        "curate_docs_per_s_wall": docs / cur_wall,
        "ratio_cpu": dt_cpu / cur_cpu,
        "ratio_wall": dt_wall / cur_wall,
        "curate_polars_threads": cur["threads"],
    }
    (OUT / "quality.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))

    print(f"\n{docs:,} documents ({args.data.name})\n")
    print("| rule set | datatrove filter | agreement | disagreements | removed by curate / datatrove |")
    print("|---|---|---|---|---|")
    for name, row in report["agreement"].items():
        print(
            f"| {name} | {row['datatrove']} | {100 * row['agreement']:.3f}% | {docs - row['agree']} | "
            f"{row['removed_curate']:,} / {row['removed_datatrove']:,} |"
        )
    c4 = report["c4_cleaned_text_identical"]
    print(f"\nC4 cleaned text identical for {c4['identical']:,} of {c4['docs_kept_by_both']:,} documents both keep.\n")
    print("| | datatrove docs/s (CPU) | curate docs/s (CPU) | ratio |")
    print("|---|---|---|---|")
    for name in RULE_SETS:
        s = report["speed"][name]
        print(f"| {name} | {s['datatrove_docs_per_s_cpu']:,.0f} | {s['curate_docs_per_s_cpu']:,.0f} | {s['curate_docs_per_s_cpu'] / s['datatrove_docs_per_s_cpu']:.0f}x |")
    s = report["speed"]["all_four"]
    print(
        f"| all four | {s['datatrove_docs_per_s_cpu']:,.0f} | {s['curate_docs_per_s_cpu']:,.0f} | {s['ratio_cpu']:.0f}x |\n"
        f"\nWall clock: datatrove {s['datatrove_docs_per_s_wall']:,.0f} docs/s, curate {s['curate_docs_per_s_wall']:,.0f} docs/s, ratio {s['ratio_wall']:.0f}x."
    )
    for name, row in report["agreement"].items():
        for d in row["disagreements"][:12]:
            print(
                f"\n{name} row {d['row']} ({d['doc_id']}): curate {d['curate']}, datatrove {d['datatrove']}; "
                f"{d['metric']} {d['threshold']}: curate {d['curate_value']}, datatrove {d['datatrove_value']}; "
                f"words spaCy {d['words_spacy']} / curate {d['words_curate']}"
            )
            for diff in d["token_differences"][:3]:
                print(f"    spaCy {diff['spacy']} | curate {diff['curate']}")


if __name__ == "__main__":
    main()
