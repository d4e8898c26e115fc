"""Rule files for the `quality` stage: YAML data, validated, combined, never evaluated.

A rule file (rules/*.yaml, or a user's own file) is

    name: gopher_quality                # optional; defaults to the file name
    description: ...                    # optional free text
    reference: ...                      # optional free text (paper, implementation)
    params:                             # optional: metric parameter groups
      stop_words: {words: [the, be, to, of, and, that, have, with]}
    rules:                              # in order: the first failed rule is the reason
      - name: gopher_short_doc          # [a-z0-9_]+, unique across the combined rule sets
        metric: non_symbol_word_count   # a metric of curate.stages.quality.metrics
        keep_if: ">="                   # one of >=, >, <=, <, ==, !=
        threshold: 50                   # a number
        description: ...                # optional
        enabled: true                   # optional
    overrides:                          # optional: per language (the `lang` column)
      de:
        params: {stop_words: {words: [der, die, und, in, den, von, zu, das]}}
        rules: {gopher_short_doc: {threshold: 40}}
      "*":                              # any other non-null language (one this file does not name)
        rules: {gopher_few_stop_words: {enabled: false}}

A document passes a rule when `metric keep_if threshold` holds, and fails (is removed)
otherwise; a null metric (a ratio with a zero denominator, a mean of nothing) passes.
Comparisons are fixed operators, thresholds numbers: nothing in a rule file is evaluated.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from curate import strict_yaml
from curate.errors import ConfigError, did_you_mean, raise_all
from curate.resources import rules_root
from curate.schema_errors import LineMap, Problems, explain, innermost_model, key_path, number_as_text, shown
from curate.stages.quality.languages import code_problem, row_code, script_settings, settings_code_for
from curate.stages.quality.metrics import PARAM_GROUPS, _Params, metric, metric_names

Comparison = Literal[">=", ">", "<=", "<", "==", "!="]
COMPARISONS: tuple[str, ...] = (">=", ">", "<=", "<", "==", "!=")
_NAME = re.compile(r"^[a-z0-9_]+$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Threshold = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A number as written (not the string "3", not true, not .nan): nothing in a rule file is converted."""


class RuleSpec(_Model):
    name: str = Field(pattern=r"^[a-z0-9_]+$")
    metric: str
    keep_if: Comparison
    threshold: Threshold
    description: str = ""
    enabled: StrictBool = True


class RuleOverride(_Model):
    threshold: Threshold | None = None
    enabled: StrictBool | None = None


class LangOverride(_Model):
    params: dict[str, dict[str, Any]] = {}
    rules: dict[str, RuleOverride] = {}


class RuleFile(_Model):
    name: str | None = None
    description: str = ""
    reference: str = ""
    params: dict[str, dict[str, Any]] = {}
    rules: list[RuleSpec] = Field(min_length=1)
    overrides: dict[str, LangOverride] = {}


@dataclass(frozen=True)
class Rule:
    """One rule of a combined rule set, with its effective per-language settings."""

    name: str
    metric: str
    keep_if: str
    threshold: float
    source: str
    """The rule set (file name) it comes from."""
    description: str = ""
    enabled: bool = True
    by_lang: dict[str, tuple[float, bool]] = field(default_factory=dict)
    """lang -> (threshold, enabled) for every language its file lists under `overrides:`
    ("*": any other language, for this rule: a language only another file names gets it
    too), changed or not."""


