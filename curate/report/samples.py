"""Removed (or flagged) sample rows that explain themselves, for a stage's section of
report.html: the text, the reason, the annotations that decided it with their
thresholds (`quality_non_symbol_word_count 38 < 50`, from the stage report's `explain`),
the row's other reasons, and for duplicates the kept twin beside it with the words that
differ highlighted (or "identical") and how similar the two are. Every other annotation
sits behind a <details>.

Samples come from the stage report (the first rows of each reason, in run order); the
full rows and the twins are read from the run's files by id (curate/report/rows.py).
"""

from __future__ import annotations

import ast
import difflib
import math
import operator
import re
import unicodedata
from collections import Counter
from typing import Any

from curate.files import sample_value
from curate.report.charts import esc, fmt_num, truncate
from curate.report.rows import KEPT, RunRows
from curate.report.stats import cell

SHOWN_PER_REASON = 2
"""Samples visible per reason; the rest of the report's samples fold into a <details>."""
SHOWN_REASONS = 6
"""Reasons whose samples are visible (the largest); the others' fold into one <details>."""
TEXT_CHARS = 2000
"""Characters of a sample's text on the page (the box scrolls; the file has it all)."""
DIFF_CHARS = 2000
"""Characters of each side compared for the highlighted difference (as many as a sample
shows; difflib's cost grows with the square of the words)."""
_TOKEN = re.compile(r"\s*\S+\s*|\s+")
"""A word with the spacing around it (leading spacing only at the start of a text)."""
_WORD = re.compile(r"\w+")
"""A word of the verdict: a run of letters, digits and _, as near_dedup's word shingles read them."""


def criteria_for(explain: dict[str, Any], reason: str) -> list[dict[str, Any]]:
    """The criteria a stage declared for `reason`; a key ending in `:` covers the reasons it starts."""
    reasons = (explain or {}).get("reasons") or {}
    if reason in reasons:
        return reasons[reason]
    prefixes = [k for k in reasons if k.endswith(":") and reason.startswith(k)]
    return reasons[max(prefixes, key=len)] if prefixes else []


def _threshold(criterion: dict[str, Any], row: dict[str, Any]) -> Any:
    """The threshold that applied to this row (per language when the stage says so; `*`:
    any other language)."""
    by = criterion.get("by")
    if by:
        value = row.get(by["column"])
        if value in by["thresholds"]:
            return by["thresholds"][value]
        if value is not None and "*" in by["thresholds"]:
            return by["thresholds"]["*"]
    return criterion.get("threshold")


def _value(value: Any) -> str:
    if isinstance(value, float):
        return fmt_num(value)
    if isinstance(value, list):
        return "[" + ", ".join(esc(v) for v in value) + "]"
    return esc(value) if value is not None else "null"


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _values_apart(value: Any, threshold: Any) -> tuple[str, str]:
    """A value and its threshold as text, with the digits it takes to tell two different
    numbers apart: 0.7619047… against 0.76192 is `0.7619 < 0.76192`, not `0.7619 < 0.7619`."""
    shown = _value(value), _value(threshold)
    if shown[0] != shown[1] or not (_number(value) and _number(threshold)) or value == threshold:
        return shown
    for digits in range(5, 18):
        apart = f"{value:.{digits}g}", f"{threshold:.{digits}g}"
        if apart[0] != apart[1]:
            return apart
    return shown


_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq, "!=": operator.ne,
            "not in": lambda v, t: v not in t, "in": lambda v, t: v in t}


def decision(criterion: dict[str, Any], row: dict[str, Any]) -> str:
    """`column value op threshold` as HTML, e.g. `quality_non_symbol_word_count 38 < 50`.
    When the row's own value does not meet the comparison (a near-duplicate joined its
    cluster through another member), the page says so instead of implying it does."""
    column = criterion["column"]
    value = row.get(column)
    op = criterion.get("removes_if")
    threshold = _threshold(criterion, row) if op else None
    shown_value, shown_threshold = _values_apart(value, threshold)
    text = f'<code>{esc(column)}</code> <b>{shown_value}</b>'
    if op:
        text += f' {esc(op)} {shown_threshold}'
        compare = _COMPARE.get(op)
        try:
            met = compare is None or value is None or threshold is None or bool(compare(value, threshold))
        except TypeError:
            met = True
        if not met:
            text += ' <span class="muted">(not by this value: decided together with other rows)</span>'
    return text


def other_reasons(value: Any, reason: str) -> list[str]:
    """A reasons column's value (a list, or its text form) without `reason`."""
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value) if value.startswith("[") else value.split(",")
        except (ValueError, SyntaxError):
            value = [value]
    if not isinstance(value, (list, tuple)):
        return []
    return [str(v) for v in value if v and str(v) != reason]


def _normal(text: str) -> str:
    return " ".join(text.lower().split())


