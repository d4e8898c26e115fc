"""Language codes as the quality stage meets them (the code tables themselves are
`curate.stages.language_codes`, shared with langid): how a row's code reaches a listed
language's settings (a region or
script code to its base language in that script, GlotLID and ISO 639-2/3 codes, languages written like
another, a language listed in two scripts by the script of the row's letters), and
which codes a user may write (an override key, a `thresholds:` key, `lang:`)."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from curate.errors import did_you_mean
from curate.stages.language_codes import (
    FINEWEB2_LANGUAGES,
    LID176_CODES,
    SECOND_SCRIPTS,
    SUBSET_CODES,
    THREE_LETTER,
    UNDETERMINED,
    WRITTEN_LIKE,
    meant_code,
    subtags,
)

_SCRIPT = ({code: subset.split("_")[1] for subset, codes in FINEWEB2_LANGUAGES for code in codes}
           | {code: subset.split("_")[1] for subset, code in SECOND_SCRIPTS} | {"en": "Latn"})
"""The script of each language the built-in rule files list (sr: Cyrl, sr-Latn: Latn)."""
_SAME_SCRIPT = {"Hans": "Hani", "Hant": "Hani", "Hira": "Jpan", "Kana": "Jpan", "Hrkt": "Jpan", "Kore": "Hang"}
"""Script subtags of a script a listed language is written in (zh_Hans: Chinese's Hani)."""
_LETTERS = {"Latn": "Latin", "Cyrl": "Cyrillic", "Arab": "Arabic", "Deva": "Devanagari", "Beng": "Bengali", "Taml": "Tamil"}
"""Unicode's names of the scripts a language of SECOND_SCRIPTS is written in, for regular expressions."""


_GLOTLID_CODE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")
"""A GlotLID / FineWeb-2 code (language_Script, deu_Latn): a langid model of those gives
thousands, which cannot be listed here."""
KNOWN_CODES = LID176_CODES | set(_SCRIPT) | set(SUBSET_CODES) | set(WRITTEN_LIKE) | set(THREE_LETTER)
"""Language codes a row can have: the shipped langid model's, the built-in rule files' and
the ones RuleSet.settings_code maps."""





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
    if rows_have is None or code == "*" or code in rows_have or code in dict(SECOND_SCRIPTS).values() and code.split("-")[0] in rows_have:
        return None  # sr-Latn: the settings of rows of sr in Latin letters
    meant = meant_code(code, rows_have)
    hint = f" (did you mean `{meant}`?)" if meant else did_you_mean(code, sorted(rows_have))
    return f"{code!r} is not a language code rows can have{hint}; langid's codes are lid.176's (en, de, ja, zh, ...)"


def fixed_language_problem(code: str, languages: frozenset[str]) -> str | None:
    """Why the quality stage's `lang: code` (one language for every row) is a mistake:
    "*", an empty code, `und`, or a code neither a rule file, langid, GlotLID nor ISO 639
    knows, whose rows would get the "*" settings and the Unicode tokenizer (`jp` for `ja`).
    Regional and script codes are their base language's (`zh-CN`, `pt-BR`). `languages`:
    those the rule files name."""
    if code == "*":
        return 'one language code, not "*"'
    problem = code_problem(code)
    base = code.split("_")[0].split("-")[0].lower()
    if problem or settings_code_for(code, languages) in languages or base in KNOWN_CODES or _GLOTLID_CODE.match(code):
        return problem
    meant = meant_code(code, KNOWN_CODES)
    hint = f" (did you mean `{meant}`?)" if meant else did_you_mean(code, sorted(KNOWN_CODES))
    return f"{code!r} is a code neither langid nor a rule file knows, so its rows would get the \"*\" settings and the Unicode tokenizer{hint}"




def row_code(lang: str) -> str | None:
    """A row's language code without the whitespace around it (a padded CSV cell); None
    for no language: a blank code (an empty cell) or langid's `und`."""
    code = lang.strip()
    return None if code in ("", UNDETERMINED) else code


def settings_code_for(lang: str, languages: frozenset[str] | set[str]) -> str:
    """The language whose settings rows of `lang` (not `und`) get, given the languages the
    rule files name (`RuleSet.settings_code`). A code that names a script never gets the
    settings of a built-in language in another script (sr-Latn, sr_Latn: srp_Latn's, not
    srp_Cyrl's). An ISO 639-2/3 code is its two-letter code (jpn: ja, srp_latn: sr-Latn), listed
    or not: a language no file lists gets the "*" settings and its tokenizer (lao: lo's segmenter)."""
    if lang in languages:
        return lang
    base, script = subtags(lang)
    two_letter = THREE_LETTER.get(base)
    for candidate in (SUBSET_CODES.get(lang), script and f"{base}-{script}", base, WRITTEN_LIKE.get(base),
                      two_letter and script and f"{two_letter}-{script}", two_letter):
        if candidate in languages and (script is None or _SAME_SCRIPT.get(script, script) == _SCRIPT.get(candidate, script)):
            return candidate
    return lang if two_letter is None else f"{two_letter}-{script}" if script else two_letter


def script_settings(lang: str, languages: frozenset[str] | set[str]) -> dict[str, str]:
    """{script: the language whose settings rows of `lang` in that script get} when `lang`
    names no script and its language is listed in two (sr: {Cyrl: sr, Latn: sr-Latn}; the
    script of the language's own code first); else {}."""
    settings = settings_code_for(lang, languages)
    if subtags(lang)[1] is not None or settings not in _SCRIPT:
        return {}
    forms = {_SCRIPT[settings]: settings} | {_SCRIPT[code]: code for _, code in SECOND_SCRIPTS
                                              if code in languages and code.split("-")[0] == settings}
    return forms if len(forms) > 1 else {}


SCRIPT_SAMPLE_CHARS = 500
"""A text's script is told from its first this many characters, as langid tells its
language from a sample of 500 (a text rarely changes script after them)."""


def not_latin(text: pl.Series) -> pl.Series:
    """Whether each text's first SCRIPT_SAMPLE_CHARS characters hold letters, fewer than a
    tenth of them Latin: text the English rules and tokenizer cannot judge (Chinese, Thai,
    Arabic, Russian). A null text, or one without letters, is not."""
    sample = text.str.slice(0, SCRIPT_SAMPLE_CHARS)
    letters, latin = sample.str.count_matches(r"\p{L}").fill_null(0), sample.str.count_matches(r"[\p{Latin}&&\p{L}]").fill_null(0)
    return (letters > 0) & (latin * 10 < letters)


def by_dominant_script(text: pl.Series, choices: dict[str, str]) -> pl.Series:
    """Each text's pick among `choices` ({script: code}, `script_settings`): the script most
    of the letters of its first SCRIPT_SAMPLE_CHARS characters are in (a tie, or no
    letters of either: the first)."""
    sample = text.str.slice(0, SCRIPT_SAMPLE_CHARS)
    letters = [sample.str.count_matches(rf"[\p{{{_LETTERS[script]}}}&&\p{{L}}]").fill_null(0).to_numpy() for script in choices]
    return pl.Series(text.name, np.array(list(choices.values()))[np.argmax(np.column_stack(letters), axis=1)], dtype=pl.String)
