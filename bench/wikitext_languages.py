"""Issue 17's measurement: what clean and the default quality rules keep of raw
Wikipedia-style articles in fourteen languages and scripts.

    nice -n 10 python bench/wikitext_languages.py [--json out.json]   # ~1 min on one core

Articles: tests/wikitext_articles.py `lingua_articles`: the lingua test sentences
(../shared/data/lid/lingua_testdata.parquet, Leipzig corpora) grouped into pages of 1-4 KB
of prose (paragraphs, 2-4 headed sections) in the MediaWiki markup of real pages
(infoboxes, citations in <ref>, links with labels, files, tables, galleries, categories).
Two disjoint halves of each language's sentences: `build` (seed 0) and `held_out`
(seed 1). Each split runs through the real runner twice: clean (markup: wikitext) ->
langid -> quality (default rule sets, the language from langid), and the same without
clean (the raw markup judged, as before the clean stage existed). Printed per language and
split: articles, the share langid names right, the share kept with and without clean, the
most frequent removal reason, and the kept texts still holding `[[`, `{{` or `<ref`.

    pip install kiwipiepy && nice -n 10 python bench/wikitext_languages.py --kiwi   # bench only

`--kiwi` adds why Korean falls short: the share of its clean articles that pass
FineWeb-2's least share of words with a letter (`gopher_below_alpha_threshold`) with
curate's words (ICU) and with Kiwi's morphemes, the tokenizer FineWeb-2 counted Korean with.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "tests"))
DATA = REPO.parent / "shared" / "data" / "lid" / "lingua_testdata.parquet"
LANGS = ["bn", "el", "hy", "ja", "mr", "uk", "vi", "ru", "zh", "ar", "hi", "de", "ko", "th"]

from runs import every_row, write_pipeline, write_shards  # noqa: E402
from wikitext_articles import lingua_articles  # noqa: E402

from curate.config import load_pipeline  # noqa: E402
from curate.console import Reporter  # noqa: E402
from curate.run.runner import RunOptions, run_pipeline  # noqa: E402

RESIDUE = r"\[\[|\{\{|<ref"


def run(frame: pl.DataFrame, stages: list[dict], folder: Path) -> tuple[pl.DataFrame, float, float]:
    """Every input row with its predicted lang, removal reason (null: kept) and final text; CPU and wall seconds."""
    write_shards(folder, [frame])
    spec = load_pipeline(write_pipeline(folder, stages, id_column="doc_id"))
    cpu, wall = time.process_time(), time.perf_counter()
    result = run_pipeline(spec, folder / "run", RunOptions(workers=1), Reporter())
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    rows = every_row(result.output, ["doc_id", "true_lang", "lang", "text"]).rename({"curate_reason": "reason"})
    return rows, cpu, wall


def measure(split: str, seed: int, workdir: Path) -> pl.DataFrame:
    pages = lingua_articles(DATA, LANGS, split, seed)
    frame = pl.DataFrame({"doc_id": [f"{p['lang']}-{i}" for i, p in enumerate(pages)], "true_lang": [p["lang"] for p in pages], "text": [p["text"] for p in pages]})
    tail = [{"stage": "langid"}, {"stage": "quality"}]
    cleaned, cpu, wall = run(frame, [{"stage": "clean", "markup": "wikitext"}, *tail], workdir / f"{split}-clean")
    raw, _, _ = run(frame, tail, workdir / f"{split}-raw")
    print(f"{split}: {frame.height} articles, {frame['text'].str.len_bytes().sum() / 1e6:.2f} MB, clean -> langid -> quality {cpu:.1f} s CPU, {wall:.1f} s wall", file=sys.stderr)
    by_lang = cleaned.group_by("true_lang").agg(
        articles=pl.len(),
        langid_right=(pl.col("lang") == pl.col("true_lang")).mean(),
        kept=pl.col("reason").is_null().mean(),
        top_reason=pl.col("reason").drop_nulls().mode().first(),
        kept_with_markup_left=(pl.col("reason").is_null() & pl.col("text").str.contains(RESIDUE)).sum(),
    )
    before = raw.group_by("true_lang").agg(kept_without_clean=pl.col("reason").is_null().mean())
    return by_lang.join(before, on="true_lang").with_columns(split=pl.lit(split)).rename({"true_lang": "lang"})


def korean_alpha_rule(split: str, seed: int) -> str:
    """Korean articles passing gopher_below_alpha_threshold with ICU's words and with Kiwi's morphemes."""
    from kiwipiepy import Kiwi

    from curate.stages.base import Columns, settle_rewrite
    from curate.stages.clean import Clean, CleanConfig
    from curate.stages.quality.rules import load_rule_set
    from curate.stages.quality.segment import tokenizer_for

    rule = next(r for r in load_rule_set(["gopher_quality"]).rules if r.name == "gopher_below_alpha_threshold")
    threshold = rule.by_lang["ko"][0]
    pages = [p for p in lingua_articles(DATA, LANGS, split, seed) if p["lang"] == "ko"]
    clean = Clean(CleanConfig(markup="wikitext"), Columns())
    texts = settle_rewrite(clean, clean.annotate(pl.DataFrame({"text": [p["text"] for p in pages]})), removing=True)["text"]
    kiwi = Kiwi()

    def share_passing(documents: list[list[str]]) -> float:
        return sum(sum(any(c.isalpha() for c in w) for w in words) / len(words) >= threshold for words in documents) / len(documents)

    icu = share_passing(tokenizer_for("ko")(texts).to_list())
    morphemes = share_passing([[t.form for t in kiwi.tokenize(text)] for text in texts])
    return f"ko {split}: {len(pages)} articles pass gopher_below_alpha_threshold ({threshold}): ICU words {icu:.1%}, Kiwi morphemes {morphemes:.1%}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", type=Path)
    parser.add_argument("--kiwi", action="store_true", help="Korean's alpha rule with Kiwi's morphemes too (pip install kiwipiepy)")
    args = parser.parse_args()
    if args.kiwi:
        print("\n".join(korean_alpha_rule(split, seed) for split, seed in (("build", 0), ("held_out", 1))))
    with tempfile.TemporaryDirectory() as tmp:
        table = pl.concat([measure("build", 0, Path(tmp)), measure("held_out", 1, Path(tmp))])
    order = {lang: i for i, lang in enumerate(LANGS)}
    table = table.sort(pl.col("lang").replace_strict(order), "split").select(
        "lang", "split", "articles", "langid_right", "kept", "kept_without_clean", "top_reason", "kept_with_markup_left"
    )
    with pl.Config(tbl_rows=100, tbl_width_chars=200, tbl_hide_dataframe_shape=True, tbl_formatting="MARKDOWN", tbl_hide_column_data_types=True):
        print(table.with_columns(pl.col("langid_right", "kept", "kept_without_clean").round(3)))
    print(f"languages below 70% kept in a split: {sorted(set(table.filter(pl.col('kept') < 0.7)['lang']))}")
    if args.json:
        args.json.write_text(json.dumps(table.to_dicts(), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
