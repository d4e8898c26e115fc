"""Writes the per-language `overrides:` of the built-in rule files from FineWeb-2's
published per-language filter settings.

    python bench/make_language_rules.py PATH/TO/fineweb-2 [COMMIT]   # a checkout of huggingface/fineweb-2

FineWeb-2 (Penedo et al. 2025; the repository's configs/<lang>_<script>.yml, Apache-2.0)
lists per language the stop words and thresholds its datatrove pipeline used for the
Gopher quality, Gopher repetition and FineWeb quality filters, and its pipeline script
(fineweb-2-pipeline.py) fixes the rest: Gopher's paragraph and duplicate-line-character
rules off, FineWeb's short-line rule off and its duplicated-line-character limit at 0.1,
no C4 filter. This script turns those numbers into curate rule-file overrides (data, not
code) keyed by the language codes the `langid` stage writes, and derives the defaults for
languages FineWeb-2 settings are not shipped for (`"*"`): the median of the shipped
languages' thresholds, without a stop-word rule. It rewrites everything from each rule
file's `overrides:` line to its end; the lines above stay as written.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import polars as pl  # noqa: E402
from curate.stages.language_codes import FINEWEB2_LANGUAGES, SECOND_SCRIPTS  # noqa: E402  (one table: the settings and their codes)
from curate.stages.quality.segment import tokenizer_name, unicode_words  # noqa: E402
C4_RULES = ["c4_lorem_ipsum", "c4_curly_bracket", "c4_too_few_sentences"]


def flow(value) -> str:
    """A YAML flow value (JSON is YAML), non-ASCII kept readable."""
    return json.dumps(value, ensure_ascii=False)


def rules_line(rules: dict[str, dict]) -> str:
    return "{" + ", ".join(f"{name}: {{{', '.join(f'{k}: {flow(v)}' for k, v in change.items())}}}" for name, change in rules.items()) + "}"


def gopher_quality(c: dict) -> dict[str, dict]:
    return {
        "gopher_below_avg_threshold": {"threshold": c["min_avg_word_length"]},
        "gopher_above_avg_threshold": {"threshold": c["max_avg_word_length"]},
        # datatrove's max_non_alpha_words_ratio is the least share of words with a letter
        "gopher_below_alpha_threshold": {"threshold": c["max_non_alpha_words_ratio"]},
    }


def gopher_repetition(c: dict) -> dict[str, dict]:
    out = {name: {"enabled": False} for name in ("gopher_dup_para_frac", "gopher_dup_para_char_frac", "gopher_dup_line_char_frac")}
    out["gopher_dup_line_frac"] = {"threshold": c["dup_line_frac"]}
    out.update({f"gopher_top_{n}gram": {"threshold": t} for n, t in c["top_n_grams"]})
    out.update({f"gopher_dup_{n}gram": {"threshold": t} for n, t in c["dup_n_grams"]})
    return out


def fineweb(c: dict) -> dict[str, dict]:
    return {
        # a negative threshold (-1: FineWeb-2's smaller second-script subsets) fails no line share: the rule is off
        "fineweb_line_punct_ratio": {"threshold": c["line_punct_thr"]} if c["line_punct_thr"] >= 0 else {"enabled": False},
        "fineweb_short_line_ratio": {"enabled": False},
        "fineweb_char_dup_ratio": {"threshold": 0.1},
        "fineweb_list_ratio": {"threshold": c["new_line_ratio"]},
    }


def countable_stop_words(code: str, words: list[str]) -> tuple[list[str], list[str]]:
    """(the words curate's tokenizer can give as a token, the others). FineWeb-2 counted
    stop words among spaCy's tokens, which split an elided article off its word (French
    and Catalan "l'", "d'", Italian "l'") and keep abbreviations whole (Bulgarian "г.",
    Finnish "s."); curate's Unicode words keep "l'école" whole and split "г." into "г" and
    ".", so such an entry would never count: the list leaves it out, saying so."""
    if tokenizer_name(code) != "unicode":
        return words, []
    tokens = unicode_words(pl.Series(words, dtype=pl.String)).to_list()
    return [w for w, t in zip(words, tokens) if t == [w]], [w for w, t in zip(words, tokens) if t != [w]]


def c4(c: dict) -> dict[str, dict]:
    return {name: {"enabled": False} for name in C4_RULES}


UNSPACED = {"zh", "ja", "th", "lo", "km", "my"}
"""Languages written without spaces between words (Burmese spaces phrases, not words): a
line's whitespace-separated words say nothing."""
UNMARKED = {"th", "lo"}
"""Languages whose prose ends a sentence with a space, not a mark: a line of it need not
end in punctuation."""
LINE_FILTER_ONLY = sorted((UNSPACED | UNMARKED) - {code for _, codes in FINEWEB2_LANGUAGES for code in codes})
"""Languages without FineWeb-2 settings here that c4.yaml still names, for its line
filter alone: the "*" line filter would drop every line of their prose."""


