"""Every metric of curate.stages.quality.metrics on hand-made text with a known answer, the
word tokenizer against spaCy's English tokenization of typical chunks, and the n-gram
metrics against a plain-Python transcription of datatrove's algorithms."""

from __future__ import annotations

import math
import random
import re
from collections import Counter
from pathlib import Path

import polars as pl
import pytest

from curate.stages.quality.metrics import (
    C4LineParams,
    ShortLineParams,
    StopWordsParams,
    compute_metrics,
    metric,
    metric_names,
    word_tokens,
)
from curate.stages.quality.tokens import NON_SYMBOL_CHAR
from curate.stages.quality.work import letter_flags


def value(text: str, name: str, params: dict | None = None):
    return compute_metrics(pl.Series([text]), [name], params).to_dicts()[0][name]


def tokens(text: str) -> list[str]:
    return pl.select(word_tokens(pl.lit(text))).item().to_list()


# --- the tokenizer: spaCy English (blank "en") tokens for these chunks ------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, world!", ["Hello", ",", "world", "!"]),
        ("women's career.", ["women", "'s", "career", "."]),
        ("(born 1990)", ["(", "born", "1990", ")"]),
        ("the U.S. Army", ["the", "U.S.", "Army"]),
        ("USA.", ["USA", "."]),
        ("Plan A.", ["Plan", "A."]),
        ("St. Louis", ["St.", "Louis"]),
        ("e.g., this", ["e.g.", ",", "this"]),
        ("well-known", ["well", "-", "known"]),
        ("F-16 and COVID-19", ["F-16", "and", "COVID-19"]),
        ("1990-2000", ["1990", "-", "2000"]),
        ("2017–18", ["2017–18"]),
        ("10km", ["10", "km"]),
        ("50%", ["50", "%"]),
        ("$100", ["$", "100"]),
        ("3.5 and 10,000", ["3.5", "and", "10,000"]),
        ("x...y", ["x", "...", "y"]),
        ("wait…", ["wait", "…"]),
        ("didn't", ["did", "n't"]),
        ("I'll", ["I", "'ll"]),
        ("cannot", ["can", "not"]),
        ('"The end."', ['"', "The", "end", ".", '"']),
        ("and/or", ["and/or"]),
        ("a/b", ["a", "/", "b"]),
        ("10:30", ["10:30"]),
        ("AT&T", ["AT&T"]),
        ("-word word-", ["-word", "word-"]),
        ("17°C.", ["17", "°", "C", "."]),
        ("Ph.D.", ["Ph.D."]),
        ("Tehreek-e-Insaf", ["Tehreek", "-", "e", "-", "Insaf"]),
        ("one-and-a-half", ["one", "-", "and", "-", "a", "-", "half"]),
        ("14.90m.", ["14.90", "m."]),
        ("4G.", ["4G."]),
        ("Sa'id", ["Sa'id"]),
        ("see https://example.org/a-b/c.html.", ["see", "https://example.org/a-b/c.html", "."]),
    ],
)
def test_tokenizer_matches_spacy_on_typical_chunks(text, expected):
    assert tokens(text) == expected


def test_tokens_never_cross_a_newline_and_whitespace_is_no_token():
    assert tokens("one\n\ntwo  three\t.") == ["one", "two", "three", "."]


# --- word metrics ---------------------------------------------------------------------------

SENTENCE = "Hello, world! It's 3.5 km."  # Hello , world ! It 's 3.5 km .


def test_char_count_counts_code_points():
    assert value("héllo\nworld", "char_count") == 11


def test_word_count_includes_punctuation_tokens():
    assert value(SENTENCE, "word_count") == 9


def test_non_symbol_word_count_skips_punctuation_only_tokens():
    assert value(SENTENCE, "non_symbol_word_count") == 6


