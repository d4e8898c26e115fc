"""C4's line filter (datatrove C4QualityFilter) as `quality` metrics: which lines it keeps,
the sentences of the kept lines, and the text after C4's line cleaning."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from curate.stages.quality.catalogue import C4_POLICY_SUBSTRINGS, C4LineParams
from curate.stages.quality.tokens import SENTENCE_END_CHARS, TERMINAL_PUNCTUATION_SET
from curate.stages.quality.work import _HASH_SEED, _isin, _Work, letter_flags, starts_or_ends_with_space

# -- C4 ---------------------------------------------------------------------------------

_CITATION = r"\[\d*\]|\[edit\]|\[citation needed\]"
_LINE_END = {"c4": "[.?!\"']", "unicode": f"[.?!\"'”’»」』{TERMINAL_PUNCTUATION_SET}]"}
"""Characters a kept line ends in, by C4LineParams.terminal_punct."""


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
    raw line, maybe with surrounding whitespace), lorem, curly, kept.

    Most lines contain no "[" (no citation to remove): their checks run on the raw line,
    with whitespace-tolerant patterns where a stripped line would be checked; only the
    other lines are stripped and cleaned first.
    """

    def build() -> pl.DataFrame:
        p: C4LineParams = w.params.get("c4_lines", C4LineParams())  # type: ignore[assignment]
        sl = w.splitlines()
        line = sl["line"]
        slow = sl["_line"].is_null()
        if p.remove_citations:
            slow = slow | line.str.contains("[", literal=True)
        # the few lines to clean are cleaned alone and put back in place
        slow_rows = slow.arg_true()
        t = line
        if len(slow_rows):
            cleaned = line.gather(slow_rows).str.strip_chars()
            t = line.clone().scatter(slow_rows, cleaned.str.replace_all(_CITATION, "") if p.remove_citations else cleaned)
        slow_rows = slow_rows.to_numpy()
        # word count and word length: from the line before citation removal (as datatrove)
        k = p.min_words_per_line
        ok = line.str.contains(r"\S+" + r"\s+\S+" * (k - 1)).to_numpy() if k > 0 else np.ones(sl.height, dtype=bool)
        if p.require_terminal_punct:
            last = _LINE_END[p.terminal_punct]
            end = (t.str.contains(last + r"\s*$") & ~t.str.contains(r"\.\.\.\s*$")).to_numpy()
            if len(slow_rows):
                ts = t.gather(slow_rows)
                end[slow_rows] = (ts.str.contains(last + "$") & ~ts.str.ends_with("...")).to_numpy()
            ok &= end
        if p.max_word_length != -1:
            # only lines longer than the limit can hold such a word: look at those alone
            long_rows = (line.str.len_chars() > p.max_word_length).arg_true()
            if len(long_rows):
                longest = line.gather(long_rows).str.extract_all(r"\S+").list.eval(pl.element().str.len_chars()).list.max()
                ok[long_rows.filter((longest > p.max_word_length).fill_null(False)).to_numpy()] = False
        # the rarer checks, on the lines that contain one of their strings at all
        policy = "|".join(re.escape(x) for x in C4_POLICY_SUBSTRINGS)
        special = t.str.contains(r"(?i)javascript|lorem ipsum|\{|" + policy).arg_true().to_numpy()
        lorem, curly, js, drop_policy = (np.zeros(sl.height, dtype=bool) for _ in range(4))
        if len(special):
            ts, ok_s = t.gather(special), ok[special]
            lorem[special] = ok_s & ts.str.contains("(?i)lorem ipsum").to_numpy()
            if p.drop_javascript_lines:
                js[special] = ts.str.contains("(?i)javascript").to_numpy()
            if p.drop_policy_lines:
                drop_policy[special] = ts.str.contains("(?i)" + policy).to_numpy()
            curly[special] = ok_s & ~js[special] & ts.str.contains("{", literal=True).to_numpy()
        fast = np.ones(sl.height, dtype=bool)
        fast[slow_rows] = False
        return pl.DataFrame(
            {"_doc": sl["_doc"], "_line": sl["_line"], "t": t, "fast": fast, "lorem": lorem, "curly": curly, "kept": ok & ~js & ~drop_policy}
        )

    return w.once("c4_lines", build)


CURLY_BEFORE_LOREM = "_c4_curly_before_lorem"
"""Per document: it has a kept line with "{" before any kept line with "lorem ipsum".
datatrove's C4QualityFilter returns at the first line with either (testing lorem ipsum
first on a line), so for a document with both its reason is then curly_bracket, else
lorem_ipsum."""


def _first_line(n_docs: int, doc: np.ndarray, hit: np.ndarray) -> np.ndarray:
    """Per document, the index (in the line frame, text order) of its first line where
    `hit`; inf where none."""
    rows = np.flatnonzero(hit)
    first = np.full(n_docs, np.inf)
    docs, at = np.unique(doc[rows], return_index=True)
    first[docs] = rows[at]
    return first


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
            local = pl.DataFrame({"_line": pl.int_range(retok.height, dtype=pl.UInt32, eager=True), "tok": w.tokenize(retok["t"])})
            local = local.explode("tok").drop_nulls("tok")
            local = local.with_columns(h=pl.col("tok").hash(_HASH_SEED), tlen=pl.col("tok").str.len_chars(), ns=letter_flags(local["tok"])[1])
            per_line = _sentence_starts(
                local["_line"].to_numpy().astype(np.int64), local["h"].to_numpy(), local["tlen"].to_numpy(), local["ns"].to_numpy(), retok.height
            )
            sentences += w.per_doc(retok["_doc"].to_numpy(), 1.0 + per_line)
        # length of "\n".join(kept lines).strip(): kept raw lines count stripped; a kept
        # cleaned line can start with a space left by a citation, which the final strip
        # removes only from the first kept line
        doc_kept = kept["_doc"].to_numpy()
        padded = starts_or_ends_with_space(kept["t"])
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
        lorem_line, curly_line = _first_line(w.n, doc_all, frame["lorem"].to_numpy()), _first_line(w.n, doc_all, frame["curly"].to_numpy())
        return {
            "c4_sentence_count": sentences,
            "c4_lorem_ipsum": (lorem_line < np.inf).astype(np.float64),
            "c4_curly_bracket": (curly_line < np.inf).astype(np.float64),
            # datatrove stops at the first line with either, testing lorem ipsum first
            CURLY_BEFORE_LOREM: curly_line < lorem_line,
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