def word_diff(removed: str, kept: str) -> tuple[str, str, str]:
    """Both texts as HTML with the words only one side has marked in order (spacing is
    not a difference), and a verdict on the whole texts (`_verdict`)."""
    if removed == kept:
        return esc(truncate(removed, TEXT_CHARS)), esc(truncate(kept, TEXT_CHARS)), "identical"
    a, b = _TOKEN.findall(removed[:DIFF_CHARS]), _TOKEN.findall(kept[:DIFF_CHARS])
    matcher = difflib.SequenceMatcher(None, [t.strip() for t in a], [t.strip() for t in b], autojunk=False)
    left, right = [], []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            left += [esc(t) for t in a[i1:i2]]
            right += [esc(t) for t in b[j1:j2]]
            continue
        left += [_marked(t, "del") for t in a[i1:i2]]
        right += [_marked(t, "ins") for t in b[j1:j2]]
    more = lambda text: '<span class="muted">…</span>' if len(text) > DIFF_CHARS else ""
    return "".join(left) + more(removed), "".join(right) + more(kept), _verdict(removed, kept)


def _verdict(removed: str, kept: str) -> str:
    """How alike two different texts are, as a reviewer judges a duplicate: identical after
    Unicode normalisation (exact_dedup's nfkc folds an NFD or full-width copy), case and
    spacing; the same words; or the share of words they have in common in any order
    (a copy with its paragraphs moved has every word of the other, though an in-order
    alignment matches under half). Words are NFKC-normalised and lowercased, as near_dedup
    reads them by default."""
    nfkc = unicodedata.normalize("NFKC", removed), unicodedata.normalize("NFKC", kept)
    if nfkc[0] == nfkc[1]:
        return "identical after Unicode normalisation (NFKC)"
    if _normal(removed) == _normal(kept):
        return "identical after lowercasing and spacing"
    if _normal(nfkc[0]) == _normal(nfkc[1]):
        return "identical after Unicode normalisation (NFKC), lowercasing and spacing"
    words = [_WORD.findall(text.lower()) for text in nfkc]
    if not any(words):
        return "no words on either side"
    if words[0] == words[1]:
        return "the same words; punctuation differs"
    common = sum((Counter(words[0]) & Counter(words[1])).values()) * 2 / (len(words[0]) + len(words[1]))
    if common == 1:
        return "the same words in another order"
    return f"{math.floor(common * 100)}% of words in common"  # rounded down: 99.6% is not all


def _marked(token: str, kind: str) -> str:
    """A token with its word marked and its spacing left as it is."""
    word = token.strip()
    if not word:
        return esc(token)
    start = token.index(word)
    return f'{esc(token[:start])}<mark class="{kind}">{esc(word)}</mark>{esc(token[start + len(word):])}'


def _text_box(text: Any, marked: str | None = None) -> str:
    if text is None:
        return '<div class="snip"><span class="muted">(null)</span></div>'
    if text == "":
        return '<div class="snip"><span class="muted">(empty)</span></div>'
    return f'<div class="snip" dir="auto">{marked if marked is not None else esc(truncate(str(text), TEXT_CHARS))}</div>'


def _where(row: dict[str, Any] | None) -> str:
    if not row:
        return ""
    file = row.get("_file", "")
    link = f'<a href="{esc(file)}">{esc(file.rsplit("/", 1)[-1])}</a>' if file else ""
    if row.get("_where") == KEPT:
        return f"kept · {link}"
    return f'removed by <b>{esc(row.get("_where"))}</b> (<span dir="auto">{esc(row.get("curate_reason"))}</span>) · {link}'


def as_seen(sample: dict[str, Any], full: dict[str, Any]) -> dict[str, Any]:
    """The row as the stage saw it: the full row from the run's files where its value is the
    one the sample recorded (whole, where the sample holds a snippet), the sample's where it
    is not. A flagged row is read from data/ (or a later stage's removed/), so a later stage
    that writes the same column (a near_dedup's `dup_of` after an annotating exact_dedup)
    or rewrites the text left its value there, not this stage's."""
    return {**sample, **{k: v for k, v in full.items() if k not in sample or sample_value(v) == sample[k]}}


