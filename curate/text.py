"""Text normalisation and stable hashing shared by stages.

Normalisation is a chain of polars string expressions, applied in a fixed order so
that the same options always give the same text:
NFKC, lowercase, digits to 0, punctuation and symbols removed, whitespace collapsed.
"""

from __future__ import annotations

from typing import Literal

import polars as pl
import polars_hash as plh
from pydantic import BaseModel, ConfigDict


class Normalization(BaseModel):
    """Which normalisation steps run before a text is hashed or shingled."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    nfkc: bool = True
    """Unicode NFKC (compatibility forms such as full-width letters and ligatures fold)."""
    lowercase: bool = True
    """Unicode lowercase mapping (so "Apple" and "apple" compare equal)."""
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
        # The same as replacing every `\s+` with " ", but a lone space (most whitespace
        # in text) is not a match: 4x cheaper on prose (docs/benchmarks.md)
        out = out.str.replace_all(r"\s\s+|[^\S ]", " ").str.strip_chars(" ")
    return out


def stable_hash(texts: pl.Series) -> pl.Series:
    """XXH3-64 (seed 0) of each string's UTF-8 bytes, as UInt64; nulls hash like "".

    polars' own `hash()` changes between versions, so anything persisted or compared
    across runs uses this (computed in Rust by the polars-hash plugin).
    """
    frame = texts.fill_null("").cast(pl.String).rename("text").to_frame()
    return frame.select(plh.col("text").nchash.xxh3_64()).to_series().rename(texts.name)


def normalize_texts(texts: pl.Series, options: Normalization) -> pl.Series:
    """`normalized(pl.col(...), options)` for a Series, faster on real text (NFKC runs
    through `unicode_normal_form`). Used by near_dedup and exact_dedup."""
    texts = texts.fill_null("").cast(pl.String)
    if options.nfkc:
        texts = unicode_normal_form(texts, "NFKC")
        options = options.model_copy(update={"nfkc": False})
    return texts.to_frame("text").select(normalized(pl.col("text"), options)).to_series().rename(texts.name)


def unicode_normal_form(texts: pl.Series, form: Literal["NFC", "NFKC", "NFD", "NFKD"]) -> pl.Series:
    """Each text in Unicode normal form `form` (nulls as empty strings), fast on real text:
    normalising in polars is slow (~30 MB/s), so it runs only on rows that are not pure
    ASCII and that Python's `unicodedata.is_normalized` (a fast C check) says it would
    change. (Only a character new in a Unicode version that one of Python and polars has
    and the other lacks could make the two differ.)"""
    import unicodedata

    texts = texts.fill_null("").cast(pl.String).clone()  # scatter writes in place
    wide = (texts.str.len_bytes() != texts.str.len_chars()).arg_true()
    if len(wide):
        check = unicodedata.is_normalized
        changing = [i for i, text in zip(wide.to_list(), texts.gather(wide).to_list()) if not check(form, text)]
        if changing:
            rows = pl.Series(changing, dtype=pl.UInt32)
            texts = texts.scatter(rows, texts.gather(rows).str.normalize(form))
    return texts
