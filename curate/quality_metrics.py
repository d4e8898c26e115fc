"""The metric library of the `quality` stage: document-level text statistics, each a
vectorised polars computation, each with a fixed definition (docs/stages/quality.md).

Metrics are named, parameterless or parameterised through a *parameter group* that a
rule file sets (`params:`). `compute_metrics` computes any set of them for a column of
texts, sharing the intermediate results (lines, word tokens, n-gram hashes) between
metrics, so a metric used by several rules, and the tokens used by several metrics, are
computed once per document.

Definitions follow the reference implementations (datatrove's GopherQualityFilter,
GopherRepetitionFilter, C4QualityFilter and FineWebQualityFilter, which implement the
Gopher paper's Table A1, C4 and FineWeb heuristics), including their edge cases: which
line split is used where, which denominators, which punctuation sets.

Words. datatrove splits words with spaCy's English tokenizer. curate reproduces that
tokenizer's rules as two regular expressions (no spaCy, no Python loop):
  1. an *infix* pass inserts spaces where spaCy splits inside a whitespace-delimited
     chunk (hyphen between letters, `,` between letters, `.` between a lower- and an
     upper-case letter, `:`/`/`/`=` before a letter, `-`/`+` between digits, units after
     numbers such as `10km`, ellipses, contractions such as `didn't` and `cannot`);
  2. a *token* pattern splits each chunk into spaCy's prefixes (opening punctuation,
     quotes, currency), a core, and suffixes (closing punctuation, `'s`), keeping spaCy's
     special cases (`U.S.`, `e.g.`, `St.`, `Jr.`, single letters `A.`).
On the 9.1 million whitespace chunks of the enwiki benchmark set it gives spaCy's token
count for 99.993% of chunks (docs/stages/quality.md lists what still differs).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import polars as pl
from pydantic import BaseModel, ConfigDict, Field

# --- character sets -------------------------------------------------------------------

# datatrove.utils.text.PUNCTUATION ∪ TERMINAL_PUNCTUATION (Apache-2.0), as code point
# ranges. A word is a "symbol" word when every character is in this set.
_PUNCT_SET = (
    r"\x{0}-\x{8}\x{B}-\x{1F}\x{21}-\x{2F}\x{3A}-\x{40}\x{5B}-\x{60}\x{7B}-\x{9F}\x{AB}\x{B4}\x{BB}"
    r"\x{2013}-\x{2014}\x{2019}\x{201C}-\x{201E}\x{2026}\x{2236}\x{2501}\x{25BA}\x{3001}-\x{3002}"
    r"\x{3008}-\x{300D}\x{3010}-\x{3011}\x{FF01}\x{FF05}\x{FF08}-\x{FF09}\x{FF0C}\x{FF0E}\x{FF11}"
    r"\x{FF1A}-\x{FF1B}\x{FF1F}\x{FF5E}"
)
_TERMINAL = (
    r"\x{21}\x{2E}\x{3F}\x{589}\x{61D}-\x{61F}\x{6D4}\x{700}-\x{702}\x{7F9}\x{837}\x{839}\x{83D}-\x{83E}"
    r"\x{964}-\x{965}\x{104A}-\x{104B}\x{1362}\x{1367}-\x{1368}\x{166E}\x{1735}-\x{1736}\x{17D4}-\x{17D6}"
    r"\x{17D9}-\x{17DA}\x{1803}\x{1809}\x{1944}-\x{1945}\x{1AA8}-\x{1AAB}\x{1B5A}-\x{1B5B}\x{1B5E}-\x{1B5F}"
    r"\x{1B7D}-\x{1B7E}\x{1C3B}-\x{1C3C}\x{1C7E}-\x{1C7F}\x{203C}-\x{203D}\x{2047}-\x{2049}\x{2E2E}"
    r"\x{2E3C}\x{2E53}-\x{2E54}\x{3002}\x{A4FF}\x{A60E}-\x{A60F}\x{A6F3}\x{A6F7}\x{A876}-\x{A877}"
    r"\x{A8CE}-\x{A8CF}\x{A92F}\x{A9C8}-\x{A9C9}\x{AA5D}-\x{AA5F}\x{AAF0}-\x{AAF1}\x{ABEB}\x{FE52}"
    r"\x{FE56}-\x{FE57}\x{FF01}\x{FF0E}\x{FF1F}\x{FF61}\x{10A56}-\x{10A57}\x{10F55}-\x{10F59}"
    r"\x{10F86}-\x{10F89}\x{11047}-\x{11048}\x{110BE}-\x{110C1}\x{11141}-\x{11143}\x{111C5}-\x{111C6}"
    r"\x{111CD}\x{111DE}-\x{111DF}\x{11238}-\x{11239}\x{1123B}-\x{1123C}\x{112A9}\x{1144B}-\x{1144C}"
    r"\x{115C2}-\x{115C3}\x{115C9}-\x{115D7}\x{11641}-\x{11642}\x{1173C}-\x{1173E}\x{11944}\x{11946}"
    r"\x{11A42}-\x{11A43}\x{11A9B}-\x{11A9C}\x{11C41}-\x{11C42}\x{11EF7}-\x{11EF8}\x{11F43}-\x{11F44}"
    r"\x{16A6E}-\x{16A6F}\x{16AF5}\x{16B37}-\x{16B38}\x{16B44}\x{16E98}\x{1BC9F}\x{1DA88}"
)
NON_SYMBOL_CHAR = f"[^{_PUNCT_SET}{_TERMINAL}]"
"""A character outside datatrove's punctuation set: a word with one is a non-symbol word."""
TERMINAL_PUNCTUATION_CHAR = f"[{_TERMINAL}]"
"""datatrove's TERMINAL_PUNCTUATION (FineWeb's line-end punctuation)."""
# spaCy's Sentencizer.default_punct_chars (MIT): a token made of one of these ends a sentence.
_SENTENCE_END = (
    "!.?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？｡"
    "𐩖𐩗𑁇𑁈𑂾𑂿𑃀𑃁𑅁𑅂𑅃𑇅𑇆𑇍𑇞𑇟𑈸𑈹𑈻𑈼𑊩𑑋𑑌𑗂𑗃𑗉𑗊𑗋𑗌𑗍𑗎𑗏𑗐𑗑𑗒𑗓𑗔𑗕𑗖𑗗𑙁𑙂𑜼𑜽𑜾𑩂𑩃𑪛𑪜𑱁𑱂𖩮𖩯𖫵𖬷𖬸𖭄𛲟𝪈。"
)
SENTENCE_END_CHARS: frozenset[str] = frozenset(_SENTENCE_END)

# --- word tokenizer (spaCy English rules as regular expressions) -----------------------

