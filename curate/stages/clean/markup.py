"""Markup to plain text, one converter per kind, and the per-row guess `auto` uses.

The parsers are per-document libraries (no batch API), so each converter is a loop over
only the rows that hold that kind of markup; the guess and the row selection are polars
regexes over the whole shard. The libraries are the `clean` extra and are imported when
a converter is first used, so a pipeline without `clean` never needs them.
"""

from __future__ import annotations

import html.entities
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Literal

import polars as pl

from curate.errors import ConfigError
from curate.extras import install_command

Kind = Literal["none", "html", "wikitext", "markdown"]
KINDS: tuple[Kind, ...] = ("none", "html", "wikitext", "markdown")
PACKAGES: dict[Kind, tuple[str, ...]] = {"html": ("resiliparse",), "wikitext": ("mwparserfromhell",), "markdown": ("markdown-it-py", "resiliparse")}
"""The distributions (of the `clean` extra) that turn each kind into text: Markdown is
rendered to HTML, then read as HTML."""

# What each kind looks like. `auto` tries them in this order: an HTML page first (its
# scripts, templates and code samples hold `{{ }}` and `'''` of their own), then
# wikitext, because a wiki page also holds HTML tags (<ref>, <br>), while an HTML
# fragment rarely holds `[[`.
_HTML_PAGE = r"(?is)^[\s\x{FEFF}]*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)[\s>]"
"""A text that starts as an HTML document does: a doctype, or an <html>, <head> or
<body> tag (after an XML declaration or comments). Only at the start: a wiki page or a
Markdown text that shows an HTML page's source holds one further on."""
_WIKITEXT = r"(?m)\[\[[^\]\n]+\]\]|\{\{[^{}\n]*(?:\||\}\}|\n\s*\|)|^\{\||\[https?://[^\s\]]+ [^\]\n]+\]|'''[^'\n]+'''|^={2,6}[^=\n]+={2,6}[ \t]*$|<ref[\s>/]"
_HTML_TAGS = (
    "html|head|body|div|p|br|span|a|table|tr|td|th|ul|ol|li|h[1-6]|img|script|style|b|i|u|em|strong|article"
    "|section|nav|header|footer|main|pre|code|blockquote|meta|link|form|input|button|iframe|hr"
)
_ATTRIBUTES = r"""(?:\s+[\w:-]+\s*=\s*(?:"[^"\n]*"|'[^'\n]*'|[^\s<>]+))*\s*"""
"""A tag's attributes, each with a value (a quoted one on one line), so that words after
a `<` are not taken for them."""
_TAG = rf"""<(?:{_HTML_TAGS}){_ATTRIBUTES}/?>|</(?:{_HTML_TAGS})\s*>"""
_HTML = f"(?i){_TAG}"
"""An HTML tag: a closing tag, or an opening one whose attributes have values, so that
`a<b and c>d` in plain text is not taken for a <b> tag."""
_MARKDOWN_STRONG = r"(?m)!?\[[^\]\n]+\]\((?:https?://|/|\.{0,2}/|#)[^)\s]*\)|^(?:```|~~~)"
"""A link or image with a URL, or a code fence: Markdown on its own."""
_MARKDOWN_HEADING = r"(?m)^#{1,6}[ \t]+\w"
_MARKDOWN_WEAK = (r"\*\*\w[^*\n]*\*\*", r"(?m)^\s{0,3}[-*+][ \t]+\w", r"`[^`\n]+`", r"(?m)^\s{0,3}\d+\.[ \t]+\w")
"""Beside headings: bold, bullets, inline code, numbered lists. Plain text (e-mails,
reviews) has one of them often enough, so a row needs two of them to count as Markdown."""
_PIPE_TABLE_RULE = r"(?m)^ {0,3}\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)+\|?[ \t]*$"
"""The rule under a pipe table's header (`|------|:----:|`), of two columns at least."""
_HTML_RAW = r"(?is)<(?:pre|code|script|style|textarea)[\s>].*?(?:</(?:pre|code|script|style|textarea)\s*>|\z)"
"""An element whose content HTML keeps as it is (code, a script), wherever it sits, to its
closing tag: a `# comment` line or a `|---|---|` in it is code, not Markdown."""
_HTML_BLOCK = (
    r"(?im)^ {0,3}</?(?:div|p|table|thead|tbody|tr|td|th|ul|ol|li|dl|dt|dd|h[1-6]|blockquote|article|section|nav|header"
    r"|footer|main|aside|figure|figcaption|details|summary|center|form|hr|iframe)(?:[\s/>]|$)(?:.*\n)*?(?:[ \t]*\n|.*\z)"
)
"""An HTML block as CommonMark reads one: from a line that opens or closes a block
element (<p>, <div>, <table>, ...) to the next blank line, all of it HTML's text."""