def test_mean_word_length_is_over_non_symbol_words():
    assert value(SENTENCE, "mean_word_length") == pytest.approx((5 + 5 + 2 + 2 + 3 + 2) / 6)
    assert value("... !!", "mean_word_length") is None


def test_hash_word_ratio():
    assert value("# a # b", "hash_word_ratio") == pytest.approx(2 / 4)
    assert value("", "hash_word_ratio") is None


def test_ellipsis_word_ratio_counts_both_spellings():
    assert value("wait... what… no", "ellipsis_word_ratio") == pytest.approx(2 / 5)


def test_alpha_word_ratio():
    assert value("abc 123 , x1", "alpha_word_ratio") == pytest.approx(2 / 4)


def test_no_letter_is_in_datatroves_punctuation_set():
    # a token with a letter is a non-symbol word: letter_flags tests the set only without one
    every_char = pl.Series([chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000])
    in_set = every_char.filter(~every_char.str.contains(NON_SYMBOL_CHAR))
    assert len(in_set) > 200 and not in_set.str.contains(r"\p{L}").any()
    alpha, ns = letter_flags(pl.Series(["word", "1990", ",", "…", "é", "$", "x1"]))
    assert alpha.to_list() == [True, False, False, False, True, False, True]
    assert ns.to_list() == [True, True, False, False, True, False, True]


def test_stop_word_count_is_distinct_and_case_sensitive():
    assert value("the cat and the dog with The", "stop_word_count") == 3
    german = {"stop_words": StopWordsParams(words=("der", "die"))}
    assert value("der Hund und die Katze der", "stop_word_count", german) == 2


def test_newline_word_ratio():
    assert value("a\nb\nc", "newline_word_ratio") == pytest.approx(2 / 3)


# --- line metrics ---------------------------------------------------------------------------


def test_bullet_line_ratio_over_splitlines():
    assert value("- a\n  • b\nc\n", "bullet_line_ratio") == pytest.approx(2 / 3)


def test_ellipsis_line_ratio():
    assert value("a...\nb …  \nc", "ellipsis_line_ratio") == pytest.approx(2 / 3)


def test_dup_line_metrics_split_on_runs_of_newlines():
    text = "a\nb\na\n\na"  # lines a b a a: two repeats of 1 character, 8 characters in all
    assert value(text, "dup_line_frac") == pytest.approx(2 / 4)
    assert value(text, "dup_line_char_frac") == pytest.approx(2 / 8)


def test_dup_line_frac_counts_the_empty_edges_of_re_split():
    # re.split("\n+", "\nx\n") == ["", "x", ""]: the second "" repeats the first
    assert value("\nx\n", "dup_line_frac") == pytest.approx(1 / 3)


def test_dup_para_metrics():
    text = "p1\n\np2\n\np1"
    assert value(text, "dup_para_frac") == pytest.approx(1 / 3)
    assert value(text, "dup_para_char_frac") == pytest.approx(2 / 10)
    # stripping the text makes " p1" and "p1" the same paragraph
    assert value(" p1\n\np1", "dup_para_frac") == pytest.approx(1 / 2)
    # a line of spaces does not separate paragraphs
    assert value("a\n \na\n\nb", "dup_para_frac") == 0.0


def test_nonempty_line_count():
    assert value("a\n \n\nb", "nonempty_line_count") == 2


def test_line_punct_ratio_needs_the_punctuation_last():
    assert value("Hello.\nworld\nHi!", "line_punct_ratio") == pytest.approx(2 / 3)
    assert value("Hello. \nworld", "line_punct_ratio") == 0.0


def test_short_line_ratio_and_its_parameter():
    text = "x" * 30 + "\n" + "y" * 31
    assert value(text, "short_line_ratio") == pytest.approx(1 / 2)
    assert value(text, "short_line_ratio", {"short_line": ShortLineParams(max_chars=31)}) == 1.0


def test_dup_nonempty_line_char_frac():
    assert value("ab\ncd\nab", "dup_nonempty_line_char_frac") == pytest.approx(2 / 6)


