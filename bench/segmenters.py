"""Word segmenters for languages written without spaces: ICU (curate's choice) against
the per-language segmenters web-corpus pipelines use, on the same documents.

    pip install sudachipy sudachidict-core rjieba pythainlp     # the peers, bench only
    nice -n 10 python bench/segmenters.py

Documents: the lingua test sentences (../shared/data/lid/lingua_testdata.parquet) of
Japanese, Chinese, Thai and Korean, ten per document. Printed per language and
segmenter: CPU seconds, characters per CPU second, tokens, mean token length, and the
share of ICU's token boundaries the peer also has (agreement). Also the vectorised
tokenizers of other languages (Unicode word boundaries, the English spaCy rules) on
Vietnamese, Bengali and English text, for scale.
"""

from __future__ import annotations

import time
from pathlib import Path

import polars as pl

from curate.stages.quality.segment import tokenizer_for

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "lid" / "lingua_testdata.parquet"


def texts(lang: str, per_doc: int = 10) -> list[str]:
    rows = pl.read_parquet(DATA).filter((pl.col("granularity") == "sentences") & (pl.col("lang") == lang))["text"].to_list()
    return [" ".join(rows[i : i + per_doc]) for i in range(0, len(rows), per_doc)]


def peers() -> dict[str, list]:
    out: dict[str, list] = {"ja": [], "zh": [], "th": [], "ko": []}
    try:
        from sudachipy import dictionary, tokenizer

        sudachi = dictionary.Dictionary().create()
        mode = tokenizer.Tokenizer.SplitMode.C
        out["ja"].append(("sudachipy (core dict, mode C)", lambda s: [m.surface() for m in sudachi.tokenize(s, mode)]))
    except ImportError:
        pass
    try:
        import rjieba

        out["zh"].append(("rjieba (jieba-rs)", rjieba.cut))
    except ImportError:
        pass
    try:
        from pythainlp.tokenize import word_tokenize

        out["th"].append(("pythainlp newmm", lambda s: word_tokenize(s, engine="newmm")))
    except ImportError:
        pass
    return out


def boundaries(tokens: list[str]) -> set[int]:
    out, at = set(), 0
    for t in tokens:
        at += len(t)
        out.add(at)
    return out


def main() -> None:
    for lang, others in peers().items():
        docs = texts(lang)
        chars = sum(map(len, docs))
        series = pl.Series(docs)
        icu = tokenizer_for(lang)
        icu(series.head(1))  # load the dictionary outside the timing
        t = time.process_time()
        mine = icu(series).to_list()
        seconds = time.process_time() - t
        n = sum(map(len, mine))
        print(f"{lang} ICU (curate): {len(docs)} docs, {chars:,} chars, {seconds:.3f} s CPU, {chars / seconds / 1e6:.2f} M chars/s, "
              f"{n:,} tokens, mean length {sum(len(w) for d in mine for w in d) / n:.2f}")
        for name, cut in others:
            cut(docs[0])
            t = time.process_time()
            theirs = [[w for w in cut(d) if not w.isspace()] for d in docs]
            seconds = time.process_time() - t
            m = sum(map(len, theirs))
            # boundaries in the text without spaces, so whitespace handling does not count
            agree = [len(boundaries([w for w in a]) & boundaries([w for w in b])) / max(1, len(boundaries(a)))
                     for a, b in zip(mine, theirs)]
            print(f"{lang} {name}: {seconds:.3f} s CPU, {chars / seconds / 1e6:.2f} M chars/s, {m:,} tokens, "
                  f"mean length {sum(len(w) for d in theirs for w in d) / m:.2f}, boundaries shared with ICU {sum(agree) / len(agree):.1%}")
    for lang in ("vi", "bn", "en"):
        docs = pl.Series(texts(lang) * 20)
        tokenize = tokenizer_for(lang)
        tokenize(docs.head(1))
        t = time.process_time()
        tokenize(docs)
        seconds = time.process_time() - t
        kind = "English spaCy rules" if lang == "en" else "Unicode word boundaries"
        print(f"{lang} {kind} (vectorised): {docs.str.len_chars().sum() / seconds / 1e6:.2f} M chars/s")


if __name__ == "__main__":
    main()
