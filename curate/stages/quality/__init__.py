"""Quality rules: Gopher, C4, FineWeb (or a user's own) heuristics from YAML rule files.

Each rule names a metric of `curate.stages.quality.metrics`, a comparison and a threshold. The
stage computes every metric the rules need once per document, vectorised, adds them as
`quality_<metric>` columns (always, in filter and annotate mode, so removed rows carry
the numbers that removed them), lists every failed rule in `quality_reasons` (file
order; C4's lorem-ipsum and curly-bracket rules in the order of their first lines, as
datatrove meets them) and gives the first failed rule as the removal reason. Rule files, the metric
library and the agreement with datatrove's filters: docs/stages/quality.md.
"""

from __future__ import annotations

import operator
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import polars as pl
import pyarrow as pa
from pydantic import Field, NonNegativeInt, field_validator, model_validator

from curate.errors import ConfigError, percent_apart
from curate.row_names import as_text
from curate.stages.base import REASON, Criterion, Explanation, RewriteConfig, RewritesText, ShardStage, as_not_applied
from curate.stages.quality.c4 import CURLY_BEFORE_LOREM
from curate.stages.quality.metrics import compute_metrics, metric
from curate.stages.quality.languages import by_dominant_script, fixed_language_problem, not_latin
from curate.stages.quality.rules import Rule, RuleSet, StageThreshold, load_rule_set, missing_rule_set, stage_threshold_problem
from curate.stages.quality.segment import SEGMENTER_PACKAGE, tokenizer_name

LANG = "_quality_lang"
"""Name of the series holding each row's language while metrics and rules are computed."""
PREFIX = "quality_"
REASONS = "quality_reasons"
"""Column names of a stage with the default name; a stage given `name: x` writes
`x_<metric>` and `x_reasons`, so two quality stages in one pipeline keep both."""
WHAT_IF = (0.75, 0.9, 1.0, 1.1, 1.25)
"""Threshold multipliers of the report's what-if table (±10%, ±25%)."""
SAMPLE_CHARS = 300
_OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq, "!=": operator.ne}
_FAILS_IF = {">=": "<", ">": "<=", "<=": ">", "<": ">=", "==": "!=", "!=": "=="}
"""The comparison that fails a rule, from the one that keeps a row (`keep_if`)."""
_C4_STATS = ("c4_lines_removed", "c4_chars_removed")
EMPTY = "quality_empty"
"""The reason of a row that C4's line cleaning (`clean_lines: true`) leaves without text."""
DEFAULT_RULES = ["gopher_quality", "gopher_repetition", "c4", "fineweb"]