BR = r"(?i)<br\s*/?>"
"""An HTML line break; the one tag every kind turns into a newline."""


def guess(text: pl.Expr) -> pl.Expr:
    """Per row, the markup kind the text looks like (`auto`)."""
    strong, tags, heading = text.str.contains(_MARKDOWN_STRONG), text.str.contains(_HTML), text.str.contains(_MARKDOWN_HEADING)
    weak = pl.sum_horizontal([heading.cast(pl.UInt8), *(text.str.contains(p).cast(pl.UInt8) for p in _MARKDOWN_WEAK)])
    # Markdown that holds HTML tags (a README's <div align="center">, a <br>) is Markdown,
    # whose renderer reads the tags too: an HTML parser would keep its `#`, `**` and
    # fences as text and join its lines. Beside a tag, a heading or a pipe table is
    # evidence enough (plain text that only mentions a tag rarely has them), but only
    # outside HTML's own content: an HTML post's <pre> shell sample has `# comment` lines,
    # which are code, not headings. Only the rows in doubt are stripped (null elsewhere).
    in_doubt = tags & (heading | text.str.contains(_PIPE_TABLE_RULE))
    outside_html = pl.when(in_doubt).then(text).str.replace_all(_HTML_RAW, "\n").str.replace_all(_HTML_BLOCK, "\n")
    layout_outside_html = outside_html.str.contains(_MARKDOWN_HEADING) | outside_html.str.contains(_PIPE_TABLE_RULE)
    markdown_beside_tags = strong | layout_outside_html.fill_null(False)
    return (
        pl.when(text.str.contains(_HTML_PAGE))
        .then(pl.lit("html"))
        .when(text.str.contains(_WIKITEXT))
        .then(pl.lit("wikitext"))
        .when(tags & ~markdown_beside_tags)
        .then(pl.lit("html"))
        .when(tags | strong | (weak >= 2))
        .then(pl.lit("markdown"))
        .otherwise(pl.lit("none"))
    )


_BLOCK_OR_PAGE = r"(?i)<(?:!doctype|html|head|body|div|p|br|table|tr|td|th|ul|ol|li|h[1-6]|pre|blockquote|article|section|nav|header|footer|main|form|hr|iframe|textarea|script|style)[\s/>]"
"""A tag that lays out lines itself: where a text has one, its newlines are the source's
wrapping (a forum post's <p>, an e-mail's <div>, a <pre> block), not line breaks."""


def text_with_tags(text: pl.Expr) -> pl.Expr:
    """Text with a few inline tags and line breaks of its own ("wrap it in <b> and </b>",
    a comment with one <i> on each of some lines): no tag that lays out lines, no tag
    running over a line end, tags on at most half its lines. An HTML parser would merge
    its line breaks as spaces; they become <br>."""
    lines = text.str.count_matches(r"(?m)^[^\n]*\S")
    tagged = text.str.count_matches(f"(?im)^[^\n]*?(?:{_TAG})")
    return (lines >= 2) & (tagged * 2 <= lines) & ~text.str.contains(_BLOCK_OR_PAGE) & ~text.str.contains(r"<[A-Za-z][^<>\n]*\n")


def could_hold(kind: Kind) -> str:
    """A cheap regex that every text holding `kind` markup matches: rows that do not
    match are already plain text and skip the parser."""
    return {"html": r"[<&]", "wikitext": r"(?m)[\[\]{}'=<_]|^[*#:;|!]", "markdown": r"(?m)[#*_\[`~>|<!-]|^\s*\d+\.|^ {4}"}[kind]


def converter(kind: Kind, html_main_content: bool) -> Callable[[str], str]:
    if kind == "html":
        return _html(html_main_content)
    if kind == "wikitext":
        return _wikitext()
    if kind == "markdown":
        return _markdown()
    raise ValueError(kind)


def need_package(module: str, package: str):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        # the stage's check finds a missing package first; this is for a worker installed apart (Ray)
        raise ConfigError(f"stage clean needs the package {package}, which is not installed where it runs: {install_command([package], ['clean'])}") from None