# --- n-grams ----------------------------------------------------------------------------------


def test_top_ngram_char_frac():
    # "a b" three times (3 characters each), over 11 characters
    assert value("a b a b a b", "top_2gram_char_frac") == pytest.approx(9 / 11)
    # all unique: the first 2-gram, once
    assert value("a b c d", "top_2gram_char_frac") == pytest.approx(3 / 7)
    assert value("a", "top_2gram_char_frac") == 0.0


def test_dup_ngram_char_frac():
    # the second "a b c d e" repeats the first: 5 characters (joined without spaces) of 19
    assert value("a b c d e a b c d e", "dup_5gram_char_frac") == pytest.approx(5 / 19)
    assert value("a b c d e f", "dup_5gram_char_frac") == 0.0


# plain transcriptions of datatrove's gopher_repetition_filter helpers (Apache-2.0)
def _find_top_duplicate(words: list[str], n: int) -> int:
    grams = [" ".join(words[i : i + n]) for i in range(len(words) - n + 1)]
    if not grams:
        return 0
    top = Counter(grams).most_common(1)[0]
    return len(top[0]) * top[1]


def _find_all_duplicate(words: list[str], n: int) -> int:
    unique, repeated, idx = set(), 0, 0
    while idx < len(words) - n + 1:
        gram = "".join(words[idx : idx + n])
        if gram in unique:
            repeated += len(gram)
            idx += n
        else:
            unique.add(gram)
            idx += 1
    return repeated


def test_ngram_metrics_agree_with_datatrove_algorithms_on_random_repetitive_texts():
    rng = random.Random(7)
    texts = []
    for _ in range(300):
        alphabet = ["x", "y", "zz", "w"][: rng.randint(2, 4)]
        words = [rng.choice(alphabet) for _ in range(rng.randint(0, 60))]
        if words and rng.random() < 0.5:  # periodic stretches exercise the jump-over rule
            words += words[: rng.randint(1, len(words))] * rng.randint(1, 3)
        texts.append(" ".join(words))
    names = [f"top_{n}gram_char_frac" for n in (2, 3, 4)] + [f"dup_{n}gram_char_frac" for n in range(5, 11)]
    got = compute_metrics(pl.Series(texts), names)
    for i, text in enumerate(texts):
        words = text.split()
        for n in (2, 3, 4):
            expected = _find_top_duplicate(words, n) / len(text) if text else None
            if expected is not None and len(words) < n:
                expected = 0.0
            assert got[f"top_{n}gram_char_frac"][i] == pytest.approx(expected), (text, n)
        for n in range(5, 11):
            expected = _find_all_duplicate(words, n) / len(text) if text else None
            assert got[f"dup_{n}gram_char_frac"][i] == pytest.approx(expected), (text, n)



def test_dup_ngram_char_frac_is_datatroves_on_texts_made_of_runs_of_repeated_words():
    # runs of a few repeated words chain each take to the one before: such a text settles
    # about one link per round of the fixed point (64 rounds left 1,000 words unsettled and
    # undercounted), so these go through the scan itself
    rng = random.Random(0)
    texts = []
    for _ in range(12):
        words: list[str] = []
        while len(words) < 1000:
            words += [rng.choice("abcd")] * rng.randint(1, 15)
        texts.append(" ".join(words[:1000]))
    texts.append("a b c d e a b c d e")  # settles in the fixed point, in the same batch
    got = compute_metrics(pl.Series(texts), [f"dup_{n}gram_char_frac" for n in range(5, 11)])
    for n in range(5, 11):
        expected = [_find_all_duplicate(text.split(), n) / len(text) for text in texts]
        assert got[f"dup_{n}gram_char_frac"].to_list() == pytest.approx(expected, rel=0, abs=1e-15), n

# --- C4 -----------------------------------------------------------------------------------------