@dataclass(frozen=True)
class RuleSet:
    """Rules of one or more rule files, in order, and the parameters their metrics use."""

    rules: tuple[Rule, ...]
    params: dict[str, _Params]
    lang_params: dict[str, dict[str, _Params]]
    """lang -> parameter groups that differ for that language (named, not "*")."""
    sources: tuple[str, ...]
    """Resolved paths of the files, in order (C4_LINE_SETTINGS last when only its line
    filter's parameters are taken: a change to it changes the stage's results)."""
    names: tuple[str, ...]
    languages: frozenset[str] = frozenset()
    """Languages some file lists by name under `overrides:` (not "*")."""
    star_params: tuple[tuple[frozenset[str], dict[str, _Params]], ...] = ()
    """Each file's `"*"` parameter groups, with the languages that file names: they apply
    to every other non-null language (a language named only in another file included)."""
    codes_written: tuple[tuple[str, str], ...] = ()
    """(code, where) of every language code a user wrote: the override keys of their own
    rule files and the keys of the stage's `thresholds:` mappings (not the built-in files')."""

    def settings_code(self, lang: str) -> str | None:
        """The language whose settings rows of `lang` get: None for langid's `und` (no
        language, as a null), `lang` when a file lists it, else the language of a GlotLID /
        FineWeb-2 or ISO 639-2/3 code (cmn_Hani, zho → zh; eng_Latn, eng → en), its base
        language (zh-CN, zh_Hans → zh) or the language it is written like (yue, wuu →
        zh) when a file lists that, else an ISO 639-2/3 code's two-letter code (lao → lo)
        or `lang` itself (then "*"). A blank code is no language, and the whitespace around
        a code is not part of it (`ja ` is `ja`)."""
        code = row_code(lang)
        return None if code is None else settings_code_for(code, self.languages)

    def script_settings(self, lang: str) -> dict[str, str]:
        """{script: settings code} when rows of `lang` get their settings by the script
        most of their letters are in (sr: {Cyrl: sr, Latn: sr-Latn}); else {}."""
        code = row_code(lang)
        return {} if code is None else script_settings(code, self.languages)

    def params_for(self, lang: str | None) -> dict[str, _Params]:
        """Parameter groups for rows of language `lang` (None: no language)."""
        if lang is None:
            return self.params
        params = dict(self.params)
        for named, groups in self.star_params:
            if lang not in named:
                params.update(groups)
        return {**params, **self.lang_params.get(lang, {})}

    @property
    def active(self) -> tuple[Rule, ...]:
        """Rules enabled by default or for some language, in order."""
        return tuple(r for r in self.rules if r.enabled or any(on for _, on in r.by_lang.values()))

    @property
    def metrics(self) -> list[str]:
        """Metrics the active rules need, in first-use order, each once."""
        return list(dict.fromkeys(rule.metric for rule in self.active))


# --- finding files -----------------------------------------------------------------------


def builtin_rule_names() -> list[str]:
    return sorted(p.stem for p in rules_root().glob("*.yaml"))


def resolve(ref: str) -> tuple[str, str]:
    """(source name, YAML text) of rule set `ref`: a path to a user's file, else a
    built-in name."""
    as_path = Path(ref).expanduser()
    if as_path.is_file():
        return str(as_path), strict_yaml.read_limited(as_path, "rule file")
    builtin = rules_root() / f"{ref}.yaml"
    if _NAME.match(ref) and builtin.is_file():
        return str(builtin), builtin.read_text(encoding="utf-8")
    raise ConfigError(f"quality rules: {missing_rule_set(ref)}")


def missing_rule_set(ref: str) -> str | None:
    """Why rule set `ref` (a path or a built-in name) cannot be found, or None."""
    as_path = Path(ref).expanduser()
    if as_path.is_file():
        return None
    looked = [str(as_path)]
    if _NAME.match(ref):
        builtin = rules_root() / f"{ref}.yaml"
        if builtin.is_file():
            return None
        looked.append(str(builtin))
    names = builtin_rule_names()
    return (
        f"rule set {ref!r} not found{did_you_mean(ref, names)} (looked in {'; '.join(looked)}); "
        f"give a built-in name ({', '.join(names) or '(none found)'}) or a path to a .yaml rule file"
    )


# --- validation ----------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def parse_rule_file(text: str, source: str) -> RuleFile:
    """The validated rule file; every mistake in it at once, each with its line. Cached
    by its text: a run builds its stages more than once (validating the pipeline,
    planning, in each worker) and YAML parsing is the cost; callers never change the
    result."""
    data, root = strict_yaml.load(text, source)
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: a rule file is a mapping with at least a `rules:` list")
    problems = Problems(source, LineMap(root))
    parsed = None
    try:
        parsed = RuleFile.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            loc = key_path(error["loc"])
            if error["type"] == "missing" and any(e["type"] == "extra_forbidden" and e["loc"][:-1] == loc[:-1] for e in exc.errors()):
                continue  # a misspelt key also makes the right one "missing": the misspelling says it
            problems.add(loc, _rule_message(error, loc))
    _rule_problems(data, problems)
    _param_problems(data, problems)
    raise_all(problems.errors)
    assert parsed is not None  # else a validation error was recorded and raised
    return parsed