class QualityConfig(RewriteConfig):
    path_keys = ("rules",)
    stage: Literal["quality"] = "quality"
    rules: list[str] = Field(default_factory=lambda: list(DEFAULT_RULES), min_length=1)
    """Rule sets, combined in this order: built-in names (`rules/<name>.yaml`:
    gopher_quality, gopher_repetition, c4, fineweb) or paths to your own YAML rule file
    (.yaml; relative paths start at the pipeline file's folder)."""
    thresholds: dict[str, StageThreshold] = Field(default_factory=dict)
    """Per-rule threshold changes by rule name. A number, e.g. `{gopher_short_doc: 30}`,
    is the rule's own threshold: English, rows without a language and every language the
    rule files give no threshold of their own for that rule (FineWeb-2's per-language
    values stay). A mapping changes chosen languages, e.g. `{gopher_short_doc: {ja: 20}}`;
    its "*" sets every row whose language it does not name, whatever the rule files say."""
    disable: list[str] = Field(default_factory=list)
    """Rule names to switch off (a list of names, such as c4_too_few_sentences)."""
    lang_column: str = "lang"
    """Column with each row's language (the langid stage writes `lang`, or the input has
    one): rule files' `overrides:` apply to rows with that language, and words are split
    with that language's tokenizer. Absent column: English defaults everywhere (a
    pipeline mistake when a langid stage before writes another column)."""
    lang: str | None = None
    """One language for every row (e.g. `ja` for a Japanese-only input), instead of
    `lang_column`."""
    report_by: list[str] = Field(default_factory=list)
    """Input columns (slices such as `source` or `domain`) whose values the report breaks
    the removal rate down by, as it does by language."""
    warn_removed_share: float = Field(default=0.5, ge=0.0, le=1.0)
    """Warn, and flag in the report, when the stage removes more than this share of one
    language's rows (or of one `report_by` value's rows), or of all its rows when they
    have no language and most rows it removes are not in Latin letters."""
    warn_min_rows: NonNegativeInt = 20
    """Warn only about languages and values with at least this many rows."""
    clean_lines: bool = False
    """Rewrite text to C4's cleaned text: only the lines C4's line filter keeps (terminal
    punctuation, 3+ words, no javascript or cookie lines, citations removed; for other
    languages than English as c4.yaml sets them, whether or not c4 is among `rules`),
    joined by newlines; as every stage that rewrites text (docs/architecture.md), filter mode puts
    it in the text column of kept rows, annotate mode in `<name>_text`. Off by default:
    the stage then never changes text.
    Removed lines and characters per row are always in quality_c4_lines_removed and
    quality_c4_chars_removed when a C4 metric or this option is used."""
    samples_per_rule: NonNegativeInt = 5
    """Rows the report shows per rule (rows that fail it, first or not)."""

    @field_validator("rules")
    @classmethod
    def _rule_sets_exist(cls, refs: list[str]) -> list[str]:
        # here, not when the rule sets load: the error is then at `rules`, in the file or the --set that wrote it
        for ref in refs:
            problem = missing_rule_set(ref)
            if problem:
                raise ValueError(problem)
        return refs

    @field_validator("thresholds", mode="before")
    @classmethod
    def _threshold_shapes(cls, value: Any) -> Any:
        # one message per mistake instead of pydantic's two (one per branch of the union)
        for rule, threshold in value.items() if isinstance(value, dict) else ():
            problem = stage_threshold_problem(rule, threshold)
            if problem:
                raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _rules_load(self) -> QualityConfig:
        # Fails early, at pipeline validation, with the rule file and key in the message.
        rule_set = load_rule_set(self.rules, self.thresholds, self.disable, self.clean_lines)
        problem = None if self.lang is None else fixed_language_problem(self.lang, rule_set.languages)
        if problem:
            raise ValueError(f"lang: {problem}")
        if self.keep_original and not self.clean_lines:
            raise ValueError("keep_original keeps the text before C4's line cleaning: it needs clean_lines: true")
        return self


def _bins(values: np.ndarray, edges: tuple[float, ...]) -> dict[str, int]:
    """Counts per fixed bin: "i" holds [edges[i], edges[i+1]); the last bin is open."""
    finite = values[~np.isnan(values)]
    index = np.clip(np.searchsorted(np.asarray(edges, dtype=float), finite, side="right") - 1, 0, len(edges) - 1)
    counts = np.bincount(index, minlength=len(edges))
    out = {str(i): int(c) for i, c in enumerate(counts) if c}
    missing = int(len(values) - len(finite))
    if missing:
        out["null"] = missing
    return out


NO_LANGUAGE = "(none)"
"""How the report names rows without a language (or a null `report_by` value)."""


def _removal_counts(reason: pl.Series, key: pl.Series) -> dict[str, Any]:
    """{value: {rows, removed, reasons: {reason: rows}}} of one shard, by `key` (read as
    text). One query: a shard of a few rows costs the queries, not the rows."""
    counts = (
        pl.LazyFrame({"k": key, "r": reason})
        .group_by(pl.col("k").cast(pl.String).fill_null(NO_LANGUAGE), "r")
        .len()
        .sort("k", "r", nulls_last=True)
        .collect()
    )
    out: dict[str, Any] = {}
    for value, why, n in counts.iter_rows():
        entry = out.setdefault(value, {"rows": 0, "removed": 0, "reasons": {}})
        entry["rows"] += n
        if why is not None:
            entry["removed"] += n
            entry["reasons"][why] = n
    return out


def _removal_table(counts: dict[str, Any], column: str) -> list[dict[str, Any]]:
    """Rows of the report's per-language (or per-value) table, most rows first."""
    table = []
    for value, c in sorted(counts.items(), key=lambda item: (-item[1]["rows"], item[0])):
        reasons = c.get("reasons", {})
        top = max(sorted(reasons), key=lambda r: reasons[r]) if reasons else None
        table.append({column: value, "rows": c["rows"], "removed": c["removed"],
                      # exact: the wipe-out warning and max_removed_fraction_by_language compare it with their limit
                      "removed_share": c["removed"] / c["rows"] if c["rows"] else 0.0,
                      "top_reason": top, "top_reason_rows": reasons.get(top, 0) if top else 0})
    return table