def test_c4_sentence_count_over_kept_lines():
    text = "This is one. This is two! And three?\nToo short.\nNo punctuation here at all"
    assert value(text, "c4_sentence_count") == 3
    # an abbreviation's period does not end a sentence
    assert value("The U.S. Army is big. Yes it is.", "c4_sentence_count") == 2


def test_c4_lorem_ipsum_and_curly_bracket_only_on_lines_that_pass():
    assert value("Lorem ipsum dolor sit amet.", "c4_lorem_ipsum") == 1
    assert value("lorem ipsum", "c4_lorem_ipsum") == 0  # too short, no punctuation: dropped first
    assert value("The set {1, 2} is small.", "c4_curly_bracket") == 1
    assert value("Use javascript {x} here.", "c4_curly_bracket") == 0  # javascript line dropped first


def test_c4_line_cleaning_counts():
    text = "Keep this line here.\nshort\nAlso keep[1] this one."
    got = compute_metrics(pl.Series([text]), ["c4_lines_removed", "c4_chars_removed"], c4_text=True).to_dicts()[0]
    assert got["_c4_text"] == "Keep this line here.\nAlso keep this one."
    assert got["c4_lines_removed"] == 1
    assert got["c4_chars_removed"] == len(text) - len(got["_c4_text"])


def test_windows_line_ends_count_in_characters_but_not_in_decisions():
    unix = "Keep this line here.\nshort\nAlso keep[1] this one.\n\nA last line that stays."
    windows = unix.replace("\n", "\r\n")
    names = ["char_count", "c4_lines_removed", "c4_chars_removed", "c4_sentence_count", "line_punct_ratio", "dup_para_frac"]
    got = compute_metrics(pl.Series([windows, unix]), names, c4_text=True)
    assert got["_c4_text"].to_list() == ["Keep this line here.\nAlso keep this one.\nA last line that stays."] * 2
    assert got["char_count"].to_list() == [len(windows), len(unix)]
    assert got["c4_chars_removed"].to_list() == [len(windows) - len(got["_c4_text"][0]), len(unix) - len(got["_c4_text"][1])]
    decisions = [n for n in names if n not in ("char_count", "c4_chars_removed")]
    assert got.select(decisions).row(0) == got.select(decisions).row(1)


def test_c4_citation_leaving_a_trailing_space_drops_the_line():
    # as datatrove: the citation is removed after stripping, so the line ends in a space
    text = "First line is kept here.\nSecond line ends badly. [1]"
    got = compute_metrics(pl.Series([text]), ["c4_lines_removed"], c4_text=True).to_dicts()[0]
    assert got["c4_lines_removed"] == 1
    assert got["_c4_text"] == "First line is kept here."


def test_c4_parameters_change_the_line_filter():
    text = "no punctuation at the end\nTwo words."
    loose = {"c4_lines": C4LineParams(require_terminal_punct=False, min_words_per_line=2)}
    assert value(text, "c4_lines_removed") == 2
    assert value(text, "c4_lines_removed", loose) == 0


def test_c4_chars_removed_counts_a_leading_space_left_by_a_citation():
    text = "[1] Starts with a citation here.\n[2] And so does this line."
    got = compute_metrics(pl.Series([text]), ["c4_chars_removed"], c4_text=True).to_dicts()[0]
    assert got["_c4_text"] == "Starts with a citation here.\n And so does this line."
    assert got["c4_chars_removed"] == len(text) - len(got["_c4_text"])


# --- the library ----------------------------------------------------------------------------------


def test_every_fixed_metric_has_a_test_here():
    source = Path(__file__).read_text(encoding="utf-8")
    for name in metric_names():
        if "<n>" in name:
            continue
        assert f'"{name}"' in source, f"metric {name} has no test in this file"


