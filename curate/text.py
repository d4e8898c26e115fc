"""Text normalisation and stable hashing shared by stages.

Normalisation is a chain of polars string expressions, applied in a fixed order so
that the same options always give the same text:
NFKC, lowercase, digits to 0, punctuation and symbols removed, whitespace collapsed.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import xxhash
from pydantic import BaseModel, ConfigDict


class Normalization(BaseModel):
    """Which normalisation steps run before a text is hashed or shingled."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    nfkc: bool = True
    """Unicode NFKC (compatibility forms such as full-width letters and ligatures fold)."""
    lowercase: bool = True
    digits: bool = False
    """Every digit becomes 0."""
    punctuation: bool = False
    """Remove Unicode punctuation and symbols."""
    whitespace: bool = True
    """Collapse runs of whitespace to one space and trim the ends."""


def normalized(text: pl.Expr, options: Normalization) -> pl.Expr:
    """`text` (nulls as empty strings) normalised by `options`."""
    out = text.fill_null("")
    if options.nfkc:
        out = out.str.normalize("NFKC")
    if options.lowercase:
        out = out.str.to_lowercase()
    if options.digits:
        out = out.str.replace_all(r"\d", "0")
    if options.punctuation:
        out = out.str.replace_all(r"[\p{P}\p{S}]", "")
    if options.whitespace:
        out = out.str.replace_all(r"\s+", " ").str.strip_chars(" ")
    return out


def stable_hash(texts: pl.Series) -> pl.Series:
    """XXH3-64 (seed 0) of each string's UTF-8 bytes, as UInt64.

    polars' own `hash()` changes between versions, so anything persisted or compared
    across runs uses this. Nulls hash like the empty string. The loop reads the Arrow
    buffers directly (no Python str is built per row); bench/exact_dedup.py measures it.
    """
    chunks = texts.fill_null("").cast(pl.String).to_arrow()
    if isinstance(chunks, pa.Array):
        chunks = pa.chunked_array([chunks])
    out = np.empty(len(texts), dtype=np.uint64)
    start = 0
    digest = xxhash.xxh3_64_intdigest
    for chunk in chunks.chunks:
        chunk = chunk.cast(pa.large_string()) if not pa.types.is_large_string(chunk.type) else chunk
        _, offsets_buf, data_buf = chunk.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=np.int64)[chunk.offset : chunk.offset + len(chunk) + 1]
        data = memoryview(data_buf) if data_buf is not None else memoryview(b"")
        out[start : start + len(chunk)] = [digest(data[a:b]) for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
        start += len(chunk)
    return pl.Series(texts.name, out, dtype=pl.UInt64)