# spaCy English special cases that end in "." and stay one token ("St.", "U.S."-like ones
# are handled by the upper-case rule below); single lower-case letters "a." ... "z.".
_ABBREVIATIONS = ["Adm", "Ak", "Ala", "Apr", "Ariz", "Ark", "Aug", "Bros", "Calif", "Co", "Colo", "Conn", "Corp", "D.C", "Dec", "Del", "Dr", "E.G", "E.g", "Feb", "Fla", "Ga", "Gen", "Gov", "I.E", "I.e", "Ia", "Id", "Ill", "Inc", "Ind", "Jan", "Jr", "Jul", "Jun", "Kan", "Kans", "Ky", "La", "Ltd", "Mar", "Mass", "Md", "Messrs", "Mich", "Minn", "Miss", "Mo", "Mont", "Mr", "Mrs", "Ms", "Mt", "N.C", "N.D", "N.H", "N.J", "N.M", "N.Y", "Neb", "Nebr", "Nev", "Nov", "Oct", "Okla", "Ore", "Pa", "Ph.D", "Prof", "Rep", "Rev", "S.C", "Sen", "Sep", "Sept", "St", "Tenn", "Va", "Wash", "Wis", "a.m", "co", "e.g", "i.e", "p.m", "v.s", "vs", "ä", "ö", "ü"]
_PUNCT = r"…,:;!?¿؟¡()\[\]{}<>_#*&。？！，、；：～·।،۔؛٪"
_QUOTES = r"'\"”“`‘´’‚„»«「」『』（）〔〕【】《》〈〉⟦⟧"
_CURRENCY = r"$£€¥฿₽﷼₴₠₡₢₣₤₥₦₧₨₩₪₫₭₮₯₰₱₲₳₵₶₷₸₹₺₻₼₾₿"
_ICONS = r"\x{A6}\x{A9}\x{AE}\x{B0}\x{2100}-\x{214F}\x{2190}-\x{21FF}\x{2300}-\x{23FF}\x{2400}-\x{2BFF}\x{1F000}-\x{1FAFF}"
_PREFIX = rf"§%=—–+{_PUNCT}{_QUOTES}{_CURRENCY}{_ICONS}"
_SUFFIX = rf"{_PUNCT}{_QUOTES}{_ICONS}—–%"
_UNITS = (  # ending in a lower-case letter or a symbol: a "." after them is a suffix
    "km²|km³|km/h|kmh|km|m/s|m²|m³|dm²|dm³|dm|cm²|cm³|cm|mm²|mm³|mm|mph|mbar|mb|mg|m|ha|µm|µg|nm|yd|in|ft|"
    "kg|g|t|lb|oz|hPa|Pa|kb|gb|tb|%"
)
_UNITS_UPPER = "MB|KB|GB|TB|T|G|M|K"  # "4G." stays one token in spaCy
_ALNUM = r"\p{L}\p{M}\p{N}"
_Q = "'\"”“`‘´’"
# Infixes, as (before, infix, after): spaCy splits the infix off when the characters
# around it match; the replacement puts spaces around it ("well-known" -> "well - known").
_HYPHENS = r"---|--|——|[-–—~]"
_B = r"(?-u:\b)"  # ASCII word boundary: keeps the patterns inside the regex engine's fast DFA
_NB = r"(?-u:\B)"
_PRONOUNS = (
    r"[Ii]|[Yy]ou|[Hh]e|[Ss]he|[Ii]t|[Ww]e|[Tt]hey|[Tt]hat|[Tt]here|[Ww]hat|[Ww]ho|[Ww]here|[Ww]hen|[Hh]ow|"
    r"[Ww]hy|[Tt]his|[Tt]hese|[Tt]hose|[Ww]ould|[Cc]ould|[Ss]hould|[Mm]ight|[Mm]ust"
)
_WORD_END = r"[^\p{L}\p{M}\p{N}]|$"
_CHUNK_START = rf"(?:^|\s)[{_PREFIX}]*"  # a word that starts its chunk (after opening punctuation)
_ABBR_ALT = "|".join(re.escape(a) for a in sorted(_ABBREVIATIONS, key=len, reverse=True))
_INFIXES: list[tuple[str, str, str]] = [
    # special cases first, so that no infix rule splits them: URLs (spaCy's url_match),
    # abbreviations ("Ph.D.", "St.Marys" -> "St." "Marys")
    (r"^|\s", r"[\w.+-]*(?:https?|ftp)://\S+|www\.\S+", ""),
    (r"^|[^\p{L}\p{N}.]", rf"(?:{_ABBR_ALT})\.", r"[^.]|$"),
    (_B, r"and/or", _B),
    (rf"[{_ALNUM}]", _HYPHENS, r"\p{L}"),
    (r"\p{N}", r"[+\-*^]", r"[\p{N}-]"),
    (r"\p{L}", ",", r"\p{L}"),
    (rf"[\p{{Ll}}{_Q}]", r"\.", rf"\p{{Lu}}|[{_Q}]\S"),
    (rf"[{_ALNUM}]", "[:<>=/]", r"\p{L}"),
    # a unit after a number, with the suffixes after it ("14.90m." -> "14.90 m.": spaCy
    # then joins "m" "." into its special case "m.")
    (r"\p{N}", rf"(?:{_UNITS})[{_SUFFIX}.]*|(?:{_UNITS_UPPER})[{_SUFFIX}]*", r"\s|$"),
    ("°", "[FfCcKk]", r"\."),
    ("", rf"\.\.+|…|[{_ICONS}]", ""),
    # contractions spaCy lists as special cases: "didn't" -> "did n't", "I'll" -> "I 'll",
    # "cannot" -> "can not", "10pm" -> "10 pm"
    (r"\p{L}", r"[nN]['’][tT]", _WORD_END),
    (rf"{_B}(?:{_PRONOUNS})", r"['’](?:ll|LL|re|RE|ve|VE|[dDmM])", _WORD_END),
    (rf"{_CHUNK_START}(?:[Cc]an)", "", rf"not{_B}"),
    (rf"{_CHUNK_START}(?:[Gg]on)", "", rf"na{_B}"),
    (rf"{_CHUNK_START}(?:[Gg]ot)", "", rf"ta{_B}"),
    (rf"{_CHUNK_START}(?:[Ii])", "", rf"[dm]{_B}"),
    (rf"{_CHUNK_START}(?:[Ww]e)", "", rf"d{_B}"),
    (rf"{_CHUNK_START}(?:1[0-2]|[1-9])", "", rf"[ap]m{_B}"),
]
INFIX_PATTERN = "|".join("".join(f"({part})" for part in alt) for alt in _INFIXES)
INFIX_REPLACEMENT = " ".join("".join(f"${{{3 * i + k}}}" for i in range(len(_INFIXES))) for k in (1, 2, 3))
# A core starts with a non-prefix character ("+" only before a digit) and ends with a
# non-suffix character; "'s" at its end is split off ("women's" -> "women" "'s"), so is
# "+" after a digit; "." after a single capital stays ("U.S.", "2B.", "PhD.").
_FIRST = rf"(?:[^\s{_PREFIX}]|\+\p{{N}})"
_LAST = rf"[^\s'’][sS]|[^\s\p{{N}}]\+|[^\s{_SUFFIX}.sS+]"
_CORE = (
    rf"\p{{Lu}}\.(?:\p{{Lu}}\.)*{_NB}"
    rf"|{_FIRST}\S*[^\s\p{{Lu}}]\p{{Lu}}\.{_NB}|[^\s\p{{Lu}}{_PREFIX}]\p{{Lu}}\.{_NB}"
    rf"|{_FIRST}\S*(?:{_LAST})|[^\s\p{{N}}{_PREFIX}]\+|{_FIRST}[sS]|{_FIRST}"
)
TOKEN_PATTERN = rf"(?:{_ABBR_ALT}|[a-z])\.{_NB}|\(;|\(:|\):|\.\.+|…|(?:US|C|A)\$|{_CORE}|['’](?:[sS]|ll|LL|re|RE|ve|VE|[dDmM]){_B}|\S"


