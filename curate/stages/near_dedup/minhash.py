"""Vectorised MinHash over batches of documents: shingling, shingle hashing, signatures
and LSH band keys, all numpy over the Arrow buffers of a polars string column (no Python
object per shingle except in the `sha1` hash, whose per-call cost is measured in
bench/near_dedup.py).

Signatures are bit-for-bit those of `datasketch.MinHash` for the same shingles, seed and
number of permutations (tests/test_near_dedup.py checks it):

- `scheme="affine32"` (datasketch >= 2.0 default): the 32-bit shingle hash is pre-mixed
  with the MurmurHash3 32-bit finaliser, then permuted by `a * h + b mod 2**32`;
- `scheme="legacy"` (datasketch < 2.0): `(a * h + b) mod (2**61 - 1)`, low 32 bits,
  with datasketch's uint64 wrap-around of `a * h`;
- permutation parameters come from `numpy.random.RandomState(seed)` exactly as datasketch
  draws them.

`sketch="one_permutation"` (an option, not datasketch's) uses the first permutation alone,
binned, with densified empty bins (`MinHasher._binned`).

Shingle hashes (`hash=`):

- `sha1`: the first 4 bytes (little endian) of SHA-1 of the shingle's UTF-8 bytes:
  datasketch's default `sha1_hash32`, so signatures equal datasketch's. One hashlib call
  per shingle (the slow part).
- `poly64`: a 64-bit polynomial hash of the shingle's UTF-8 bytes
  (`sum((byte + 1) * P**i) mod 2**64`, `P = POLY_BASE`), finalised by the MurmurHash3
  64-bit finaliser and truncated to its high 32 bits. Computed for every shingle of a
  batch at once with prefix sums, no per-shingle Python. Stable across versions
  (`poly64_hash32` is the one-shingle reference); equal to datasketch given
  `hashfunc=poly64_hash32`.

Word shingles: words are maximal runs of word characters (`str.isalnum()` or `_`, the
definition of Python's `re` `\\w`) of the normalised text; a shingle is `n` consecutive
words joined by one space; a document with 1..n-1 words has one shingle, all its words.
Character shingles: `n` consecutive characters (code points) of the normalised text; a
shorter non-empty text is one shingle. A text with no word (or no character) has no
shingle and the empty signature (every value the maximum), like an unused datasketch
MinHash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import polars as pl
import pyarrow as pa

from curate.text import Normalization, normalize_texts

Scheme = Literal["affine32", "legacy"]
Sketch = Literal["minhash", "one_permutation"]
ShingleHash = Literal["sha1", "poly64"]
Unit = Literal["word", "char"]

MAX_HASH = np.uint32(0xFFFFFFFF)
"""Value of an empty signature slot (datasketch's `_max_hash`)."""
MERSENNE = np.uint64((1 << 61) - 1)
POLY_BASE = 0xA0761D6478BD642F
"""Odd base of the `poly64` shingle hash (any odd number is invertible mod 2**64)."""
_MASK64 = (1 << 64) - 1
_POLY_BASE_INV = pow(POLY_BASE & _MASK64, -1, 1 << 64)
_BAND_BASE = np.uint64(0x9E3779B97F4A7C15)

_ASCII_WORD = np.array([chr(c).isalnum() or c == 95 for c in range(256)], dtype=bool)
_ASCII_WORD[128:] = False


# ---------------------------------------------------------------- mixing


def fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3 32-bit finaliser (datasketch's `_fmix(h, 32)`), elementwise on uint32."""
    h = h.astype(np.uint32, copy=True)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3 64-bit finaliser, elementwise on uint64."""
    h = h.astype(np.uint64, copy=True)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xFF51AFD7ED558CCD)
    h ^= h >> np.uint64(33)
    h *= np.uint64(0xC4CEB9FE1A85EC53)
    h ^= h >> np.uint64(33)
    return h


def _fmix64_int(h: int) -> int:
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK64
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK64
    return h ^ (h >> 33)


def poly64_hash32(data: bytes) -> int:
    """Reference (one shingle, pure Python) of the `poly64` shingle hash; usable as
    datasketch's `hashfunc`."""
    h, power = 0, 1
    for byte in data:
        h = (h + (byte + 1) * power) & _MASK64
        power = (power * POLY_BASE) & _MASK64
    return _fmix64_int(h) >> 32


def sha1_hash32(data: bytes) -> int:
    """datasketch's default `sha1_hash32`."""
    return int.from_bytes(hashlib.sha1(data).digest()[:4], "little")


# ---------------------------------------------------------------- text buffers


def utf8_buffer(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of all texts back to back (uint8) and the offsets (int64, n + 1)
    of each text in them, read from the Arrow buffers without a Python str per row.
    Nulls are empty texts."""
    arr = texts.fill_null("").cast(pl.String).to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if not pa.types.is_large_string(arr.type):
        arr = arr.cast(pa.large_string())
    if len(arr) == 0:
        return np.zeros(0, np.uint8), np.zeros(1, np.int64)
    _, offsets_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    lo, hi = int(offsets[0]), int(offsets[-1])
    data = np.frombuffer(data_buf, dtype=np.uint8)[lo:hi] if data_buf is not None else np.zeros(0, np.uint8)
    return data, offsets - lo


def word_bytes(data: np.ndarray) -> np.ndarray:
    """Per byte of UTF-8 `data`: does it belong to a word character (`isalnum()` or `_`)?"""
    word = _ASCII_WORD[data]
    lead = np.flatnonzero(data >= 0xC0)
    if lead.size:
        n = len(data)
        b0 = data[lead].astype(np.int64)
        b1 = data[np.minimum(lead + 1, n - 1)].astype(np.int64) & 0x3F
        b2 = data[np.minimum(lead + 2, n - 1)].astype(np.int64) & 0x3F
        b3 = data[np.minimum(lead + 3, n - 1)].astype(np.int64) & 0x3F
        two, three = b0 < 0xE0, (b0 >= 0xE0) & (b0 < 0xF0)
        cp = np.where(
            two,
            ((b0 & 0x1F) << 6) | b1,
            np.where(three, ((b0 & 0x0F) << 12) | (b1 << 6) | b2, ((b0 & 0x07) << 18) | (b1 << 12) | (b2 << 6) | b3),
        )
        points, inverse = np.unique(cp, return_inverse=True)
        classes = np.fromiter((chr(c).isalnum() for c in points.tolist()), dtype=bool, count=len(points))
        is_word = classes[inverse]
        word[lead] = is_word
        word[lead + 1] = is_word
        longer = ~two
        word[lead[longer] + 2] = is_word[longer]
        four = b0 >= 0xF0
        word[lead[four] + 3] = is_word[four]
    return word


@dataclass
class Spans:
    """Byte ranges `[start, end)` of shingles in `data`, grouped by document (`counts`)."""

    data: np.ndarray
    start: np.ndarray
    end: np.ndarray
    counts: np.ndarray


def _ngram_spans(
    unit_start: np.ndarray, unit_end: np.ndarray, unit_doc: np.ndarray, per_doc: np.ndarray, n: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spans of `n` consecutive units (words or characters) of one document; documents
    with 1..n-1 units get one span over all of them. Result sorted by document."""
    docs = len(per_doc)
    first = np.zeros(docs, np.int64)
    np.cumsum(per_doc[:-1], out=first[1:])
    limit = np.repeat(first + per_doc - (n - 1), per_doc)
    full = np.flatnonzero(np.arange(len(unit_doc)) < limit)
    starts, ends = unit_start[full], unit_end[full + (n - 1)]
    short = np.flatnonzero((per_doc > 0) & (per_doc < n))
    if short.size:
        starts = np.concatenate([starts, unit_start[first[short]]])
        ends = np.concatenate([ends, unit_end[first[short] + per_doc[short] - 1]])
        order = np.argsort(np.concatenate([unit_doc[full], short]), kind="stable")
        starts, ends = starts[order], ends[order]
    counts = np.maximum(per_doc - (n - 1), 0)
    counts[short] = 1
    return starts, ends, counts


def word_shingles(data: np.ndarray, offsets: np.ndarray, n: int) -> Spans:
    """Word n-gram spans. The words of each text are first copied into a new buffer,
    joined by one space, so that every shingle is a contiguous byte range there."""
    docs = len(offsets) - 1
    word = word_bytes(data)
    # +1 where a run of word bytes starts, -1 one past where it ends
    change = np.diff(word.view(np.int8), prepend=np.int8(0), append=np.int8(0))
    tok_start = np.flatnonzero(change == 1)
    tok_end = np.flatnonzero(change == -1)
    # a run across the boundary of two texts is two words
    inner = np.unique(offsets[1:-1])
    inner = inner[(inner > 0) & (inner < len(data))]
    cut = inner[word[inner - 1] & word[inner]] if inner.size else inner
    if cut.size:
        tok_start = np.insert(tok_start, np.searchsorted(tok_start, cut), cut)
        tok_end = np.insert(tok_end, np.searchsorted(tok_end, cut), cut)
    per_doc = np.diff(np.searchsorted(tok_start, offsets))
    tok_doc = np.repeat(np.arange(docs), per_doc)
    lengths = tok_end - tok_start
    # one space after each word followed by a word of the same text
    followed = np.zeros(len(tok_start), bool)
    followed[:-1] = tok_doc[1:] == tok_doc[:-1]
    keep = word
    keep[tok_end[followed]] = True
    joined = data[keep]
    new_start = np.zeros(len(tok_start), np.int64)
    np.cumsum((lengths + followed)[:-1], out=new_start[1:])
    new_end = new_start + lengths
    joined[new_end[followed]] = 32
    starts, ends, counts = _ngram_spans(new_start, new_end, tok_doc, per_doc, n)
    return Spans(joined, starts, ends, counts)


def char_shingles(data: np.ndarray, offsets: np.ndarray, n: int) -> Spans:
    """Character (code point) n-gram spans of the texts."""
    docs = len(offsets) - 1
    char_start = np.flatnonzero((data & 0xC0) != 0x80)
    char_end = np.append(char_start[1:], len(data)).astype(np.int64)
    per_doc = np.diff(np.searchsorted(char_start, offsets))
    char_doc = np.repeat(np.arange(docs), per_doc)
    starts, ends, counts = _ngram_spans(char_start, char_end, char_doc, per_doc, n)
    return Spans(data, starts, ends, counts)


# ---------------------------------------------------------------- shingle hashes


class _Powers:
    """Tables of P**i and P**-i mod 2**64, cached per process up to CACHED entries: a
    default batch of text (2 MiB, `document_signatures`) plus one, 32 MiB for both
    tables. A larger batch (a single longer text) gets tables of its own, dropped after
    it. They grow in steps of GROWTH entries, not by doubling, so that a batch of 2 MiB
    plus one byte does not cache 64 MiB more."""

    CACHED = (1 << 21) + 1
    GROWTH = 1 << 20
    forward = np.ones(1, np.uint64)
    inverse = np.ones(1, np.uint64)

    @staticmethod
    def _tables(size: int) -> tuple[np.ndarray, np.ndarray]:
        steps = np.full(size, POLY_BASE, np.uint64)
        steps[0] = 1
        forward = np.cumprod(steps, dtype=np.uint64)
        steps[1:] = _POLY_BASE_INV
        return forward, np.cumprod(steps, dtype=np.uint64)

    @classmethod
    def upto(cls, size: int) -> tuple[np.ndarray, np.ndarray]:
        if size > cls.CACHED:
            return cls._tables(size)
        if len(cls.forward) < size:
            steps = -(-(size - 1) // cls.GROWTH)
            cls.forward, cls.inverse = cls._tables(min(steps * cls.GROWTH + 1, cls.CACHED))
        return cls.forward[:size], cls.inverse[:size]


def hash_spans(spans: Spans, method: ShingleHash) -> np.ndarray:
    """32-bit hash (uint32) of every span's bytes."""
    if method == "sha1":
        view = memoryview(spans.data)
        sha1 = hashlib.sha1
        digests = b"".join([sha1(view[a:b]).digest()[:4] for a, b in zip(spans.start.tolist(), spans.end.tolist())])
        return np.frombuffer(digests, dtype="<u4").astype(np.uint32)
    if method == "poly64":
        # prefix sums of (byte + 1) * P**i over the buffer (UTF-8 has no byte 0xFF, so
        # byte + 1 fits a byte); P**-start shifts a span's sum to start at i = 0
        size = len(spans.data)
        forward, inverse = _Powers.upto(size + 1)
        prefix = np.empty(size + 1, np.uint64)
        prefix[0] = 0
        np.multiply(spans.data + np.uint8(1), forward[:size], out=prefix[1:], dtype=np.uint64)
        np.cumsum(prefix[1:], out=prefix[1:])
        h = prefix[spans.end]
        h -= prefix[spans.start]
        h *= inverse[spans.start]
        return (fmix64(h) >> np.uint64(32)).astype(np.uint32)
    raise ValueError(f"unknown shingle hash {method!r}")


def shingle_hashes(texts: pl.Series, unit: Unit = "word", n: int = 5, method: ShingleHash = "sha1") -> tuple[np.ndarray, np.ndarray]:
    """Hashes (uint32) of every shingle of every (already normalised) text, grouped by
    text, and the number of shingles of each text."""
    data, offsets = utf8_buffer(texts)
    spans = word_shingles(data, offsets, n) if unit == "word" else char_shingles(data, offsets, n)
    return hash_spans(spans, method), spans.counts


def document_signatures(
    texts: pl.Series,
    hasher: MinHasher,
    unit: Unit = "word",
    n: int = 5,
    method: ShingleHash = "sha1",
    batch_bytes: int = 1 << 21,
    keep_shingles: bool = False,
    normalization: Normalization | None = None,
) -> tuple[np.ndarray, np.ndarray, pl.Series | None]:
    """Signatures (docs x num_perm, uint32) and shingle counts of texts, computed in
    batches of about `batch_bytes` of text so the temporaries stay in cache. With
    `normalization`, each batch is normalised first (so a shard's normalised text never
    exists whole: that was ~40% of a worker's peak); without it the texts are taken as
    normalised. With `keep_shingles`, also each text's shingle hashes (a List[UInt32]
    Series, in text order, repeats kept), for exact Jaccard."""
    docs = len(texts)
    sizes = texts.fill_null("").str.len_bytes().cast(pl.Int64).to_numpy()
    ends = np.cumsum(sizes)
    sigs = np.empty((docs, hasher.num_perm), np.uint32)
    counts = np.zeros(docs, np.int64)
    lists: list[pl.Series] = [pl.Series("shingles", [], dtype=pl.List(pl.UInt32))]
    start = 0
    while start < docs:
        base = int(ends[start - 1]) if start else 0
        stop = max(int(np.searchsorted(ends, base + batch_bytes, side="right")), start + 1)
        batch = texts.slice(start, stop - start)
        if normalization is not None:
            batch = normalize_texts(batch, normalization)
        hashes, part_counts = shingle_hashes(batch, unit, n, method)
        sigs[start:stop] = hasher.signatures(hashes, part_counts)
        counts[start:stop] = part_counts
        if keep_shingles:
            lists.append(pl.Series("shingles", _lists(hashes, part_counts)))
        start = stop
    # one chunk per batch, as they come: a single chunk would be a second copy of them all
    shingles = pl.concat(lists, rechunk=False) if keep_shingles else None
    return sigs, counts, shingles


def _lists(hashes: np.ndarray, counts: np.ndarray) -> pa.Array:
    offsets = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    # through polars, not pa.array: pa.array of a numpy array imports pandas (~0.25 CPU s
    # in every worker process)
    return pa.LargeListArray.from_arrays(pl.Series(offsets).to_arrow(), pl.Series(hashes.astype(np.uint32, copy=False)).to_arrow())


def shingle_texts(texts: pl.Series, unit: Unit = "word", n: int = 5) -> list[list[bytes]]:
    """The shingles themselves (UTF-8, in order, repeats kept) of each text: for tests and
    for feeding datasketch the exact same sets."""
    data, offsets = utf8_buffer(texts)
    spans = word_shingles(data, offsets, n) if unit == "word" else char_shingles(data, offsets, n)
    raw = spans.data.tobytes()
    out: list[list[bytes]] = []
    at = 0
    for count in spans.counts.tolist():
        out.append([raw[a:b] for a, b in zip(spans.start[at : at + count].tolist(), spans.end[at : at + count].tolist())])
        at += count
    return out


# ---------------------------------------------------------------- signatures


@dataclass(frozen=True)
class MinHasher:
    """MinHash permutations of one configuration; `signatures` computes a batch."""

    num_perm: int = 128
    seed: int = 1
    scheme: Scheme = "affine32"
    sketch: Sketch = "minhash"
    """minhash: `num_perm` independent permutations (datasketch's); one_permutation: the
    first one alone, its range cut into `num_perm` bins, each slot the minimum of its bin,
    empty bins densified (`_densified`). affine32 only."""
    _perms: list = field(default_factory=list, repr=False, compare=False)

    def permutations(self) -> tuple[np.ndarray, np.ndarray]:
        """(a, b) exactly as datasketch's `MinHash._init_permutations` draws them."""
        if not self._perms:
            gen = np.random.RandomState(self.seed)
            if self.scheme == "legacy":
                pairs = np.array(
                    [(gen.randint(1, MERSENNE, dtype=np.uint64), gen.randint(0, MERSENNE, dtype=np.uint64)) for _ in range(self.num_perm)],
                    dtype=np.uint64,
                ).T
                self._perms.extend([pairs[0].copy(), pairs[1].copy()])
            elif self.scheme == "affine32":
                a = gen.randint(0, 1 << 31, self.num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
                b = gen.randint(0, 1 << 32, self.num_perm, dtype=np.uint32)
                self._perms.extend([a, b])
            else:
                raise ValueError(f"unknown MinHash scheme {self.scheme!r}")
        return self._perms[0], self._perms[1]

    def signatures(self, hashes: np.ndarray, counts: np.ndarray, chunk: int = 1 << 20) -> np.ndarray:
        """Signatures (docs x num_perm, uint32) of documents whose shingle hashes are
        `hashes` grouped by document, `counts[i]` of them for document i. A document
        without shingles gets the empty signature (all MAX_HASH)."""
        docs = len(counts)
        out = np.full((docs, self.num_perm), MAX_HASH, dtype=np.uint32)
        if docs == 0 or len(hashes) == 0:
            return out
        a, b = self.permutations()
        ends = np.cumsum(counts)
        # documents in chunks of about `chunk` shingles, so the temporaries stay small
        doc = 0
        while doc < docs:
            lo = int(ends[doc - 1]) if doc else 0
            stop = int(np.searchsorted(ends, lo + chunk, side="right"))
            stop = max(stop, doc + 1)
            hi = int(ends[stop - 1])
            part_counts = counts[doc:stop]
            filled = np.flatnonzero(part_counts > 0)
            if hi > lo and filled.size:
                starts = (np.concatenate([[0], np.cumsum(part_counts)[:-1]]))[filled]
                if self.sketch == "one_permutation":
                    out[doc + filled] = self._binned(hashes[lo:hi], part_counts[filled], a[0], b[0])
                else:
                    out[doc + filled] = self._min_block(hashes[lo:hi], starts, a, b).T
            doc = stop
        return out

    def _min_block(self, hashes: np.ndarray, starts: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        result = np.empty((self.num_perm, len(starts)), dtype=np.uint32)
        if self.scheme == "affine32":
            hv = fmix32(hashes.astype(np.uint32))
            buf = np.empty(len(hv), np.uint32)
            for k in range(self.num_perm):
                np.multiply(hv, a[k], out=buf)
                buf += b[k]
                result[k] = np.minimum.reduceat(buf, starts)
        else:
            hv = hashes.astype(np.uint64)
            buf = np.empty(len(hv), np.uint64)
            for k in range(self.num_perm):
                np.multiply(hv, a[k], out=buf)
                buf += b[k]
                buf %= MERSENNE
                buf &= np.uint64(0xFFFFFFFF)
                result[k] = np.minimum.reduceat(buf, starts)
        return result

    def _binned(self, hashes: np.ndarray, counts: np.ndarray, a: np.uint32, b: np.uint32) -> np.ndarray:
        """One-permutation hashing (Li, Owen and Zhang 2012) of documents with `counts`
        (all > 0) shingles: each shingle's permuted value falls in one of `num_perm` bins
        of the 32-bit range, a slot is its bin's minimum, and a document's empty bins are
        densified. One multiply-add per shingle instead of `num_perm`."""
        bins = self.num_perm
        values = fmix32(hashes) * a + b
        slot = np.repeat(np.arange(len(counts), dtype=np.int64) * bins, counts) + ((values.astype(np.uint64) * np.uint64(bins)) >> np.uint64(32)).astype(np.int64)
        out = np.full(len(counts) * bins, MAX_HASH, np.uint32)
        np.minimum.at(out, slot, values)
        return _densified(out.reshape(len(counts), bins))


def _densified(binned: np.ndarray) -> np.ndarray:
    """Optimal densification (Shrivastava 2017): an empty bin j of a document takes the
    value of bin `probe(j, t)` for the first attempt t = 1, 2, ... that lands on one of the
    document's non-empty bins. The probes depend on (j, t) only, the same for every
    document, so two documents agree on a densified slot as often as on a filled one
    (the estimate of Jaccard stays unbiased). Each attempt works on the bins still empty."""
    bins = binned.shape[1]
    empty = binned == MAX_HASH
    dense = binned.copy()
    docs, slots = np.nonzero(empty & ~empty.all(axis=1, keepdims=True))
    attempt = 0
    while len(docs):
        attempt += 1
        probe = (fmix32(slots.astype(np.uint32) * np.uint32(0x9E3779B1) ^ np.uint32(attempt * 0x85EBCA77 & 0xFFFFFFFF)) % np.uint32(bins)).astype(np.int64)
        found = ~empty[docs, probe]
        dense[docs[found], slots[found]] = binned[docs[found], probe[found]]
        docs, slots = docs[~found], slots[~found]
    return dense


def band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """LSH band keys (docs x bands, uint64): a 64-bit hash of each band's `rows` values.
    Two documents share a key in band i when (up to 64-bit collisions, which verification
    catches) their signatures agree on all of band i's rows."""
    docs = signatures.shape[0]
    keys = np.empty((docs, bands), np.uint64)
    for band in range(bands):
        h = np.full(docs, band + 1, np.uint64)
        for col in signatures[:, band * rows : (band + 1) * rows].T:
            h *= _BAND_BASE
            h += col.astype(np.uint64)
        keys[:, band] = fmix64(h)
    return keys


# ---------------------------------------------------------------- LSH parameters


def optimal_bands(threshold: float, num_perm: int, weights: tuple[float, float] = (0.5, 0.5)) -> tuple[int, int]:
    """(bands, rows) minimising the weighted false positive and false negative areas
    under the LSH S-curve: the same grid search as datasketch's `_optimal_param`, with the
    integrals done by Gauss-Legendre quadrature in numpy (no scipy)."""
    fp_weight, fn_weight = weights
    nodes, quad_weights = np.polynomial.legendre.leggauss(max(64, num_perm))

    def grid(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
        return (hi - lo) / 2 * nodes + (hi + lo) / 2, (hi - lo) / 2 * quad_weights

    s_fp, w_fp = grid(0.0, threshold)
    s_fn, w_fn = grid(threshold, 1.0)
    best, best_error = (0, 0), float("inf")
    for b in range(1, num_perm + 1):
        r = np.arange(1, num_perm // b + 1, dtype=np.float64)[:, None]
        fp = ((1 - (1 - s_fp[None, :] ** r) ** b) * w_fp).sum(axis=1)
        fn = ((1 - (1 - (1 - s_fn[None, :] ** r) ** b)) * w_fn).sum(axis=1)
        error = fp * fp_weight + fn * fn_weight
        i = int(np.argmin(error))
        if error[i] < best_error:
            best, best_error = (b, i + 1), float(error[i])
    return best
