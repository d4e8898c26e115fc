"""The clean stage: rewrites text into plain text. Markup (HTML, MediaWiki, Markdown, or
a guess per row) becomes text, broken Unicode is repaired and put in one normal form,
and lines are tidied. It follows the contract of stages that rewrite text
(`curate.stages.base.RewritesText`): in filter mode the clean text replaces the text
column of kept rows; in annotate mode it goes to `<name>_text`. Rows left without any
text are removed as `clean_empty`. docs/stages/clean.md.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any, Literal

import polars as pl

from curate.stages.base import REASON, RewriteConfig, RewritesText, ShardStage
from curate.stages.clean.markup import BR, KINDS, PACKAGES, could_hold, converter, guess, need_package, text_with_tags
from curate.text import unicode_normal_form

EMPTY = "clean_empty"

CLEANERS = ("br", "fix_unicode", "markup", "normal_form", "debris_lines", "whitespace")
"""The steps, in the order they run; `<name>_changed_by` names the ones that changed a row."""


_CONTENT = r"\p{L}\p{N}\p{Emoji_Presentation}\x{FE0F}\p{Regional_Indicator}"
"""What makes a line text: a letter, a digit, or an emoji as emoji (a character shown as
one by default, 👍 ⭐ 🎉, one asked to be, ❤️ ✔️ with U+FE0F, and the letters of flags,
🇫🇷): a review's star rating or a reply of one emoji is the author's, not markup. Symbols
that are pictographs only in Unicode's wider sense (▪ ▶ ☰ © ™ ★) are bullets and
decoration, as debris as `|}`."""
_DEBRIS_LINE = rf"(?m)^[^{_CONTENT}\n]*[^{_CONTENT}\s][^{_CONTENT}\n]*$\n?"
"""A line without a letter, a digit or an emoji: `|}`, `----`, `* * *`, `───` (box
drawing), `▪`, a lone bullet or pipe. A line of spaces alone is no debris: it separates
paragraphs (the whitespace step trims it)."""


class CleanConfig(RewriteConfig):
    stage: Literal["clean"] = "clean"
    markup: Literal["none", "html", "wikitext", "markdown", "auto"] = "auto"
    """Markup to turn into text: html (resiliparse), wikitext (MediaWiki, with
    mwparserfromhell), markdown (CommonMark, with markdown-it-py), auto (per row, from
    what the text looks like: an HTML page, then wikitext, then HTML, then Markdown,
    else none), none."""
    html_main_content: bool = True
    """HTML: keep the main content only (navigation, headers, footers and other page
    boilerplate removed). false: every visible text."""
    fix_unicode: bool = True
    """Repair mojibake, control characters and broken line breaks with ftfy (curly
    quotes are kept), and decode HTML entities in rows without markup (a converter
    decodes a marked-up row's entities as it reads the markup)."""
    normal_form: Literal["NFC", "NFKC", "NFD", "NFKD", "none"] = "NFC"
    """Unicode normal form of the clean text."""
    br_to_newline: bool = True
    """`<br>` tags become newlines in rows not parsed as HTML (the HTML parser does it
    itself), e.g. IMDB reviews in plain text with `<br />`."""
    drop_debris_lines: bool = True
    """Remove lines that have no letter, digit or emoji (markup leftovers such as `|}`, `----`)."""
    collapse_whitespace: bool = True
    """Line breaks become newlines, runs of spaces and tabs become one space, lines are
    trimmed, more than one empty line becomes one, and the text is trimmed."""


class Clean(RewritesText, ShardStage):
    kind = "clean"
    summary = "Rewrite text as plain text: HTML, wikitext or Markdown to text, Unicode repair, tidy lines."
    Config = CleanConfig
    config: CleanConfig

    @property
    def markup_column(self) -> str:
        return f"{self.name}_markup"

    @property
    def changed_by_column(self) -> str:
        return f"{self.name}_changed_by"

    def removal_reasons(self) -> list[str]:
        return [EMPTY]

    def added_columns(self) -> list[str]:
        return [*self.rewrite_added_columns(), self.markup_column, self.changed_by_column]

    def packages(self) -> dict[str, str]:
        cfg = self.config
        needed = {"ftfy": "fix_unicode"} if cfg.fix_unicode else {}
        kinds = KINDS if cfg.markup == "auto" else (cfg.markup,)  # auto: any row may hold any markup
        for kind in kinds:
            needed.update(dict.fromkeys(PACKAGES.get(kind, ()), f"markup: {cfg.markup}"))
        return needed

    def annotate(self, frame: pl.DataFrame) -> pl.DataFrame:
        cfg = self.config
        original = frame.select(self.text()).to_series()
        text = original
        if cfg.markup == "auto":
            kinds = frame.select(guess(self.text())).to_series()
        else:
            kinds = pl.Series([cfg.markup] * frame.height, dtype=pl.String)
        changed: dict[str, pl.Series] = {}

        def step(name: str, new: pl.Series) -> pl.Series:
            changed[name] = new != text
            return new

        # <br> tags as the source writes them: before ftfy decodes a `&lt;br&gt;` into one
        if cfg.br_to_newline:
            text = step("br", text.str.replace_all(BR, "\n").zip_with(kinds != "html", text))
        if cfg.fix_unicode:
            text = step("fix_unicode", _fix_unicode(text, decode_entities=kinds == "none"))
        if cfg.markup != "none":
            text = step("markup", _convert(text, kinds, cfg.html_main_content))
        if cfg.normal_form != "none":
            text = step("normal_form", unicode_normal_form(text, cfg.normal_form))
        if cfg.drop_debris_lines:
            text = step("debris_lines", text.str.replace_all(_DEBRIS_LINE, ""))
        if cfg.collapse_whitespace:
            text = step("whitespace", _collapse_whitespace(text))
        flags = pl.DataFrame(changed) if changed else pl.DataFrame({"_": [False] * frame.height})
        changed_by = flags.select(
            pl.concat_list([pl.when(pl.col(n)).then(pl.lit(n)).otherwise(None) for n in flags.columns]).list.drop_nulls()
        ).to_series()
        return frame.with_columns(
            *self.rewrite_columns(pl.lit(original), pl.lit(text)),
            kinds.alias(self.markup_column),
            changed_by.alias(self.changed_by_column),
            pl.when(pl.lit(text).str.contains(r"\S")).then(None).otherwise(pl.lit(EMPTY)).alias(REASON),
        )

    def shard_stats(self, annotated: pl.DataFrame) -> dict[str, Any]:
        cleaners = annotated[self.changed_by_column].explode().drop_nulls().value_counts()
        return {
            "rows": annotated.height,
            "rows_by_markup": {k: int(n) for k, n in annotated[self.markup_column].value_counts().iter_rows()},
            "rows_changed_by": {k: int(n) for k, n in cleaners.iter_rows()},
            "rows_changed": int((annotated[self.changed_by_column].list.len() > 0).sum()),
            "chars_removed": int(annotated[self.chars_removed_column].sum()),
            "rows_left_empty": int((annotated[REASON] == EMPTY).sum()),
        }

    def finish_stats(self, merged: dict[str, Any], applied: bool = True) -> dict[str, Any]:
        out = dict(merged)
        out["rows_by_markup"] = {k: merged.get("rows_by_markup", {}).get(k, 0) for k in KINDS}
        out["rows_changed_by"] = {k: merged.get("rows_changed_by", {}).get(k, 0) for k in CLEANERS}
        return out


def _fix_unicode(texts: pl.Series, decode_entities: pl.Series) -> pl.Series:
    """ftfy on the rows it can change: those holding a character one of its character
    fixes acts on, and those where its mojibake detector (`is_bad`, one regex) flags a
    segment; ftfy itself only tries to fix an encoding where `is_bad` flags the segment
    (a line, or a piece of a line longer than `max_decode_length`). Identical output to
    ftfy on every row (tests/test_clean.py), at a fraction of the time on real text.
    HTML entities are decoded (ftfy's default, in text without a `<`) only in the rows
    `decode_entities` marks: in a row a converter reads, a decoded `&lt;script&gt;`
    would be parsed as the tag the text mentions, and the converters decode entities
    themselves once the markup is read."""
    ftfy = need_package("ftfy", "ftfy")

    # Full-width forms stay (，：１２３ are how CJK text is typeset); normal_form: NFKC folds them.
    fixer = ftfy.TextFixerConfig(uncurl_quotes=False, fix_character_width=False, normalization=None, explain=False)
    fixers = {True: fixer, False: fixer._replace(unescape_html=False)}
    acted_on = texts.str.contains(_ftfy_characters())
    wide = (texts.str.len_bytes() != texts.str.len_chars()) & ~acted_on
    rows = acted_on.arg_true()
    candidates = wide.arg_true()
    if len(candidates):
        is_bad_somewhere = _segment_is_bad(fixer.max_decode_length)
        bad = [i for i, text in zip(candidates.to_list(), texts.gather(candidates).to_list()) if is_bad_somewhere(text)]
        rows = pl.concat([rows, pl.Series(bad, dtype=rows.dtype)]).sort()
    if not len(rows):
        return texts
    fixed = [ftfy.fix_text(t, fixers[decode]) for t, decode in zip(texts.gather(rows).to_list(), decode_entities.gather(rows).to_list())]
    return texts.clone().scatter(rows, pl.Series(fixed, dtype=pl.String))  # clone: scatter writes in place


@cache
def _segment_is_bad(max_decode_length: int) -> Callable[[str], bool]:
    """Whether ftfy's `is_bad` flags a segment of the text: ftfy fixes a text in segments,
    each line (up to and with its `\n`) cut every `max_decode_length` characters. Its
    regex anchors one pattern at the start (`^[ÃÂ] `), so the whole text can pass where a
    later line fails: searched with `^` matching after every newline, one search finds
    every flagged line (and may flag a match across lines, which only sends one more row
    to ftfy). A text over `max_decode_length` is cut mid-line too: its pieces are searched
    as ftfy cuts them."""
    from ftfy.badness import BADNESS_RE, is_bad

    any_line = re.compile(BADNESS_RE.pattern, BADNESS_RE.flags | re.MULTILINE)

    def segments(text: str) -> Iterator[str]:  # as ftfy.fix_text cuts them
        pos = 0
        while pos < len(text):
            end = min(text.find("\n", pos) + 1 or len(text), pos + max_decode_length)
            yield text[pos:end]
            pos = end

    def flagged(text: str) -> bool:
        if len(text) > max_decode_length:
            return any(is_bad(segment) for segment in segments(text))
        return any_line.search(text) is not None

    return flagged


@cache
def _ftfy_characters() -> str:
    """A regex class of every character ftfy's character fixes change (HTML entities'
    `&`, terminal escapes, C1 controls, Latin ligatures, line separators, other control
    characters), from ftfy's own tables."""
    from ftfy import chardata

    codes = {ord("&"), 0x1B, ord("\r"), 0x85, 0x2028, 0x2029, *range(0x80, 0xA0)}
    codes |= set(chardata.CONTROL_CHARS) | set(chardata.LIGATURES)
    ranges, ordered = [], sorted(codes)
    start = prev = ordered[0]
    for code in ordered[1:] + [-1]:
        if code != prev + 1:
            ranges.append(f"\\x{{{start:X}}}" + (f"-\\x{{{prev:X}}}" if prev != start else ""))
            start = code
        prev = code
    return "[" + "".join(ranges) + "]"


def _convert(texts: pl.Series, kinds: pl.Series, html_main_content: bool) -> pl.Series:
    """Each row through its kind's converter; rows that cannot hold markup are skipped."""
    texts = texts.clone()  # scatter writes in place
    for kind in KINDS[1:]:
        rows = ((kinds == kind) & texts.str.contains(could_hold(kind))).arg_true()
        if len(rows):
            convert = converter(kind, html_main_content)
            chosen = texts.gather(rows)
            if kind == "html":
                chosen = pl.select(pl.when(text_with_tags(pl.lit(chosen))).then(pl.lit(chosen).str.replace_all("\n", "<br>\n", literal=True))
                                   .otherwise(pl.lit(chosen))).to_series()
            texts = texts.scatter(rows, pl.Series([convert(t) for t in chosen.to_list()], dtype=pl.String))
    return texts


_LINE_BREAK = r"\r\n?|[\x{85}\x{2028}\x{2029}]"
"""The line breaks ftfy's fix_line_breaks turns into newlines (CRLF, CR, NEL, U+2028,
U+2029; a lone NEL ftfy reads first as Windows-1252's `…`). Without `fix_unicode` the
whitespace step does it: they are Unicode spaces to a regex, so collapsing spaces would
join the lines they separate."""


def _collapse_whitespace(texts: pl.Series) -> pl.Series:
    return (
        texts.str.replace_all(_LINE_BREAK, "\n")
        .str.replace_all(r"[^\S\n]+", " ")
        .str.replace_all(r"(?m)^ | $", "")
        .str.replace_all(r"\n{3,}", "\n\n")
        .str.strip_chars()
    )