# Infix matches cannot overlap: in "Tehreek-e-Insaf" the first match takes "k-e", so the
# second hyphen (after a one-letter word) is left. A second pass splits what is left;
# `MISSED_INFIX` finds the lines that need it.
MISSED_INFIX = rf"[{_ALNUM}](?:{_HYPHENS})\p{{L}}|\p{{N}}[+\-*^][\p{{N}}-]"


def word_tokens(text: pl.Expr) -> pl.Expr:
    """List of word tokens per text, as datatrove's `split_into_words` (spaCy English).
    (`tokenize` gives the same tokens faster for a whole column.)"""
    spaced = text.str.replace_all(INFIX_PATTERN, INFIX_REPLACEMENT).str.replace_all(INFIX_PATTERN, INFIX_REPLACEMENT)
    return spaced.str.extract_all(TOKEN_PATTERN)


def tokenize(text: pl.Series) -> pl.Series:
    """`word_tokens` of every text: the second infix pass runs only where the first one
    left a split undone (a few lines in a thousand)."""
    spaced = text.str.replace_all(INFIX_PATTERN, INFIX_REPLACEMENT)
    missed = spaced.str.contains(MISSED_INFIX)
    if missed.any():
        rows = missed.arg_true()
        spaced = spaced.scatter(rows, spaced.gather(rows).str.replace_all(INFIX_PATTERN, INFIX_REPLACEMENT))
    return spaced.str.extract_all(TOKEN_PATTERN)


# --- parameter groups -----------------------------------------------------------------

GOPHER_STOP_WORDS = ["the", "be", "to", "of", "and", "that", "have", "with"]
C4_POLICY_SUBSTRINGS = ["terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies", "use cookies"]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StopWordsParams(_Params):
    words: tuple[str, ...] = tuple(GOPHER_STOP_WORDS)
    """Stop words, matched exactly (case-sensitive) against word tokens."""


class ShortLineParams(_Params):
    max_chars: int = Field(default=30, ge=0)
    """A non-empty line with at most this many characters is short."""


class C4LineParams(_Params):
    """C4's line filter (datatrove C4QualityFilter): which lines are kept."""

    remove_citations: bool = True
    """Delete Wikipedia-style citations `[1]`, `[edit]`, `[citation needed]` from lines."""
    require_terminal_punct: bool = True
    """Drop lines that do not end in . ? ! " ' (or that end in ...)."""
    min_words_per_line: int = 3
    """Drop lines with fewer whitespace-separated words (-1 disables)."""
    max_word_length: int = 1000
    """Drop lines with a word longer than this (-1 disables)."""
    drop_javascript_lines: bool = True
    """Drop lines mentioning "javascript"."""
    drop_policy_lines: bool = True
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