def _rule_message(error: dict[str, Any], loc: tuple) -> str:
    kind = error["type"]
    if kind == "literal_error":
        return f"unknown comparison {error.get('input')!r}; valid: {', '.join(COMPARISONS)}"
    if kind == "string_pattern_mismatch":
        return f"rule names are lower-case letters, digits and _ (got {error.get('input')!r})"
    if kind in ("float_type", "finite_number"):
        return f"a threshold is a finite number (got {shown(error.get('input'))}){number_as_text(error.get('input'))}"
    return explain(error, innermost_model(RuleFile, loc), loc)


def _rule_problems(data: dict[str, Any], problems: Problems) -> None:
    """What the schema cannot say: unknown metrics, a rule name twice, overrides of rules
    the file does not have (read from the raw data, so they are found beside schema
    errors)."""
    rules = [r for r in data.get("rules") or [] if isinstance(r, dict)] if isinstance(data.get("rules"), list) else []
    names = [r.get("name") for r in rules]
    for index, rule in enumerate(rules):
        if isinstance(rule.get("metric"), str) and metric(rule["metric"]) is None:
            problems.add(("rules", index, "metric"), f"unknown metric {rule['metric']!r}{did_you_mean(rule['metric'], metric_names())}; valid: {', '.join(metric_names())}")
        if rule.get("name") is not None and names.index(rule.get("name")) != index:
            problems.add(("rules", index, "name"), f"rule {rule['name']!r} is defined twice; rule names must be unique")
        problem = _range_problem(rule.get("metric"), rule.get("threshold"))
        if problem:
            problems.add(("rules", index, "threshold"), problem)
    metrics = {r.get("name"): r.get("metric") for r in rules}
    overrides = data.get("overrides")
    for lang, override in (overrides.items() if isinstance(overrides, dict) else ()):
        problem = code_problem(str(lang))
        if problem:
            problems.add(("overrides", lang), problem)
        changed = override.get("rules") if isinstance(override, dict) else None
        for rule_name, change in changed.items() if isinstance(changed, dict) else ():
            if rule_name not in names:
                problems.add(("overrides", lang, "rules", rule_name), f"no rule called {rule_name!r} in this file; valid: {', '.join(map(str, names))}")
                continue
            problem = _range_problem(metrics[rule_name], change.get("threshold") if isinstance(change, dict) else None)
            if problem:
                problems.add(("overrides", lang, "rules", rule_name, "threshold"), problem)


def _range_problem(metric_name: Any, threshold: Any) -> str | None:
    """A threshold outside its metric's values (80 for a share): no row could pass, or every
    row would. Only numbers of a known metric are judged; the schema reports the rest."""
    found = metric(metric_name) if isinstance(metric_name, str) else None
    if found is None or not _finite(threshold):
        return None
    return found.threshold_problem(threshold)


def _finite(number: Any) -> bool:
    """Whether `number` can be a threshold: a number, not a bool, finite as a float (a whole
    number of 400 digits has no float: math.isfinite raises on it)."""
    if not isinstance(number, (int, float)) or isinstance(number, bool):
        return False
    try:
        return math.isfinite(number)
    except OverflowError:
        return False


def _param_problems(data: dict[str, Any], problems: Problems) -> None:
    """Every parameter group the file sets (`params:`, and each language's under
    `overrides:`) checked against its model, beside the rules' mistakes."""
    overrides = data.get("overrides")
    places = [(("params",), data.get("params"))] + [
        (("overrides", lang, "params"), override.get("params"))
        for lang, override in (overrides.items() if isinstance(overrides, dict) else ()) if isinstance(override, dict)
    ]
    for where, groups in places:
        for group, values in groups.items() if isinstance(groups, dict) else ():
            model = PARAM_GROUPS.get(group)
            if model is None:
                problems.add((*where, group), f"unknown parameter group{did_you_mean(str(group), PARAM_GROUPS)}; valid: {', '.join(PARAM_GROUPS)}")
            elif values is None or isinstance(values, dict):  # else the schema says it is no mapping
                problems.validate(model, values or {}, (*where, group))


def _params(raw: dict[str, dict[str, Any]]) -> dict[str, _Params]:
    """The parameter groups of a rule file parse_rule_file has checked."""
    return {group: PARAM_GROUPS[group].model_validate(values or {}) for group, values in raw.items()}


# --- combining -------------------------------------------------------------------------------


