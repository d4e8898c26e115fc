"""Word tokenizers by language for the `quality` metrics.

Which tokenizer a row gets depends only on its language (docs/stages/quality.md#words-by-language):

- `english`: the spaCy-compatible English tokenizer of `curate.stages.quality.tokens`, for
  English and for rows without a language, so English decisions stay datatrove's;
- `segmenter`: ICU's dictionary word break iterator, for languages written without
  spaces between words (Chinese, Japanese, Thai, Lao, Khmer, Burmese) and Korean (whose
  spaces separate phrases, which ICU splits further at script changes and punctuation);
- `unicode`: Unicode word boundaries (UAX #29's word rules for letters, marks, digits,
  joiners and in-word punctuation) as one polars regular expression, for every other
  language (Armenian sentence marks stay on their word, as in spaCy's tokenizer).

Every tokenizer returns, per line, the list of its tokens without whitespace; punctuation
characters are tokens of their own, as in spaCy, so `word_count` counts them and
`non_symbol_word_count` does not.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

import polars as pl

from curate.errors import ConfigError
from curate.extras import install_command
from curate.stages.quality.tokens import tokenize

Tokenizer = Callable[[pl.Series], pl.Series]

SEGMENTED_LANGUAGES = frozenset({"zh", "ja", "th", "ko", "lo", "km", "my", "yue", "wuu"})
"""Languages whose words ICU's dictionary segmenter finds (ISO 639-1/-3 codes as the
`langid` stage writes them)."""
ENGLISH = frozenset({"en"})
SEGMENTER_PACKAGE = "pyicu-wheels"
"""The distribution that brings ICU (curate's `segment` extra)."""

# Word characters (UAX #29's ALetter with Extend and Format): letters, combining marks
# (Indic vowel signs, Vietnamese tone marks), connector punctuation, format characters
# (the zero-width (non-)joiners Persian, Bengali and Marathi write inside words, soft
# hyphens) and the Armenian emphasis, exclamation and question marks, which are written
# over a vowel inside the word. Han and Hiragana are one word per character (UAX #29
# gives them no word-joining property).
_L = r"[[\p{L}\p{M}\p{Pc}\p{Cf}\x{55B}\x{55C}\x{55E}]&&[^\p{Han}\p{Hiragana}]]"
# Armenian full stop, comma and apostrophe-like marks stay on the word they end: not
# UAX #29, but spaCy's tokenizer, with which FineWeb-2 computed its Armenian thresholds,
# splits off only the punctuation it knows, and these are not among it.
_ATTACHED = r"[\x{55A}\x{55D}\x{55F}\x{589}]"
# A word is a run of letter parts and number parts written together (WB9, WB10); inside a
# letter part, apostrophes, full stop, middle dot, colon and the Hebrew geresh/gershayim
# join letters (MidLetter, MidNumLet); inside a number part, . , ; ' and the Arabic
# separators join digits (MidNum, MidNumLet). Any other character is a token alone.
UNICODE_WORD_PATTERN = (
    rf"(?:\p{{N}}+(?:[.,;'’٫٬]\p{{N}}+)*|{_L}+(?:['’.·:\x{{5F3}}\x{{5F4}}]{_L}+)*)+{_ATTACHED}*"
    r"|\S"
)
"""Checked against ICU's UAX #29 word breaks: the same tokens on at least 97% of lingua
documents in Greek, Bengali, Vietnamese, Ukrainian, Russian and German
(tests/test_quality_languages.py); Armenian differs where `_ATTACHED` says."""


def unicode_words(text: pl.Series) -> pl.Series:
    """Unicode word-boundary tokens of every text (vectorised)."""
    return text.str.extract_all(UNICODE_WORD_PATTERN)


def tokenizer_name(lang: str | None) -> str:
    """`english`, `segmenter` or `unicode`: the tokenizer rows of language `lang` get."""
    if lang is None or lang in ENGLISH:
        return "english"
    base = lang.split("_")[0].split("-")[0].lower()
    if base in SEGMENTED_LANGUAGES:
        return "segmenter"
    return "unicode"


def tokenizer_for(lang: str | None) -> Tokenizer:
    name = tokenizer_name(lang)
    if name == "english":
        return tokenize
    if name == "unicode":
        return unicode_words
    return _icu_tokenizer(lang.split("_")[0].split("-")[0].lower())  # type: ignore[union-attr]


@lru_cache(maxsize=None)
def _icu_tokenizer(lang: str) -> Tokenizer:
    try:
        import icu
    except ImportError:
        raise ConfigError(
            f"quality: rows in language {lang!r} need a word segmenter; install it with "
            f"{install_command([SEGMENTER_PACKAGE], ['segment'])} and run the same command again to resume, "
            "or keep such rows out of the stage (langid's keep: list)"
        ) from None
    breaker = icu.BreakIterator.createWordInstance(icu.Locale(lang))

    def words(text: str) -> list[str]:
        if not text or text.isspace():
            return []
        # ICU's offsets count UTF-16 code units: equal to Python's code points unless the
        # text has characters outside the Basic Multilingual Plane (emoji, rare Han)
        wide = len(text.encode("utf-16-le")) != 2 * len(text)
        source = icu.UnicodeString(text) if wide else text
        breaker.setText(source)
        out = []
        start = 0
        for end in breaker:
            piece = str(source[start:end]) if wide else text[start:end]
            start = end
            if not piece.isspace():
                out.append(piece)
        return out

    def segment(text: pl.Series) -> pl.Series:
        # A dictionary segmenter has no vectorised form: one ICU call per line, about 1.3
        # million characters per second for Japanese (docs/benchmarks.md).
        return pl.Series(text.name, [words(t) for t in text.to_list()], dtype=pl.List(pl.String))

    return segment