def _setting(rule: Rule, code: str | None) -> tuple[float, bool]:
    """(threshold, on) of `rule` for rows whose language the rule files call `code`
    (None: no language; a code no override names: "*")."""
    if code is None or not rule.by_lang:
        return rule.threshold, rule.enabled
    if code in rule.by_lang and code != "*":
        return rule.by_lang[code]
    return rule.by_lang.get("*", (rule.threshold, rule.enabled))


def _numbers(values: pl.Series) -> np.ndarray:
    """A metric column as float64, NaN where null: converted, not computed (no polars
    query, each of which costs a shard of a few rows ~0.1 ms)."""
    return values.to_numpy().astype(np.float64, copy=False)


class _Checks:
    """Every row's inputs to each rule, as numpy arrays: the metric value (NaN where null:
    a null metric passes), and per language the threshold and whether the rule is on
    (rule files' `overrides:`; "*" for any other non-null language). A rule's failing
    rows, at its threshold or a what-if multiple of it, are then one comparison.
    `values`: each metric's values (`_numbers`)."""

    def __init__(self, rules: tuple[Rule, ...], values: dict[str, np.ndarray], lang: pl.Series | None):
        self.values = values
        # each row's language as an index into `codes`; len(codes) stands for "no language"
        self.codes: list[str] = lang.drop_nulls().unique(maintain_order=True).to_list() if lang is not None else []
        self.index = (
            lang.replace_strict(self.codes, list(range(len(self.codes))), default=len(self.codes), return_dtype=pl.UInt32).to_numpy()
            if lang is not None
            else None
        )
        self._per_row: dict[str, tuple[np.ndarray | float, np.ndarray | bool]] = {}

    def _settings(self, rule: Rule) -> tuple[list[float], np.ndarray | bool]:
        """The thresholds of `rule` per language code (the last: no language), and each
        row's `on`: an array when its languages differ (built once per rule: the what-if
        tables ask for them at every factor)."""
        if self.index is None or not rule.by_lang:
            return [rule.threshold], rule.enabled
        if rule.name not in self._per_row:
            per_code = [_setting(rule, c) for c in [*self.codes, None]]
            self._per_row[rule.name] = ([t for t, _ in per_code], np.array([on for _, on in per_code])[self.index])
        return self._per_row[rule.name]

    def failed_by_language(self, rule: Rule, failed: np.ndarray) -> dict[str, int]:
        """Rows failing `rule` per language whose setting differs from the rule's default."""
        if self.index is None or not rule.by_lang:
            return {}
        counts = np.bincount(self.index[failed], minlength=len(self.codes) + 1)
        default = (rule.threshold, rule.enabled)
        return {code: int(n) for code, n in zip(self.codes, counts) if n and _setting(rule, code) != default}

    def fails(self, rule: Rule, factor: float) -> np.ndarray:
        """True where the row fails `rule` with its thresholds multiplied by `factor`."""
        per_code, on = self._settings(rule)
        scaled = np.array([scaled_threshold(t, factor) for t in per_code])
        threshold = scaled[0] if self.index is None or not rule.by_lang else scaled[self.index]
        value = self.values[rule.metric]
        return on & ~_OPS[rule.keep_if](value, threshold) & ~np.isnan(value)


