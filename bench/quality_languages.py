"""Keep rate of the default quality rules per language, on clean text in 75 languages.

    nice -n 10 python bench/quality_languages.py [--sentences 12] [--json out.json]

Documents: the lingua test sentences (../shared/data/lid/lingua_testdata.parquet,
`granularity == "sentences"`, about 1,000 per language from the Leipzig corpora), taken
in order, `--sentences` per document, three sentences per paragraph line: short clean
encyclopaedia-like prose with no markup. Each document's language is given (`lang`), as
after the langid stage, and the `quality` stage runs with its default rule sets
(gopher_quality, gopher_repetition, c4, fineweb). Printed per language: documents, kept
share, the most frequent removal reason, the tokenizer and whether the language has its
own settings; then the same run without a `lang` column (English rules and tokenizer for
every row: what curate did before rules knew languages), and the CPU time.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import polars as pl

from curate.stages.base import REASON, Columns
from curate.stages.quality import Quality, QualityConfig

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "lid" / "lingua_testdata.parquet"


def documents(path: Path, sentences: int = 12, per_paragraph: int = 3) -> pl.DataFrame:
    """lang, text: consecutive sentences of one language joined into documents."""
    rows = pl.read_parquet(path).filter(pl.col("granularity") == "sentences").select("lang", "text")
    rows = rows.with_columns(i=pl.int_range(pl.len()).over("lang"))
    rows = rows.with_columns(doc=pl.col("i") // sentences, para=pl.col("i") // per_paragraph)
    paras = rows.group_by("lang", "doc", "para", maintain_order=True).agg(pl.col("text").str.join(" "))
    docs = paras.group_by("lang", "doc", maintain_order=True).agg(pl.col("text").str.join("\n"), n=pl.len())
    full = docs.filter(pl.col("n") == sentences // per_paragraph)  # drop each language's short tail
    return full.select("lang", "text", id=pl.format("{}-{}", "lang", "doc"))


def keep_rates(docs: pl.DataFrame, with_lang: bool = True) -> pl.DataFrame:
    stage = Quality(QualityConfig(stage="quality"), Columns(text="text", id="id"))
    out = stage.annotate(docs if with_lang else docs.drop("lang").with_columns(docs["lang"].alias("language")))
    key = "lang" if with_lang else "language"
    return (
        out.group_by(key)
        .agg(docs=pl.len(), kept=pl.col(REASON).is_null().mean(), top_reason=pl.col(REASON).drop_nulls().mode().first())
        .rename({key: "lang"})
        .sort("lang")
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sentences", type=int, default=12)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    docs = documents(DATA, args.sentences)
    t = time.process_time()
    by_lang = keep_rates(docs)
    seconds = time.process_time() - t
    before = keep_rates(docs, with_lang=False).select("lang", kept_without_lang="kept")
    from curate.stages.quality.rules import load_rule_set
    from curate.stages.quality.segment import tokenizer_name

    known = load_rule_set(["gopher_quality"]).languages
    table = by_lang.join(before, on="lang").with_columns(
        tokenizer=pl.col("lang").map_elements(tokenizer_name, return_dtype=pl.String),
        settings=pl.when(pl.col("lang") == "en").then(pl.lit("English (datatrove)"))
        .when(pl.col("lang").is_in(sorted(known))).then(pl.lit("FineWeb-2")).otherwise(pl.lit("defaults")),
    )
    with pl.Config(tbl_rows=100, tbl_width_chars=160, tbl_hide_dataframe_shape=True, tbl_formatting="MARKDOWN"):
        print(table.with_columns(pl.col("kept", "kept_without_lang").round(3)))
    print(f"{docs.height} documents, {docs['text'].str.len_bytes().sum() / 1e6:.1f} MB, quality stage {seconds:.1f} s CPU")
    print(f"languages below 70% kept: {table.filter(pl.col('kept') < 0.7)['lang'].to_list()}")
    if args.json:
        args.json.write_text(json.dumps(table.to_dicts(), indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
