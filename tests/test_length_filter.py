"""length_filter: reasons in order, and words counted only when a word bound asks for it."""

from __future__ import annotations

import polars as pl

from curate.stages.base import REASON, Columns
from curate.stages.length_filter import LengthFilter, LengthFilterConfig

TEXTS = ["", None, "hi", "two words", "three short words", "x" * 30]


def run(**params) -> pl.DataFrame:
    stage = LengthFilter(LengthFilterConfig(stage="length_filter", **params), Columns())
    return stage.annotate(pl.DataFrame({"text": TEXTS}, schema={"text": pl.String}))


def test_reasons_in_order_with_word_bounds():
    out = run(min_chars=3, max_chars=20, min_words=2, max_words=2)
    assert out["text_chars"].to_list() == [0, 0, 2, 9, 17, 30]
    assert out["text_words"].to_list() == [0, 0, 1, 2, 3, 1]
    assert out[REASON].to_list() == ["empty_text", "empty_text", "too_few_chars", None, "too_many_words", "too_many_chars"]


def test_no_word_bound_counts_no_words():
    out = run(min_chars=3)
    assert out.columns == ["text", "text_chars", REASON]
    assert out[REASON].to_list() == ["empty_text", "empty_text", "too_few_chars", None, None, None]


def test_whitespace_alone_is_empty_and_invisible_format_characters_are_text():
    texts = ["   ", "\xa0\xa0", "\t\n", "\u3000\r\n\u2028", "\u200b", " ok ", "\u00a0Merci\u00a0!"]
    stage = LengthFilter(LengthFilterConfig(stage="length_filter", min_chars=0), Columns())
    out = stage.annotate(pl.DataFrame({"text": texts}))
    assert out["text_chars"].to_list() == [3, 2, 2, 4, 1, 4, 8]
    # as clean's clean_empty and quality's quality_empty: Unicode whitespace is empty; a
    # zero-width space (format character, not whitespace) is one character of text
    assert out[REASON].to_list() == ["empty_text"] * 4 + [None, None, None]
