"""Raw Wikipedia-style pages in many languages, the prose wrapped in the markup real pages
carry: infoboxes with nested templates, citations inside <ref> (named, reused, grouped),
files with captions holding links, galleries, tables, comments, headings, lists, bold and
italic, links with and without labels, external links, behaviour switches, categories
and interlanguage links, each language with its own namespace names
(tests/data/wikitext_languages.yaml). Deterministic for a seed; every page records the
sentences it contains.

Two sources of prose:
- `articles`: short pages from the sentences written for the tests
  (tests/data/wikitext_prose.yaml, seven languages), to check every sentence comes out;
- `lingua_articles`: article-length pages (1-4 KB of prose in several paragraphs and
  sections) from real sentences of 75 languages (the lingua test sentences, Leipzig
  corpora, in ../shared/data/lid/), to measure what clean and the quality rules keep."""

from __future__ import annotations

import random
import unicodedata
from functools import cache
from pathlib import Path

import polars as pl
import yaml

DATA = Path(__file__).parent / "data"
PROSE = DATA / "wikitext_prose.yaml"
LANGUAGES = DATA / "wikitext_languages.yaml"
WITHOUT_SPACES = {"ja", "zh"}
"""Languages written without spaces between words: a link covers a few characters."""


@cache
def _names() -> dict:
    return yaml.safe_load(LANGUAGES.read_text(encoding="utf-8"))


def _is_word(token: str) -> bool:
    return bool(token) and all(unicodedata.category(c)[0] in "LM" for c in token)


def _linked(sentence: str, rng: random.Random, lang: str) -> str:
    """The sentence with one word made a link (labelled or not), its text unchanged."""
    if lang in WITHOUT_SPACES:
        starts = [i for i in range(len(sentence) - 1) if _is_word(sentence[i : i + 2])] or [0]
        start = rng.choice(starts)
        word, before, after = sentence[start : start + 2], sentence[:start], sentence[start + 2 :]
    else:
        words = sentence.split(" ")
        candidates = [i for i, w in enumerate(words) if _is_word(w)] or [rng.randint(0, max(0, len(words) - 2))]
        i = rng.choice(candidates)
        word, before, after = words[i], " ".join(words[:i] + [""]), " ".join([""] + words[i + 1 :])
    link = f"[[{word}]]" if rng.random() < 0.5 else f"[[{word} (page)|{word}]]"
    return before + link + after


def _bold(sentence: str) -> str:
    if " " not in sentence:
        return f"'''{sentence[:3]}'''{sentence[3:]}"
    first, rest = sentence.split(" ", 1)
    if "'" in first:  # an apostrophe beside ''' changes what is bold: editors avoid it
        return sentence
    return f"'''{first}''' {rest}"


def _sentence(sentence: str, rng: random.Random, lang: str, k: int) -> str:
    """One sentence of a paragraph with the inline markup editors add to running text."""
    r = rng.random()
    if r < 0.25:
        return _linked(sentence, rng, lang)
    if r < 0.4:
        return sentence + f"<ref name=\"src{k}\" />{{{{citation needed|date=May 2020}}}}"
    if r < 0.55:
        return sentence + "<ref group=\"note\">{{lang|en|a note}}</ref>"
    if r < 0.62 and "'" not in sentence:
        return "''" + sentence + "''"
    return sentence