@cache
def _html(main_content: bool, alt_texts: bool = False) -> Callable[[str], str]:
    """HTML to text with resiliparse (measured against trafilatura and selectolax in
    docs/benchmarks.md): block elements and <br> become line breaks, scripts, styles and
    hidden elements go; with `main_content`, navigation, headers, footers and other
    boilerplate go too; with `alt_texts`, an image becomes its alt text."""
    html2text = need_package("resiliparse.extract.html2text", "resiliparse")
    parse = need_package("resiliparse.parse.html", "resiliparse").HTMLTree.parse
    # resiliparse's alt_texts=False would skip <figure> and <figcaption> with the images:
    # the images are skipped here instead, so that a figure's caption stays
    skipped = list(_HIDDEN) if alt_texts else [*_HIDDEN, *_MEDIA]

    def convert(text: str) -> str:
        tree = parse(text)
        if _ORDERED_LIST.search(text):
            _number_list_items(tree)
        if _SUMMARY.search(text):  # a <details>' summary is a line of its own, not glued to what it opens
            for summary in tree.document.query_selector_all("summary"):
                summary.append(tree.create_element("br"))
        # list_bullets=False: a bullet list's markers go; an ordered list's numbers are text (above)
        return html2text.extract_plain_text(tree, main_content=main_content, list_bullets=False, alt_texts=True, links=False, skip_elements=skipped)

    return convert


_HIDDEN = ('[hidden]', '[aria-hidden="true" i]', *(f'[style*="{rule}" i]' for rule in ("display:none", "display: none", "visibility:hidden", "visibility: hidden")))
"""Elements hidden by the page itself: the `hidden` attribute, `aria-hidden`, inline
CSS (resiliparse drops them only with main_content, with class names it guesses)."""
_MEDIA = ("img", "area", "svg", "object", "video", "audio", "embed")
_SUMMARY = re.compile(r"(?i)<summary[\s>]")


_ORDERED_LIST = re.compile(r"(?i)<ol[\s>]")
_TEXT_BLOCKS = frozenset("p div h1 h2 h3 h4 h5 h6 blockquote section article header".split())
"""Blocks a list item's text may start inside: its number goes in front of that text."""
_INTEGER = re.compile(r"-?\d+")


def _number_list_items(tree) -> None:
    """Write each <ol> item's number at the start of its text, as a browser shows it:
    counting from `start` (down with `reversed`), an item's `value` (as written: `01`)
    setting its own number and the count. resiliparse would number from 1 and ignore
    both, and a list of years or ranks (`2019.`, a Markdown list as written) is the
    author's text."""
    from resiliparse.parse.html import NodeType

    def children(node):  # by sibling links: a NodeList indexes from the first child each time
        child = node.first_child
        while child is not None:
            yield child
            child = child.next

    for ordered in tree.document.get_elements_by_tag_name("ol"):
        items = [node for node in children(ordered) if node.type == NodeType.ELEMENT and node.tag == "li"]
        step = -1 if ordered.hasattr("reversed") else 1
        start = (ordered.getattr("start") or "").strip()
        number = int(start) if _INTEGER.fullmatch(start) else (len(items) if step < 0 else 1)
        for item in items:
            label = (item.getattr("value") or "").strip()
            if _INTEGER.fullmatch(label):
                number = int(label)
            else:
                label = str(number)
            # into the leading blocks (a loose list's <p>, a <div>, a heading), so that the
            # number starts the line of the item's first text, not a line of its own
            target = item
            while True:
                first = next((node for node in children(target) if node.type != NodeType.TEXT or node.text.strip()), None)
                if first is None or first.type != NodeType.ELEMENT or first.tag not in _TEXT_BLOCKS:
                    break
                target = first
            target.prepend(tree.create_text_node(f"{label}. "))
            number += step


