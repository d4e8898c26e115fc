"""English word tokens and sentence ends as the `quality` metrics see them: datatrove's
character sets (punctuation, terminal punctuation, spaCy's sentence-end characters) and
a spaCy-compatible English word tokenizer written as polars regular expressions.

Words. datatrove splits words with spaCy's English tokenizer. curate reproduces that
tokenizer's rules as two regular expressions (no spaCy, no Python loop):
  1. an *infix* pass inserts spaces where spaCy splits inside a whitespace-delimited
     chunk (hyphen between letters, `,` between letters, `.` between a lower- and an
     upper-case letter, `:`/`/`/`=` before a letter, `-`/`+` between digits, units after
     numbers such as `10km`, ellipses, contractions such as `didn't` and `cannot`);
  2. a *token* pattern splits each chunk into spaCy's prefixes (opening punctuation,
     quotes, currency), a core, and suffixes (closing punctuation, `'s`), keeping spaCy's
     special cases (`U.S.`, `e.g.`, `St.`, `Jr.`, single letters `A.`).
On the 9.1 million whitespace chunks of the enwiki benchmark set it gives spaCy's token
count for 99.993% of chunks (docs/stages/quality.md lists what still differs).
"""

from __future__ import annotations

import re

import polars as pl

# --- character sets -------------------------------------------------------------------

# datatrove.utils.text.PUNCTUATION ∪ TERMINAL_PUNCTUATION (Apache-2.0), as code point
# ranges. A word is a "symbol" word when every character is in this set.
_PUNCT_SET = (
    r"\x{0}-\x{8}\x{B}-\x{1F}\x{21}-\x{2F}\x{3A}-\x{40}\x{5B}-\x{60}\x{7B}-\x{9F}\x{AB}\x{B4}\x{BB}"
    r"\x{2013}-\x{2014}\x{2019}\x{201C}-\x{201E}\x{2026}\x{2236}\x{2501}\x{25BA}\x{3001}-\x{3002}"
    r"\x{3008}-\x{300D}\x{3010}-\x{3011}\x{FF01}\x{FF05}\x{FF08}-\x{FF09}\x{FF0C}\x{FF0E}\x{FF11}"
    r"\x{FF1A}-\x{FF1B}\x{FF1F}\x{FF5E}"
)
_TERMINAL = (
    r"\x{21}\x{2E}\x{3F}\x{589}\x{61D}-\x{61F}\x{6D4}\x{700}-\x{702}\x{7F9}\x{837}\x{839}\x{83D}-\x{83E}"
    r"\x{964}-\x{965}\x{104A}-\x{104B}\x{1362}\x{1367}-\x{1368}\x{166E}\x{1735}-\x{1736}\x{17D4}-\x{17D6}"
    r"\x{17D9}-\x{17DA}\x{1803}\x{1809}\x{1944}-\x{1945}\x{1AA8}-\x{1AAB}\x{1B5A}-\x{1B5B}\x{1B5E}-\x{1B5F}"
    r"\x{1B7D}-\x{1B7E}\x{1C3B}-\x{1C3C}\x{1C7E}-\x{1C7F}\x{203C}-\x{203D}\x{2047}-\x{2049}\x{2E2E}"
    r"\x{2E3C}\x{2E53}-\x{2E54}\x{3002}\x{A4FF}\x{A60E}-\x{A60F}\x{A6F3}\x{A6F7}\x{A876}-\x{A877}"
    r"\x{A8CE}-\x{A8CF}\x{A92F}\x{A9C8}-\x{A9C9}\x{AA5D}-\x{AA5F}\x{AAF0}-\x{AAF1}\x{ABEB}\x{FE52}"
    r"\x{FE56}-\x{FE57}\x{FF01}\x{FF0E}\x{FF1F}\x{FF61}\x{10A56}-\x{10A57}\x{10F55}-\x{10F59}"
    r"\x{10F86}-\x{10F89}\x{11047}-\x{11048}\x{110BE}-\x{110C1}\x{11141}-\x{11143}\x{111C5}-\x{111C6}"
    r"\x{111CD}\x{111DE}-\x{111DF}\x{11238}-\x{11239}\x{1123B}-\x{1123C}\x{112A9}\x{1144B}-\x{1144C}"
    r"\x{115C2}-\x{115C3}\x{115C9}-\x{115D7}\x{11641}-\x{11642}\x{1173C}-\x{1173E}\x{11944}\x{11946}"
    r"\x{11A42}-\x{11A43}\x{11A9B}-\x{11A9C}\x{11C41}-\x{11C42}\x{11EF7}-\x{11EF8}\x{11F43}-\x{11F44}"
    r"\x{16A6E}-\x{16A6F}\x{16AF5}\x{16B37}-\x{16B38}\x{16B44}\x{16E98}\x{1BC9F}\x{1DA88}"
)
NON_SYMBOL_CHAR = f"[^{_PUNCT_SET}{_TERMINAL}]"
"""A character outside datatrove's punctuation set: a word with one is a non-symbol word."""
TERMINAL_PUNCTUATION_SET = _TERMINAL
"""datatrove's TERMINAL_PUNCTUATION as the inside of a character class."""
TERMINAL_PUNCTUATION_CHAR = f"[{_TERMINAL}]"
"""datatrove's TERMINAL_PUNCTUATION (FineWeb's line-end punctuation)."""
# spaCy's Sentencizer.default_punct_chars (MIT): a token made of one of these ends a sentence.
_SENTENCE_END = (
    "!.?։؟۔܀܁܂߹।॥၊။።፧፨᙮᜵᜶᠃᠉᥄᥅᪨᪩᪪᪫᭚᭛᭞᭟᰻᰼᱾᱿‼‽⁇⁈⁉⸮⸼꓿꘎꘏꛳꛷꡶꡷꣎꣏꤯꧈꧉꩝꩞꩟꫰꫱꯫﹒﹖﹗！．？｡"
    "𐩖𐩗𑁇𑁈𑂾𑂿𑃀𑃁𑅁𑅂𑅃𑇅𑇆𑇍𑇞𑇟𑈸𑈹𑈻𑈼𑊩𑑋𑑌𑗂𑗃𑗉𑗊𑗋𑗌𑗍𑗎𑗏𑗐𑗑𑗒𑗓𑗔𑗕𑗖𑗗𑙁𑙂𑜼𑜽𑜾𑩂𑩃𑪛𑪜𑱁𑱂𖩮𖩯𖫵𖬷𖬸𖭄𛲟𝪈。"
)
SENTENCE_END_CHARS: frozenset[str] = frozenset(_SENTENCE_END)

