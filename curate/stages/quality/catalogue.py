"""The catalogue of `quality` metrics: the parameter groups a rule file may set, and the
`Metric` records (definition, histogram bins, parameter group, family) with the lookup
by name, n-gram families included. The computations are in `curate.stages.quality.metrics`."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr

# --- parameter groups -----------------------------------------------------------------

GOPHER_STOP_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with"]
C4_POLICY_SUBSTRINGS = ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies"]


class _Params(BaseModel):
    """A parameter group. Each field takes a value as written: "yes" is no true, true no
    number, 2.0 no count (nothing in a rule file is converted). A tuple field takes the
    YAML list it is written as (pydantic's strict mode would refuse a list for a tuple)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StopWordsParams(_Params):
    words: tuple[StrictStr, ...] = tuple(GOPHER_STOP_WORDS)
    """Stop words, matched exactly (case-sensitive) against word tokens."""


class ShortLineParams(_Params):
    max_chars: StrictInt = Field(default=30, ge=0)
    """A non-empty line with at most this many characters is short."""


class C4LineParams(_Params):
    """C4's line filter (datatrove C4QualityFilter): which lines are kept."""

    remove_citations: StrictBool = True
    """Delete Wikipedia-style citations `[1]`, `[edit]`, `[citation needed]` from lines."""
    require_terminal_punct: StrictBool = True
    """Drop lines that do not end in terminal punctuation (or that end in ...); the
    built-in rule files turn it off for Thai and Lao, whose prose has no sentence-final mark."""
    terminal_punct: Literal["c4", "unicode"] = "c4"
    """What counts as terminal punctuation. c4: . ? ! " ' (C4, English). unicode: those,
    every script's sentence-final marks (datatrove's TERMINAL_PUNCTUATION: 。！？ । ؟ ۔ …)
    and closing quotes (” ’ » 」 』); the built-in rule files use it for every language
    but English."""
    min_words_per_line: StrictInt = 3
    """Drop lines with fewer whitespace-separated words (-1 disables; the built-in rule
    files disable it for Chinese, Japanese, Thai, Lao, Khmer and Burmese, written without
    spaces between words)."""
    max_word_length: StrictInt = 1000
    """Drop lines with a word longer than this (-1 disables)."""
    drop_javascript_lines: StrictBool = True
    """Drop lines mentioning "javascript"."""
    drop_policy_lines: StrictBool = True
    """Drop lines with "terms of use", "privacy policy", "cookie policy", "uses cookies", ..."""


PARAM_GROUPS: dict[str, type[_Params]] = {
    "stop_words": StopWordsParams,
    "short_line": ShortLineParams,
    "c4_lines": C4LineParams,
}
"""Parameter groups a rule file may set under `params:`, and the model validating each."""

# --- the metric registry ----------------------------------------------------------------

FRACTION_BINS = tuple(round(i * 0.02, 2) for i in range(51))
COUNT_BINS = (0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 40, 50, 60, 80, 100, 150, 200, 300, 500, 1000, 2000, 5000, 10_000, 100_000, 1_000_000)
LENGTH_BINS = tuple(i * 0.5 for i in range(41))
FLAG_BINS = (0, 1)


SHARE = (0.0, 1.0)
"""The values of a share (a fraction of lines, words or characters) and of a 0/1 flag."""
NON_NEGATIVE = (0.0, math.inf)
"""The values of a count, a length, or a ratio that can pass 1 (`#` per word, an n-gram's
characters counted at each of its overlapping occurrences)."""


@dataclass(frozen=True)
class Metric:
    name: str
    definition: str
    bins: tuple[float, ...]
    """Fixed histogram bin edges: bin i holds [edge i, edge i+1); values below the first
    edge go to bin 0, values at or above the last edge to the last bin."""
    group: str | None = None
    """Parameter group this metric reads (see PARAM_GROUPS)."""
    family: str = ""
    """Which intermediate results it needs: words, lines, paragraphs, ngrams, c4, text."""
    n: int | None = None
    """n of an n-gram metric."""
    values: tuple[float, float] = NON_NEGATIVE
    """The range of its values: a threshold outside it is a mistake (80 for a share)."""

    def threshold_problem(self, threshold: float) -> str | None:
        """Why `threshold` cannot be meant for this metric (None: it can)."""
        low, high = self.values
        if low <= threshold <= high:
            return None
        what = "a share from 0 to 1" if self.values == SHARE else "never negative"
        return f"{self.name} is {what} (got {threshold:g})"


_FIXED: list[Metric] = [
    Metric("char_count", "Number of characters (code points) of the text.", COUNT_BINS, family="text"),
    Metric("word_count", "Number of word tokens, punctuation tokens included (spaCy-compatible English tokenizer).", COUNT_BINS, family="words"),
    Metric("non_symbol_word_count", "Number of word tokens with at least one character outside datatrove's punctuation set.", COUNT_BINS, family="words"),
    Metric("mean_word_length", "Mean length in characters of the non-symbol words; null without any.", LENGTH_BINS, family="words"),
    Metric("hash_word_ratio", 'Occurrences of "#" divided by word_count; null without words.', FRACTION_BINS, family="words"),
    Metric("ellipsis_word_ratio", 'Occurrences of "..." and "…" divided by word_count; null without words.', FRACTION_BINS, family="words"),
    Metric("alpha_word_ratio", "Share of word tokens that contain an alphabetic character (Unicode letter); null without words.", FRACTION_BINS, family="words", values=SHARE),
    Metric("stop_word_count", "Number of distinct stop words (params stop_words.words) among the word tokens, matched exactly.", COUNT_BINS, group="stop_words", family="words"),
    Metric("bullet_line_ratio", 'Share of lines (str.splitlines) that start, after leading whitespace, with "•" or "-"; null without lines.', FRACTION_BINS, family="lines", values=SHARE),
    Metric("ellipsis_line_ratio", 'Share of lines (str.splitlines) that end, before trailing whitespace, with "..." or "…"; null without lines.', FRACTION_BINS, family="lines", values=SHARE),
    Metric("dup_line_frac", "Lines = the text split on runs of newlines; share of lines equal to an earlier line.", FRACTION_BINS, family="lines", values=SHARE),
    Metric("dup_line_char_frac", "Characters of the lines (as in dup_line_frac) equal to an earlier line, divided by char_count.", FRACTION_BINS, family="lines", values=SHARE),
    Metric("dup_para_frac", "Paragraphs = the stripped text split on 2+ newlines; share of paragraphs equal to an earlier one.", FRACTION_BINS, family="paragraphs", values=SHARE),
    Metric("dup_para_char_frac", "Characters of the paragraphs equal to an earlier paragraph, divided by char_count.", FRACTION_BINS, family="paragraphs", values=SHARE),
    Metric("nonempty_line_count", "Number of lines (split on newline) that are not only whitespace.", COUNT_BINS, family="lines"),
    Metric("line_punct_ratio", "Share of non-empty lines whose last character is terminal punctuation (datatrove's TERMINAL_PUNCTUATION); null without non-empty lines.", FRACTION_BINS, family="lines", values=SHARE),
    Metric("short_line_ratio", "Share of non-empty lines with at most short_line.max_chars characters (default 30); null without non-empty lines.", FRACTION_BINS, group="short_line", family="lines", values=SHARE),
    Metric("dup_nonempty_line_char_frac", "Characters of non-empty lines equal to an earlier non-empty line, divided by the characters that are not newlines.", FRACTION_BINS, family="lines", values=SHARE),
    Metric("newline_word_ratio", "Number of newline characters divided by word_count; null without words.", FRACTION_BINS, family="words"),
    Metric("c4_sentence_count", "Sentences (spaCy sentencizer rules) in the lines C4's line filter keeps.", COUNT_BINS, group="c4_lines", family="c4"),
    Metric("c4_lorem_ipsum", '1 if a line that passes the punctuation, word-count and word-length filters contains "lorem ipsum" (any case), else 0.', FLAG_BINS, group="c4_lines", family="c4", values=SHARE),
    Metric("c4_curly_bracket", '1 if a line that passes those filters and does not mention "javascript" contains "{", else 0.', FLAG_BINS, group="c4_lines", family="c4", values=SHARE),
    Metric("c4_lines_removed", "Lines (str.splitlines) C4's line filter removes.", COUNT_BINS, group="c4_lines", family="c4"),
    Metric("c4_chars_removed", "Characters C4's line cleaning removes: char_count minus the length of the cleaned text.", COUNT_BINS, group="c4_lines", family="c4"),
]
METRICS: dict[str, Metric] = {m.name: m for m in _FIXED}
_TOP = re.compile(r"^top_(\d+)gram_char_frac$")
_DUP = re.compile(r"^dup_(\d+)gram_char_frac$")
NGRAM_RANGE = (2, 20)
FAMILY_PATTERNS = {
    "top_<n>gram_char_frac": "The most frequent word n-gram (ties: the first to appear): its length, words joined by single spaces, times its count, divided by char_count; 0 with fewer than n words. n from 2 to 20.",
    "dup_<n>gram_char_frac": "Characters (words joined without spaces) of the word n-grams that repeat an earlier n-gram, counted greedily left to right without overlap (datatrove's find_all_duplicate), divided by char_count. n from 2 to 20.",
}


def metric(name: str) -> Metric | None:
    """The metric called `name`, including the n-gram families; None if there is none."""
    if name in METRICS:
        return METRICS[name]
    for pattern, kind in ((_TOP, "top"), (_DUP, "dup")):
        found = pattern.match(name)
        if found and NGRAM_RANGE[0] <= int(found.group(1)) <= NGRAM_RANGE[1]:
            n = int(found.group(1))
            definition = FAMILY_PATTERNS[f"{kind}_<n>gram_char_frac"].replace("n-gram", f"{n}-gram")
            return Metric(name, definition, FRACTION_BINS, family="ngrams", n=n, values=SHARE if kind == "dup" else NON_NEGATIVE)
    return None


def metric_names() -> list[str]:
    """Every metric name, the n-gram families as patterns."""
    return [*METRICS, *FAMILY_PATTERNS]