_INLINE_PREFIXES = (
    # Wikimedia's sites (interwiki prefixes, the same in every wiki)
    "w", "wikipedia", "wikt", "wiktionary", "s", "wikisource", "q", "wikiquote", "n", "wikinews", "b", "wikibooks",
    "v", "wikiversity", "voy", "wikivoyage", "c", "commons", "m", "meta", "metawikimedia", "mw", "mediawikiwiki",
    "d", "wikidata", "species", "wikispecies", "f", "wikifunctions", "foundation", "wmf", "incubator", "phab",
    # namespaces whose links are words in the text, by their English names, which every wiki reads
    "talk", "user", "user talk", "wp", "project", "project talk", "wikipedia talk", "wt", "file talk", "image talk",
    "mediawiki", "mediawiki talk", "template", "template talk", "help", "help talk", "category talk", "portal",
    "portal talk", "draft", "draft talk", "module", "module talk", "special", "timedtext", "timedtext talk",
)
_NAMESPACE = r"(?!(?:" + "|".join(name.replace(" ", "[ _]+") for name in _INLINE_PREFIXES) + r")[ _]*:)[^:|\]\[\d]{1,24}:\S"
_NAMESPACED = re.compile(r"^\s*" + _NAMESPACE, re.IGNORECASE)
"""A link title with a namespace whose links are no text (File:, Category:, Datei:,
Tập tin:, an interlanguage link such as de:...): a file, category or language link, not
article text. A link to an article whose title has a colon has a space after it ("Star
Wars: Episode I") or a digit before it ("John 3:16", "3:10 to Yuma"): no namespace
holds a digit. Links to Wikimedia's other sites (wikt:, s:) and into the namespaces
of pages (Help:, Wikipedia:, Portal:) show their label like an article's."""


@cache
def _wikitext() -> Callable[[str], str]:
    """MediaWiki markup to text with mwparserfromhell: templates (infoboxes, citations)
    removed but for a few that carry words (`_template_text`), links become their text,
    references, comments, tables, files, categories, language links, scripts, styles and
    behaviour switches (__NOTOC__) removed, headings, bold/italic and formulas become
    their text."""
    mw = need_package("mwparserfromhell", "mwparserfromhell")
    switch = re.compile(r"__[A-Z]+__")
    namespaced_in_text = re.compile(r"\[\[\s*" + _NAMESPACE, re.IGNORECASE)
    dropped_tag_in_text = re.compile(r"(?i)<(?:ref|script|style)[\s>/]")

    def unwanted(node) -> bool:
        if isinstance(node, mw.nodes.Wikilink):
            return bool(_NAMESPACED.match(str(node.title)))
        # tables, <ref> footnotes (whose text strip_code would keep, glued to the sentence),
        # scripts and styles (whose code it would keep)
        return isinstance(node, mw.nodes.Tag) and (node.wiki_markup == "{|" or str(node.tag).strip().lower() in _DROPPED_TAGS)

    def convert(text: str) -> str:
        code = mw.parse(text)
        # Files, categories and tables are nearly always top-level nodes: dropping them
        # from the node list is cheap; a search through the tree (slow) runs only when
        # the text holds more of them than the top level did.
        top = len(code.nodes)
        code.nodes = [node for node in code.nodes if not unwanted(node)]
        if len(namespaced_in_text.findall(text)) + text.count("{|") + len(dropped_tag_in_text.findall(text)) > top - len(code.nodes):
            for node in [n for n in code.filter(recursive=True, forcetype=(mw.nodes.Wikilink, mw.nodes.Tag)) if unwanted(n)]:
                try:
                    code.remove(node)
                except ValueError:  # inside a node already removed
                    pass
        if _TEXT_TEMPLATE.search(text):
            for template in reversed(code.filter_templates(recursive=True)):  # the innermost first, inside what holds them
                shown = _template_text(template)
                if shown is not None:
                    code.replace(template, shown)
        free_marks = (m for m in _MARKS if m not in text)
        literal = _mark_literals(code, text, free_marks)
        # a mark, not "\n", where a block starts or ends: two blocks side by side are one
        # line break, not a paragraph's ("<li>a</li><li>b</li>")
        mark = next(free_marks, None) if _BLOCK_TAG.search(text) else None
        if mark is not None:
            for tag in code.filter_tags(recursive=True):
                if tag.wiki_markup is None and str(tag.tag).strip().lower() in _BLOCK_TAGS:
                    if tag.self_closing:
                        code.replace(tag, mark)
                    else:
                        tag.contents.insert(0, mark)
                        tag.contents.append(mark)
        stripped = code.strip_code(normalize=True, collapse=True)
        if mark is not None:
            stripped = re.sub(rf"\s*{mark}[\s{mark}]*", _line_breaks, stripped).strip("\n")
        stripped = _leftovers(switch.sub("", stripped))
        return stripped.translate(literal) if literal else stripped

    return convert