def page(lang: str, title: str, sections: list[list[list[str]]], rng: random.Random, k: int) -> str:
    """A raw page: `sections` is the lead and then each headed section, a section a list
    of paragraphs, a paragraph a list of sentences (its first two carry the lead's bold
    title and citations)."""
    names = _names()[lang]
    file_ns, cat_ns, headings = names["file"], names["category"], names["headings"]
    parts = []
    if rng.random() < 0.8:
        parts.append(
            "{{Infobox settlement\n| name = " + title + f"\n| image = {file_ns}:Town {k}.jpg\n"
            "| population = {{formatnum:" + str(1000 + k) + "}}\n| coordinates = {{coord|45|N|10|E|display=inline,title}}\n}}"
        )
    lead = sections[0][0]
    cite = "<ref name=\"src" + str(k) + "\">{{cite web |url=https://example.org/" + str(k) + " |title=" + title + " |access-date=2020-01-01}}</ref>"
    first = [_bold(lead[0]) + cite] + ([_linked(lead[1], rng, lang) + "<ref>{{cite book |title=Atlas |year=1999 |page=4}}</ref>"] if len(lead) > 1 else [])
    parts.append(" ".join(first + [_sentence(s, rng, lang, k) for s in lead[2:]]))
    parts.extend(" ".join(_sentence(s, rng, lang, k) for s in paragraph) for paragraph in sections[0][1:])
    if rng.random() < 0.6:
        parts.append(f"[[{file_ns}:Map {k}.png|thumb|250px|{title}, [[{headings[0]}]] {{{{small|2010}}}}]]")
    parts.append("__NOTOC__" if rng.random() < 0.3 else "<!-- editors: keep this section short -->")
    table_after = rng.random() < 0.5
    for s, section in enumerate(sections[1:], start=1):
        level = "===" if s > 1 and rng.random() < 0.3 else "=="
        parts.append(f"{level} {headings[(k + s) % 4]} {level}")
        for paragraph in section:
            r = rng.random()
            if len(paragraph) > 1 and r < 0.15:
                parts.extend("* " + _linked(sentence, rng, lang) for sentence in paragraph)
            elif len(paragraph) > 1 and r < 0.25:
                parts.extend("# " + sentence for sentence in paragraph)
            else:
                parts.append(" ".join(_sentence(sentence, rng, lang, k) for sentence in paragraph))
            if table_after:
                table_after = False
                parts.append(
                    '{| class="wikitable sortable"\n|+ ' + title + "\n|-\n! Year !! Value\n|-\n| 1990 || {{formatnum:1200}}\n|-\n| 2000 || 1,350<ref>census</ref>\n|}"
                )
    if rng.random() < 0.4:
        parts.append(f"<gallery>\n{file_ns}:A {k}.jpg|[[{title}]]\n{file_ns}:B {k}.jpg|{{{{lang|en|View}}}}\n</gallery>")
    parts.append(f"=== {headings[(k + 2) % 4]} ===\n<references group=\"note\" />")
    parts.append("== References ==\n{{Reflist|30em}}\n<references />")
    if rng.random() < 0.5:
        parts.append("== Links ==\n* [https://example.org/" + str(k) + " example.org]\n* {{Commons category|" + title + "}}")
    parts.append("{{DEFAULTSORT:" + title + "}}\n" + f"[[{cat_ns}:{headings[1]}]]\n[[{cat_ns}:{title}| ]]\n[[en:{title}]]")
    return "\n".join(parts)


def articles(split: str, per_language: int, seed: int) -> list[dict]:
    """[{lang, text, sentences}]: `per_language` short pages per language from the
    `split` sentences written for the tests (build or held_out)."""
    prose = yaml.safe_load(PROSE.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    out = []
    for lang, spec in prose.items():
        for k in range(per_language):
            sentences = rng.sample(spec[split], k=min(len(spec[split]), rng.randint(3, 6)))
            title = f"{_names()[lang]['headings'][k % 4]} {k}"
            sections = [[sentences[:2]], [[s] for s in sentences[2:]]]
            out.append({"lang": lang, "text": page(lang, title, sections, rng, k), "sentences": sentences})
    return out


def lingua_articles(path: Path, langs: list[str], split: str, seed: int, per_language: int | None = None) -> list[dict]:
    """[{lang, text, sentences}]: article-length pages of real sentences, up to
    `per_language` per language. The lingua test sentences (`granularity == "sentences"`,
    about 1,000 per language, sorted) are split in two halves that share no sentence:
    even rows are the `build` split, odd rows `held_out`; the seed shuffles them and
    draws each page's shape: 1,000 to 4,000 bytes of prose (UTF-8, at least 4 sentences),
    paragraphs of 2 to 5 sentences, a lead and 2 to 4 headed sections."""
    rows = pl.read_parquet(path).filter((pl.col("granularity") == "sentences") & pl.col("lang").is_in(langs))
    rows = rows.with_columns(i=pl.int_range(pl.len()).over("lang")).filter(pl.col("i") % 2 == (0 if split == "build" else 1))
    rng = random.Random(seed)
    out = []
    for lang in langs:
        pool = rows.filter(pl.col("lang") == lang)["text"].to_list()
        rng.shuffle(pool)
        k = 0
        while pool and (per_language is None or k < per_language):
            target, taken = rng.randint(1000, 4000), []
            while pool and (len(taken) < 4 or sum(len(s.encode()) + 1 for s in taken) < target):
                taken.append(pool.pop())
            if len(taken) < 4:  # the language's last sentences: too few for an article
                break
            paragraphs, rest = [], list(taken)
            while rest:
                size = rng.randint(2, 5)
                paragraphs.append(rest[:size])
                rest = rest[size:]
            cuts = sorted(rng.sample(range(1, len(paragraphs)), k=min(len(paragraphs) - 1, rng.randint(2, 4)))) if len(paragraphs) > 1 else []
            sections = [paragraphs[a:b] for a, b in zip([0] + cuts, cuts + [len(paragraphs)])]
            title = f"{_names()[lang]['headings'][k % 4]} {k}"
            out.append({"lang": lang, "text": page(lang, title, sections, rng, k), "sentences": taken})
            k += 1
    return out
