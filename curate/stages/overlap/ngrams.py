"""Word n-gram hashes of documents, vectorised: no Python object per word or n-gram.

Words are the maximal runs of word characters (regex `\\w`: letters, digits, `_`) of the
normalised text (curate.text). Each word is hashed with XXH3-64 (`stable_hash`); the hash
of an n-gram starting at word j is the polynomial

    fmix64(w[j] * B**(n-1) + w[j+1] * B**(n-2) + ... + w[j+n-1])   (mod 2**64)

of its words' hashes (B odd, `NGRAM_BASE`; fmix64 the MurmurHash3 64-bit finaliser), so it
depends on the words and their order only, is the same on every machine and version, and
is computed for all n-grams of a batch with n multiply-adds over numpy arrays. A document
with fewer than n words has no n-gram (a passage shorter than n words cannot match).
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from curate.text import Normalization, normalize_texts, stable_hash

NGRAM_BASE = np.uint64(0x9E3779B97F4A7C15)
"""Odd multiplier of the n-gram polynomial."""


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finaliser: spreads the polynomial's bits so `hash % partitions`
    is uniform."""
    h = h ^ (h >> np.uint64(33))
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


BATCH_BYTES = 4 << 20
"""Texts are hashed in batches of about this many bytes: the words of a batch (a string
and two 8-byte numbers each) are the peak, so memory is bounded by the batch, not the shard."""


def ngram_hashes(texts: pl.Series, n: int, normalize: Normalization) -> pl.DataFrame:
    """Distinct n-gram hashes of each text: columns `row` (UInt32, the text's position
    in `texts`) and `ngram` (UInt64), one row per (text, distinct n-gram), sorted."""
    sizes = texts.fill_null("").str.len_bytes().cast(pl.Int64).cum_sum().to_numpy()
    cuts = np.searchsorted(sizes, np.arange(BATCH_BYTES, (sizes[-1] if len(sizes) else 0) + 1, BATCH_BYTES), side="right")
    bounds = np.unique(np.concatenate([[0], cuts, [len(texts)]]))
    batches = [_batch_hashes(texts.slice(lo, hi - lo), n, normalize).with_columns((pl.col("row") + int(lo)).cast(pl.UInt32)) for lo, hi in itertools.pairwise(bounds)]
    return pl.concat(batches) if batches else pl.DataFrame(schema={"row": pl.UInt32, "ngram": pl.UInt64})


WORD = r"\w+"


def has_ngram(texts: pl.Series, n: int, normalize: Normalization) -> bool:
    """Whether some text has an n-gram (`n` words after `normalize`), without hashing."""
    options = normalize.model_copy(update={"whitespace": False})
    return bool((normalize_texts(texts, options).str.count_matches(WORD) >= n).any())


def _batch_hashes(texts: pl.Series, n: int, normalize: Normalization) -> pl.DataFrame:
    options = normalize.model_copy(update={"whitespace": False})  # words never contain whitespace
    words = (
        normalize_texts(texts, options)
        .str.extract_all(WORD)
        .rename("word")
        .to_frame()
        .with_row_index("row")
        .explode("word")
        .drop_nulls("word")
    )
    row = words["row"].to_numpy()
    word = stable_hash(words["word"]).to_numpy()
    del words
    starts = len(word) - n + 1
    if starts <= 0:
        return pl.DataFrame(schema={"row": pl.UInt32, "ngram": pl.UInt64})
    # an n-gram starts at word j when word j + n - 1 belongs to the same text
    valid = np.flatnonzero(row[:starts] == row[n - 1 :])
    acc = np.zeros(starts, np.uint64)
    with np.errstate(over="ignore"):
        for i in range(n):  # slices are views: n multiply-adds over the whole batch
            acc *= NGRAM_BASE
            acc += word[i : starts + i]
        hashes = _fmix64(acc[valid])
    ngrams = pl.DataFrame({"row": row[valid], "ngram": hashes}, schema={"row": pl.UInt32, "ngram": pl.UInt64})
    # distinct per text: sorted, a repeat equals its predecessor (faster than unique())
    ngrams = ngrams.sort("row", "ngram")
    return ngrams.filter((pl.col("ngram") != pl.col("ngram").shift()) | (pl.col("row") != pl.col("row").shift()) | (pl.int_range(pl.len()) == 0))


def partition_of(ngram: pl.Expr, partitions: int) -> pl.Expr:
    """The hash partition of an n-gram: equal n-grams always meet in one partition."""
    return (ngram % partitions).cast(pl.UInt32)