_LITERAL = "<[]{}|"
"""The characters of markup that the second pass (`_leftovers`) reads."""
_LITERAL_ENTITY = re.compile("&(?:" + "|".join(
    [re.escape(name[:-1]) for name, char in html.entities.html5.items() if char in _LITERAL and name.endswith(";")]
    + [rf"#0*{ord(char)}|#[xX]0*{ord(char):x}" for char in _LITERAL]) + ");", re.IGNORECASE)
_LITERAL_TAGS = frozenset({"nowiki", "math", "chem", "ce"})
"""Tags whose contents show as written: <nowiki>, and formulas, which keep their
source (TeX: `E = mc^2`), where strip_code would drop them."""
_LITERAL_TAG = re.compile(r"(?i)<(?:" + "|".join(_LITERAL_TAGS) + r")[\s>]")


def _mark_literals(code, text: str, free_marks: Iterator[str]) -> dict[int, str]:
    """Markup characters the page writes as text, an entity (`&lt;ref&gt;`, `&#91;&#91;`)
    or inside a tag shown as written (<nowiki>, <math>), become marks in `code`, so that
    the second pass does not take them for markup (`<ref>` is a footnote there, `}}` a
    template's end): MediaWiki shows them as written. Returns the table that puts them
    back (`str.translate`); empty where the page holds none, or too many noncharacters
    to mark them."""
    entities = _LITERAL_ENTITY.search(text) is not None
    tags = _LITERAL_TAG.search(text) is not None
    if not (entities or tags):
        return {}
    marks = dict(zip(_LITERAL, free_marks))
    if len(marks) < len(_LITERAL):
        return {}
    to_marks = str.maketrans(marks)
    if entities:
        for entity in [e for e in code.filter_html_entities(recursive=True) if e.normalize() in marks]:
            code.replace(entity, marks[entity.normalize()])
    if tags:
        from mwparserfromhell.nodes import Text

        for tag in code.filter_tags(recursive=True, matches=lambda node: str(node.tag).strip().lower() in _LITERAL_TAGS):
            # its text as written, entities decoded as MediaWiki shows them
            code.replace(tag, Text(html.unescape(str(tag.contents or "")).translate(to_marks)))
    return {ord(mark): char for char, mark in marks.items()}


_TEMPLATE_SYMBOLS = {"!": "|", "=": "=", "ndash": "–", "mdash": "—", "nbsp": "\u00a0"}
_FIRST_PARAMETER = frozenset({"nowrap", "nobr", "nobreak", "small", "smaller", "big", "sic", "abbr"})
"""Templates that show their first parameter, styled (`{{nowrap|5 km}}`, `{{abbr|UN|United Nations}}`)."""
_RANGE_WORDS = {"-": "–", "–": "–", "to": " to ", "and": " and ", "or": " or ", "x": " × ", "by": " by "}
_TEXT_TEMPLATE = re.compile(r"(?i)\{\{\s*(?:" + "|".join(
    re.escape(name) for name in [*_TEMPLATE_SYMBOLS, *_FIRST_PARAMETER, "lang", "convert", "cvt"]) + r")\s*[|}]")


def _template_text(template) -> object | None:
    """The text a common template shows in an article's sentence, as its parameter's
    wikitext or a string; None for any other template, which goes with its text: symbols
    (`{{!}}` is `|`), styling (`{{nowrap|…}}`), `{{lang|fr|…}}` (its text) and
    `{{convert|5|km|mi}}` (`5 km`, the value as written; no conversion)."""
    name = str(template.name).strip().replace("_", " ").lower()
    if name in _TEMPLATE_SYMBOLS:
        return _TEMPLATE_SYMBOLS[name]
    positional = [param.value for param in template.params if not param.showkey]
    if name in _FIRST_PARAMETER:
        return positional[0] if positional else ""
    if name == "lang":
        return positional[1] if len(positional) > 1 else ""
    if name in ("convert", "cvt"):
        values = [str(value).strip() for value in positional]
        if len(values) >= 4 and values[1] in _RANGE_WORDS:  # {{convert|5|-|10|km}}: 5–10 km
            return f"{values[0]}{_RANGE_WORDS[values[1]]}{values[2]} {values[3]}"
        return " ".join(values[:2])
    return None


