"""The word n-gram metrics of `quality` (top_<n>gram_char_frac, dup_<n>gram_char_frac):
datatrove's find_top_duplicate and find_all_duplicate, vectorised over n-gram hashes."""

from __future__ import annotations

import numpy as np
import polars as pl

from curate.stages.quality.work import _P1, _first_flags, _mix, _ratio, _Work

# -- n-grams ----------------------------------------------------------------------------
#
# The n-gram starting at token i is identified by a 64-bit polynomial hash of its token
# hashes, mixed with the document index. A position can repeat an n-gram only if it
# repeats the (n-1)-gram too, so candidates shrink as n grows: the hash of n-grams is
# computed only at positions whose (n-1)-gram occurs twice or more in the document.


def _runs(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal keys grouped by sorting: (order, run start offsets in sorted order, run
    lengths). numpy's vectorised sort is 1.7x polars' arg_sort here, and sorting beats
    hashing."""
    order = np.argsort(keys)
    ordered = keys[order]
    starts = np.flatnonzero(np.concatenate([[True], ordered[1:] != ordered[:-1]])) if len(keys) else np.zeros(0, dtype=np.int64)
    lengths = np.diff(np.concatenate([starts, [len(keys)]]))
    return order, starts, lengths


def _repeated(keys: np.ndarray) -> np.ndarray:
    """True where the key occurs more than once (sort, then a hash lookup of the repeated
    values: cheaper than polars' is_duplicated on millions of rows; numpy's sort of 64-bit
    keys is 2.4x polars' here)."""
    if len(keys) < 2:
        return np.zeros(len(keys), dtype=bool)
    ordered = np.sort(keys)
    values = ordered[1:][ordered[1:] == ordered[:-1]]
    return pl.Series(keys, dtype=pl.UInt64).is_in(pl.Series(values, dtype=pl.UInt64).unique().implode()).to_numpy()


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


def _scanned_takes(pos: np.ndarray, key: np.ndarray, n: int) -> np.ndarray:
    """datatrove's scan itself over repeat positions `pos` (ascending, with their n-gram
    keys): the positions it takes. The positions left out hold n-grams that occur once in
    their document, which the scan only adds to its set, so they change no decision."""
    seen: set[int] = set()
    takes: list[int] = []
    resume = -1  # the position after the last jump
    for p, k in zip(pos.tolist(), key.tolist()):
        if p < resume:
            continue
        if k in seen:
            takes.append(p)
            resume = p + n
        else:
            seen.add(k)
    return np.array(takes, dtype=np.int64)


# Rounds of the vectorised fixed point before the documents still moving are scanned one
# position at a time. Nearly every document settles in two or three rounds (enwiki: all
# but a few in 8,000 by round 4), but a text made of runs of a few repeated words settles
# about one link of its chain per round (1,908 rounds for 50,000 words: 10 s), where the
# scan costs well under a microsecond per repeat position.
_FIXED_POINT_ROUNDS = 4


def _dup_ngram(w: _Work, n: int) -> np.ndarray:
    """datatrove's find_all_duplicate: scan positions left to right; an n-gram already in
    the set of n-grams of visited positions counts its characters (words joined without
    separator) and the scan jumps n words ahead (the positions jumped over are not
    visited: their n-grams are not added), else its n-gram is added and the scan moves
    one word.

    Vectorised as a fixed point over the positions whose n-gram occurs twice or more:
    given which of them are visited, a position repeats when an earlier visited position
    has its n-gram; repeats give the taken positions (`_greedy_takes`), taken positions
    the positions jumped over. Whether a position is visited in the next round depends
    only on earlier positions, so the scan's result is the only fixed point, and a round
    that leaves the positions before p unchanged has them right and gets p right too:
    from "all visited" the rounds reach the scan's result. A document still moving after
    `_FIXED_POINT_ROUNDS` gets the scan itself (`_scanned_takes`), so every value is the
    scan's.
    """
    cand = _ngram_candidates(w, n)
    pos, key = cand["pos"], cand["key"]
    token_doc = w.token_arrays()["doc"]
    doc = token_doc[pos]
    visited = np.ones(len(pos), dtype=bool)
    # Documents are independent: each round works only on the documents whose visited
    # positions changed in the round before; a settled document keeps the takes of its
    # last round.
    active = np.arange(len(pos))
    settled: list[np.ndarray] = []
    for _ in range(_FIXED_POINT_ROUNDS):
        at, at_doc, was = pos[active], doc[active], visited[active]
        live = np.flatnonzero(was)
        repeat = live[~_first_flags(key[active][live])]
        taken = _greedy_takes(at[repeat], at_doc[repeat], n)
        if len(taken) == 0 and not any(len(t) for t in settled):
            break
        now = np.ones(len(at), dtype=bool)
        if len(taken):
            last = np.searchsorted(taken, at, side="left") - 1  # latest take before each position
            now = ~((last >= 0) & (at < taken[np.maximum(last, 0)] + n))  # not inside a jump
        moving = np.zeros(w.n, dtype=bool)
        moving[at_doc[now != was]] = True
        settled.append(taken[~moving[token_doc[taken]]])
        taken = taken[moving[token_doc[taken]]]
        if not moving.any():
            break
        visited[active] = now
        active = active[moving[at_doc]]
    else:
        taken = _scanned_takes(pos[active], key[active], n)
    taken = np.concatenate([*settled, taken])
    value = w.per_doc(token_doc[taken], _ngram_chars(w, taken, n))
    return _ratio(value, w.chars())
