"""Raw Wikipedia-style pages in seven languages, built from the sentences in
tests/data/wikitext_prose.yaml wrapped in the markup real pages carry: infoboxes with
nested templates, citations inside <ref> (named, reused, grouped), files with captions
holding links, galleries, tables, comments, headings, lists, bold and italic, links
with and without labels, external links, behaviour switches, categories and
interlanguage links, each language with its own namespace names. Deterministic for a
seed; every article records the sentences it contains."""

from __future__ import annotations

import random
from pathlib import Path

import yaml

PROSE = Path(__file__).parent / "data" / "wikitext_prose.yaml"


def _linked(sentence: str, rng: random.Random, lang: str) -> str:
    """The sentence with one word made a link (labelled or not), its text unchanged."""
    if lang == "ja":
        start = rng.randint(0, max(0, len(sentence) - 4))
        word = sentence[start : start + 2]
        before, after = sentence[:start], sentence[start + 2 :]
    else:
        words = sentence.split(" ")
        i = rng.randint(0, len(words) - 2)
        word, before, after = words[i], " ".join(words[:i] + [""]), " ".join([""] + words[i + 1 :])
    link = f"[[{word}]]" if rng.random() < 0.5 else f"[[{word} (page)|{word}]]"
    return before + link + after


def _bold(sentence: str) -> str:
    if " " not in sentence:
        return f"'''{sentence[:3]}'''{sentence[3:]}"
    first, rest = sentence.split(" ", 1)
    return f"'''{first}''' {rest}"


def articles(split: str, per_language: int, seed: int) -> list[dict]:
    """[{lang, text, sentences}]: `per_language` pages per language from the `split`
    sentences (build or held_out)."""
    prose = yaml.safe_load(PROSE.read_text(encoding="utf-8"))
    rng = random.Random(seed)
    out = []
    for lang, spec in prose.items():
        file_ns, cat_ns = spec["namespaces"]["file"], spec["namespaces"]["category"]
        for k in range(per_language):
            sentences = rng.sample(spec[split], k=min(len(spec[split]), rng.randint(3, 6)))
            title = f"{spec['headings'][k % 4]} {k}"
            parts = []
            if rng.random() < 0.8:
                parts.append(
                    "{{Infobox settlement\n| name = " + title + f"\n| image = {file_ns}:Town {k}.jpg\n"
                    "| population = {{formatnum:" + str(1000 + k) + "}}\n| coordinates = {{coord|45|N|10|E|display=inline,title}}\n}}"
                )
            first = _bold(sentences[0])
            cite = "<ref name=\"src" + str(k) + "\">{{cite web |url=https://example.org/" + str(k) + " |title=" + title + " |access-date=2020-01-01}}</ref>"
            parts.append(first + cite + " " + _linked(sentences[1], rng, lang) + "<ref>{{cite book |title=Atlas |year=1999 |page=4}}</ref>")
            if rng.random() < 0.6:
                parts.append(f"[[{file_ns}:Map {k}.png|thumb|250px|{title}, [[{spec['headings'][0]}]] {{{{small|2010}}}}]]")
            parts.append("__NOTOC__" if rng.random() < 0.3 else "<!-- editors: keep this section short -->")
            parts.append(f"== {spec['headings'][(k + 1) % 4]} ==")
            body = sentences[2:]
            for i, sentence in enumerate(body):
                r = rng.random()
                if r < 0.25:
                    parts.append("* " + _linked(sentence, rng, lang))
                elif r < 0.4:
                    parts.append("# ''" + sentence + "''")
                elif r < 0.6:
                    parts.append(sentence + f"<ref name=\"src{k}\" />{{{{citation needed|date=May 2020}}}}")
                else:
                    parts.append(sentence + "<ref group=\"note\">{{lang|en|a note}}</ref>")
                if i == 0 and rng.random() < 0.5:
                    parts.append(
                        '{| class="wikitable sortable"\n|+ ' + title + "\n|-\n! Year !! Value\n|-\n| 1990 || {{formatnum:1200}}\n|-\n| 2000 || 1,350<ref>census</ref>\n|}"
                    )
            if rng.random() < 0.4:
                parts.append(f"<gallery>\n{file_ns}:A {k}.jpg|[[{title}]]\n{file_ns}:B {k}.jpg|{{{{lang|en|View}}}}\n</gallery>")
            parts.append(f"=== {spec['headings'][(k + 2) % 4]} ===\n<references group=\"note\" />")
            parts.append("== References ==\n{{Reflist|30em}}\n<references />")
            if rng.random() < 0.5:
                parts.append("== Links ==\n* [https://example.org/" + str(k) + " example.org]\n* {{Commons category|" + title + "}}")
            parts.append("{{DEFAULTSORT:" + title + "}}\n" + f"[[{cat_ns}:{spec['headings'][1]}]]\n[[{cat_ns}:{title}| ]]\n[[en:{title}]]")
            out.append({"lang": lang, "text": "\n".join(parts), "sentences": sentences})
    return out
