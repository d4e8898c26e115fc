"""The clean stage: which HTML extractor, and the stage against the libraries called
directly in a loop, on the same rows in the same run.

    python bench/clean.py            # ~1-2 min on one core; prints a JSON summary

1. HTML extractors on Wikipedia articles wrapped in a web page (navigation, cookie
   banner, script, footer) and on real IMDB reviews (one line with <br /> tags):
   rows/s (CPU), recall of the article's words, share of outputs with boilerplate.
2. curate's clean stage (one shard, in-process) against a Python loop over the rows
   calling the same libraries with the same options (ftfy, then the converter, then
   NFC and the same line tidying with `re`), per markup kind: CPU seconds, rows/s, ratio.
Data: ../shared/data/web/enwiki.parquet and the IMDB reviews in
../shared/data/neardup/documents.parquet; wikitext pages from tests/wikitext_articles.py.
"""

from __future__ import annotations

import html
import json
import random
import re
import sys
import time
import unicodedata
from pathlib import Path

import polars as pl

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
DATA = REPO.parent / "shared" / "data"

from curate.stages.base import Columns  # noqa: E402
from curate.stages.clean import Clean, CleanConfig  # noqa: E402

PAGE = """<!doctype html><html><head><title>{title}</title><style>body {{color: #333}}</style>
<script>window.dataLayer = []; function track() {{ return 1; }}</script></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/about">About us</a></li><li><a href="/contact">Contact</a></li></ul></nav>
<div class="banner">We use cookies to improve your experience. Accept all cookies</div>
<main><article><h1>{title}</h1>{paragraphs}</article></main>
<footer>Copyright 2026 Example Media. All rights reserved. <a href="/privacy">Privacy policy</a></footer></body></html>"""
BOILERPLATE = ("Accept all cookies", "All rights reserved", "About us")


def pages(n: int) -> tuple[list[str], list[str]]:
    wiki = pl.read_parquet(DATA / "web" / "enwiki.parquet", columns=["title", "text"]).filter(pl.col("text").str.len_chars() > 500).head(n)
    out = []
    for title, text in wiki.iter_rows():
        paragraphs = "".join(f"<p>{html.escape(p)}</p>\n" for p in text.split("\n") if p.strip())
        out.append(PAGE.format(title=html.escape(title), paragraphs=paragraphs))
    return out, wiki["text"].to_list()


def reviews(n: int) -> list[str]:
    docs = pl.read_parquet(DATA / "neardup" / "documents.parquet", columns=["text"])
    return docs.filter(pl.col("text").str.contains("<br")).head(n)["text"].to_list()


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.lower()))


def extractors() -> dict:
    import selectolax.lexbor
    import trafilatura
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.html import HTMLTree

    def selectolax_text(doc: str) -> str:
        tree = selectolax.lexbor.LexborHTMLParser(doc)
        for node in tree.css("script,style,noscript"):
            node.decompose()
        return tree.body.text(separator="\n") if tree.body else ""

    return {
        "resiliparse (main content)": lambda d: extract_plain_text(HTMLTree.parse(d), main_content=True),
        "resiliparse (all text)": lambda d: extract_plain_text(HTMLTree.parse(d)),
        "selectolax (all text)": selectolax_text,
        "trafilatura": lambda d: trafilatura.extract(d) or "",
    }


def compare_extractors(page_docs: list[str], truths: list[str], review_docs: list[str]) -> dict:
    review_truth = [re.sub(r"<br\s*/?>", " ", r) for r in review_docs]
    out = {}
    for name, extract in extractors().items():
        row = {}
        for kind, docs, truth in (("pages", page_docs, truths), ("reviews", review_docs, review_truth)):
            started = time.process_time()
            texts = [extract(d) for d in docs]
            cpu = time.process_time() - started
            recall = sum(len(words(t) & words(x)) / max(1, len(words(x))) for t, x in zip(texts, truth)) / len(docs)
            leaked = sum(any(b in t for b in BOILERPLATE) for t in texts) / len(docs)
            row[kind] = {"rows_per_cpu_s": round(len(docs) / cpu), "word_recall": round(recall, 4), "boilerplate_share": round(leaked, 3)}
        out[name] = row
        print(name, row, file=sys.stderr, flush=True)
    return out


