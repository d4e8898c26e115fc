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

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from curate import strict_yaml
from curate.errors import ConfigError, did_you_mean, raise_all
from curate.resources import rules_root
from curate.stages.langid import LID176_CODES, UNDETERMINED
from curate.schema_errors import LineMap, Problems, explain, innermost_model, number_as_text
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
    enabled: bool = True


class RuleOverride(_Model):
    threshold: Threshold | None = None
    enabled: bool | None = None


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


FINEWEB2_LANGUAGES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("rus_Cyrl", ("ru",)), ("cmn_Hani", ("zh",)), ("deu_Latn", ("de",)), ("jpn_Jpan", ("ja",)), ("spa_Latn", ("es",)),
    ("fra_Latn", ("fr",)), ("ita_Latn", ("it",)), ("por_Latn", ("pt",)), ("pol_Latn", ("pl",)), ("nld_Latn", ("nl",)),
    ("ind_Latn", ("id",)), ("vie_Latn", ("vi",)), ("fas_Arab", ("fa",)), ("arb_Arab", ("ar",)), ("tur_Latn", ("tr",)),
    ("tha_Thai", ("th",)), ("ukr_Cyrl", ("uk",)), ("ell_Grek", ("el",)), ("kor_Hang", ("ko",)), ("ces_Latn", ("cs",)),
    ("swe_Latn", ("sv",)), ("hun_Latn", ("hu",)), ("ron_Latn", ("ro",)), ("nob_Latn", ("no", "nb")), ("dan_Latn", ("da",)),
    ("bul_Cyrl", ("bg",)), ("fin_Latn", ("fi",)), ("hin_Deva", ("hi",)), ("ben_Beng", ("bn",)), ("slk_Latn", ("sk",)),
    ("heb_Hebr", ("he",)), ("lit_Latn", ("lt",)), ("bos_Latn", ("bs",)), ("slv_Latn", ("sl",)), ("ekk_Latn", ("et",)),
    ("cat_Latn", ("ca",)), ("tam_Taml", ("ta",)), ("hrv_Latn", ("hr",)), ("lvs_Latn", ("lv",)), ("zsm_Latn", ("ms",)),
    ("azj_Latn", ("az",)), ("srp_Cyrl", ("sr",)), ("kat_Geor", ("ka",)), ("npi_Deva", ("ne",)), ("mar_Deva", ("mr",)),
    ("hye_Armn", ("hy",)),
)
"""FineWeb-2's 45 largest languages by UTF-8 bytes (fineweb2-language-distribution.csv,
Russian to Marathi) plus Armenian, as (FineWeb-2 subset, codes the langid stage writes):
the languages whose settings the built-in rule files carry (bench/make_language_rules.py
writes them from this table)."""
_SUBSET_CODES = {subset: codes[0] for subset, codes in FINEWEB2_LANGUAGES} | {"eng_Latn": "en"}
"""A GlotLID or FineWeb-2 code (language_Script) to the code rule files list it by."""
WRITTEN_LIKE = {"yue": "zh", "wuu": "zh", "cmn": "zh", "zho": "zh"}
"""Languages `langid` (or GlotLID: cmn, zho) names that rule files seldom list, and the
listed language whose settings fit their written text: Cantonese, Wu and Mandarin are
written in Han characters and segmented like Chinese (Chinese thresholds, not those of
space-separated languages)."""


_GLOTLID_CODE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")
"""A GlotLID / FineWeb-2 code (language_Script, deu_Latn): a langid model of those gives
thousands, which cannot be listed here."""
KNOWN_CODES = LID176_CODES | {code for _, codes in FINEWEB2_LANGUAGES for code in codes} | {"en"} | set(_SUBSET_CODES) | set(WRITTEN_LIKE)
"""Language codes a row can have: the shipped langid model's, the built-in rule files' and
the ones RuleSet.settings_code maps."""
_WRITTEN_FOR = {"jp": "ja", "cn": "zh", "kr": "ko", "gr": "el", "ua": "uk", "dk": "da", "se": "sv", "cz": "cs", "vn": "vi",
                "english": "en", "german": "de", "french": "fr", "spanish": "es", "japanese": "ja", "chinese": "zh"}
"""Country codes and English names written for a language code."""


def code_problem(code: str, rows_have: frozenset[str] | None = None) -> str | None:
    """Why rows can never have the language code `code` a user wrote (an override key, a
    `thresholds:` key, the quality stage's `lang:`), with the code meant when it can tell;
    None if they can. Without `rows_have` (the codes come from the input's own column or a
    custom langid model) only an empty code and `und` are mistakes; with it (the shipped
    langid model's codes, or what a fixed `lang:` can get settings from), so is any other code."""
    if not code.strip():
        return "an empty language code matches no row"
    if code == UNDETERMINED:
        return "und is no language: rows langid cannot identify get the rules of rows without a language (the defaults)"
    if rows_have is None or code == "*" or code in rows_have:
        return None
    base = code.split("_")[0].split("-")[0].lower()
    meant = _WRITTEN_FOR.get(code.lower()) or (base if base in rows_have else None) or _SUBSET_CODES.get(code) or _SUBSET_CODES.get(
        next((c for c in _SUBSET_CODES if c.startswith(f"{code.lower()}_")), ""))
    hint = f" (did you mean `{meant}`?)" if meant else did_you_mean(code, sorted(rows_have))
    return f"{code!r} is not a language code rows can have{hint}; langid's codes are lid.176's (en, de, ja, zh, ...)"


