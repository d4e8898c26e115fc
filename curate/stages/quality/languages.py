"""Language codes as the quality stage meets them: the languages the built-in rule files
carry settings for, how a row's code reaches a listed language's settings (a region or
script code to its base language in that script, GlotLID codes, languages written like
another, a language listed in two scripts by the script of the row's letters), and
which codes a user may write (an override key, a `thresholds:` key, `lang:`)."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from curate.errors import did_you_mean
from curate.stages.langid import LID176_CODES, UNDETERMINED

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
_LANGUAGE_CODE = {subset.split("_")[0]: codes[0] for subset, codes in FINEWEB2_LANGUAGES}
SECOND_SCRIPTS: tuple[tuple[str, str], ...] = tuple(
    (subset, f"{_LANGUAGE_CODE[subset.split('_')[0]]}-{subset.split('_')[1]}")
    for subset in ("arb_Latn", "ron_Cyrl", "hin_Latn", "ben_Latn", "tam_Latn", "zsm_Arab", "azj_Cyrl", "srp_Latn", "npi_Latn", "mar_Latn")
)
"""The FineWeb-2 subsets of a listed language in a second script (Latin-script Serbian,
Cyrillic Azerbaijani, romanised Hindi, Arabic written in Latin letters, ...), as (subset,
the code rule files list it by: the language's code and the script, `sr-Latn`). lid.176
gives one code whatever the script (`sr`): such rows get these settings when most of
their letters are in the second script (`script_settings`)."""
_SUBSET_CODES = {subset: codes[0] for subset, codes in FINEWEB2_LANGUAGES} | dict(SECOND_SCRIPTS) | {"eng_Latn": "en"}
"""A GlotLID or FineWeb-2 code (language_Script) to the code rule files list it by."""
_SCRIPT = ({code: subset.split("_")[1] for subset, codes in FINEWEB2_LANGUAGES for code in codes}
           | {code: subset.split("_")[1] for subset, code in SECOND_SCRIPTS} | {"en": "Latn"})
"""The script of each language the built-in rule files list (sr: Cyrl, sr-Latn: Latn)."""
_SAME_SCRIPT = {"Hans": "Hani", "Hant": "Hani", "Hira": "Jpan", "Kana": "Jpan", "Hrkt": "Jpan", "Kore": "Hang"}
"""Script subtags of a script a listed language is written in (zh_Hans: Chinese's Hani)."""
_LETTERS = {"Latn": "Latin", "Cyrl": "Cyrillic", "Arab": "Arabic", "Deva": "Devanagari", "Beng": "Bengali", "Taml": "Tamil"}
"""Unicode's names of the scripts a language of SECOND_SCRIPTS is written in, for regular expressions."""
WRITTEN_LIKE = {"yue": "zh", "wuu": "zh", "cmn": "zh", "zho": "zh"}
"""Languages `langid` (or GlotLID: cmn, zho) names that rule files seldom list, and the
listed language whose settings fit their written text: Cantonese, Wu and Mandarin are
written in Han characters and segmented like Chinese (Chinese thresholds, not those of
space-separated languages)."""


_GLOTLID_CODE = re.compile(r"^[a-z]{3}_[A-Z][a-z]{3}$")
"""A GlotLID / FineWeb-2 code (language_Script, deu_Latn): a langid model of those gives
thousands, which cannot be listed here."""
KNOWN_CODES = LID176_CODES | set(_SCRIPT) | set(_SUBSET_CODES) | set(WRITTEN_LIKE)
"""Language codes a row can have: the shipped langid model's, the built-in rule files' and
the ones RuleSet.settings_code maps."""
_WRITTEN_FOR = {"jp": "ja", "cn": "zh", "kr": "ko", "gr": "el", "ua": "uk", "dk": "da", "se": "sv", "cz": "cs", "vn": "vi",
                "english": "en", "german": "de", "french": "fr", "spanish": "es", "japanese": "ja", "chinese": "zh",
                "fil": "tl"}
"""Country codes, English names and other codes (ISO 639's `fil` for Filipino, which
lid.176 calls Tagalog, `tl`) written for a language code."""

_THREE_LETTER = {"afr": "af", "alb": "sq", "amh": "am", "ara": "ar", "arb": "ar", "arg": "an", "arm": "hy",
                 "asm": "as", "ava": "av", "aze": "az", "azj": "az", "bak": "ba", "baq": "eu", "bel": "be",
                 "ben": "bn", "bih": "bh", "bod": "bo", "bos": "bs", "bre": "br", "bul": "bg", "bur": "my",
                 "cat": "ca", "ces": "cs", "che": "ce", "chi": "zh", "chv": "cv", "cmn": "zh", "cor": "kw",
                 "cos": "co", "cym": "cy", "cze": "cs", "dan": "da", "deu": "de", "div": "dv", "dut": "nl",
                 "ekk": "et", "ell": "el", "eng": "en", "epo": "eo", "est": "et", "eus": "eu", "fas": "fa",
                 "fin": "fi", "fra": "fr", "fre": "fr", "fry": "fy", "geo": "ka", "ger": "de", "gla": "gd",
                 "gle": "ga", "glg": "gl", "glv": "gv", "gre": "el", "grn": "gn", "gug": "gn", "guj": "gu",
                 "hat": "ht", "hbs": "sh", "heb": "he", "hin": "hi", "hrv": "hr", "hun": "hu", "hye": "hy",
                 "ice": "is", "ido": "io", "ile": "ie", "ina": "ia", "ind": "id", "isl": "is", "ita": "it",
                 "jav": "jv", "jpn": "ja", "kan": "kn", "kat": "ka", "kaz": "kk", "khk": "mn", "khm": "km",
                 "kir": "ky", "kmr": "ku", "kom": "kv", "kor": "ko", "kpv": "kv", "kur": "ku", "lao": "lo",
                 "lat": "la", "lav": "lv", "lim": "li", "lit": "lt", "ltz": "lb", "lvs": "lv", "mac": "mk",
                 "mal": "ml", "mar": "mr", "may": "ms", "mkd": "mk", "mlg": "mg", "mlt": "mt", "mon": "mn",
                 "msa": "ms", "mya": "my", "nep": "ne", "nld": "nl", "nno": "nn", "nor": "no", "npi": "ne",
                 "oci": "oc", "ori": "or", "ory": "or", "oss": "os", "pan": "pa", "pbu": "ps", "per": "fa",
                 "pes": "fa", "plt": "mg", "pol": "pl", "por": "pt", "pus": "ps", "que": "qu", "quz": "qu",
                 "roh": "rm", "ron": "ro", "rum": "ro", "rus": "ru", "san": "sa", "sin": "si", "slk": "sk",
                 "slo": "sk", "slv": "sl", "snd": "sd", "som": "so", "spa": "es", "sqi": "sq", "srd": "sc",
                 "srp": "sr", "sun": "su", "swa": "sw", "swe": "sv", "swh": "sw", "tam": "ta", "tat": "tt",
                 "tel": "te", "tgk": "tg", "tgl": "tl", "tha": "th", "tib": "bo", "tuk": "tk", "tur": "tr",
                 "uig": "ug", "ukr": "uk", "urd": "ur", "uzb": "uz", "uzn": "uz", "vie": "vi", "vol": "vo",
                 "wel": "cy", "wln": "wa", "ydd": "yi", "yid": "yi", "yor": "yo", "zho": "zh", "zsm": "ms"}
"""ISO 639-2 (bibliographic and terminology) and ISO 639-3 codes of the languages lid.176
gives a two-letter code for, to that code: swa and swh Swahili (sw, not wa, Walloon, by
spelling), ara and arb Arabic, msa and zsm Malay, ger and deu German. Taken from CLDR's
language aliases (as babel ships them) without its deprecated codes and `als`, which is
lid.176's Alemannic; no installed dependency of curate carries such a table."""


def meant_code(code: str, valid: frozenset[str] | set[str]) -> str | None:
    """The code of `valid` a user most likely meant by `code`, by what the code says, not
    by its spelling: its case (EN), a country code or English name (jp, english), another
    code of the same language (nb: no, fil: tl), its base language (zh-Hant, sr-Latn, pt-BR),
    a GlotLID / FineWeb-2 or ISO 639-2/3 code (deu_Latn, por: pt, swa: sw) or a language written like
    a listed one (cmn: zh); None when none of them is in `valid`."""
    base, _ = _subtags(code)
    subset = _SUBSET_CODES.get(code) or _SUBSET_CODES.get(next((c for c in _SUBSET_CODES if c.startswith(f"{base}_")), ""))
    same = [c for _, codes in FINEWEB2_LANGUAGES if code in codes for c in codes]
    candidates = [code.lower(), _WRITTEN_FOR.get(code.lower()), _THREE_LETTER.get(code.lower()), *same, base, subset, subset and _subtags(subset)[0], WRITTEN_LIKE.get(base)]
    return next((c for c in candidates if c in valid), None)


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
    "*", an empty code, `und`, or a code neither a rule file, langid nor GlotLID knows,
    whose rows would get the "*" settings and the English tokenizer (`jp` for `ja`).
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
    return f"{code!r} is a code neither langid nor a rule file knows, so its rows would get the \"*\" settings and the English tokenizer{hint}"


def _subtags(code: str) -> tuple[str, str | None]:
    """(the language, lower-case; its script subtag, title-case, or None) of a code:
    sr-Latn-RS → (sr, Latn), zh_Hans → (zh, Hans), pt-BR → (pt, None)."""
    parts = re.split(r"[-_]", code)
    return parts[0].lower(), next((p.title() for p in parts[1:] if len(p) == 4 and p.isalpha()), None)


def settings_code_for(lang: str, languages: frozenset[str] | set[str]) -> str:
    """The language whose settings rows of `lang` (not `und`) get, given the languages the
    rule files name (`RuleSet.settings_code`). A code that names a script never gets the
    settings of a built-in language in another script (sr-Latn, sr_Latn: srp_Latn's, not
    srp_Cyrl's)."""
    if lang in languages:
        return lang
    base, script = _subtags(lang)
    for candidate in (_SUBSET_CODES.get(lang), script and f"{base}-{script}", base, WRITTEN_LIKE.get(base)):
        if candidate in languages and (script is None or _SAME_SCRIPT.get(script, script) == _SCRIPT.get(candidate, script)):
            return candidate
    return lang


def script_settings(lang: str, languages: frozenset[str] | set[str]) -> dict[str, str]:
    """{script: the language whose settings rows of `lang` in that script get} when `lang`
    names no script and its language is listed in two (sr: {Cyrl: sr, Latn: sr-Latn}; the
    script of the language's own code first); else {}."""
    settings = settings_code_for(lang, languages)
    if _subtags(lang)[1] is not None or settings not in _SCRIPT:
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