_FIXED: list[Metric] = [
    Metric("char_count", "Number of characters (code points) of the text.", COUNT_BINS, family="text"),
    Metric("word_count", "Number of word tokens, punctuation tokens included (spaCy-compatible English tokenizer).", COUNT_BINS, family="words"),
    Metric("non_symbol_word_count", "Number of word tokens with at least one character outside datatrove's punctuation set.", COUNT_BINS, family="words"),
    Metric("mean_word_length", "Mean length in characters of the non-symbol words; null without any.", LENGTH_BINS, family="words"),
    Metric("hash_word_ratio", 'Occurrences of "#" divided by word_count; null without words.', FRACTION_BINS, family="words"),
    Metric("ellipsis_word_ratio", 'Occurrences of "..." and "…" divided by word_count; null without words.', FRACTION_BINS, family="words"),
    Metric("alpha_word_ratio", "Share of word tokens that contain an alphabetic character (Unicode letter); null without words.", FRACTION_BINS, family="words"),
    Metric("stop_word_count", "Number of distinct stop words (params stop_words.words) among the word tokens, matched exactly.", COUNT_BINS, group="stop_words", family="words"),
    Metric("bullet_line_ratio", 'Share of lines (str.splitlines) that start, after leading whitespace, with "•" or "-"; null without lines.', FRACTION_BINS, family="lines"),
    Metric("ellipsis_line_ratio", 'Share of lines (str.splitlines) that end, before trailing whitespace, with "..." or "…"; null without lines.', FRACTION_BINS, family="lines"),
    Metric("dup_line_frac", "Lines = the text split on runs of newlines; share of lines equal to an earlier line.", FRACTION_BINS, family="lines"),
    Metric("dup_line_char_frac", "Characters of the lines (as in dup_line_frac) equal to an earlier line, divided by char_count.", FRACTION_BINS, family="lines"),
    Metric("dup_para_frac", "Paragraphs = the stripped text split on 2+ newlines; share of paragraphs equal to an earlier one.", FRACTION_BINS, family="paragraphs"),
    Metric("dup_para_char_frac", "Characters of the paragraphs equal to an earlier paragraph, divided by char_count.", FRACTION_BINS, family="paragraphs"),
    Metric("nonempty_line_count", "Number of lines (split on newline) that are not only whitespace.", COUNT_BINS, family="lines"),
    Metric("line_punct_ratio", "Share of non-empty lines whose last character is terminal punctuation (datatrove's TERMINAL_PUNCTUATION); null without non-empty lines.", FRACTION_BINS, family="lines"),
    Metric("short_line_ratio", "Share of non-empty lines with at most short_line.max_chars characters (default 30); null without non-empty lines.", FRACTION_BINS, group="short_line", family="lines"),
    Metric("dup_nonempty_line_char_frac", "Characters of non-empty lines equal to an earlier non-empty line, divided by the characters that are not newlines.", FRACTION_BINS, family="lines"),
    Metric("newline_word_ratio", "Number of newline characters divided by word_count; null without words.", FRACTION_BINS, family="words"),
    Metric("c4_sentence_count", "Sentences (spaCy sentencizer rules) in the lines C4's line filter keeps.", COUNT_BINS, group="c4_lines", family="c4"),
    Metric("c4_lorem_ipsum", '1 if a line that passes the punctuation, word-count and word-length filters contains "lorem ipsum" (any case), else 0.', FLAG_BINS, group="c4_lines", family="c4"),
    Metric("c4_curly_bracket", '1 if a line that passes those filters and does not mention "javascript" contains "{", else 0.', FLAG_BINS, group="c4_lines", family="c4"),
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
            return Metric(name, definition, FRACTION_BINS, family="ngrams", n=n)
    return None


def metric_names() -> list[str]:
    """Every metric name, the n-gram families as patterns."""
    return [*METRICS, *FAMILY_PATTERNS]


# --- computation ------------------------------------------------------------------------
#
# Every intermediate result is built once per call of `compute_metrics` and shared:
# lines (text.split("\n") exploded), word tokens (exploded, with a 64-bit hash each),
# n-gram keys. Per-document sums use numpy's bincount on the document index; hashing,
# de-duplication and grouping use polars. No Python loop runs per document or per token.

_P1 = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multipliers (wrapping arithmetic)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_LINE_BREAKS = r"\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
_CITATION = r"\[\d*\]|\[edit\]|\[citation needed\]"
_HASH_SEED = 7


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN (null) where den is 0."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _series(values: np.ndarray, dtype: pl.DataType = pl.Float64) -> pl.Series:
    series = pl.Series(values)
    if series.dtype.is_float():
        series = series.fill_nan(None)
    return series.cast(dtype)


def _first_flags(keys: np.ndarray) -> np.ndarray:
    """True where the key did not occur at an earlier position."""
    return pl.Series(keys, dtype=pl.UInt64).is_first_distinct().to_numpy()


def _isin(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """values[i] in wanted, by hash lookup (numpy's isin sorts)."""
    return pl.Series(values, dtype=pl.UInt64).is_in(pl.Series(wanted, dtype=pl.UInt64).implode()).to_numpy()


def _mix(h: np.ndarray, doc: np.ndarray) -> np.ndarray:
    """A per-document key: equal values in different documents never collide."""
    with np.errstate(over="ignore"):
        return h ^ (doc.astype(np.uint64) * _P2)


class _Work:
    """One column of texts and the intermediate results built from it, each once."""

    def __init__(self, text: pl.Series, params: dict[str, _Params]):
        self.text = text
        self.params = params
        self.n = len(text)
        self.cache: dict[str, Any] = {}

    def once(self, key: str, build: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]

    def per_doc(self, doc: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(doc, weights=weights, minlength=self.n)[: self.n]

    def chars(self) -> np.ndarray:
        return self.once("chars", lambda: self.text.str.len_chars().to_numpy().astype(np.int64))

    def lines(self) -> pl.DataFrame:
        """text.split("\\n") exploded: _doc, _li (index in its document), _nlines, line;
        row i is line i (the global line id)."""

        def build() -> pl.DataFrame:
            split = self.text.str.split("\n")
            frame = pl.DataFrame(
                {"_doc": pl.int_range(self.n, dtype=pl.UInt32, eager=True), "line": split, "_nlines": split.list.len().cast(pl.UInt32)}
            )
            return frame.with_columns(_li=pl.int_ranges(0, pl.col("_nlines"), dtype=pl.UInt32)).explode(["line", "_li"])

        return self.once("lines", build)

    def tokens(self) -> pl.DataFrame:
        """Word tokens of every line, in order: _doc, _line, tok, h (64-bit hash), tlen, ns
        (a non-symbol word). Tokens never cross a newline, so tokenizing lines is
        tokenizing the text."""

        def build() -> pl.DataFrame:
            lines = self.lines()
            frame = pl.DataFrame(
                {"_doc": lines["_doc"], "_line": pl.int_range(lines.height, dtype=pl.UInt32, eager=True), "tok": tokenize(lines["line"])}
            )
            frame = frame.explode("tok").drop_nulls("tok")
            return frame.with_columns(
                h=pl.col("tok").hash(_HASH_SEED),
                tlen=pl.col("tok").str.len_chars().cast(pl.UInt32),
                ns=pl.col("tok").str.contains(NON_SYMBOL_CHAR),
            )

        return self.once("tokens", build)

    def token_arrays(self) -> dict[str, np.ndarray]:
        def build() -> dict[str, np.ndarray]:
            t = self.tokens()
            return {
                "doc": t["_doc"].to_numpy().astype(np.int64),
                "line": t["_line"].to_numpy().astype(np.int64),
                "h": t["h"].to_numpy(),
                "tlen": t["tlen"].to_numpy().astype(np.int64),
                "ns": t["ns"].to_numpy(),
            }

        return self.once("token_arrays", build)

    def word_counts(self) -> dict[str, np.ndarray]:
        def build() -> dict[str, np.ndarray]:
            a = self.token_arrays()
            ns = a["ns"].astype(np.float64)
            return {
                "n": self.per_doc(a["doc"]),
                "ns": self.per_doc(a["doc"], ns),
                "ns_len": self.per_doc(a["doc"], ns * a["tlen"]),
            }

        return self.once("word_counts", build)

    def splitlines(self) -> pl.DataFrame:
        """Lines as Python's str.splitlines: _doc, _line (raw line id, or null when the text
        has other line breaks than "\\n" and lines were split anew), line."""

        def build() -> pl.DataFrame:
            lines = self.lines().with_row_index("_line")
            last_empty = (pl.col("_li") == pl.col("_nlines") - 1) & (pl.col("line") == "")
            if not bool(self.text.str.contains(_LINE_BREAKS).any()):
                return lines.filter(~last_empty).select("_doc", "_line", "line")
            exotic = self.text.str.contains(_LINE_BREAKS).to_numpy()
            plain = lines.filter(~last_empty & ~pl.col("_doc").is_in(np.flatnonzero(exotic).tolist())).select("_doc", "_line", "line")
            norm = self.text.str.replace_all(_LINE_BREAKS, "\n").str.split("\n")
            other = pl.DataFrame({"_doc": pl.int_range(self.n, dtype=pl.UInt32, eager=True), "line": norm}).filter(pl.Series(exotic))
            other = other.with_columns(_nl=pl.col("line").list.len().cast(pl.UInt32))
            other = other.with_columns(_li=pl.int_ranges(0, pl.col("_nl"), dtype=pl.UInt32)).explode(["line", "_li"])
            other = other.filter(~((pl.col("_li") == pl.col("_nl") - 1) & (pl.col("line") == ""))).select(
                "_doc", pl.lit(None, dtype=pl.UInt32).alias("_line"), "line"
            )
            return pl.concat([plain.with_columns(pl.col("_line").cast(pl.UInt32)), other]).sort("_doc", maintain_order=True)

        return self.once("splitlines", build)


# -- metric groups: each returns {metric name: numpy array of length n} -------------------


def _word_metrics(w: _Work) -> dict[str, np.ndarray]:
    def build() -> dict[str, np.ndarray]:
        c = w.word_counts()
        counts = w.text.to_frame("t").select(
            hashes=pl.col("t").str.count_matches("#", literal=True),
            ellipses=pl.col("t").str.count_matches(r"\.\.\.|…"),
            newlines=pl.col("t").str.count_matches("\n", literal=True),
        )
        return {
            "word_count": c["n"],
            "non_symbol_word_count": c["ns"],
            "mean_word_length": _ratio(c["ns_len"], c["ns"]),
            "hash_word_ratio": _ratio(counts["hashes"].to_numpy(), c["n"]),
            "ellipsis_word_ratio": _ratio(counts["ellipses"].to_numpy(), c["n"]),
            "newline_word_ratio": _ratio(counts["newlines"].to_numpy(), c["n"]),
        }

    return w.once("word_metrics", build)


def _alpha_word_ratio(w: _Work) -> np.ndarray:
    alpha = w.tokens().select(pl.col("tok").str.contains(r"\p{L}")).to_series().to_numpy().astype(np.float64)
    return _ratio(w.per_doc(w.token_arrays()["doc"], alpha), w.word_counts()["n"])


def _stop_word_count(w: _Work) -> np.ndarray:
    words = list(w.params.get("stop_words", StopWordsParams()).words)  # type: ignore[attr-defined]
    if not words:
        return np.zeros(w.n)
    wanted = pl.Series(words, dtype=pl.String).hash(_HASH_SEED).to_numpy()
    a = w.token_arrays()
    hit = _isin(a["h"], wanted)
    docs = a["doc"][hit]
    first = np.unique(_mix(a["h"][hit], docs), return_index=True)[1]  # distinct (word, document) pairs
    return w.per_doc(docs[first]).astype(np.float64)


def _gopher_lines(w: _Work) -> dict[str, np.ndarray]:
    def build() -> dict[str, np.ndarray]:
        sl = w.splitlines()
        flags = sl.select(
            bullet=pl.col("line").str.contains(r"^\s*[•\-]"),
            ell=pl.col("line").str.contains(r"(?:\.\.\.|…)\s*$"),
        )
        doc = sl["_doc"].to_numpy()
        n = w.per_doc(doc)
        return {
            "bullet_line_ratio": _ratio(w.per_doc(doc, flags["bullet"].to_numpy().astype(float)), n),
            "ellipsis_line_ratio": _ratio(w.per_doc(doc, flags["ell"].to_numpy().astype(float)), n),
        }

    return w.once("gopher_lines", build)


def _duplicates(w: _Work, doc: np.ndarray, strings: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Per document: how many elements equal an earlier element of the document, and
    their total length in characters (datatrove's find_duplicates)."""
    dup = ~_first_flags(_mix(strings.hash(_HASH_SEED).to_numpy(), doc))
    lengths = strings.str.len_chars().to_numpy().astype(np.float64)
    return w.per_doc(doc[dup]), w.per_doc(doc[dup], lengths[dup])


def _rep_lines(w: _Work) -> dict[str, np.ndarray]:
    """Lines as re.split("\\n+", text): the non-empty raw lines, plus an empty first and
    last element when the text starts or ends with a newline."""

    def build() -> dict[str, np.ndarray]:
        lines = w.lines()
        keep = (pl.col("line") != "") | (pl.col("_li") == 0) | (pl.col("_li") == pl.col("_nlines") - 1)
        rep = lines.filter(keep)
        doc = rep["_doc"].to_numpy()
        count, chars = _duplicates(w, doc, rep["line"])
        return {
            "dup_line_frac": _ratio(count, w.per_doc(doc)),
            "dup_line_char_frac": _ratio(chars, w.chars()),
            "_dup_lines": count,
        }

    return w.once("rep_lines", build)


def _paragraphs(w: _Work) -> dict[str, np.ndarray]:
    """Paragraphs as re.split(r"\n{2,}", text.strip()).

    A document can repeat a paragraph only if it repeats a non-empty line (a paragraph is
    a run of non-empty lines), unless stripping the text changed its first or last line;
    paragraphs are split only for those candidate documents.
    """

    def build() -> dict[str, np.ndarray]:
        count = np.zeros(w.n)
        chars = np.zeros(w.n)
        candidates = (_rep_lines(w)["_dup_lines"] > 0) | w.text.str.contains(r"^\s|\s$").to_numpy()
        docs = np.flatnonzero(candidates)
        if len(docs):
            sub = w.text.gather(docs)
            paras = sub.str.strip_chars().str.extract_all(r"[^\n]+(?:\n[^\n]+)*")
            frame = pl.DataFrame({"_doc": pl.Series(docs.astype(np.uint32)), "p": paras}).explode("p").drop_nulls("p")
            doc = frame["_doc"].to_numpy()
            dups, dup_chars = _duplicates(w, doc, frame["p"])
            count = _ratio(dups, w.per_doc(doc))
            chars = dup_chars
        # a text that is empty after stripping is one empty paragraph
        return {"dup_para_frac": np.nan_to_num(count, nan=0.0), "dup_para_char_frac": _ratio(chars, w.chars())}

    return w.once("paragraphs", build)


def _fineweb_lines(w: _Work) -> dict[str, np.ndarray]:
    def build() -> dict[str, np.ndarray]:
        max_chars = w.params.get("short_line", ShortLineParams()).max_chars  # type: ignore[attr-defined]
        lines = w.lines().filter(pl.col("line").str.contains(r"\S"))
        doc = lines["_doc"].to_numpy()
        flags = lines.select(
            punct=pl.col("line").str.contains(TERMINAL_PUNCTUATION_CHAR + "$"),
            short=pl.col("line").str.len_chars() <= max_chars,
        )
        n = w.per_doc(doc)
        _, dup_chars = _duplicates(w, doc, lines["line"])
        newlines = w.text.str.count_matches("\n", literal=True).to_numpy()
        return {
            "nonempty_line_count": n,
            "line_punct_ratio": _ratio(w.per_doc(doc, flags["punct"].to_numpy().astype(float)), n),
            "short_line_ratio": _ratio(w.per_doc(doc, flags["short"].to_numpy().astype(float)), n),
            "dup_nonempty_line_char_frac": _ratio(dup_chars, w.chars() - newlines),
        }

    return w.once("fineweb_lines", build)


# -- C4 ---------------------------------------------------------------------------------


def _sentence_starts(line: np.ndarray, h: np.ndarray, tlen: np.ndarray, ns: np.ndarray, n_lines: int) -> np.ndarray:
    """Per line: sentence starts after the line's first token (spaCy's sentencizer).

    A token made of one sentence-end character ("." "!" "?" ...) raises a flag; the next
    word token (one with a non-punctuation character) starts a sentence and lowers it.
    So the starts of a line are the distinct "next word tokens" of its sentence ends.
    Tokens are in text order (`line` sorted); `h` are their hashes.
    """
    one = np.flatnonzero(tlen == 1)
    ends = one[_isin(h[one], _sentence_end_hashes())]
    words = np.flatnonzero(ns)
    if len(ends) == 0 or len(words) == 0:
        return np.zeros(n_lines)
    k = np.searchsorted(words, ends, side="right")
    inside = k < len(words)
    ends, k = ends[inside], k[inside]
    nxt = words[k]
    same_line = line[nxt] == line[ends]
    nxt = nxt[same_line]
    distinct = nxt[np.concatenate([[True], nxt[1:] != nxt[:-1]])] if len(nxt) else nxt
    return np.bincount(line[distinct], minlength=n_lines)[:n_lines].astype(np.float64)


_END_HASHES: list[np.ndarray] = []


def _sentence_end_hashes() -> np.ndarray:
    if not _END_HASHES:
        _END_HASHES.append(pl.Series(sorted(SENTENCE_END_CHARS), dtype=pl.String).hash(_HASH_SEED).to_numpy())
    return _END_HASHES[0]


def _c4_lines(w: _Work) -> pl.DataFrame:
    """C4's line filter (datatrove C4QualityFilter), one row per line (str.splitlines):
    _doc, _line, t (the line as C4 keeps it: stripped, citations removed), fast (t is the
    raw line, maybe with surrounding whitespace), ok, lorem, curly, kept.

    Most lines contain no "[" (no citation to remove): their checks run on the raw line,
    with whitespace-tolerant patterns where a stripped line would be checked; only the
    other lines are stripped and cleaned first.
    """

    def build() -> pl.DataFrame:
        p: C4LineParams = w.params.get("c4_lines", C4LineParams())  # type: ignore[assignment]
        sl = w.splitlines().with_row_index("_r")
        slow = pl.col("_line").is_null()
        if p.remove_citations:
            slow = slow | pl.col("line").str.contains("[", literal=True)
        fast_part = sl.filter(~slow).select("_r", "_doc", "_line", "line", t=pl.col("line"), fast=pl.lit(True))
        slow_part = sl.filter(slow).select(
            "_r", "_doc", "_line", "line",
            t=(pl.col("line").str.strip_chars().str.replace_all(_CITATION, "") if p.remove_citations else pl.col("line").str.strip_chars()),
            fast=pl.lit(False),
        )
        frame = pl.concat([fast_part, slow_part]).sort("_r")
        # word count and word length: from the line before citation removal (as datatrove)
        k = p.min_words_per_line
        ok = pl.col("line").str.contains(r"\S+" + r"\s+\S+" * (k - 1)) if k > 0 else pl.lit(True)
        if p.require_terminal_punct:
            end_fast = pl.col("t").str.contains(r"[.?!\"']\s*$") & ~pl.col("t").str.contains(r"\.\.\.\s*$")
            end_slow = pl.col("t").str.contains(r"[.?!\"']$") & ~pl.col("t").str.ends_with("...")
            ok = ok & pl.when(pl.col("fast")).then(end_fast).otherwise(end_slow)
        frame = frame.with_columns(ok=ok)
        if p.max_word_length != -1:
            # only lines longer than the limit can hold such a word: look at those alone
            long_lines = frame.with_row_index("_k").filter(pl.col("line").str.len_chars() > p.max_word_length)
            if long_lines.height:
                longest = long_lines.select("_k", w=pl.col("line").str.extract_all(r"\S+").list.eval(pl.element().str.len_chars()).list.max())
                has_long = np.zeros(frame.height, dtype=bool)
                has_long[longest.filter(pl.col("w") > p.max_word_length)["_k"].to_numpy()] = True
                frame = frame.with_columns(ok=pl.col("ok") & ~pl.lit(pl.Series(has_long)))
        # the rarer checks, on the lines that contain one of their strings at all
        policy = "|".join(re.escape(x) for x in C4_POLICY_SUBSTRINGS)
        special = frame.select(pl.col("t").str.contains(r"(?i)javascript|lorem ipsum|\{|" + policy)).to_series()
        frame = frame.with_columns(lorem=pl.lit(False), curly=pl.lit(False), js=pl.lit(False), policy=pl.lit(False))
        if special.any():
            rows = frame.filter(special).with_columns(
                lorem=pl.col("ok") & pl.col("t").str.contains("(?i)lorem ipsum"),
                js=pl.col("t").str.contains("(?i)javascript") if p.drop_javascript_lines else pl.lit(False),
                policy=pl.col("t").str.contains("(?i)" + policy) if p.drop_policy_lines else pl.lit(False),
            ).with_columns(curly=pl.col("ok") & ~pl.col("js") & pl.col("t").str.contains("{", literal=True))
            frame = pl.concat([frame.filter(~special), rows]).sort("_r")
        return frame.with_columns(kept=pl.col("ok") & ~pl.col("js") & ~pl.col("policy")).drop("js", "policy", "_r")

    return w.once("c4_lines", build)


def _c4(w: _Work) -> dict[str, np.ndarray]:
    def build() -> dict[str, np.ndarray]:
        frame = _c4_lines(w)
        kept = frame.filter("kept").select("_doc", "_line", "t", "fast")
        # sentences per kept line: the raw line's tokens when the kept line is the raw
        # line (tokens do not see surrounding whitespace), else the kept line tokenized
        sentences = np.zeros(w.n)
        reuse = kept.filter("fast")
        if reuse.height:
            a = w.token_arrays()
            per_line = _sentence_starts(a["line"], a["h"], a["tlen"], a["ns"], w.lines().height)
            sentences += w.per_doc(reuse["_doc"].to_numpy(), 1.0 + per_line[reuse["_line"].to_numpy().astype(np.int64)])
        retok = kept.filter(~pl.col("fast"))
        if retok.height:
            local = pl.DataFrame({"_line": pl.int_range(retok.height, dtype=pl.UInt32, eager=True), "tok": tokenize(retok["t"])})
            local = local.explode("tok").drop_nulls("tok").with_columns(
                h=pl.col("tok").hash(_HASH_SEED), tlen=pl.col("tok").str.len_chars(), ns=pl.col("tok").str.contains(NON_SYMBOL_CHAR)
            )
            per_line = _sentence_starts(
                local["_line"].to_numpy().astype(np.int64), local["h"].to_numpy(), local["tlen"].to_numpy(), local["ns"].to_numpy(), retok.height
            )
            sentences += w.per_doc(retok["_doc"].to_numpy(), 1.0 + per_line)
        # length of "\n".join(kept lines).strip(): kept raw lines count stripped; a kept
        # cleaned line can start with a space left by a citation, which the final strip
        # removes only from the first kept line
        doc_kept = kept["_doc"].to_numpy()
        padded = kept.select(pl.col("t").str.contains(r"^\s|\s$")).to_series().to_numpy()
        lengths = kept.select(pl.col("t").str.len_chars()).to_series().to_numpy().astype(np.float64)
        if padded.any():
            sub = kept.filter(pl.Series(padded))
            stripped = sub.select(pl.col("t").str.strip_chars().str.len_chars()).to_series().to_numpy()
            inner = sub.select(pl.col("t").str.strip_chars_end().str.len_chars()).to_series().to_numpy()
            first = np.concatenate([[True], doc_kept[1:] != doc_kept[:-1]])[padded]
            fast = sub["fast"].to_numpy()
            # raw lines are stripped whole; cleaned lines keep leading space unless first
            lengths[padded] = np.where(fast | first, stripped, inner)
        n_kept = w.per_doc(doc_kept)
        cleaned_len = w.per_doc(doc_kept, lengths) + np.maximum(n_kept - 1, 0)
        doc_all = frame["_doc"].to_numpy()
        return {
            "c4_sentence_count": sentences,
            "c4_lorem_ipsum": (w.per_doc(doc_all, frame["lorem"].to_numpy().astype(float)) > 0).astype(np.float64),
            "c4_curly_bracket": (w.per_doc(doc_all, frame["curly"].to_numpy().astype(float)) > 0).astype(np.float64),
            "c4_lines_removed": w.per_doc(doc_all) - n_kept,
            "c4_chars_removed": w.chars() - cleaned_len,
        }

    return w.once("c4", build)


def c4_cleaned_text(w: _Work) -> pl.Series:
    """The text after C4's line cleaning: kept lines, stripped, joined by newlines."""
    # a raw line is kept stripped; a cleaned line as cleaning left it (datatrove strips
    # before removing citations, then only the joined text)
    kept = _c4_lines(w).filter("kept").select("_doc", pl.when(pl.col("fast")).then(pl.col("t").str.strip_chars()).otherwise(pl.col("t")).alias("t"))
    joined = kept.group_by("_doc", maintain_order=True).agg(pl.col("t").str.join("\n"))
    text = pl.Series("_c4_text", [""] * w.n, dtype=pl.String)
    if joined.height:
        text = text.scatter(joined["_doc"], joined["t"].str.strip_chars())
    return text


# -- n-grams ----------------------------------------------------------------------------
#
# The n-gram starting at token i is identified by a 64-bit polynomial hash of its token
# hashes, mixed with the document index. A position can repeat an n-gram only if it
# repeats the (n-1)-gram too, so candidates shrink as n grows: the hash of n-grams is
# computed only at positions whose (n-1)-gram occurs twice or more in the document.


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal keys grouped by sorting: (order, run start offsets in sorted order, run
    lengths). polars' radix-based arg_sort is about twice as fast as hashing here."""
    order = pl.Series(keys, dtype=pl.UInt64).arg_sort().to_numpy()
    ordered = keys[order]
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]])) if len(keys) else np.zeros(0, dtype=np.int64)
    lengths = np.diff(np.concatenate([starts, [len(keys)]]))
    return order, starts, lengths


def _repeated(keys: np.ndarray) -> np.ndarray:
    """True where the key occurs more than once (sort, then a hash lookup of the repeated
    values: cheaper than polars' is_duplicated on millions of rows)."""
    if len(keys) < 2:
        return np.zeros(len(keys), dtype=bool)
    series = pl.Series(keys, dtype=pl.UInt64)
    ordered = series.sort().to_numpy()
    values = ordered[1:][ordered[1:] == ordered[:-1]]
    return series.is_in(pl.Series(values, dtype=pl.UInt64).unique().implode()).to_numpy()


def _ngram_candidates(w: _Work, n: int) -> dict[str, np.ndarray]:
    """Positions i (token index, ascending) whose n-gram (n >= 2) occurs at least twice in
    its document, with the n-gram hash g and key (g mixed with the document); and, per
    repeated n-gram, its count and first position."""

    def build() -> dict[str, np.ndarray]:
        a = w.token_arrays()
        total = len(a["h"])
        doc, h = a["doc"], a["h"]
        if n == 2:
            # every position: contiguous slices instead of gathers
            fits = np.flatnonzero(doc[1:] == doc[:-1])
            with np.errstate(over="ignore"):
                g = (h[:-1] * _P1 + h[1:])[fits]
            pos = fits.astype(np.int64)
            key = _mix(g, doc[pos])
        else:
            prev = _ngram_candidates(w, n - 1)
            pos, g = prev["pos"], prev["g"]
            fits = pos + n - 1 < total
            pos, g = pos[fits], g[fits]
            end = pos + n - 1
            fits = doc[end] == doc[pos]
            pos, g, end = pos[fits], g[fits], end[fits]
            with np.errstate(over="ignore"):
                g = g * _P1 + h[end]
            key = _mix(g, doc[pos])
        repeated = _repeated(key)
        pos, g, key = pos[repeated], g[repeated], key[repeated]
        order, starts, lengths = _runs(key)
        first_pos = np.minimum.reduceat(pos[order], starts) if len(starts) else starts
        return {"pos": pos, "g": g, "key": key, "count": lengths, "first": first_pos}

    return w.once(f"ngram{n}", build)


def _ngram_chars(w: _Work, pos: np.ndarray, n: int) -> np.ndarray:
    """Characters of the n-grams at `pos`, words joined without separator."""
    cum = w.once("tlen_cum", lambda: np.concatenate([[0], np.cumsum(w.token_arrays()["tlen"])]))
    return (cum[pos + n] - cum[pos]).astype(np.float64)


def _top_ngram(w: _Work, n: int) -> np.ndarray:
    """datatrove's find_top_duplicate: the most frequent n-gram (ties: the first seen),
    its length (words joined by spaces) times its count, over the text length."""
    a = w.token_arrays()
    count = w.word_counts()["n"].astype(np.int64)
    value = np.zeros(w.n)
    # every n-gram unique: the top is the first n-gram, counted once
    has = count >= n
    firsts = np.concatenate([[0], np.cumsum(count)[:-1]])[has]
    value[has] = _ngram_chars(w, firsts, n) + (n - 1)
    cand = _ngram_candidates(w, n)
    if len(cand["count"]):
        cnt, pos = cand["count"], cand["first"]
        doc = a["doc"][pos]
        # best per document: highest count, then earliest first occurrence
        order = np.lexsort((pos, -cnt, doc))
        doc_sorted = doc[order]
        best = order[np.concatenate([[True], doc_sorted[1:] != doc_sorted[:-1]])]
        value[doc[best]] = (_ngram_chars(w, pos[best], n) + (n - 1)) * cnt[best]
    return _ratio(value, w.chars())


def _greedy_takes(pos: np.ndarray, doc: np.ndarray, n: int) -> np.ndarray:
    """Positions the greedy scan takes among repeat positions `pos` (sorted).

    Repeats form runs of consecutive positions; inside a run the scan takes every n-th
    position from where it enters the run: the run start, or where the jump from the
    previous run lands, whichever is later. That dependency between runs is resolved by
    a fixed-point iteration over the runs (a few rounds).
    """
    if len(pos) == 0:
        return pos
    new = np.concatenate([[True], (pos[1:] != pos[:-1] + 1) | (doc[1:] != doc[:-1])])
    run = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    a = pos[starts]
    b = pos[np.concatenate([starts[1:] - 1, [len(pos) - 1]])]
    rdoc = doc[starts]
    same_doc_prev = np.concatenate([[False], rdoc[1:] == rdoc[:-1]])
    prev_next = np.full(len(a), -1, dtype=np.int64)
    for _ in range(len(a) + 1):
        s = np.maximum(a, prev_next)
        taken = s <= b
        next_free = np.where(taken, s + ((b - s) // n + 1) * n, prev_next)
        shifted = np.where(same_doc_prev, np.concatenate([[-1], next_free[:-1]]), -1)
        if np.array_equal(shifted, prev_next):
            break
        prev_next = shifted
    entry = np.maximum(a, prev_next)[run]
    return pos[(pos >= entry) & ((pos - entry) % n == 0)]


def _dup_ngram(w: _Work, n: int) -> np.ndarray:
    """datatrove's find_all_duplicate: scan positions left to right; an n-gram already in
    the set of n-grams of visited positions counts its characters (words joined without
    separator) and the scan jumps n words ahead (the positions jumped over are not
    visited: their n-grams are not added), else its n-gram is added and the scan moves
    one word.

    Vectorised as a fixed point over the positions whose n-gram occurs twice or more:
    given which of them are visited, a position repeats when an earlier visited position
    has its n-gram; repeats give the taken positions (`_greedy_takes`), taken positions
    the positions jumped over. From "all visited" this reaches the scan's result in a
    few rounds (each round only changes positions inside a jump).
    """
    cand = _ngram_candidates(w, n)
    pos, key = cand["pos"], cand["key"]
    doc = w.token_arrays()["doc"][pos]
    taken = pos[:0]
    visited = np.ones(len(pos), dtype=bool)
    for _ in range(64):
        live = np.flatnonzero(visited)
        repeat = live[~_first_flags(key[live])]
        taken = _greedy_takes(pos[repeat], doc[repeat], n)
        if len(taken) == 0:
            break
        last = np.searchsorted(taken, pos, side="left") - 1  # latest take before each position
        inside = (last >= 0) & (pos < taken[np.maximum(last, 0)] + n)
        now = ~inside
        if np.array_equal(now, visited):
            break
        visited = now
    value = w.per_doc(w.token_arrays()["doc"][taken], _ngram_chars(w, taken, n))
    return _ratio(value, w.chars())


# -- dispatch -----------------------------------------------------------------------------

_WORD_METRICS = ("word_count", "non_symbol_word_count", "mean_word_length", "hash_word_ratio", "ellipsis_word_ratio", "newline_word_ratio")


def _compute_one(w: _Work, name: str) -> np.ndarray:
    m = metric(name)
    if m is None:
        raise KeyError(name)
    if name == "char_count":
        return w.chars().astype(np.float64)
    if name in _WORD_METRICS:
        return _word_metrics(w)[name]
    if name == "alpha_word_ratio":
        return _alpha_word_ratio(w)
    if name == "stop_word_count":
        return _stop_word_count(w)
    if name in ("bullet_line_ratio", "ellipsis_line_ratio"):
        return _gopher_lines(w)[name]
    if name in ("dup_line_frac", "dup_line_char_frac"):
        return _rep_lines(w)[name]
    if name in ("dup_para_frac", "dup_para_char_frac"):
        return _paragraphs(w)[name]
    if name in ("nonempty_line_count", "line_punct_ratio", "short_line_ratio", "dup_nonempty_line_char_frac"):
        return _fineweb_lines(w)[name]
    if m.family == "c4":
        return _c4(w)[name]
    assert m.n is not None
    return _top_ngram(w, m.n) if name.startswith("top_") else _dup_ngram(w, m.n)


_INTEGER_METRICS = {
    "char_count", "word_count", "non_symbol_word_count", "stop_word_count", "nonempty_line_count",
    "c4_sentence_count", "c4_lines_removed", "c4_chars_removed",
}
_FLAG_METRICS = {"c4_lorem_ipsum", "c4_curly_bracket"}


def metric_dtype(name: str) -> pl.DataType:
    if name in _INTEGER_METRICS:
        return pl.UInt32()
    if name in _FLAG_METRICS:
        return pl.UInt8()
    return pl.Float64()


BATCH_BYTES = 8_000_000
"""Texts are processed in batches of about this many bytes of text: every metric is per
document, so batches only bound memory (intermediate token frames take roughly 25 times
the text size) and change no value."""


def compute_metrics(
    text: pl.Series, names: list[str], params: dict[str, _Params] | None = None, c4_text: bool = False
) -> pl.DataFrame:
    """Metrics `names` for every text (nulls count as empty), one column per metric, same
    row order; with `c4_text`, also `_c4_text`: the text after C4's line cleaning."""
    text = text.fill_null("").cast(pl.String).rename("text")
    sizes = text.str.len_bytes().cast(pl.Int64).to_numpy()
    bounds = [0]
    if len(text):
        cuts = np.flatnonzero(np.diff(np.cumsum(sizes) // BATCH_BYTES)) + 1
        bounds += cuts.tolist()
    bounds.append(len(text))
    parts = []
    for start, stop in pairwise(bounds):
        if stop > start or len(text) == 0:
            parts.append(_compute_batch(text.slice(start, stop - start), names, params, c4_text))
    return pl.concat(parts) if len(parts) > 1 else parts[0]


def _compute_batch(text: pl.Series, names: list[str], params: dict[str, _Params] | None, c4_text: bool) -> pl.DataFrame:
    w = _Work(text, dict(params or {}))
    columns = {name: _series(_compute_one(w, name), metric_dtype(name)).rename(name) for name in names}
    if c4_text:
        columns["_c4_text"] = c4_cleaned_text(w)
    return pl.DataFrame(list(columns.values())) if columns else pl.DataFrame(height=len(text))