def _changed_threshold(rule: Rule, value: StageThreshold, own: set[str]) -> dict[str, Any]:
    """`rule`'s threshold and by_lang after the stage's `thresholds:` entry `value`. A number
    replaces the rule's own threshold, and so that of every language the rule files give
    no threshold of their own (FineWeb-2's per-language values stay); a mapping sets the
    languages it names, and with "*" every other row (rows without a language included),
    whatever the rule files say."""
    if not isinstance(value, dict):
        return {"threshold": float(value),
                "by_lang": {lang: (thr if lang in own else float(value), on) for lang, (thr, on) in rule.by_lang.items()}}
    other = value.get("*")
    other_on = rule.by_lang.get("*", (rule.threshold, rule.enabled))[1]
    by_lang = {lang: (thr if other is None else float(other), on) for lang, (thr, on) in rule.by_lang.items()}
    if other is not None:
        by_lang["*"] = (float(other), other_on)
    for lang, threshold in value.items():
        if lang != "*":
            by_lang[lang] = (float(threshold), rule.by_lang.get(lang, rule.by_lang.get("*", (rule.threshold, rule.enabled)))[1])
    return {"threshold": rule.threshold if other is None else float(other), "by_lang": by_lang}



StageThreshold = Threshold | dict[str, Threshold]
"""A rule's threshold in the stage's `thresholds:`: a number (the rule's own threshold,
which every language without a value of its own in the rule files inherits), or
{language: number} ("*": every row whose language the mapping does not name)."""


def stage_threshold_problem(rule: str, value: Any) -> str | None:
    """What is wrong with `value` as the stage's `thresholds:` entry of `rule` (None: nothing)."""
    if isinstance(value, dict):
        wrong = {lang: number for lang, number in value.items() if not _finite(number)}
        if not wrong:
            return None
        lang, number = next(iter(wrong.items()))
        return f"{rule}.{lang}: a threshold is a finite number (got {shown(number)}){number_as_text(number)}"
    if _finite(value):
        return None
    return f"{rule}: a threshold is a finite number, or {{language: number}} (got {shown(value)}){number_as_text(value)}"


C4_LINE_SETTINGS = "c4"
"""The built-in rule file that sets C4's line filter per language (`params: c4_lines:`
under `overrides:`)."""


