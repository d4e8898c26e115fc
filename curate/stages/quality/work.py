"""The intermediate results of one batch of texts for the `quality` metrics (`_Work`:
lines, word tokens and their hashes, each built once), the numpy helpers over them, and
the word and line metric groups computed from them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import polars as pl

from curate.stages.quality.catalogue import ShortLineParams, StopWordsParams, _Params
from curate.stages.quality.tokens import (
    NON_SYMBOL_CHAR,
    TERMINAL_PUNCTUATION_CHAR,
    tokenize,
)

# --- computation ------------------------------------------------------------------------
#
# Every intermediate result is built once per call of `compute_metrics` and shared:
# lines (text.split("\n") exploded), word tokens (exploded, with a 64-bit hash each),
# n-gram keys. Per-document sums use numpy's bincount on the document index; hashing,
# de-duplication and grouping use polars. No Python loop runs per document or per token.

_P1 = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit multipliers (wrapping arithmetic)
_P2 = np.uint64(0xC2B2AE3D27D4EB4F)
_LINE_BREAKS = r"\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]"
_HASH_SEED = 7


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN (null) where den is 0."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _series(values: np.ndarray, dtype: pl.DataType = pl.Float64) -> pl.Series:
    """A metric column: NaN (a ratio over nothing) becomes null. Built directly, not with
    fill_nan and cast expressions: each eager expression costs ~0.1 ms, and a shard
    builds hundreds of these columns."""
    series = pl.Series(values, nan_to_null=True)
    return series if series.dtype == dtype else series.cast(dtype)


def _first_flags(keys: np.ndarray) -> np.ndarray:
    """True where the key did not occur at an earlier position."""
    return pl.Series(keys, dtype=pl.UInt64).is_first_distinct().to_numpy()


def _isin(values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """values[i] in wanted, by hash lookup (numpy's isin sorts)."""
    return pl.Series(values, dtype=pl.UInt64).is_in(pl.Series(wanted, dtype=pl.UInt64).implode()).to_numpy()


def letter_flags(tok: pl.Series) -> tuple[pl.Series, pl.Series]:
    """Per token: whether it has a letter, and whether it is a non-symbol word (has a
    character outside datatrove's punctuation set). Letters are outside that set, so the
    second test runs only on the tokens without a letter (a fifth of English tokens)."""
    alpha = tok.str.contains(r"\p{L}")
    rows = (~alpha).arg_true()
    return alpha, alpha.clone().scatter(rows, tok.gather(rows).str.contains(NON_SYMBOL_CHAR))


def starts_or_ends_with_space(text: pl.Series) -> np.ndarray:
    """Whether each text starts or ends with whitespace. Two anchored patterns: the regex
    engine tests `\\s$` from the end of the text, where `^\\s|\\s$` scans all of it."""
    return (text.str.contains(r"^\s") | text.str.contains(r"\s$")).to_numpy()


def _mix(h: np.ndarray, doc: np.ndarray) -> np.ndarray:
    """A per-document key: equal values in different documents never collide."""
    with np.errstate(over="ignore"):
        return h ^ (doc.astype(np.uint64) * _P2)


class _Work:
    """One column of texts and the intermediate results built from it, each once."""

    def __init__(self, text: pl.Series, params: dict[str, _Params], tokenizer: Callable[[pl.Series], pl.Series] = tokenize):
        self.text = text
        self.params = params
        self.tokenize = tokenizer
        """Lines -> their word tokens (curate.stages.quality.segment: by language)."""
        self.n = len(text)
        self.cache: dict[str, Any] = {}
        self.parent: tuple[_Work, int] | None = None
        """For a view: the work it is cut from and its first document there."""

    def view(self, start: int, stop: int, params: dict[str, _Params]) -> _Work:
        """Documents start..stop (a run of rows of one language) with their own parameters.
        Its lines and tokens are cut from this work's, not computed again: the metrics that
        read parameters are computed on the view, every other metric once on the whole."""
        view = _Work(self.text.slice(start, stop - start), params, self.tokenize)
        view.parent = (self, start)
        return view

    def _cut(self, docs: np.ndarray) -> tuple[int, int, int]:
        """For a view: which of the parent's rows (in document order, `docs` their document
        indexes) belong to the view, as (first, stop), and the parent's line id of the
        view's first line."""
        parent, start = self.parent  # type: ignore[misc]
        lo, hi = np.searchsorted(docs, [start, start + self.n])
        first_line = int(np.searchsorted(parent.lines()["_doc"].to_numpy(), start))
        return int(lo), int(hi), first_line

    def _cut_frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The view's rows of one of the parent's frames (with `_doc`, maybe `_line`),
        numbered as the view's own documents and lines."""
        lo, hi, first_line = self._cut(frame["_doc"].to_numpy())
        start = self.parent[1]  # type: ignore[index]
        shifted = [(pl.col("_doc") - start).cast(pl.UInt32)]
        if "_line" in frame.columns:
            shifted.append((pl.col("_line") - first_line).cast(pl.UInt32))
        return frame.slice(lo, hi - lo).with_columns(shifted)

    def once(self, key: str, build: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = build()
        return self.cache[key]

    def per_doc(self, doc: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        return np.bincount(doc, weights=weights, minlength=self.n)[: self.n]

    def token_bounds(self) -> np.ndarray:
        """Index of each document's first token, and the number of tokens last (tokens
        are in document order)."""
        return self.once("token_bounds", lambda: np.searchsorted(self.token_arrays()["doc"], np.arange(self.n + 1)))

    def token_sums(self, values: np.ndarray) -> np.ndarray:
        """Per document: the sum of integer (or boolean) `values`, one per token: the
        differences of one cumulative sum at the documents' first tokens, cheaper than a
        weighted bincount over millions of tokens."""
        bounds = self.token_bounds()
        total = np.concatenate([[0], np.cumsum(values, dtype=np.int64)])
        return total[bounds[1:]] - total[bounds[:-1]]

    def chars(self) -> np.ndarray:
        return self.once("chars", lambda: self.text.str.len_chars().to_numpy().astype(np.int64))

    def lines(self) -> pl.DataFrame:
        """text.split("\\n") exploded: _doc, _li (index in its document), _nlines, line;
        row i is line i (the global line id)."""

        def build() -> pl.DataFrame:
            if self.parent is not None:
                return self._cut_frame(self.parent[0].lines())
            split = self.text.str.split("\n")
            frame = pl.DataFrame(
                {"_doc": pl.int_range(self.n, dtype=pl.UInt32, eager=True), "line": split, "_nlines": split.list.len().cast(pl.UInt32)}
            )
            return frame.with_columns(_li=pl.int_ranges(0, pl.col("_nlines"), dtype=pl.UInt32)).explode(["line", "_li"])

        return self.once("lines", build)

    def tokens(self) -> pl.DataFrame:
        """Word tokens of every line, in order: _doc, _line, tok, h (64-bit hash), tlen,
        alpha (has a letter), ns (a non-symbol word). Tokens never cross a newline, so
        tokenizing lines is tokenizing the text."""

        def build() -> pl.DataFrame:
            if self.parent is not None:
                return self._cut_frame(self.parent[0].tokens())
            lines = self.lines()
            frame = pl.DataFrame(
                {"_doc": lines["_doc"], "_line": pl.int_range(lines.height, dtype=pl.UInt32, eager=True), "tok": self.tokenize(lines["line"])}
            )
            frame = frame.explode("tok").drop_nulls("tok")
            alpha, ns = letter_flags(frame["tok"])
            return frame.with_columns(
                h=pl.col("tok").hash(_HASH_SEED), tlen=pl.col("tok").str.len_chars().cast(pl.UInt32), alpha=alpha, ns=ns
            )

        return self.once("tokens", build)

    def token_arrays(self) -> dict[str, np.ndarray]:
        def build() -> dict[str, np.ndarray]:
            if self.parent is not None:
                parent, start = self.parent
                whole = parent.token_arrays()
                lo, hi, first_line = self._cut(whole["doc"])
                cut = {name: values[lo:hi] for name, values in whole.items()}
                return {**cut, "doc": cut["doc"] - start, "line": cut["line"] - first_line}
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
            return {
                "n": np.diff(self.token_bounds()),
                "ns": self.token_sums(a["ns"]),
                "ns_len": self.token_sums(np.where(a["ns"], a["tlen"], 0)),
            }

        return self.once("word_counts", build)

    def splitlines(self) -> pl.DataFrame:
        """Lines as Python's str.splitlines: _doc, _line (raw line id, or null when the text
        has other line breaks than "\\n" and lines were split anew), line."""

        def build() -> pl.DataFrame:
            if self.parent is not None:
                return self._cut_frame(self.parent[0].splitlines())
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
    return _ratio(w.token_sums(w.tokens()["alpha"].to_numpy()), w.word_counts()["n"])


def _stop_word_count(w: _Work) -> np.ndarray:
    words = list(w.params.get("stop_words", StopWordsParams()).words)  # type: ignore[attr-defined]
    if not words:
        return np.zeros(w.n)
    wanted = pl.Series(words, dtype=pl.String).hash(_HASH_SEED).to_numpy()
    a = w.token_arrays()
    hit = _isin(a["h"], wanted)
    docs = a["doc"][hit]
    distinct = _first_flags(_mix(a["h"][hit], docs))  # distinct (word, document) pairs
    return w.per_doc(docs[distinct]).astype(np.float64)


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
        candidates = (_rep_lines(w)["_dup_lines"] > 0) | starts_or_ends_with_space(w.text)
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