# --- word tokenizer (spaCy English rules as regular expressions) -----------------------

# spaCy English special cases that end in "." and stay one token ("St.", "U.S."-like ones
# are handled by the upper-case rule below); single lower-case letters "a." ... "z.".
_ABBREVIATIONS = ["Adm", "Ak", "Ala", "Apr", "Ariz", "Ark", "Aug", "Bros", "Calif", "Co", "Colo", "Conn", "Corp", "D.C", "Dec", "Del", "Dr", "E.G", "E.g", "Feb", "Fla", "Ga", "Gen", "Gov", "I.E", "I.e", "Ia", "Id", "Ill", "Inc", "Ind", "Jan", "Jr", "Jul", "Jun", "Kan", "Kans", "Ky", "La", "Ltd", "Mar", "Mass", "Md", "Messrs", "Mich", "Minn", "Miss", "Mo", "Mont", "Mr", "Mrs", "Ms", "Mt", "N.C", "N.D", "N.H", "N.J", "N.M", "N.Y", "Neb", "Nebr", "Nev", "Nov", "Oct", "Okla", "Ore", "Pa", "Ph.D", "Prof", "Rep", "Rev", "S.C", "Sen", "Sep", "Sept", "St", "Tenn", "Va", "Wash", "Wis", "a.m", "co", "e.g", "i.e", "p.m", "v.s", "vs", "ä", "ö", "ü"]
_PUNCT = r"…,:;!?¿؟¡()\[\]{}<>_#*&。？！，、；：～·।،۔؛٪"
_QUOTES = r"'\"”“`‘´’‚„»«「」『』（）〔〕【】《》〈〉⟦⟧"
_CURRENCY = r"$£€¥฿₽﷼₴₠₡₢₣₤₥₦₧₨₩₪₫₭₮₯₰₱₲₳₵₶₷₸₹₺₻₼₾₿"
_ICONS = r"\x{A6}\x{A9}\x{AE}\x{B0}\x{2100}-\x{214F}\x{2190}-\x{21FF}\x{2300}-\x{23FF}\x{2400}-\x{2BFF}\x{1F000}-\x{1FAFF}"
_PREFIX = rf"§%=—–+{_PUNCT}{_QUOTES}{_CURRENCY}{_ICONS}"
_SUFFIX = rf"{_PUNCT}{_QUOTES}{_ICONS}—–%"
_UNITS = (  # ending in a lower-case letter or a symbol: a "." after them is a suffix
    "km²|km³|km/h|kmh|km|m/s|m²|m³|dm²|dm³|dm|cm²|cm³|cm|mm²|mm³|mm|mph|mbar|mb|mg|m|ha|µm|µg|nm|yd|in|ft|"
    "kg|g|t|lb|oz|hPa|Pa|kb|gb|tb|%"
)
_UNITS_UPPER = "MB|KB|GB|TB|T|G|M|K"  # "4G." stays one token in spaCy
_ALNUM = r"\p{L}\p{M}\p{N}"
_Q = "'\"”“`‘´’"
# Infixes, as (before, infix, after): spaCy splits the infix off when the characters
# around it match; the replacement puts spaces around it ("well-known" -> "well - known").
_HYPHENS = r"---|--|——|[-–—~]"
_B = r"(?-u:\b)"  # ASCII word boundary: keeps the patterns inside the regex engine's fast DFA
_NB = r"(?-u:\B)"
_PRONOUNS = (
    r"[Ii]|[Yy]ou|[Hh]e|[Ss]he|[Ii]t|[Ww]e|[Tt]hey|[Tt]hat|[Tt]here|[Ww]hat|[Ww]ho|[Ww]here|[Ww]hen|[Hh]ow|"
    r"[Ww]hy|[Tt]his|[Tt]hese|[Tt]hose|[Ww]ould|[Cc]ould|[Ss]hould|[Mm]ight|[Mm]ust"
)
_WORD_END = r"[^\p{L}\p{M}\p{N}]|$"
_CHUNK_START = rf"(?:^|\s)[{_PREFIX}]*"  # a word that starts its chunk (after opening punctuation)
_ABBR_ALT = "|".join(re.escape(a) for a in sorted(_ABBREVIATIONS, key=len, reverse=True))
_INFIXES: list[tuple[str, str, str]] = [
    # special cases first, so that no infix rule splits them: URLs (spaCy's url_match),
    # abbreviations ("Ph.D.", "St.Marys" -> "St." "Marys")
    (r"^|\s", r"[\w.+-]*(?:https?|ftp)://\S+|www\.\S+", ""),
    (r"^|[^\p{L}\p{N}.]", rf"(?:{_ABBR_ALT})\.", r"[^.]|$"),
    (_B, r"and/or", _B),
    (rf"[{_ALNUM}]", _HYPHENS, r"\p{L}"),
    (r"\p{N}", r"[+\-*^]", r"[\p{N}-]"),
    (r"\p{L}", ",", r"\p{L}"),
    (rf"[\p{{Ll}}{_Q}]", r"\.", rf"\p{{Lu}}|[{_Q}]\S"),
    (rf"[{_ALNUM}]", "[:<>=/]", r"\p{L}"),
    # a unit after a number, with the suffixes after it ("14.90m." -> "14.90 m.": spaCy
    # then joins "m" "." into its special case "m.")
    (r"\p{N}", rf"(?:{_UNITS})[{_SUFFIX}.]*|(?:{_UNITS_UPPER})[{_SUFFIX}]*", r"\s|$"),
    ("°", "[FfCcKk]", r"\."),
    ("", rf"\.\.+|…|[{_ICONS}]", ""),
    # contractions spaCy lists as special cases: "didn't" -> "did n't", "I'll" -> "I 'll",
    # "cannot" -> "can not", "10pm" -> "10 pm"
    (r"\p{L}", r"[nN]['’][tT]", _WORD_END),
    (rf"{_B}(?:{_PRONOUNS})", r"['’](?:ll|LL|re|RE|ve|VE|[dDmM])", _WORD_END),
    (rf"{_CHUNK_START}(?:[Cc]an)", "", rf"not{_B}"),
    (rf"{_CHUNK_START}(?:[Gg]on)", "", rf"na{_B}"),
    (rf"{_CHUNK_START}(?:[Gg]ot)", "", rf"ta{_B}"),
    (rf"{_CHUNK_START}(?:[Ii])", "", rf"[dm]{_B}"),
    (rf"{_CHUNK_START}(?:[Ww]e)", "", rf"d{_B}"),
    (rf"{_CHUNK_START}(?:1[0-2]|[1-9])", "", rf"[ap]m{_B}"),
]
INFIX_PATTERN = "|".join("".join(f"({part})" for part in alt) for alt in _INFIXES)
INFIX_REPLACEMENT = " ".join("".join(f"${{{3 * i + k}}}" for i in range(len(_INFIXES))) for k in (1, 2, 3))
# A core starts with a non-prefix character ("+" only before a digit) and ends with a
# non-suffix character; "'s" at its end is split off ("women's" -> "women" "'s"), so is
# "+" after a digit; "." after a single capital stays ("U.S.", "2B.", "PhD.").
_FIRST = rf"(?:[^\s{_PREFIX}]|\+\p{{N}})"
_LAST = rf"[^\s'’][sS]|[^\s\p{{N}}]\+|[^\s{_SUFFIX}.sS+]"
_CORE = (
    rf"\p{{Lu}}\.(?:\p{{Lu}}\.)*{_NB}"
    rf"|{_FIRST}\S*[^\s\p{{Lu}}]\p{{Lu}}\.{_NB}|[^\s\p{{Lu}}{_PREFIX}]\p{{Lu}}\.{_NB}"
    rf"|{_FIRST}\S*(?:{_LAST})|[^\s\p{{N}}{_PREFIX}]\+|{_FIRST}[sS]|{_FIRST}"
)
TOKEN_PATTERN = rf"(?:{_ABBR_ALT}|[a-z])\.{_NB}|\(;|\(:|\):|\.\.+|…|(?:US|C|A)\$|{_CORE}|['’](?:[sS]|ll|LL|re|RE|ve|VE|[dDmM]){_B}|\S"