def fixed_language_problem(code: str, rule_set: RuleSet) -> str | None:
    """Why the quality stage's `lang: code` (one language for every row) is a mistake:
    "*", an empty code, `und`, or a code neither a rule file, langid nor GlotLID knows,
    whose rows would get the "*" settings and the English tokenizer (`jp` for `ja`).
    Regional and script codes are their base language's (`zh-CN`, `pt-BR`)."""
    if code == "*":
        return 'one language code, not "*"'
    problem = code_problem(code)
    base = code.split("_")[0].split("-")[0].lower()
    if problem or rule_set.settings_code(code) in rule_set.languages or base in KNOWN_CODES or _GLOTLID_CODE.match(code):
        return problem
    meant = _WRITTEN_FOR.get(code.lower())
    hint = f" (did you mean `{meant}`?)" if meant else did_you_mean(code, sorted(KNOWN_CODES))
    return f"{code!r} is a code neither langid nor a rule file knows, so its rows would get the \"*\" settings and the English tokenizer{hint}"


def _settings_code(lang: str, languages: frozenset[str] | set[str]) -> str:
    """`RuleSet.settings_code` of a code other than `und`, given the languages the files name."""
    if lang in languages:
        return lang
    base = lang.split("_")[0].split("-")[0].lower()
    for candidate in (_SUBSET_CODES.get(lang), base, WRITTEN_LIKE.get(base)):
        if candidate in languages:
            return candidate
    return lang


@dataclass(frozen=True)
class RuleSet:
    """Rules of one or more rule files, in order, and the parameters their metrics use."""

    rules: tuple[Rule, ...]
    params: dict[str, _Params]
    lang_params: dict[str, dict[str, _Params]]
    """lang -> parameter groups that differ for that language (named, not "*")."""
    sources: tuple[str, ...]
    """Resolved paths of the files, in order."""
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
        language, as a null), `lang` when a file lists it, else
        the language of a GlotLID / FineWeb-2 code (cmn_Hani → zh, eng_Latn → en), its base
        language (zh-CN, zh_Hans → zh) or the language it is written like (yue, wuu →
        zh) when a file lists that, else `lang` itself (then "*")."""
        return None if lang == UNDETERMINED else _settings_code(lang, self.languages)

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
    looked = [str(as_path)]
    if _NAME.match(ref):
        builtin = rules_root() / f"{ref}.yaml"
        if builtin.is_file():
            return str(builtin), builtin.read_text(encoding="utf-8")
        looked.append(str(builtin))
    builtins = ", ".join(builtin_rule_names()) or "(none found)"
    raise ConfigError(
        f"quality rules: rule set {ref!r} not found (looked in {'; '.join(looked)}); "
        f"give a built-in name ({builtins}) or a path to a .yaml rule file"
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
            loc = tuple(error["loc"])
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
        return f"a threshold is a finite number (got {error.get('input')!r}){number_as_text(error.get('input'))}"
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
    if found is None or not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not math.isfinite(threshold):
        return None
    return found.threshold_problem(threshold)


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
    def finite(number: Any) -> bool:
        return isinstance(number, (int, float)) and not isinstance(number, bool) and math.isfinite(number)

    if isinstance(value, dict):
        wrong = {lang: number for lang, number in value.items() if not finite(number)}
        if not wrong:
            return None
        lang, number = next(iter(wrong.items()))
        return f"{rule}.{lang}: a threshold is a finite number (got {number!r}){number_as_text(number)}"
    if finite(value):
        return None
    return f"{rule}: a threshold is a finite number, or {{language: number}} (got {value!r}){number_as_text(value)}"


def load_rule_set(refs: list[str], thresholds: dict[str, StageThreshold] | None = None, disable: list[str] | None = None) -> RuleSet:
    """Combine rule files `refs` in order; `thresholds` and `disable` adjust rules by name."""
    rules: list[Rule] = []
    own: dict[str, set[str]] = {}  # rule -> the languages ("*" too) its file gives a threshold of their own
    params: dict[str, _Params] = {}
    lang_params: dict[str, dict[str, _Params]] = {}
    sources: list[str] = []
    names: list[str] = []
    star_params: list[tuple[frozenset[str], dict[str, _Params]]] = []
    # group -> (file, where in it, value) of each params: and overrides.*.params: a "*" group
    # replaces another file's for the languages neither names, so all must agree
    shared: dict[str, list[tuple[str, str, _Params]]] = {}

    def agree(source: str, key: str, group: str, value: _Params, where: str) -> None:
        clash = next(((src, how) for src, how, theirs in shared.get(group, []) if src != source and theirs != value), None)
        if clash:
            raise ConfigError(
                f"{source}: {key}: differs from the value set in {clash[0]}{clash[1]}; "
                f"metrics are computed once per document, so combined rule sets must agree on their parameters"
            )
        shared.setdefault(group, []).append((source, where, value))

    languages: set[str] = set()
    codes_written: list[tuple[str, str]] = []
    for ref in refs:
        source, text = resolve(ref)
        parsed = parse_rule_file(text, source)
        if Path(source).parent != rules_root():
            codes_written += [(lang, f"{source}: overrides.{lang}") for lang in parsed.overrides if lang != "*"]
        set_name = parsed.name or Path(source).stem
        sources.append(source)
        names.append(set_name)
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
                previous = lang_params.setdefault(lang, {}).get(group)
                if previous is not None and previous != value:
                    raise ConfigError(f"{source}: overrides.{lang}.params.{group}: differs from another rule set's override")
                lang_params[lang][group] = value
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
            if not problem and lang not in (None, "*") and _settings_code(lang, languages) != lang:
                meant = _settings_code(lang, languages)
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