def loop_cleaner(kind: str):
    """The libraries called per row with the stage's options, tidied with `re`."""
    import ftfy

    from curate.stages.clean.markup import converter

    # entities decoded by ftfy only in text without markup: a converter decodes them as it reads the markup
    fixer = ftfy.TextFixerConfig(uncurl_quotes=False, normalization=None, unescape_html="auto" if kind == "none" else False)
    convert = converter(kind, True) if kind != "none" else (lambda t: t)
    br = re.compile(r"(?i)<br\s*/?>")
    debris = re.compile(r"(?m)^[^\w\n]+$\n?")  # close to the stage's (no letter or digit)
    spaces, edges, gaps = re.compile(r"[^\S\n]+"), re.compile(r"(?m)^ | $"), re.compile(r"\n{3,}")

    def clean(text: str) -> str:
        if kind != "html":  # the tags the text holds, not those ftfy decodes
            text = br.sub("\n", text)
        text = ftfy.fix_text(text, fixer)
        text = unicodedata.normalize("NFC", convert(text))
        text = debris.sub("", text)
        return gaps.sub("\n\n", edges.sub("", spaces.sub(" ", text))).strip()

    return clean


def compare_stage(name: str, texts: list[str], kind: str) -> dict:
    frame = pl.DataFrame({"text": texts})
    stage = Clean(CleanConfig(markup=kind), Columns())
    stage.annotate(frame.head(20))  # imports and caches, on both sides
    clean = loop_cleaner(kind)
    [clean(t) for t in texts[:20]]
    started = time.process_time()
    wall = time.perf_counter()
    out = stage.annotate(frame)
    curate_cpu, curate_wall = time.process_time() - started, time.perf_counter() - wall
    started = time.process_time()
    wall = time.perf_counter()
    looped = [clean(t) for t in texts]
    loop_cpu, loop_wall = time.process_time() - started, time.perf_counter() - wall
    same = sum(a == b for a, b in zip(out["clean_text"].to_list(), looped)) / len(texts)
    row = {
        "rows": len(texts),
        "mb": round(sum(len(t.encode()) for t in texts) / 1e6, 1),
        "curate_cpu_s": round(curate_cpu, 2),
        "curate_wall_s": round(curate_wall, 2),
        "loop_cpu_s": round(loop_cpu, 2),
        "loop_wall_s": round(loop_wall, 2),
        "curate_rows_per_cpu_s": round(len(texts) / curate_cpu),
        "loop_rows_per_cpu_s": round(len(texts) / loop_cpu),
        "loop_over_curate_cpu": round(loop_cpu / curate_cpu, 2),
        "same_output_share": round(same, 4),
    }
    print(name, row, file=sys.stderr, flush=True)
    return row


def mojibake(texts: list[str], share: float, seed: int = 0) -> list[str]:
    """Some rows encoded as UTF-8 and decoded as Windows-1252, the usual mojibake."""
    rng = random.Random(seed)
    return [t.encode("utf-8").decode("cp1252", errors="ignore") if rng.random() < share else t for t in texts]


def main() -> None:
    from tests.wikitext_articles import articles

    page_docs, truths = pages(1000)
    review_docs = reviews(1000)
    result = {"extractors": compare_extractors(page_docs[:300], truths[:300], review_docs[:300])}
    plain = pl.read_parquet(DATA / "web" / "enwiki.parquet", columns=["text"]).head(5000)["text"].to_list()
    wiki = [a["text"] for a in articles("build", per_language=300, seed=0)]
    result["stage_vs_loop"] = {
        "html pages (markup: html)": compare_stage("html", page_docs, "html"),
        "IMDB reviews with <br /> (markup: html)": compare_stage("reviews", review_docs, "html"),
        "wikitext pages, 7 languages (markup: wikitext)": compare_stage("wikitext", wiki, "wikitext"),
        "Wikipedia plain text, 5% mojibake (markup: none)": compare_stage("plain", mojibake(plain, 0.05), "none"),
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
