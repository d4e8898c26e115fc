"""Language codes as users and models write them, shared by the stages that read them
(`langid`'s keep list, `quality`'s rule files and `lang:`): the codes the shipped langid
model gives, the FineWeb-2 languages the built-in rule files carry settings for, and what
a code a user wrote most likely means (`meant_code`: por is pt, cmn is zh, sr-Latn's
language is sr), by what the code says, not by its spelling."""

from __future__ import annotations

import re

UNDETERMINED = "und"
"""A row langid cannot identify (empty, too short, no letters)."""
LID176_CODES = frozenset("""
af als am an ar arz as ast av az azb ba bar bcl be bg bh bn bo bpy br bs bxr ca cbk ce
ceb ckb co cs cv cy da de diq dsb dty dv el eml en eo es et eu fa fi fr frr fy ga gd gl
gn gom gu gv he hi hif hr hsb ht hu hy ia id ie ilo io is it ja jbo jv ka kk km kn ko
krc ku kv kw ky la lb lez li lmo lo lrc lt lv mai mg mhr min mk ml mn mr mrj ms mt mwl
my myv mzn nah nap nds ne new nl nn no oc or os pa pam pfl pl pms pnb ps pt qu rm ro ru
rue sa sah sc scn sco sd sh si sk sl so sq sr su sv sw ta te tg th tk tl tr tt tyv ug uk
ur uz vec vep vi vls vo wa war wuu xal xmf yi yo yue zh
""".split())
"""The 176 codes the shipped model (lid.176.ftz) gives, known without loading it: other
stages check the language codes a user writes against them."""

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
SUBSET_CODES = {subset: codes[0] for subset, codes in FINEWEB2_LANGUAGES} | dict(SECOND_SCRIPTS) | {"eng_Latn": "en"}
"""A GlotLID or FineWeb-2 code (language_Script) to the code rule files list it by."""

WRITTEN_LIKE = {"yue": "zh", "wuu": "zh", "cmn": "zh", "zho": "zh"}
"""Languages `langid` (or GlotLID: cmn, zho) names that rule files seldom list, and the
listed language whose settings fit their written text: Cantonese, Wu and Mandarin are
written in Han characters and segmented like Chinese (Chinese thresholds, not those of
space-separated languages)."""

_WRITTEN_FOR = {"jp": "ja", "cn": "zh", "kr": "ko", "gr": "el", "ua": "uk", "dk": "da", "se": "sv", "cz": "cs", "vn": "vi",
                "english": "en", "german": "de", "french": "fr", "spanish": "es", "japanese": "ja", "chinese": "zh",
                "fil": "tl", "iw": "he", "in": "id", "ji": "yi", "jw": "jv", "mo": "ro", "gsw": "als"}
"""Country codes, English names and other codes written for a language code: ISO 639's
`fil` for Filipino, which lid.176 calls Tagalog, `tl`; the withdrawn ISO 639-1 codes that
Java's Locale and Google's language tools still write (iw Hebrew, in Indonesian, ji
Yiddish, jw Javanese, mo Moldovan, i.e. Romanian), which by spelling would go to yi
(Yiddish for Hebrew), min or wa; and ISO 639-3's `gsw` for Swiss German and Alemannic,
which lid.176 names as Wikipedia does, `als` (by spelling: sw, Swahili)."""

THREE_LETTER = {"afr": "af", "alb": "sq", "amh": "am", "ara": "ar", "arb": "ar", "arg": "an", "arm": "hy",
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
lid.176's Alemannic; no installed dependency of curate carries such a table. A row's
code in the table gets the settings of its two-letter code (the quality stage reads
language columns written with ISO 639-3 codes, as Common Crawl's are)."""


def subtags(code: str) -> tuple[str, str | None]:
    """(the language, lower-case; its script subtag, title-case, or None) of a code:
    sr-Latn-RS → (sr, Latn), zh_Hans → (zh, Hans), pt-BR → (pt, None)."""
    parts = re.split(r"[-_]", code)
    return parts[0].lower(), next((p.title() for p in parts[1:] if len(p) == 4 and p.isalpha()), None)


def extended_language(code: str) -> str | None:
    """A code's extended language subtag, lower-case (BCP 47's three letters after the
    language, which name the language itself: zh-yue is Cantonese, yue), or None."""
    parts = re.split(r"[-_]", code)
    return parts[1].lower() if len(parts) > 1 and len(parts[1]) == 3 and parts[1].isalpha() else None


def meant_code(code: str, valid: frozenset[str] | set[str]) -> str | None:
    """The code of `valid` a user most likely meant by `code`, by what the code says, not
    by its spelling: its case (EN), a country code or English name (jp, english), another
    code of the same language (nb: no, fil: tl, iw: he), its extended language (zh-yue: yue),
    its base language (zh-Hant, sr-Latn, pt-BR), a GlotLID / FineWeb-2 or ISO 639-2/3 code
    (deu_Latn, por: pt, swa: sw) or a language written like a listed one (cmn: zh); None when
    none of them is in `valid`."""
    base, _ = subtags(code)
    subset = SUBSET_CODES.get(code) or SUBSET_CODES.get(next((c for c in SUBSET_CODES if c.startswith(f"{base}_")), ""))
    same = [c for _, codes in FINEWEB2_LANGUAGES if code in codes for c in codes]
    candidates = [code.lower(), _WRITTEN_FOR.get(code.lower()), THREE_LETTER.get(code.lower()), *same, extended_language(code), base, subset,
                  subset and subtags(subset)[0], WRITTEN_LIKE.get(base)]
    return next((c for c in candidates if c in valid), None)