_DROPPED_TAGS = frozenset({"ref", "script", "style"})
_BLOCK_TAGS = frozenset("p div blockquote center li ul ol dl dd dt h1 h2 h3 h4 h5 h6 table caption tr td th pre poem hr br".split())
"""HTML tags that lay out blocks in a wiki page's text: strip_code keeps only their
contents, which would glue them to the words around ("said:We will win.The crowd")."""
_BLOCK_TAG = re.compile(r"(?i)<(?:" + "|".join(sorted(_BLOCK_TAGS, key=len, reverse=True)) + r")[\s/>]")
_MARKS = [chr(code) for code in range(0xFDD0, 0xFDF0)]
"""Unicode's noncharacters, which it reserves for a program's internal use: where a
block tag was (strip_code trims newlines at the ends of a tag's contents, so a mark,
made a line break after it) and for markup characters written as text, each a mark the
page does not hold."""


_EMPTY_LINE = re.compile(r"\n[^\S\n]*\n")


def _line_breaks(run: re.Match) -> str:
    """A run of block ends and whitespace: one line break, or a paragraph break where the
    text had an empty line there (two line breaks with only spaces between them: a tag on
    a line of its own, `\n<div>\n`, puts a mark between its two)."""
    return "\n\n" if _EMPTY_LINE.search(run.group()) else "\n"


_LEFTOVER = re.compile(r"\[\[|\]\]|\{\{|\}\}|\{\||<ref|</ref")
_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_REF_NAME = r"ref(?:erences)?(?=[\s/>])"
_REF = re.compile(rf"(?ims)<{_REF_NAME}{_ATTRIBUTES}/>|<{_REF_NAME}{_ATTRIBUTES}>.*?</ref\s*>|</?{_REF_NAME}{_ATTRIBUTES}(?:/?>|(?<!\n)$)")
"""A footnote with its text, or one of its tags left alone. As MediaWiki reads it, the
name ends at a space, `/` or `>` (`<ref?` is text) and a footnote runs to the next
`</ref>`; but the opening tag holds only attributes with values (MediaWiki takes anything
up to the next `>`), so that an unclosed `<ref name="a"` does not take the prose after it
up to a `->` paragraphs later: left alone at a line's end, the tag goes and the line
break stays."""
_LINK = re.compile(r"\[\[(?:[^\]\[|]*\|)?([^\]\[]*)\]\]")
_TABLE = re.compile(r"(?ms)^\s*\{\|.*?^\s*\|\}")
_PARAMETER_LINE = re.compile(r"(?m)^\s*[|!][^\n]*\n?")


def _leftovers(text: str) -> str:
    """Markup the parser left as text: on long or broken pages (an unclosed template or
    tag, a page over its nesting limits) mwparserfromhell keeps a region unparsed.
    Removed here with patterns: references, templates (innermost first), tables, the
    template-parameter and table-row lines left of them; links become their label and
    stray brackets go."""
    if not _LEFTOVER.search(text):
        return text
    text = _REF.sub("", text)
    for _ in range(10):  # nested templates, innermost first
        text, changed = _TEMPLATE.subn("", text)
        if not changed:
            break
    text = _TABLE.sub("", text)
    text = _LINK.sub(lambda m: "" if _NAMESPACED.match(m.group(0)[2:]) else m.group(1), text)
    if "{{" in text:  # a template never closed: its parameter lines
        text = _PARAMETER_LINE.sub("", text)
    return re.sub(r"\{\{[^\n]*|\}\}|\[\[|\]\]", "", text)


@cache
def _markdown() -> Callable[[str], str]:
    """Markdown (CommonMark) to HTML with markdown-it-py, then to text like HTML (all of
    it, no boilerplate removal): emphasis, links and images become their text, code
    blocks keep their content, single newlines stay line breaks, a table's rows become
    lines of cells."""
    markdown_it = need_package("markdown_it", "markdown-it-py")
    md = markdown_it.MarkdownIt("commonmark", {"breaks": True, "html": True}).enable("table")  # GitHub's tables too
    to_text = _html(False, alt_texts=True)  # `![a cat](cat.png)` is "a cat": the author's words

    def convert(text: str) -> str:
        tokens = md.parse(text)
        for token in tokens:
            # an ordered item's number as the source writes it: CommonMark renders a list
            # numbered on from its first number (years 1998, 2004 would read 1998, 1999)
            if token.type == "list_item_open" and token.info:
                token.attrSet("value", token.info)
        return to_text(md.renderer.render(tokens, md.options, {}))

    return convert