# Infix matches cannot overlap: in "Tehreek-e-Insaf" the first match takes "k-e", so the
# second hyphen (after a one-letter word) is left. A second pass splits what is left;
# `MISSED_INFIX` finds the lines that need it.
MISSED_INFIX = rf"[{_ALNUM}](?:{_HYPHENS})\p{{L}}|\p{{N}}[+\-*^][\p{{N}}-]"


def word_tokens(text: pl.Expr) -> pl.Expr:
    """List of word tokens per text, as datatrove's `split_into_words` (spaCy English).
    (`tokenize` gives the same tokens faster for a whole column.)"""
    spaced = text.str.replace_all(INFIX_PATTERN, INFIX_REPLACEMENT).str.replace_all(INFIX_PATTERN, INFIX_REPLACEMENT)
    return spaced.str.extract_all(TOKEN_PATTERN)


def tokenize(text: pl.Series) -> pl.Series:
    """`word_tokens` of every text: the second infix pass runs only where the first one
    left a split undone (a few lines in a thousand)."""
    spaced = text.str.replace_all(INFIX_PATTERN, INFIX_REPLACEMENT)
    # Every infix match puts two spaces in, so a line whose length did not change had no
    # match, and no missed one either (MISSED_INFIX is part of INFIX_PATTERN): only the
    # lines that changed (about a third) are searched again.
    changed = (spaced.str.len_bytes() != text.str.len_bytes()).arg_true()
    rows = changed.filter(spaced.gather(changed).str.contains(MISSED_INFIX))
    if len(rows):
        spaced = spaced.scatter(rows, spaced.gather(rows).str.replace_all(INFIX_PATTERN, INFIX_REPLACEMENT))
    return spaced.str.extract_all(TOKEN_PATTERN)