class StageSamples:
    """Renders one stage's samples; reads the rows it needs from the run's files once."""

    def __init__(self, report: dict[str, Any], rows: RunRows, text_column: str):
        self.report = report
        self.rows = rows
        self.text_column = text_column
        self.explain = report.get("explain") or {}
        self.removing = bool(report.get("removed_by_reason"))
        samples = report.get("samples") or {}
        ids = [s.get(rows.id_column) for rs in samples.values() for s in rs]
        self.full = rows.by_id(ids, where=[report["name"]] if self.removing else None)
        self.seen = {str(s.get(rows.id_column)): as_seen(s, self.full.get(str(s.get(rows.id_column)), {})) for rs in samples.values() for s in rs}
        twin, indexed = self.explain.get("twin_column"), self.explain.get("twin_indexed_column")
        # a kept copy from the stage's index is no row of this run, whose rows may hold its id
        twin_ids = [r.get(twin) for r in self.seen.values() if not (indexed and r.get(indexed))] if twin else []
        self.twins = rows.by_id([t for t in twin_ids if t is not None]) if twin_ids else {}

    def render(self) -> str:
        samples = self.report.get("samples") or {}
        counts = self.report.get("removed_by_reason") or self.report.get("would_remove_by_reason") or {}
        seen: set[str] = set()
        blocks = []
        for reason in sorted(samples, key=lambda r: (-counts.get(r, 0), r)):
            cards = []
            for sample in samples[reason]:
                key = str(sample.get(self.rows.id_column))
                if key in seen:  # a row shows once per stage, under its first reason
                    continue
                seen.add(key)
                cards.append(self.card(reason, sample))
            if not cards:
                continue
            shown, rest = cards[:SHOWN_PER_REASON], cards[SHOWN_PER_REASON:]
            more = f'<details><summary>{len(rest)} more sample{"s" if len(rest) > 1 else ""}</summary>{"".join(rest)}</details>' if rest else ""
            blocks.append(f'<div class="reason-samples"><p><b dir="auto">{esc(reason)}</b> <span class="muted">· {counts.get(reason, 0):,} rows</span></p>'
                          + "".join(shown) + more + "</div>")
        shown_blocks, folded = blocks[:SHOWN_REASONS], blocks[SHOWN_REASONS:]
        if folded:
            shown_blocks.append(f"<details><summary>samples of {len(folded)} more reasons</summary>{''.join(folded)}</details>")
        return "".join(shown_blocks)

    def card(self, reason: str, sample: dict[str, Any]) -> str:
        key = str(sample.get(self.rows.id_column))
        row = self.seen[key]
        criteria = criteria_for(self.explain, reason)
        deciding = [c["column"] for c in criteria]
        why = " · ".join(decision(c, row) for c in criteria)
        head = [f'<span class="mono">{esc(key)}</span>', f'<span class="reason" dir="auto">{esc(reason)}</span>']
        if why:
            head.append(f'<span class="why">{why}</span>')
        parts = [f'<div class="sample"><div class="shead">{" · ".join(head)}</div>']
        reasons_column = self.explain.get("reasons_column")
        others = other_reasons(row.get(reasons_column), reason) if reasons_column else []
        if others:
            parts.append(f'<div class="small">also fails: {", ".join(f"<code>{esc(o)}</code>" for o in others)}</div>')
        twin_column, indexed_column = self.explain.get("twin_column"), self.explain.get("twin_indexed_column")
        twin_id = row.get(twin_column) if twin_column else None
        indexed = bool(indexed_column and row.get(indexed_column))
        twin = self.twins.get(str(twin_id)) if twin_id is not None and not indexed else None
        text = row.get(self.text_column)
        if twin is not None:
            parts.append(self.pair(row, twin))
        else:
            if twin_id is not None:
                elsewhere = "a document of the stage's index, kept by an earlier run (not in this run's files)" if indexed else "not found in the run's files"
                parts.append(f'<div class="small muted">kept copy <span class="mono">{esc(twin_id)}</span>: {elsewhere}</div>')
            parts.append(_text_box(text))
        where = _where(self.full.get(key))
        if where:
            parts.append(f'<div class="small muted">{where}</div>')
        rest = {c: row.get(c) for c in self.report.get("annotation_columns") or [] if c not in deciding and c in row}
        if rest:
            items = "".join(f'<li><span class="muted">{esc(k)}:</span> {cell(v, k)}</li>' for k, v in rest.items())
            parts.append(f'<details class="annotations"><summary>{len(rest)} other annotation{"s" if len(rest) > 1 else ""}</summary><ul class="kvlist">{items}</ul></details>')
        parts.append("</div>")
        return "".join(parts)

    def pair(self, row: dict[str, Any], twin: dict[str, Any]) -> str:
        removed_text, kept_text = row.get(self.text_column) or "", twin.get(self.text_column) or ""
        left, right, verdict = word_diff(str(removed_text), str(kept_text))
        similarity_column = self.explain.get("similarity_column")
        similarity = row.get(similarity_column) if similarity_column else None
        measure = f'<code>{esc(similarity_column)}</code> {fmt_num(float(similarity))} · ' if similarity is not None else ""
        twin_id = esc(twin.get(self.rows.id_column))
        return (
            f'<div class="small">similarity: {measure}{esc(verdict)}</div>'
            '<div class="pair">'
            f'<div><div class="small muted">this row ({"removed" if self.removing else "flagged, kept"})</div>{_text_box(removed_text, left)}</div>'
            f'<div><div class="small muted">kept copy <span class="mono">{twin_id}</span> · {_where(twin)}</div>{_text_box(kept_text, right)}</div>'
            "</div>"
        )