def c4_lines(code: str) -> str:
    """C4's line filter (`clean_lines: true`) for a language other than English: its
    sentence-final marks end a line (C4's own are English), no mark at all where prose
    has none, and no word count where words are not separated by spaces."""
    return ("{terminal_punct: unicode" + (", require_terminal_punct: false" if code in UNMARKED else "")
            + (", min_words_per_line: -1}" if code in UNSPACED else "}"))


def defaults(configs: dict[str, dict]) -> dict:
    """The median of each threshold over the shipped languages ("*")."""
    def med(values) -> float:
        return round(float(statistics.median(values)), 3)

    out = {k: med([c[k] for c in configs.values()]) for k in
           ("min_avg_word_length", "max_avg_word_length", "max_non_alpha_words_ratio", "line_punct_thr", "new_line_ratio", "dup_line_frac")}
    for key in ("top_n_grams", "dup_n_grams"):
        ns = [n for n, _ in next(iter(configs.values()))[key]]
        out[key] = [[n, med([dict(c[key])[n] for c in configs.values()])] for n in ns]
    return out


def main(repo: Path, commit: str | None = None) -> None:
    if commit is None:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    configs = {sub: yaml.safe_load((repo / "configs" / f"{sub}.yml").read_text(encoding="utf-8")) for sub, _ in FINEWEB2_LANGUAGES}
    fallback = defaults(configs)  # of the listed languages, not of their second scripts
    configs |= {sub: yaml.safe_load((repo / "configs" / f"{sub}.yml").read_text(encoding="utf-8")) for sub, _ in SECOND_SCRIPTS}
    # a language's settings in a second script follow its own (sr, then sr-Latn)
    listed: list[tuple[str, tuple[str, ...]]] = []
    for sub, codes in FINEWEB2_LANGUAGES:
        listed += [(sub, codes), *((second, (code,)) for second, code in SECOND_SCRIPTS if second.split("_")[0] == sub.split("_")[0])]
    source = (f"# Source: FineWeb-2 (Penedo et al. 2025, https://arxiv.org/abs/2506.20920), per-language settings in\n"
              f"# github.com/huggingface/fineweb-2 configs/<subset>.yml and fineweb-2-pipeline.py (Apache-2.0),\n"
              f"# commit {commit or 'unknown'}; written by bench/make_language_rules.py (do not edit by hand).\n")
    for file, build, stop_words in (("gopher_quality", gopher_quality, True), ("gopher_repetition", gopher_repetition, False),
                                    ("fineweb", fineweb, False), ("c4", c4, False)):
        path = ROOT / "rules" / f"{file}.yaml"
        head = path.read_text(encoding="utf-8").split("\n# Per language")[0].split("\noverrides:")[0].rstrip("\n")
        lines = [head, "", "# Per language (the `lang` column, or the stage's `lang:`). English, and rows without a",
                 "# language, use the rules above unchanged (datatrove's English filters). Other languages use",
                 "# FineWeb-2's settings; a language not listed uses \"*\": the median of the listed languages'",
                 "# thresholds" + (", without a stop-word check (no stop words are known for it)." if stop_words else "."),
                 "# A language FineWeb-2 also has in a second script is listed again with the script (sr-Latn:",
                 "# srp_Latn); rows of the language's code get it when most of their letters are in that script.",
                 source.rstrip("\n"), "overrides:", "  en: {}"]
        if file == "c4":
            lines[-2:-2] = ["# Lao, Khmer and Burmese, which FineWeb-2's languages here do not include, get \"*\" with",
                            "# a line filter for prose without spaces between words (Lao: nor sentence-final marks)."]
        star = build(fallback)
        if stop_words:
            star["gopher_few_stop_words"] = {"enabled": False}
        star_params = f"params: {{c4_lines: {c4_lines('*')}}}, " if file == "c4" else ""
        lines.append(f'  "*": {{{star_params}rules: {rules_line(star)}}}')
        for sub, codes in listed:
            c = configs[sub]
            rules = rules_line(build(c))
            for code in codes:
                key = f'"{code}"' if code in ("no", "on", "yes", "off", "y", "n") else code
                if stop_words:
                    kept, left_out = countable_stop_words(code, c["stopwords"])
                    without = f"; without {', '.join(map(flow, left_out))}, which curate's words never are" if left_out else ""
                    lines.append(f"  {key}:  # {sub}{without}")
                    lines.append(f"    params: {{stop_words: {{words: {flow(kept)}}}}}")
                    lines.append(f"    rules: {rules}")
                elif file == "c4":
                    lines.append(f"  {key}: {{params: {{c4_lines: {c4_lines(code)}}}, rules: {rules}}}  # {sub}")
                else:
                    lines.append(f"  {key}: {{rules: {rules}}}  # {sub}")
        if file == "c4":
            lines += [f"  {code}: {{params: {{c4_lines: {c4_lines(code)}}}, rules: {rules_line(star)}}}  # \"*\" but its line filter"
                      for code in LINE_FILTER_ONLY]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2] if len(sys.argv) > 2 else None)