def test_metric_lookup_covers_ngram_families_within_range():
    assert metric("top_3gram_char_frac").n == 3
    assert metric("dup_20gram_char_frac").n == 20
    assert metric("dup_21gram_char_frac") is None
    assert metric("nope") is None


def test_null_and_empty_texts():
    got = compute_metrics(pl.Series([None, "", "   "], dtype=pl.String), ["word_count", "char_count", "alpha_word_ratio", "dup_para_frac"])
    assert got["word_count"].to_list() == [0, 0, 0]
    assert got["char_count"].to_list() == [0, 0, 3]
    assert got["alpha_word_ratio"].to_list() == [None, None, None]
    assert got["dup_para_frac"].to_list() == [0.0, 0.0, 0.0]


def test_rows_keep_their_order_and_values_do_not_leak_between_documents():
    texts = ["a b c d e a b c d e", "x y", "a b c d e"]  # the third repeats the first, not itself
    got = compute_metrics(pl.Series(texts), ["dup_5gram_char_frac", "word_count"])
    assert got["word_count"].to_list() == [10, 2, 5]
    assert got["dup_5gram_char_frac"][2] == 0.0
    assert not math.isnan(got["dup_5gram_char_frac"][0])


def test_exotic_line_breaks_count_as_splitlines_does():
    text = "- a\r\n- b\u2028c"
    assert value(text, "bullet_line_ratio") == pytest.approx(2 / 3)
    assert re.split("\n+", "x") == ["x"]  # (the repetition metrics split on "\n" only)


def test_batches_change_no_value(monkeypatch):
    import curate.stages.quality.metrics as qm

    texts = ["a b c d e a b c d e\nx\nx", "Line one here.\n\nLine one here.", "", "z " * 30] * 5
    names = ["dup_5gram_char_frac", "top_2gram_char_frac", "dup_para_frac", "c4_sentence_count", "word_count"]
    whole = compute_metrics(pl.Series(texts), names, c4_text=True)
    monkeypatch.setattr(qm, "BATCH_BYTES", 40)
    assert compute_metrics(pl.Series(texts), names, c4_text=True).equals(whole)


def test_runs_with_their_own_parameters_give_each_run_its_own_values(monkeypatch):
    import curate.stages.quality.metrics as qm

    texts = [
        "Der Hund und die Katze.\nKurz.\nDer Hund ist da [1] und bleibt.",
        "the cat and the dog [2]\nshort\nThe dog is here and stays.",
        "- a\r\nLine one here.\n\nLine one here.",
        "",
        "a b c d e a b c d e\nx\nx",
    ] * 3
    names = ["stop_word_count", "short_line_ratio", "c4_sentence_count", "c4_lines_removed", "c4_chars_removed", "word_count", "dup_5gram_char_frac"]
    german = {"stop_words": StopWordsParams(words=("der", "und", "die")), "short_line": ShortLineParams(max_chars=5),
              "c4_lines": C4LineParams(remove_citations=False, min_words_per_line=2)}
    english = {"stop_words": StopWordsParams(), "short_line": ShortLineParams(), "c4_lines": C4LineParams()}
    runs = [(4, german), (7, english), (4, german)]
    starts = [0, 4, 11, 15]
    apart = pl.concat([compute_metrics(pl.Series(texts[a:b]), names, p, c4_text=True) for a, b, (_, p) in zip(starts, starts[1:], runs)])
    together = compute_metrics(pl.Series(texts), names, runs, c4_text=True)
    assert together.equals(apart)
    assert together["stop_word_count"].to_list()[:7] == [2, 0, 0, 0, 0, 0, 2]  # German words in German rows, English in English
    assert together.select("short_line_ratio", "c4_chars_removed").rows()[0:6:5] == [(1 / 3, 6), (2 / 3, 9)]  # one text, two runs
    monkeypatch.setattr(qm, "BATCH_BYTES", 60)  # batches cut through runs
    assert compute_metrics(pl.Series(texts), names, runs, c4_text=True).equals(apart)