def _listed(fails: np.ndarray, names: list[str], order: np.ndarray | None = None) -> tuple[pl.Series, pl.Series]:
    """Per row, the names of the checks it fails, and the first of them (null when none).
    `fails[row, check]`: whether the row fails check `names[check]`; `order[row]`: the
    row's checks in the order it lists them (None: as `names`). Built from numpy offsets
    in Arrow rather than a polars expression per check: a shard of a few rows costs its
    queries, not its rows."""
    ordered = fails if order is None else np.take_along_axis(fails, order, axis=1)
    rows, at = np.nonzero(ordered)  # row by row, each in its order
    checks = (at if order is None else order[rows, at]).astype(np.int32)
    counts = ordered.sum(axis=1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    # Arrow arrays through polars: pyarrow's own constructors import pandas (test_architecture)
    labels = pl.Series(names, dtype=pl.String)
    listed = pa.LargeListArray.from_arrays(pl.Series(offsets).to_arrow(), labels.gather(checks).to_arrow())
    failed = counts > 0
    first = np.zeros(len(counts), dtype=np.int32)
    first[failed] = checks[offsets[:-1][failed]]
    # a masked entry gathers null: polars 2.1 on (pyproject's floor); 2.0 and 1.x read the masked value
    return pl.Series(pl.from_arrow(listed)), labels.gather(pl.Series(np.ma.masked_array(first, mask=~failed)))


@lru_cache(maxsize=None)
def scaled_threshold(threshold: float, factor: float) -> float:
    """`threshold` times a what-if `factor`, multiplied as the decimals both are written as
    (50 × 1.1 = 55, not 55.00000000000001): the threshold a run given the product would
    use, so a row exactly at it passes in the table as it would in that run. Remembered:
    every shard asks for the same few hundred."""
    return float(Decimal(repr(float(threshold))) * Decimal(repr(float(factor))))


def _c4_line_order(rules: tuple[Rule, ...]) -> list[str] | None:
    """The rule order of a row whose first C4 line with "{" comes before its first line with
    "lorem ipsum": the rules on c4_curly_bracket moved in front of the first rule on
    c4_lorem_ipsum, as datatrove's C4QualityFilter checks lines in text order and stops
    at the first hit. None when the rules do not test both."""
    names = [r.name for r in rules]
    lorem = [r.name for r in rules if r.metric == "c4_lorem_ipsum"]
    curly = [r.name for r in rules if r.metric == "c4_curly_bracket"]
    if not lorem or not curly:
        return None
    rest = [n for n in names if n not in curly]
    at = rest.index(lorem[0])
    return rest[:at] + curly + rest[at:]


class Quality(RewritesText, ShardStage):
    kind = "quality"
    summary = "Remove rows failing quality heuristics from YAML rule files (Gopher, C4, FineWeb or your own)."
    cpu_seconds_per_gb = 120.0  # about 2/3 of the 188 bench/workers.py measured: the worker-count estimate errs low
    Config = QualityConfig
    config: QualityConfig

    def added_columns(self) -> list[str]:
        columns = [self.prefix + name for name in self.metrics + self.extra] + [self.reasons]
        return list(dict.fromkeys(columns + self.rewrite_added_columns()))

    def files(self) -> list[str]:
        return list(self.rule_set.sources)

    def packages(self) -> dict[str, str]:
        # A fixed language is known before the run; languages from a column only when
        # their rows arrive (segment.py then names the package).
        lang = self.config.lang
        return {SEGMENTER_PACKAGE: f"lang: {lang}"} if lang is not None and tokenizer_name(lang) == "segmenter" else {}

    @property
    def rewrites(self) -> bool:
        return self.config.clean_lines

    @property
    def chars_removed_column(self) -> str:
        return self.prefix + "c4_chars_removed"  # a C4 metric, always computed with clean_lines

    def __init__(self, config: QualityConfig, columns: Any):
        super().__init__(config, columns)
        self.rule_set: RuleSet = load_rule_set(config.rules, config.thresholds, config.disable, config.clean_lines)
        self.metrics = self.rule_set.metrics
        uses_c4 = config.clean_lines or any(getattr(metric(m), "family", "") == "c4" for m in self.metrics)
        self.extra = [m for m in _C4_STATS if m not in self.metrics] if uses_c4 else []
        self.prefix = f"{self.name}_"
        self.reasons = f"{self.name}_reasons"

    def explain(self) -> Explanation:
        return self._explanation([])

    def report_explain(self, stats: dict[str, Any]) -> Explanation:
        # the run's own language codes, which reach the rule files' codes through mapping
        # (ar-EG, arb_Arab → ar): a sample card looks its row's value up as it is written
        return self._explanation([r["language"] for r in stats.get("by_language", []) if r["language"] != NO_LANGUAGE])

    def _explanation(self, codes: list[str]) -> Explanation:
        """Each rule's threshold per language: per code of the rule files and of `codes`
        (values of the language column), "*" for any other; with a fixed `lang:` (no
        column), that language's."""
        fixed = self.config.lang is not None
        written = [self.config.lang] if fixed else list(codes)
        mapped = self._for_settings(pl.Series(LANG, written, dtype=pl.String), None).to_list() if written else []
        reasons = {}
        for rule in self.rule_set.active:
            if fixed:
                reasons[rule.name] = [Criterion(self.prefix + rule.metric, _FAILS_IF[rule.keep_if], _setting(rule, mapped[0])[0])]
                continue
            other = _setting(rule, "*")[0]  # any other language
            by = {code: threshold for code, (threshold, _) in rule.by_lang.items() if code != "*" and threshold != other}
            by.update({code: _setting(rule, to)[0] for code, to in zip(written, mapped) if _setting(rule, to)[0] != other})
            if other != rule.threshold:
                by["*"] = other
            reasons[rule.name] = [Criterion(self.prefix + rule.metric, _FAILS_IF[rule.keep_if], rule.threshold,
                                            (self.config.lang_column, by) if by else None)]
        if self.config.clean_lines:
            reasons[EMPTY] = [Criterion(self.prefix + "c4_lines_removed")]
        return Explanation(reasons, reasons_column=self.reasons)

    # --- metrics ---------------------------------------------------------------------------

    def required_columns(self) -> list[str]:
        # The language column is read when present; named explicitly, it must be there.
        named = "lang_column" in self.config.model_fields_set and self.config.lang is None
        return [self.columns.text, *self.config.report_by, *([self.config.lang_column] if named else [])]

    def check(self, schema: pl.Schema) -> None:
        super().check(schema)
        # read as text: a list or struct column (several languages a row) has no one value
        read = [("report_by", c) for c in self.config.report_by] + ([("lang_column", self.config.lang_column)] if self.config.lang is None else [])
        for option, column in read:
            if column in schema and schema[column].is_nested():
                raise ConfigError(
                    f"quality ({self.name}): {option} {column!r} is a column of {schema[column]}, not one value a row; "
                    f"name a column of strings{' or set lang:' if option == 'lang_column' else ''}"
                )

    def language_column_read(self) -> str | None:
        return self.config.lang_column if self.config.lang is None else None

    def language_codes_written(self) -> list[tuple[str, str]]:
        return [] if self.config.lang is not None else list(self.rule_set.codes_written)

    def reports_languages(self, columns: set[str]) -> bool:
        return self.config.lang is not None or self.config.lang_column in columns

    def _lang(self, frame: pl.DataFrame) -> pl.Series | None:
        """Each row's language: the stage's fixed `lang`, else the `lang_column` (None when
        the frame has no such column)."""
        if self.config.lang is not None:
            return pl.Series(LANG, [self.config.lang] * frame.height, dtype=pl.String)
        if self.config.lang_column in frame.columns:
            return frame[self.config.lang_column].cast(pl.String).rename(LANG)
        return None

    def _for_settings(self, lang: pl.Series | None, text: pl.Series | None) -> pl.Series | None:
        """Each row's language as the rule files name it (RuleSet.settings_code: zh-CN →
        zh, yue → zh, und → null), which picks its thresholds, parameters and tokenizer;
        with the rows' `text`, a language listed in two scripts by the script of the row's
        letters (sr: sr, or sr-Latn where Latin letters are most). Without it (the
        explanation's codes), the language's own script."""
        if lang is None:
            return None
        written = lang.drop_nulls().unique().to_list()
        mapped = {code: self.rule_set.settings_code(code) for code in written}
        changed = {code: to for code, to in mapped.items() if code != to}
        out = lang.replace(changed) if changed else lang.clone()
        for code in written if text is not None else ():
            choices = self.rule_set.script_settings(code)
            if choices:
                rows = (lang == code).fill_null(False)
                out = out.scatter(rows.arg_true(), by_dominant_script(text.filter(rows), choices))
        return out

    def _metric_frame(self, text: pl.Series, lang: pl.Series | None) -> pl.DataFrame:
        """Metric values. Rows are grouped by tokenizer, and within it by parameter groups
        (rule files' per-language `params:`); each tokenizer's rows are computed in one
        batch, as runs of rows with their own parameters (compute_metrics)."""
        names = self.metrics + self.extra
        clean = self.config.clean_lines
        if lang is None or lang.is_empty():  # a shard of 0 rows (all removed before) has no language group
            return compute_metrics(text, names, self.rule_set.params, c4_text=clean)
        groups: dict[str | None, dict[tuple, list[str | None]]] = {}
        for code in lang.unique(maintain_order=True).to_list():
            params = self.rule_set.params_for(code)
            tokenizer = tokenizer_name(code)
            runs = groups.setdefault(code if tokenizer == "segmenter" else tokenizer, {})
            runs.setdefault(tuple(sorted((g, repr(p)) for g, p in params.items())), []).append(code)
        if len(groups) == 1 and len(only := next(iter(groups.values()))) == 1:
            code = next(iter(only.values()))[0]
            return compute_metrics(text, names, self.rule_set.params_for(code), c4_text=clean, lang=code)
        parts = []
        for runs in groups.values():
            rows, params_runs = [], []
            for codes in runs.values():
                named = [c for c in codes if c is not None]
                mask = lang.is_in(named).fill_null(False) if named else pl.Series([False] * len(text))
                if None in codes:
                    mask = mask | lang.is_null()
                rows.append(mask.arg_true())
                params_runs.append((len(rows[-1]), self.rule_set.params_for(codes[0])))
            order = pl.concat(rows)
            code = next(iter(runs.values()))[0]  # every language of the group has its tokenizer
            part = compute_metrics(text.gather(order), names, params_runs, c4_text=clean, lang=code)
            parts.append(part.with_columns(_row=order))
        return pl.concat(parts, how="vertical_relaxed").sort("_row").drop("_row")

    def annotate(self, frame: pl.DataFrame) -> pl.DataFrame:
        text = frame.select(self.text()).to_series()
        lang = self._for_settings(self._lang(frame), text)
        values = self._metric_frame(text, lang)
        rules = self.rule_set.active
        checks = _Checks(rules, {r.metric: _numbers(values[r.metric]) for r in rules}, lang)
        fails = [checks.fails(r, 1.0) for r in rules]
        names = [r.name for r in rules]
        order = None
        curly_first = _c4_line_order(rules)
        if curly_first is not None:
            order = np.tile(np.arange(len(rules), dtype=np.int16), (frame.height, 1))
            order[values[CURLY_BEFORE_LOREM].to_numpy()] = [names.index(name) for name in curly_first]
        columns = [values[name].alias(self.prefix + name) for name in self.metrics + self.extra]
        if self.config.clean_lines:
            # the rewrite contract: a row C4's line cleaning leaves without text is removed, with a reason (last)
            cleaned = values["_c4_text"]
            fails.append(~cleaned.str.contains(r"\S").fill_null(False).to_numpy())
            if order is not None:
                order = np.column_stack([order, np.full(frame.height, len(names), dtype=np.int16)])
            names.append(EMPTY)
            columns.append(cleaned.alias(self.rewrite_column))
        failed = np.column_stack(fails) if fails else np.zeros((frame.height, 0), dtype=bool)
        reasons, first = _listed(failed, names, order)
        return frame.with_columns(*columns, reasons.alias(self.reasons), first.alias(REASON))

    # --- report ----------------------------------------------------------------------------

    def shard_stats(self, annotated: pl.DataFrame) -> dict[str, Any]:
        lang = self._lang(annotated)
        rules = self.rule_set.active
        stats: dict[str, Any] = {"rows": annotated.height}
        if annotated.height and lang is not None:
            stats["languages"] = _removal_counts(annotated[REASON], lang)
        elif annotated.height:  # no language: the wipe-out guard judges the stage's rows as one
            stats["without_language"] = _removal_counts(annotated[REASON], pl.repeat(None, annotated.height, dtype=pl.String, eager=True))
            if NO_LANGUAGE in stats["without_language"]:
                removed = annotated.select(self.text().filter(pl.col(REASON).is_not_null())).to_series()
                stats["without_language"][NO_LANGUAGE]["removed_not_latin"] = int(not_latin(removed).sum())
        for column in self.config.report_by:
            if annotated.height:
                stats.setdefault("slices", {})[column] = _removal_counts(annotated[REASON], annotated[column])
        reason = annotated[REASON]
        stats["removed"] = reason.len() - reason.null_count()
        empty = annotated[self.reasons].list.contains(EMPTY).to_numpy() if self.config.clean_lines else np.zeros(annotated.height, dtype=bool)
        if self.config.clean_lines:
            # the rows the cleaning emptied: a null or blank input is removed too, but had nothing to lose
            had_text = annotated.select(self.text().str.contains(r"\S")).to_series().to_numpy()
            stats["rows_left_empty"] = int((empty & had_text).sum())
        if not rules or annotated.height == 0:
            return stats
        names = self.metrics + self.extra
        values = {name: _numbers(annotated[self.prefix + name]) for name in names}
        checks = _Checks(rules, values, self._for_settings(lang, annotated.select(self.text()).to_series()))
        fails = {r.name: checks.fails(r, 1.0) for r in rules}
        count = np.sum(list(fails.values()), axis=0, dtype=np.int64) + empty  # the cleaning's empty rows go whatever the rules say
        first_failed = dict(reason.value_counts().iter_rows())
        per_rule: dict[str, Any] = {}
        what_if: dict[str, Any] = {}
        for rule in rules:
            f = fails[rule.name]
            other_fail = count - f > 0
            per_rule[rule.name] = {
                "failed": int(f.sum()),
                "alone": int((f & ~other_fail).sum()),
                "first": first_failed.get(rule.name, 0),
                "by_language": checks.failed_by_language(rule, f),
            }
            table = {}
            for factor in WHAT_IF:
                scaled = checks.fails(rule, factor)
                table[f"x{factor}"] = {"failed": int(scaled.sum()), "removed": int((scaled | other_fail).sum())}
            what_if[rule.name] = table
        stats["rules"] = per_rule
        stats["what_if"] = what_if
        stats["samples"] = self._samples(annotated, rules, fails)
        hist = {}
        for name in names:
            m = metric(name)
            assert m is not None
            hist[name] = _bins(values[name], m.bins)
        stats["histograms"] = hist
        if self.extra or any(m in self.metrics for m in _C4_STATS):
            # of the rows the stage keeps, whose text the cleaning rewrites: a removed row keeps its text
            kept = reason.is_null().to_numpy()
            stats["c4_cleaning"] = {
                "lines_removed": int(np.nansum(values["c4_lines_removed"][kept])),
                "chars_removed": int(np.nansum(values["c4_chars_removed"][kept])),
            }
        return stats

    def _samples(self, annotated: pl.DataFrame, rules: tuple[Rule, ...], fails: dict[str, np.ndarray]) -> dict[str, list]:
        """The report's first `samples_per_rule` rows failing each rule: id, text snippet,
        the rule's metric value and every rule the row fails. The rows of every rule are
        read in one query."""
        k = self.config.samples_per_rule
        picked = {r.name: np.flatnonzero(fails[r.name])[:k] for r in rules if k}
        picked = {name: rows for name, rows in picked.items() if len(rows)}
        if not picked:
            return {}
        rows = np.unique(np.concatenate(list(picked.values())))
        id_col = self.columns.id if self.columns.id in annotated.columns else None
        metric_columns = list(dict.fromkeys(self.prefix + r.metric for r in rules if r.name in picked))
        read = annotated.select(
            *([pl.col(id_col).gather(rows).alias("id")] if id_col else []),
            self.text().gather(rows).str.slice(0, SAMPLE_CHARS).alias("text"),
            pl.col(self.reasons).gather(rows).list.join(",").alias("failed_rules"),
            *(pl.col(c).gather(rows) for c in metric_columns),
        )
        ids = as_text(read["id"]).to_list() if id_col else None
        texts, failed_rules = read["text"].to_list(), read["failed_rules"].to_list()
        samples: dict[str, list] = {}
        for rule in rules:
            if rule.name not in picked:
                continue
            metric_values = read[self.prefix + rule.metric].to_list()
            samples[rule.name] = [
                {**({"id": ids[at]} if ids is not None else {}), "text": texts[at], "value": metric_values[at], "failed_rules": failed_rules[at]}
                for at in np.searchsorted(rows, picked[rule.name]).tolist()
            ]
        return samples

    def finish_stats(self, merged: dict[str, Any], applied: bool = True) -> dict[str, Any]:
        rows = merged.get("rows", 0)
        if not rows:
            return {"rows": 0}
        out: dict[str, Any] = {"rows": rows, "removed": merged.get("removed", 0)}
        out["removed_share"] = round(out["removed"] / rows, 6)
        if self.config.clean_lines:
            out["rows_left_empty"] = merged.get("rows_left_empty", 0)
        rule_table = []
        for rule in self.rule_set.rules:
            counts = merged.get("rules", {}).get(rule.name, {"failed": 0, "alone": 0, "first": 0})
            rule_table.append(
                {
                    "rule": rule.name,
                    "rule_set": rule.source,
                    "metric": rule.metric,
                    "keep_if": f"{rule.keep_if} {rule.threshold:g}",
                    "enabled": rule.enabled,
                    "by_language": {
                        code: {"keep_if": f"{rule.keep_if} {threshold:g}" if on else "off", "failed": n}
                        for code, n in sorted(counts.get("by_language", {}).items())
                        for threshold, on in [_setting(rule, code)]
                    },
                    "failed": counts["failed"],
                    "removed_alone": counts["alone"],
                    "removed_with_others": counts["failed"] - counts["alone"],
                    "first_failed": counts["first"],
                    "what_if": {
                        f"{k[1:]}x threshold ({scaled_threshold(rule.threshold, float(k[1:])):g})": v
                        for k, v in merged.get("what_if", {}).get(rule.name, {}).items()
                    },
                }
            )
        out["rules"] = rule_table
        thresholds: dict[str, list[dict[str, Any]]] = {}
        for rule in self.rule_set.rules:
            thresholds.setdefault(rule.metric, []).append({"rule": rule.name, "keep_if": rule.keep_if, "threshold": rule.threshold})
        hists = {}
        for name, counts in merged.get("histograms", {}).items():
            m = metric(name)
            assert m is not None
            edges = list(m.bins)
            hists[name] = {
                "edges": edges,
                "counts": [int(counts.get(str(i), 0)) for i in range(len(edges))],
                "null": int(counts.get("null", 0)),
                "thresholds": thresholds.get(name, []),
                "note": "bin i holds [edges[i], edges[i+1]); the last bin holds values >= the last edge",
            }
        out["histograms"] = hists
        k = self.config.samples_per_rule
        out["samples"] = {name: rows_[:k] for name, rows_ in merged.get("samples", {}).items()}
        if "c4_cleaning" in merged:
            # annotate mode leaves the text column as it came: C4's text is only in quality_text
            out["c4_cleaning"] = {**merged["c4_cleaning"], "applied_to_text": self.config.clean_lines and applied}
        out.update(self._breakdowns(merged, applied))
        if applied:
            return out
        # the base rule, sparing the keys that are the user's names: `samples` by rule, `by_column` by column
        return as_not_applied(out, {rule.name for rule in self.rule_set.rules} | set(self.config.report_by))

    def _breakdowns(self, merged: dict[str, Any], applied: bool) -> dict[str, Any]:
        """Removal rates by language and by each `report_by` column, the languages that
        fell back to default settings, and the wipe-outs: languages (values; without a
        language, all rows) of which the stage removed more than `warn_removed_share`
        (flagged, with a warning line each)."""
        cfg = self.config
        out: dict[str, Any] = {}
        flagged: list[dict[str, Any]] = []

        def flag(table: list[dict[str, Any]], column: str, what: str, advice: str = "") -> None:
            for row in table:
                if row["rows"] >= cfg.warn_min_rows and row["removed_share"] > cfg.warn_removed_share:
                    row["flagged"] = True
                    flagged.append({"column": column, "value": row[column], "rows": row["rows"], "removed": row["removed"],
                                    "removed_share": row["removed_share"], "top_reason": row["top_reason"],
                                    "message": f"{'removed' if applied else 'would remove'} {percent_apart(row['removed_share'], cfg.warn_removed_share)} of {what or f'{column} {row[column]!r}'} "
                                               f"({row['removed']:,} of {row['rows']:,} rows; most for {row['top_reason']}); "
                                               f"warn_removed_share is {cfg.warn_removed_share * 100:g}%{advice}"})

        if "languages" in merged:
            table = _removal_table(merged["languages"], "language")
            known = self.rule_set.languages
            for row in table:
                code = None if row["language"] == NO_LANGUAGE else row["language"]
                settings = None if code is None else self.rule_set.settings_code(code)
                by_script = {} if code is None else self.rule_set.script_settings(code)
                row["settings"] = ("no language" if settings is None else "defaults" if settings not in known
                                   else f"rule files ({', '.join(by_script.values())}: by script)" if by_script
                                   else "rule files" if settings == code else f"rule files ({settings})")
                row["tokenizer"] = tokenizer_name(settings)
            flag(table, "language", "")
            out["by_language"] = table
            out["languages_without_settings"] = {r["language"]: r["rows"] for r in table if r["settings"] == "defaults"}
        elif "without_language" in merged:
            # English text the English rules remove is their verdict, not a wrong language:
            # warn only when most removed rows are in another script (CJK, Thai, Arabic, ...)
            not_latin_removed = merged["without_language"].get(NO_LANGUAGE, {}).get("removed_not_latin", 0)
            flag([row for row in _removal_table(merged["without_language"], "language") if not_latin_removed * 2 > row["removed"]],
                 "language", "the rows, which have no language",
                 f": the English rules and tokenizer judged every row, and most removed rows are not in Latin letters; "
                 f"put a langid stage before {self.name} (or set lang:)")
        for column in cfg.report_by:
            table = _removal_table(merged.get("slices", {}).get(column, {}), column)
            flag(table, column, "")
            out.setdefault("by_column", {})[column] = table
        out["wipe_out"] = {"warn_removed_share": cfg.warn_removed_share, "warn_min_rows": cfg.warn_min_rows, "flagged": flagged}
        if flagged:
            out["warnings"] = [f["message"] for f in flagged]
        return out