def load_rule_set(refs: list[str], thresholds: dict[str, StageThreshold] | None = None, disable: list[str] | None = None,
                  clean_lines: bool = False) -> RuleSet:
    """Combine rule files `refs` in order; `thresholds` and `disable` adjust rules by name.
    When C4's line filter runs (`clean_lines`, or a rule on a C4 metric) and no file sets
    its parameters, C4_LINE_SETTINGS's are taken (not its rules): the filter then treats
    each language as it does with that file among `refs`, not every row as English (which
    drops every Chinese, Japanese and Thai line)."""
    rules: list[Rule] = []
    own: dict[str, set[str]] = {}  # rule -> the languages ("*" too) its file gives a threshold of their own
    params: dict[str, _Params] = {}
    lang_params: dict[str, dict[str, _Params]] = {}
    sources: list[str] = []
    names: list[str] = []
    star_params: list[tuple[frozenset[str], dict[str, _Params]]] = []
    # group -> (file, where in it, value) of each params: and overrides.*.params: a "*" group
    # replaces another file's for the languages neither names, so all must agree; and
    # (language, group) -> the same of each overrides.<language>.params
    shared: dict[str | tuple[str, str], list[tuple[str, str, _Params]]] = {}

    def agree(source: str, key: str, group: str | tuple[str, str], value: _Params, where: str) -> None:
        clash = next(((src, how) for src, how, theirs in shared.get(group, []) if src != source and theirs != value), None)
        if clash:
            raise ConfigError(
                f"{source}: {key}: differs from the value set in {clash[0]}{clash[1]}; "
                f"metrics are computed once per document, so combined rule sets must agree on their parameters"
            )
        shared.setdefault(group, []).append((source, where, value))

    languages: set[str] = set()

    def take_params(source: str, parsed: RuleFile) -> None:
        """The parameter groups `parsed` sets (its own, each language's, its "*") and the languages it names."""
        sources.append(source)
        for group, value in _params(parsed.params).items():
            agree(source, f"params.{group}", group, value, "")
            params[group] = value
        named = frozenset(lang for lang in parsed.overrides if lang != "*")
        languages.update(named)
        for lang, override in parsed.overrides.items():
            groups = _params(override.params)
            if lang == "*":
                for group, value in groups.items():
                    agree(source, f"overrides.*.params.{group}", group, value, " (its overrides.*)")
                star_params.append((named, groups))
                continue
            for group, value in groups.items():
                agree(source, f"overrides.{lang}.params.{group}", (lang, group), value, f" (its overrides.{lang})")
                lang_params.setdefault(lang, {})[group] = value

    codes_written: list[tuple[str, str]] = []
    for ref in refs:
        source, text = resolve(ref)
        parsed = parse_rule_file(text, source)
        if Path(source).parent != rules_root():
            codes_written += [(lang, f"{source}: overrides.{lang}") for lang in parsed.overrides if lang != "*"]
        set_name = parsed.name or Path(source).stem
        names.append(set_name)
        take_params(source, parsed)
        existing = {r.name: r.source for r in rules}
        for index, spec in enumerate(parsed.rules):
            if spec.name in existing:
                raise ConfigError(
                    f"{source}: rules[{index}].name: rule {spec.name!r} is also defined in {existing[spec.name]}; rule names must be unique across rule sets"
                )
            by_lang = {}
            for lang, override in parsed.overrides.items():
                changed = override.rules.get(spec.name) or RuleOverride()
                if changed.threshold is not None:
                    own.setdefault(spec.name, set()).add(lang)
                by_lang[lang] = (
                    spec.threshold if changed.threshold is None else changed.threshold,
                    spec.enabled if changed.enabled is None else changed.enabled,
                )
            rules.append(
                Rule(spec.name, spec.metric, spec.keep_if, spec.threshold, set_name, spec.description, spec.enabled, by_lang)
            )
    filters_lines = clean_lines or any(getattr(metric(r.metric), "group", None) == "c4_lines" for r in rules)
    set_groups = [params, *lang_params.values(), *(groups for _, groups in star_params)]
    if filters_lines and not any("c4_lines" in groups for groups in set_groups):
        source, text = resolve(C4_LINE_SETTINGS)
        take_params(source, parse_rule_file(text, source))
    known = [r.name for r in rules]
    for label, chosen in (("thresholds", list(thresholds or {})), ("disable", list(disable or []))):
        for name in chosen:
            if name not in known:
                # a ValueError: the quality stage's validator calls this, and pydantic then
                # names the pipeline file, line and stage
                raise ValueError(f"{label}: no rule called {name!r}{did_you_mean(name, known)} in {', '.join(refs)}; valid: {', '.join(known)}")
    for rule in rules:
        value = (thresholds or {}).get(rule.name)
        for lang, number in (value.items() if isinstance(value, dict) else [(None, value)] if value is not None else []):
            problem = (lang is not None and code_problem(lang)) or _range_problem(rule.metric, number)
            meant = None if lang in (None, "*") else settings_code_for(lang, languages)
            if not problem and meant != lang and meant in languages:
                problem = (f"rows of {lang!r} get the settings of {meant!r}, which the rule files list: write {meant} "
                           f"(a code of its own would take every other setting of {meant} away from those rows)")
            if problem:
                raise ValueError(f"thresholds: {rule.name}{'' if lang is None else f'.{lang}'}: {problem}")
            if lang not in (None, "*"):
                codes_written.append((lang, f"thresholds: {rule.name}.{lang}"))
    adjusted = []
    for rule in rules:
        changes: dict[str, Any] = {}
        if thresholds and rule.name in thresholds:
            changes.update(_changed_threshold(rule, thresholds[rule.name], own.get(rule.name, set())))
            languages.update(code for code in changes["by_lang"] if code != "*")
        if disable and rule.name in disable:
            changes["enabled"] = False
            changes["by_lang"] = {lang: (thr, False) for lang, (thr, _) in changes.get("by_lang", rule.by_lang).items()}
        adjusted.append(Rule(**{**rule.__dict__, **changes}) if changes else rule)
    # a language override of a parameter group is complete: fill the rest from the defaults
    for groups in [*lang_params.values(), *(groups for _, groups in star_params)]:
        for group in groups:
            params.setdefault(group, PARAM_GROUPS[group]())
    return RuleSet(tuple(adjusted), params, lang_params, tuple(sources), tuple(names), frozenset(languages), tuple(star_params), tuple(codes_written))
