"""The clean stage: each markup kind to exact text, Unicode repair, line tidying, the
auto guess, and the contract of stages that rewrite text, through real runs."""

from __future__ import annotations

import json

import polars as pl
import pytest

from curate.errors import ConfigError
from curate.stages.base import REASON, Columns, settle_rewrite
from curate.stages.clean import Clean, CleanConfig
from tests.runs import every_row, read_dir, run, write_pipeline, write_shards


def clean(texts: list[str | None], **config) -> pl.DataFrame:
    stage = Clean(CleanConfig(**config), Columns())
    return stage.annotate(pl.DataFrame({"text": texts}, schema={"text": pl.String}))


WIKITEXT = """{{Infobox scientist
| name = Alan Turing
| birth_date = {{birth date|1912|6|23}}
}}
'''Alan Mathison Turing''' (23 June 1912 – 7 June 1954) was an English [[mathematician]] and [[Computer science|computer scientist]].<ref>{{cite web |url=https://example.org |title=Turing}}</ref> He was highly influential.<ref name="bio"/>
[[File:Alan Turing Aged 16.jpg|thumb|upright|Turing aged 16 with a [[bicycle]]]]
__NOTOC__
== Early life ==
Turing was born in [[Maida Vale]], London.<!-- a hidden comment -->
* He attended ''Sherborne School''.
{| class="wikitable"
|-
! Year !! Event
|-
| 1912 || Born
|}
----
[[Category:English mathematicians]]
[[de:Alan Turing]]"""

WIKITEXT_CLEAN = """Alan Mathison Turing (23 June 1912 – 7 June 1954) was an English mathematician and computer scientist. He was highly influential.

Early life
Turing was born in Maida Vale, London.
He attended Sherborne School."""


def test_wikitext_becomes_its_article_text():
    out = clean([WIKITEXT], markup="wikitext")
    assert out["clean_text"][0] == WIKITEXT_CLEAN
    assert out["clean_markup"][0] == "wikitext"
    assert out["clean_chars_removed"][0] == len(WIKITEXT) - len(WIKITEXT_CLEAN)
    assert out["clean_changed_by"][0].to_list() == ["markup", "whitespace"]


def test_footnotes_go_with_their_text_wherever_they_are():
    page = ("'''Paris''' is the capital of [[France]].<ref>Smith 2020, p. 4</ref> It is big.<REF name=\"a\">Jones</REF> "
            "More<ref name=b/>. A [[Seine|river<ref>Lee</ref>]] runs through it.")
    assert clean([page], markup="wikitext")["clean_text"][0] == "Paris is the capital of France. It is big. More. A river runs through it."


POEM = "'''Poem''' here:\n<poem>\nLine one\nLine two\n</poem>\nEnd of [[Paris]]."


def test_html_block_tags_in_wikitext_end_a_line_and_inline_tags_do_not():
    pages = [
        "'''Alice''' said:<blockquote>We will win.</blockquote>The crowd cheered.",
        "'''Fruits''' grown here:<ul><li>Apple</li>\n<li>Banana</li></ul>Both are <span class=\"x\">exported</span>.",
        "'''Notes''' for [[Paris]].<p>First paragraph here.</p><div>Second block here.</div>\n\n<center>After an empty line.</center>",
        "'''Rome''' is <b>old</b>.<ref>Livy</ref><h2>History</h2>Founded in 753 BC.<hr/>See also",
    ]
    expected = [
        "Alice said:\nWe will win.\nThe crowd cheered.",
        "Fruits grown here:\nApple\nBanana\nBoth are exported.",
        "Notes for Paris.\nFirst paragraph here.\nSecond block here.\n\nAfter an empty line.",
        "Rome is old.\nHistory\nFounded in 753 BC.\nSee also",
    ]
    assert clean(pages, markup="wikitext")["clean_text"].to_list() == expected
    # a block tag on a line of its own keeps the text's single line breaks single
    own_lines = [POEM, "Intro\n<div>\nInside.\n</div>\n\nNext paragraph."]
    assert clean(own_lines, markup="wikitext")["clean_text"].to_list() == ["Poem here:\nLine one\nLine two\nEnd of Paris.", "Intro\nInside.\n\nNext paragraph."]
    converter_br = clean(["'''A''' line<br>and the next."], markup="wikitext", br_to_newline=False)  # <br> left to the converter
    assert converter_br["clean_text"][0] == "A line\nand the next."
    # a page that holds the noncharacter the converter marks blocks with keeps it, and its blocks get newlines
    marked = clean(["'''Odd''' \ufdd0 text<p>Block.</p>"], markup="wikitext", normal_form="none")
    assert marked["clean_text"][0] == "Odd \ufdd0 text\nBlock."


def test_markup_the_parser_leaves_on_a_broken_page_is_removed_too():
    broken = "Intro sentence.<ref>{{cite web|url=x}}</ref> Next.\n{{Infobox person\n| name = X\n| born = 1900\nBody text [[Link|label]] and [[File:a.png|thumb|cap]] ok."
    assert clean([broken], markup="wikitext")["clean_text"][0] == "Intro sentence. Next.\n\nBody text label and ok."


def test_an_unclosed_ref_tag_never_takes_the_text_after_it():
    # its tag open at the line end, and a `->` thirty lines later: all of it was deleted
    body = "\n".join(f"The school's enrolment grew again in {1960 + i}, and a new wing opened." for i in range(30))
    page = 'The [[school]] opened in 1954.<ref name="a"\n' + body + "\nScores rose from 40 -> 60 in 1990. The end."
    expected = "The school opened in 1954.\n" + body + "\nScores rose from 40 -> 60 in 1990. The end."
    assert clean([page], markup="auto")["clean_text"][0] == expected
    # English Wikipedia's plain text, articles joined in one row: `<ref? …</ref>` is no tag,
    # and took every copy up to the next `</ref>`
    article = ("The cricket pitch is recorded on the Survey Plan SL2586 (sheets 1–3).<ref? \"Sketch Plan, Indooroopilly State High School\", April 1954.</ref>\n"
               "Construction was approved in July 1953.<ref name=\"QHR\"></ref> The first wing opened in 1954.")
    article_clean = ("The cricket pitch is recorded on the Survey Plan SL2586 (sheets 1–3).<ref? \"Sketch Plan, Indooroopilly State High School\", April 1954.\n"
                     "Construction was approved in July 1953. The first wing opened in 1954.")
    assert clean(["\n".join([article] * 3)], markup="wikitext")["clean_text"][0] == "\n".join([article_clean] * 3)
    # written escaped (`&lt;ref name="QHR"&gt;`), the same tags are text, shown as written
    escaped = article.replace("<", "&lt;").replace(">", "&gt;")
    assert clean([escaped], markup="wikitext")["clean_text"][0] == article
    # the tags MediaWiki reads: attributes over lines, a footnote over paragraphs, a tag left alone
    tags = 'A.<ref\nname="a"\ngroup=note>Cite\n\nmore</ref> B.<ref name=pap/2013/> C.<ref name="x">\n\nD.<ref group="n"\nE.'
    assert clean([tags], markup="wikitext")["clean_text"][0] == "A. B. C.\n\nD.\nE."


HTML_PAGE = """<!doctype html><html><head><title>Recipes</title><style>p {color: red}</style>
<script>var tracking = 1;</script></head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/about">About us</a></li></ul></nav>
<main><article><h1>Bread</h1><p>Mix the flour &amp; water.</p><p>Bake it for an hour.<br>Let it cool.</p></article></main>
<footer>Copyright 2026 Example. All rights reserved.</footer></body></html>"""


def test_html_keeps_the_main_content_or_every_visible_text():
    main = clean([HTML_PAGE], markup="html")["clean_text"][0]
    assert main == "Bread\n\nMix the flour & water.\n\nBake it for an hour.\nLet it cool."
    everything = clean([HTML_PAGE], markup="html", html_main_content=False)["clean_text"][0]
    assert "Home" in everything and "All rights reserved." in everything and "tracking" not in everything


def test_hidden_elements_go_and_captions_and_summaries_stay_in_either_html_setting():
    # with html_main_content: false hidden elements stayed; a <figcaption> always went;
    # a <details>' summary ran into the text it opens
    page = ("<html><body><article><p>The main article text is here and it is long enough to count as content.</p>"
            "<p hidden>Hidden by attribute.</p><p style='DISPLAY: none'>Hidden by style.</p><p aria-hidden='true'>Hidden from readers.</p>"
            "<figure><img src='c.png' alt='A chart'><figcaption>Figure 1: yearly growth</figcaption></figure>"
            "<details><summary>Answer</summary>The answer is 42.</details><video>Your browser cannot play it.</video>"
            "</article></body></html>")
    expected = "The main article text is here and it is long enough to count as content.\n\nFigure 1: yearly growth\nAnswer\nThe answer is 42."
    assert clean([page], markup="html")["clean_text"][0] == expected
    assert clean([page], markup="html", html_main_content=False)["clean_text"][0] == expected
    markdown = "Intro text.\n\n<p hidden>Hidden.</p>\n\n![a bar chart](chart.png)\n\n<figure><figcaption>Sales by year</figcaption></figure>"
    assert clean([markdown], markup="markdown")["clean_text"][0] == "Intro text.\n\na bar chart\n\nSales by year"


def test_markdown_becomes_text_and_keeps_its_line_breaks():
    md = "# Install\n\nRun **pip** from [the docs](https://example.org).\nThen restart.\n\n- one\n- two\n\n```\nmake all\n```"
    assert clean([md], markup="markdown")["clean_text"][0] == "Install\n\nRun pip from the docs.\nThen restart.\n\none\ntwo\nmake all"
    assert clean(["A photo:\n\n![a cat on a mat](cat.png)"], markup="markdown")["clean_text"][0] == "A photo:\n\na cat on a mat"  # images: their alt text


def test_ordered_list_numbers_are_text_and_bullets_go():
    posts = [
        "USENET Hockey Draft Standings **Week 26**\n\n1. Dave Wessels 1478\n2. Gilles Carmel 1389\n3. Bob Hill 1418",
        "Timeline of the **club**:\n\n1998. Founded in Leeds.\n2004. Promoted to the league.\n2011. Won the cup.",
        "# Recipe\n\n01) Preheat the oven.\n\n    Wait ten minutes.\n\n02) Mix:\n- flour\n* two eggs",
    ]
    assert clean(posts, markup="markdown")["clean_text"].to_list() == [
        "USENET Hockey Draft Standings Week 26\n\n1. Dave Wessels 1478\n2. Gilles Carmel 1389\n3. Bob Hill 1418",
        "Timeline of the club:\n\n1998. Founded in Leeds.\n2004. Promoted to the league.\n2011. Won the cup.",  # as written, not 1998, 1999, 2000
        "Recipe\n\n01. Preheat the oven.\n\nWait ten minutes.\n\n02. Mix:\n\nflour\ntwo eggs",  # a loose list: its items are paragraphs
    ]
    page = ('<p>Our history:</p><ol start="2019"><li>Founded</li><li>Grew</li></ol><ol reversed><li>Bronze</li><li>Silver</li></ol>'
            '<ol><li><p>Loose item</p><p>More of it</p></li><li value="7">Seven</li><li>Eight</li></ol><ul><li>A bullet</li></ul>')
    assert clean([page], markup="html", html_main_content=False)["clean_text"][0] == (
        "Our history:\n\n2019. Founded\n2020. Grew\n2. Bronze\n1. Silver\n\n1. Loose item\n\nMore of it\n\n7. Seven\n8. Eight\nA bullet"
    )
    blocks = "<ol><li><div>Mix the flour.</div></li><li><h3>Bake</h3><p>for an hour</p></li><li><div><p>Serve.</p></div></li></ol>"
    assert clean([blocks], markup="html", html_main_content=False)["clean_text"][0] == "1. Mix the flour.\n\n2. Bake\n\nfor an hour\n\n3. Serve."


def test_mojibake_is_repaired_and_text_put_in_one_normal_form():
    out = clean(["The café doesnâ€™t open on Sundays.", "cafe\u0301 \u201cquoted\u201d", "plain ascii"], markup="none")
    assert out["clean_text"].to_list() == ["The café doesn’t open on Sundays.", "caf\u00e9 \u201cquoted\u201d", "plain ascii"]
    assert [c.to_list() for c in out["clean_changed_by"]] == [["fix_unicode"], ["normal_form"], []]
    kept = clean(["cafe\u0301"], markup="none", fix_unicode=False, normal_form="none")
    assert kept["clean_text"][0] == "cafe\u0301"


def test_fixing_only_the_rows_ftfy_could_change_equals_ftfy_on_every_row():
    import ftfy

    texts = ["a &amp; b", "tab\there\r\nline", "ok text", "naÃ¯ve", "ctrl\x07char", "ü", "&lt;p&gt;", "第二段：１２３，ＡＢＣ！"]
    fixer = ftfy.TextFixerConfig(uncurl_quotes=False, fix_character_width=False, normalization=None)
    out = clean(texts, markup="none", normal_form="none", collapse_whitespace=False, drop_debris_lines=False, br_to_newline=False)
    assert out["clean_text"].to_list() == [ftfy.fix_text(t, fixer) for t in texts]


def test_mojibake_at_the_start_of_a_later_line_is_fixed_as_ftfy_fixes_it():
    import ftfy

    # ftfy fixes line by line, and its detector anchors `Ã ` (Windows-1252 for "à ") at a segment's start
    texts = ["Salut.\nÃ bientôt, merci.", "\nÃ bientôt, merci beaucoup.", "Ã bientôt, merci.", "Voilà.\nÃ c", "Voilà, Ã bientôt."]
    texts.append("1" * 1_000_000 + "Ã bientôt, merci.")  # ftfy also cuts a line every million characters
    fixer = ftfy.TextFixerConfig(uncurl_quotes=False, fix_character_width=False, normalization=None)
    out = clean(texts, markup="none", normal_form="none", collapse_whitespace=False, drop_debris_lines=False, br_to_newline=False)
    assert out["clean_text"].to_list()[:4] == ["Salut.\nà bientôt, merci.", "\nà bientôt, merci beaucoup.", "à bientôt, merci.", "Voilà.\nà c"]
    assert out["clean_text"].to_list() == [ftfy.fix_text(t, fixer) for t in texts]
    assert out["clean_text"][4] == "Voilà, Ã bientôt."  # mid-line, ftfy does not flag it either


def test_fix_unicode_equals_ftfy_on_random_strings_of_its_trigger_characters():
    import random

    import ftfy

    rng = random.Random(3)
    alphabet = [*"abc &;\r\n\n\t\x1b\x07\x85\u2028\u00a0éÃ©â€™“\u00adﬁＡ\u0301\u200b\ufeff😀اא中Â", "&amp;", "&lt;", "Ã©", "â€™",
                "&#x1F600;", "&nbsp;", "Â\u00a0", "ðŸ˜€", "\nÃ ", "\nÂ ", "Ã "]
    texts = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30))) for _ in range(5000)]
    fixer = ftfy.TextFixerConfig(uncurl_quotes=False, fix_character_width=False, normalization=None)
    out = clean(texts, markup="none", normal_form="none", collapse_whitespace=False, drop_debris_lines=False, br_to_newline=False)
    assert out["clean_text"].to_list() == [ftfy.fix_text(t, fixer) for t in texts]


def test_markup_written_escaped_comes_out_as_text_and_is_never_parsed():
    # ftfy decoded the entities first, and the tags the text mentions were then parsed:
    # a <script> took the rest of a tutorial, a <br> became a line break, a <ref> went
    rows = [
        "Use the &lt;script&gt; element to add code, see [the docs](https://developer.mozilla.org). It is &lt;b&gt;important&lt;/b&gt;.",
        "Plain text: the &lt;p&gt; tag makes a paragraph &amp; the &lt;br&gt; tag a line break.",
        "In wikitext, write &lt;ref&gt; tags for [[citation]]s, and &lt;nowiki&gt; to escape.",
        "'''Nowiki''' shows <nowiki><ref>a note</ref> and [[a link]] &amp; {{a template}}</nowiki> as written, as &#91;&#91;brackets&#93;&#93;.",
        "<p>Close a line with &lt;br&gt; &amp; never trust a &lt;script&gt;alert(1)&lt;/script&gt;.</p>",
    ]
    expected = [
        "Use the <script> element to add code, see the docs. It is <b>important</b>.",
        "Plain text: the <p> tag makes a paragraph & the <br> tag a line break.",  # no markup: ftfy decodes, nothing parses
        "In wikitext, write <ref> tags for citations, and <nowiki> to escape.",
        "Nowiki shows <ref>a note</ref> and [[a link]] & {{a template}} as written, as [[brackets]].",
        "Close a line with <br> & never trust a <script>alert(1)</script>.",
    ]
    out = clean(rows, markup="auto")
    assert out["clean_markup"].to_list() == ["markdown", "none", "wikitext", "wikitext", "html"]
    assert out["clean_text"].to_list() == expected
    assert [c.to_list() for c in out["clean_changed_by"]] == [["markup"], ["fix_unicode"], ["markup"], ["markup"], ["markup"]]
    # the rows the converters read come out the same without ftfy: they decode the entities
    assert clean(rows, markup="auto", fix_unicode=False)["clean_text"].to_list() == [expected[0], rows[1], *expected[2:]]


def test_imdb_style_br_tags_become_line_breaks_and_whitespace_is_tidied():
    review = "Great film.<br /><br />The   acting   was superb!<br />*****<br />10/10"
    out = clean([review], markup="none")
    assert out["clean_text"][0] == "Great film.\n\nThe acting was superb!\n10/10"
    assert out["clean_changed_by"][0].to_list() == ["br", "debris_lines", "whitespace"]


def test_line_breaks_become_newlines_with_or_without_ftfy():
    # without fix_unicode the whitespace step took CR, NEL, U+2028 and U+2029 for spaces
    # and joined the lines they separate (old Mac text, Word exports)
    posts = [
        "First line of the post.\rSecond line of the post.\rThird line.",
        "First line.\u2028Second line.\u2029\u2029\u2029Next paragraph.",
        "First line.\r\n  Second   line.\r\n",
    ]
    expected = [
        "First line of the post.\nSecond line of the post.\nThird line.",
        "First line.\nSecond line.\n\nNext paragraph.",
        "First line.\nSecond line.",
    ]
    for fix_unicode in (False, True):
        assert clean(posts, markup="none", fix_unicode=fix_unicode)["clean_text"].to_list() == expected, fix_unicode
    without_ftfy = clean([*posts, "First line.\x85Second line."], markup="none", fix_unicode=False)
    assert without_ftfy["clean_text"][3] == "First line.\nSecond line."  # ftfy reads this NEL as cp1252's "…"
    assert without_ftfy["clean_changed_by"].to_list() == [["whitespace"]] * 4
    # collapse_whitespace: false leaves them as they are, not spaces
    assert clean(posts[:1], markup="none", fix_unicode=False, collapse_whitespace=False)["clean_text"].to_list() == posts[:1]


def test_auto_picks_a_kind_per_row_and_the_report_counts_them():
    texts = [WIKITEXT, HTML_PAGE, "# Title\n\nSee [x](https://e.org).", "Just a sentence, nothing more.", "a <b>bold</b> move", "if a<b and c>d stop"]
    stage = Clean(CleanConfig(), Columns())
    out = stage.annotate(pl.DataFrame({"text": texts}))
    assert out["clean_markup"].to_list() == ["wikitext", "html", "markdown", "none", "html", "none"]
    assert out["clean_text"].to_list() == [WIKITEXT_CLEAN, clean([HTML_PAGE], markup="html")["clean_text"][0], "Title\n\nSee x.", texts[3], "a bold move", texts[5]]
    stats = stage.finish_stats(stage.shard_stats(out))
    assert stats["rows_by_markup"] == {"none": 2, "html": 2, "wikitext": 1, "markdown": 1}
    assert stats["rows_changed_by"]["markup"] == 4 and stats["rows_changed"] == 4


def test_markdown_that_holds_html_tags_is_markdown():
    # any HTML tag made a row HTML: its `#`, `**`, links and fences stayed, its lines were joined
    readme = ('# Project Title\n\nSome **bold** text with a [link](https://example.com).\n\n<div align="center">HTML inside Markdown</div>\n\n'
              '```python\ndef hello():\n    print("hi")\n```\n\n| Name | Value |\n|------|-------|\n| alpha | 1 |\n\n- bullet a\n- bullet b\n')
    rows = [readme, '## Setup\nInstall it, then add <script src="app.js"></script> to your page.\nLine two<br>line three.',
            "Cities:<br>\n\n| City | Pop |\n|------|-----|\n| Paris | 2.1M |", "Bold is <b>this</b>.\n- one bullet\n**and bold**"]
    out = clean(rows, markup="auto")
    assert out["clean_markup"].to_list() == ["markdown", "markdown", "markdown", "html"]  # bullets and bold beside a tag: HTML, as before
    assert out["clean_text"].to_list()[:3] == [
        'Project Title\n\nSome bold text with a link.\n\nHTML inside Markdown\ndef hello():\nprint("hi")\nName Value\nalpha 1\nbullet a\nbullet b',
        "Setup\n\nInstall it, then add to your page.\nLine two\nline three.",
        "Cities:\n\nCity Pop\nParis 2.1M",
    ]
    assert out["clean_text"][0] == clean([readme], markup="markdown")["clean_text"][0]



def test_an_html_fragment_whose_code_has_comment_lines_is_html():
    # a `# comment` in a <pre> sample or a `#` line in a <p> block was taken for a Markdown
    # heading beside the tags: the comment lost its `#`, the code was split into paragraphs
    rows = ["<p>Run:</p>\n<pre>\n# as root\napt-get install nginx\n\n# start it\nsystemctl start nginx\n</pre>\n<p>and open port 80.</p>",
            "<p>Read it:</p>\n<pre><code>import json\n\n# load the settings\ns = json.load(f)\n</code></pre>",
            '<div class="post"><p>Results of the vote:</p>\n<p>\n# 1 Alice with 20 votes<br>\n# 2 Bob with 15 votes</p></div>',
            "<p>The log:</p><pre>\n| name | value |\n|------|-------|\n| a    | 1     |\n</pre>",
            "# Install\n\n<p>Run the script.</p>\n\nThen <b>restart</b>."]
    out = clean(rows, markup="auto")
    assert out["clean_markup"].to_list() == ["html", "html", "html", "html", "markdown"]  # a heading outside the HTML blocks still counts
    assert out["clean_text"].to_list()[:3] == [
        "Run:\n\n# as root\napt-get install nginx\n\n# start it\nsystemctl start nginx\n\nand open port 80.",
        "Read it:\n\nimport json\n\n# load the settings\ns = json.load(f)",
        "Results of the vote:\n\n# 1 Alice with 20 votes\n# 2 Bob with 15 votes",
    ]

def test_an_html_page_is_html_whatever_it_holds_and_wikitext_drops_scripts_and_styles():
    # a page's `{{ binding }}` or a `'''docstring'''` in its <pre> made it wikitext, whose
    # converter kept the code of its <script> and <style>
    vue = ('<html><head><script>var tpl = "{{title}}"; var SECRETJS = 42;</script><style>.hidden{display:none}</style></head>\n'
           '<body><div id="app"><h1>{{ pageTitle }}</h1><p>Welcome to our shop, where all the products are handmade by local artisans.</p>\n'
           "<p>Contact us any time for a quote on custom orders.</p></div></body></html>")
    docstring = ("\ufeff<!DOCTYPE html>\n<!-- generated -->\n<html><body><article><h2>Python tips</h2><p>Every function should have a docstring.</p>\n"
                 "<pre><code>def add(a, b):\n    '''Return the sum.'''\n    return a + b\n</code></pre>"
                 '<script>console.log("SCRIPTLEAK")</script></article></body></html>')
    wiki = "'''Widget''' is a [[tool]].<script>track('widget')</script><style>.a{color:red}</style> It is <b>used</b> widely.\n<pre><html><body>A page.</body></html></pre>"
    out = clean([vue, docstring, wiki], markup="auto")
    assert out["clean_markup"].to_list() == ["html", "html", "wikitext"]  # a page is one from its start, not where a wiki page shows one
    assert out["clean_text"].to_list() == [
        "{{ pageTitle }}\n\nWelcome to our shop, where all the products are handmade by local artisans.\n\nContact us any time for a quote on custom orders.",
        "Python tips\n\nEvery function should have a docstring.\n\ndef add(a, b):\n'''Return the sum.'''\nreturn a + b",
        "Widget is a tool. It is used widely.\n<html><body>A page.</body></html>",  # a <pre> shows its source
    ]


def test_full_width_forms_and_blank_lines_of_spaces_are_kept():
    # ftfy folded CJK typography to ASCII; a line of spaces between paragraphs was taken
    # for debris and the paragraphs merged
    out = clean(["第二段：这是内容，包含１２３。", "Paragraph one ends here.\n   \nParagraph two.", "One.\n\u00a0\t\nTwo.\n* * *\nThree."], markup="none")
    assert out["clean_text"].to_list() == ["第二段：这是内容，包含１２３。", "Paragraph one ends here.\n\nParagraph two.", "One.\n\nTwo.\nThree."]
    assert clean(["ＡＢＣ１２３"], markup="none", normal_form="NFKC")["clean_text"][0] == "ABC123"


def test_text_that_mentions_a_few_tags_keeps_its_lines():
    # an HTML parser reads a line break as a space: prose that mentions <b> lost every
    # line break, and a second clean flattened a page whose first pass decoded &lt;b&gt;
    prose = "To make text bold, wrap it in <b> and </b> tags.\nSecond line here.\n\nThird paragraph."
    page = "<html><body>\n<div>\n<p>First paragraph of the page.\nStill the first.</p>\n</div>\n</body></html>"
    out = clean([prose, page], markup="auto")
    assert out["clean_markup"].to_list() == ["html", "html"]
    assert out["clean_text"].to_list() == ["To make text bold, wrap it in and tags.\nSecond line here.\n\nThird paragraph.", "First paragraph of the page. Still the first."]
    # a wrapped paragraph's source lines, and a tag running over a line end, are HTML
    wrapped = '<p>I have tried this for a while now and I\ncannot see why it fails, see <a href="/x"\n title="photos">my album</a> if\nyou like.</p>\n<p>Thanks.</p>'
    assert clean([wrapped], markup="auto")["clean_text"][0] == "I have tried this for a while now and I cannot see why it fails, see my album if you like.\n\nThanks."
    once = clean([HTML_PAGE.replace("</p>", " &lt;b&gt; 5 &gt; 3.</p>", 1)], markup="auto")["clean_text"][0]
    assert "<b>" in once and clean([once], markup="auto")["clean_text"][0].count("\n") == once.count("\n")


def test_wiki_links_with_a_digit_before_the_colon_are_articles_and_markdown_tables_rows():
    wiki = "See [[John 3:16]], [[3:10 to Yuma (1957 film)|3:10 to Yuma]] and [[Star Wars: Episode I]].[[de:Paris]][[Category:Films]]"
    assert clean([wiki], markup="wikitext")["clean_text"][0] == "See John 3:16, 3:10 to Yuma and Star Wars: Episode I."
    # pages whose only markup is a table, a multi-line infobox or an external link were guessed plain text
    pages = ['{| class="wikitable"\n! Year !! Event\n|-\n| 1990 || It happened\n|}\nThe table lists events.',
             "{{Infobox person\n| name = X\n}}\nX was a painter.", "See [https://example.com the example site] for details."]
    out = clean(pages, markup="auto")
    assert out["clean_markup"].to_list() == ["wikitext"] * 3
    assert out["clean_text"].to_list() == ["The table lists events.", "X was a painter.", "See the example site for details."]
    table = "Cities:\n\n| City | Pop |\n|------|-----|\n| Paris | 2.1M |\n| Rome | 2.8M |"
    assert clean([table], markup="markdown")["clean_text"][0] == "Cities:\n\nCity Pop\nParis 2.1M\nRome 2.8M"


def test_wiki_links_to_other_sites_and_project_pages_formulas_and_text_templates_keep_their_words():
    # these lost their visible words: every link with a prefix was taken for a file,
    # category or language link, <math> went as strip_code drops it, every template went
    pages = [
        "She was a [[wikt:polymath|polymath]] and a gifted writer, see [[:de:Universalgelehrter|the German article]].",
        "The article must be [[Wikipedia:Verifiability|verifiable]] and [[Help:IPA/English|pronounced]] correctly.",
        "He quoted the [[s:Gettysburg Address|Gettysburg Address]] in full ([[Portal:History|more]], [[wikt:fr:mot]]).",
        "The formula <math>E = mc^2</math> is famous, as is <math>\\sqrt{\\frac{a}{b}}</math> and water, <chem>H2O</chem>.",
        "The distance was {{convert|5|km|mi}} from home, {{convert|5|-|10|mi|km}} from town and {{cvt|3|ft}} up.",
        "He said {{lang|fr|''bonjour''}} and lifted {{nowrap|10 [[kilogram|kg]]}}: a {{!}} b {{=}} c at the {{abbr|UN|United Nations}}.{{citation needed}}",
        "Not text: [[File:X.jpg|thumb|a caption]][[Image:Y.png|left|another]][[Category:Mathematicians]][[Kategorie:Mathematiker]][[de:Polymath]]",
    ]
    assert clean(pages, markup="wikitext")["clean_text"].to_list() == [
        "She was a polymath and a gifted writer, see the German article.",
        "The article must be verifiable and pronounced correctly.",
        "He quoted the Gettysburg Address in full (more, wikt:fr:mot).",  # an unlabelled link shows its title
        "The formula E = mc^2 is famous, as is \\sqrt{\\frac{a}{b}} and water, H2O.",
        "The distance was 5 km from home, 5–10 mi from town and 3 ft up.",
        "He said bonjour and lifted 10 kg: a | b = c at the UN.",
        "Not text:",
    ]


def test_rows_left_empty_get_clean_empty():
    out = clean(["<div><br/></div>", None, "", "----\n|}", "fine"], markup="auto")
    assert out[REASON].to_list() == ["clean_empty"] * 4 + [None]


def test_emoji_are_text_and_markup_rules_are_debris():
    texts = [
        "Great product! Fast shipping.\n⭐⭐⭐⭐⭐",
        "👍",
        "❤️🔥😂",
        "Emoji line\n🎉🎉🎉\nText after",
        "Allez les Bleus\n🇫🇷🇫🇷",
        "Table end\n|}\n----\n* * *\n───────────\n┌──┐\n• • •\nThe end",
        "Done ✔️\nMenu\n☰\n▪ ▪\n◀ ▶\n© ™\n★★ ★★\n⬆\nTop",  # pictographs in Unicode's wide sense: bullets, decoration
    ]
    out = clean(texts, markup="none")
    assert out["clean_text"].to_list() == [texts[0], "👍", "❤️🔥😂", texts[3], texts[4], "Table end\nThe end", "Done ✔️\nMenu\nTop"]
    assert out[REASON].to_list() == [None] * 7
    assert [c.to_list() for c in out["clean_changed_by"]] == [[]] * 5 + [["debris_lines"]] * 2


def test_settling_replaces_text_of_kept_rows_in_filter_mode_only():
    stage = Clean(CleanConfig(keep_original="raw"), Columns())
    frame = pl.DataFrame({"text": ["a  b", "<br>", None, "same"]})
    annotated = stage.annotate(frame)
    settled = settle_rewrite(stage, annotated, applied=True)
    assert settled["text"].to_list() == ["a b", "<br>", None, "same"]  # removed and unchanged rows keep theirs
    assert settled["raw"].to_list() == frame["text"].to_list() and "clean_text" not in settled.columns
    untouched = settle_rewrite(stage, annotated, applied=False)
    assert untouched.equals(annotated)
    with pytest.raises(ConfigError, match="keep_original: column 'text'"):
        settle_rewrite(Clean(CleanConfig(keep_original="text"), Columns()), annotated, applied=True)


def test_runs_honour_the_contract_in_filter_and_annotate_only_mode(tmp_path):
    frame = pl.DataFrame(
        {"id": ["a", "b", "c"], "text": ["Hello <b>world</b>, all good here.", "<p></p>", "Line one.<br />Line two."], "n": [1, 2, 3]}
    )
    write_shards(tmp_path, [frame])
    pipeline = write_pipeline(tmp_path, [{"stage": "clean", "keep_original": "raw_text"}, {"stage": "length_filter", "min_words": 1}], id_column="id")
    result = run(pipeline)
    data = read_dir(result.output / "data")
    assert data["text"].to_list() == ["Hello world, all good here.", "Line one.\nLine two."]
    assert data["raw_text"].to_list() == [frame["text"][0], frame["text"][2]]
    assert data["text_chars"].to_list() == [27, 19]  # the next stage sees the clean text
    assert data["n"].dtype == pl.Int64 and "clean_text" not in data.columns
    removed = read_dir(result.output / "removed" / "clean")
    assert removed["text"].to_list() == ["<p></p>"] and removed["curate_reason"].to_list() == ["clean_empty"]
    report = json.loads((result.output / "reports" / "01_clean.json").read_text())
    assert report["removed_by_reason"] == {"clean_empty": 1}
    assert report["stats"]["rows_by_markup"] == {"none": 0, "html": 3, "wikitext": 0, "markdown": 0}
    assert "clean_chars_removed" in report["annotation_columns"]

    annotated = run(pipeline, tmp_path / "annotated", annotate_only=True)
    data = read_dir(annotated.output / "data")
    assert data["text"].to_list() == frame["text"].to_list()  # input columns unchanged
    assert data["clean_text"].to_list() == ["Hello world, all good here.", "", "Line one.\nLine two."]
    assert "raw_text" not in data.columns


def test_keep_original_starting_with_an_underscore_is_written(tmp_path):
    # `_` is an ordinary first character of a column name (`keep_original`'s pattern allows it)
    pages = ["<p>Tickets go on sale <b>Friday</b>.</p>", "<div></div>", "Plain text stays."]
    write_shards(tmp_path, [pl.DataFrame({"id": ["a", "b", "c"], "text": pages})])
    result = run(write_pipeline(tmp_path, [{"stage": "clean", "keep_original": "_html"}], id_column="id"))
    data = read_dir(result.output / "data")
    assert data.select("id", "text", "_html").rows() == [("a", "Tickets go on sale Friday.", pages[0]), ("c", pages[2], pages[2])]
    assert read_dir(result.output / "removed" / "clean").select("id", "_html").rows() == [("b", pages[1])]
    assert "_html" in result.reports[0]["annotation_columns"]


@pytest.mark.parametrize(("split", "seed"), [("build", 0), ("held_out", 1)])
def test_raw_wikipedia_pages_in_seven_scripts_come_out_as_their_prose(split, seed):
    from tests.wikitext_articles import articles

    pages = articles(split, per_language=30, seed=seed)
    stage = Clean(CleanConfig(markup="auto"), Columns())
    out = stage.annotate(pl.DataFrame({"text": [p["text"] for p in pages], "lang": [p["lang"] for p in pages]}))
    assert out["clean_markup"].to_list() == ["wikitext"] * len(pages)
    kept = out.filter(pl.col(REASON).is_null())
    assert kept.height == len(pages) == 210
    residue = kept.group_by("lang").agg(pl.col("clean_text").str.contains(r"\[\[|\{\{|<ref").mean().alias("share"))
    assert residue["share"].max() < 0.01, residue  # the bar, per language
    for page, text in zip(pages, out["clean_text"]):
        for sentence in page["sentences"]:
            assert sentence in text, (page["lang"], sentence)
        assert "thumb" not in text and "|" not in text and "Reflist" not in text and "example.org/" not in text


@pytest.mark.parametrize("fmt", ["parquet", "jsonl", "csv"])
def test_keep_original_naming_an_input_column_stops_check_and_run_before_the_output(tmp_path, fmt):
    # a file the run converts first is known by the columns sniffed from it, as Parquet by its footer
    from runs import cli

    export = pl.DataFrame({"id": ["p1", "p2"], "text": ["<b>Doors open</b> at nine.", "Tickets at the gate."], "raw": ["crawl-7", "crawl-8"]})
    path = tmp_path / f"export.{fmt}"
    {"parquet": export.write_parquet, "jsonl": export.write_ndjson, "csv": export.write_csv}[fmt](path)
    pipeline = write_pipeline(tmp_path, [{"stage": "clean", "keep_original": "raw"}], path=path.name, id_column="id")
    message = (f"error: {pipeline}, line 7: stages[0] (clean): keep_original: names column 'raw', but the input ({path}) has it; "
               "curate never overwrites a column: set keep_original: to a new column name")
    checked = cli("check", str(pipeline), cwd=tmp_path)
    assert checked.returncode == 2 and checked.stderr.strip() == message
    ran = cli("run", str(pipeline), "--quiet", cwd=tmp_path)
    assert ran.returncode == 2 and ran.stderr.strip() == message
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("stages", "error"), [
    ([{"stage": "clean", "keep_original": "curate_id"}],
     "stages[0] (clean): keep_original: names column 'curate_id', but curate adds it to every row (lineage)"),
    ([{"stage": "clean", "keep_original": "curate_reason"}],
     "stages[0] (clean): keep_original: names column 'curate_reason', but curate adds it (why a row was removed)"),
    ([{"stage": "clean", "keep_original": "__curate_raw"}],
     "stages[0] (clean): keep_original: names column '__curate_raw', but curate's working columns (row numbers, flags, a stage's private columns)"),
    ([{"stage": "clean", "keep_original": "clean_markup"}],
     "stages[0] (clean): keep_original: names column 'clean_markup', but stage 'clean' adds it itself"),
    ([{"stage": "clean", "keep_original": "raw"}, {"stage": "line_dedup", "keep_original": "raw"}],
     "stages[1] (line_dedup): keep_original: names column 'raw', but stage 'clean' adds it before (its keep_original:)"),
    ([{"stage": "clean", "keep_original": "text_chars"}, {"stage": "length_filter"}, {"stage": "length_filter", "name": "again"}],
     "stages[1] (length_filter): adds column 'text_chars', but stage 'clean' adds it before (its keep_original:); "
     "curate never overwrites a column: set keep_original: of stage 'clean' to a new column name"),
])
def test_keep_original_naming_a_column_curate_adds_is_a_pipeline_error(tmp_path, stages, error):
    from curate.config import load_pipeline
    from curate.run.preflight import preflight

    write_shards(tmp_path, [pl.DataFrame({"text": ["<b>hi</b> there"]})])
    pipeline = write_pipeline(tmp_path, stages)
    errors = [str(e) for e in preflight(load_pipeline(pipeline)).errors]
    assert len(errors) == 1  # one error, also when a second length_filter shares text_chars
    where, _, message = errors[0].partition(": ")
    assert where.startswith(f"{pipeline}, line ") and message.startswith(error)
    assert errors[0].endswith("set keep_original: to a new column name") or "of stage 'clean'" in errors[0]


def test_keep_original_naming_a_lineage_column_stops_check_and_run_before_the_output(tmp_path):
    from runs import cli

    write_shards(tmp_path, [pl.DataFrame({"text": ["<b>hi</b> there"]})])
    pipeline = write_pipeline(tmp_path, [{"stage": "clean", "keep_original": "curate_source"}])
    message = ("stages[0] (clean): keep_original: names column 'curate_source', but curate adds it to every row (lineage); "
               "curate never overwrites a column: set keep_original: to a new column name")
    checked = cli("check", str(pipeline), cwd=tmp_path)
    assert checked.returncode == 2 and message in checked.stderr
    ran = cli("run", str(pipeline), "--quiet", cwd=tmp_path)
    assert ran.returncode == 2 and ran.stderr.strip() == f"error: {pipeline}, line 6: {message}"
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("later", [{"stage": "line_dedup"}, {"stage": "quality", "rules": ["c4"], "clean_lines": True}])
def test_keep_original_naming_a_later_rewriting_stages_new_text_stops_check_and_run_before_the_output(tmp_path, later):
    # the later stage writes `<name>_text` in filter mode too, until its new text replaces the
    # text column: clean's original text would be overwritten by it, then dropped with it
    from runs import cli

    pages = [f"<p>Post {i} has its own sentence here.</p>\nShare this page with your friends today." for i in range(4)]
    write_shards(tmp_path, [pl.DataFrame({"id": [f"r{i}" for i in range(4)], "text": pages})])
    column = f"{later['stage']}_text"
    pipeline = write_pipeline(tmp_path, [{"stage": "clean", "keep_original": column}, later], id_column="id")
    message = (f"{pipeline}, line 8: stages[1] ({later['stage']}): adds column {column!r} (its new text, before it replaces the text column), "
               "but stage 'clean' adds it before (its keep_original:); curate never overwrites a column: set keep_original: of stage 'clean' to a new column name")
    checked = cli("check", str(pipeline), cwd=tmp_path)
    assert checked.returncode == 2 and checked.stderr.strip() == f"error: {message}"
    ran = cli("run", str(pipeline), "--quiet", cwd=tmp_path)
    assert ran.returncode == 2 and ran.stderr.strip() == f"error: {message}"
    assert not (tmp_path / "run").exists()
    # a name of its own keeps every row's text as clean received it, through the later stage
    result = run(write_pipeline(tmp_path, [{"stage": "clean", "keep_original": "raw"}, later], id_column="id"))
    assert every_row(result.output, ["id", "raw"]).sort("id")["raw"].to_list() == pages


def test_missing_packages_stop_the_run_before_its_folders_exist(tmp_path, monkeypatch):
    from curate.config import load_pipeline
    from curate.console import Reporter
    from curate.run.preflight import preflight
    from curate.run.runner import RunOptions, run_pipeline
    from curate.stages import base

    # the settings name what they need: auto may meet any markup, Markdown is read as HTML
    assert Clean(CleanConfig(), Columns()).packages() == {
        "ftfy": "fix_unicode", "resiliparse": "markup: auto", "mwparserfromhell": "markup: auto", "markdown-it-py": "markup: auto"
    }
    assert Clean(CleanConfig(markup="markdown", fix_unicode=False), Columns()).packages() == {"markdown-it-py": "markup: markdown", "resiliparse": "markup: markdown"}
    assert Clean(CleanConfig(markup="none", fix_unicode=False), Columns()).packages() == {}

    monkeypatch.setattr(base, "installed", lambda name: name not in {"ftfy", "resiliparse"})  # a machine without the clean extra
    write_shards(tmp_path, [pl.DataFrame({"text": ["<b>hi</b> there"]})])
    output = tmp_path / "runs" / "today"
    with pytest.raises(ConfigError) as error:
        run_pipeline(load_pipeline(write_pipeline(tmp_path, [{"stage": "clean", "markup": "html"}])), output, RunOptions(workers=1), Reporter())
    assert str(error.value) == (
        "stage 'clean': fix_unicode needs ftfy; markup: html needs resiliparse, not installed here: "
        "pip install ftfy resiliparse (or pip install -e '.[clean]' from curate's folder), or change those settings"
    )
    assert not (tmp_path / "runs").exists()  # neither the output nor the folder made for it
    # a JSON Lines input (converted inside the run directory) and `curate check --no-input` alike
    (tmp_path / "in.jsonl").write_text('{"text": "<b>hi</b> there"}\n')
    jsonl = write_pipeline(tmp_path, [{"stage": "clean", "markup": "html"}], path="in.jsonl")
    with pytest.raises(ConfigError, match=r"^stage 'clean': fix_unicode needs ftfy; markup: html needs resiliparse"):
        run_pipeline(load_pipeline(jsonl), output, RunOptions(workers=1), Reporter())
    assert not (tmp_path / "runs").exists()
    for read_input in (True, False):
        assert [str(e) for e in preflight(load_pipeline(jsonl), read_input).errors] == [f"{jsonl}: {error.value}"]
    # with the settings that need them switched off, the same machine runs the stage
    pipeline = write_pipeline(tmp_path, [{"stage": "clean", "markup": "none", "fix_unicode": False}])
    assert run(pipeline, output).manifest["rows_in"] == 1


def test_a_worker_without_a_converter_names_an_install_that_works(monkeypatch):
    """A Ray worker installed apart from the driver meets the missing converter only when
    a row needs it: the line names the package itself, not curate's name on PyPI (another
    project's)."""
    import sys

    from curate.stages.clean.markup import need_package

    monkeypatch.setitem(sys.modules, "markdown_it", None)  # as if markdown-it-py were not installed
    with pytest.raises(ConfigError) as error:
        need_package("markdown_it", "markdown-it-py")
    assert str(error.value) == (
        "stage clean needs the package markdown-it-py, which is not installed where it runs: "
        "pip install markdown-it-py (or pip install -e '.[clean]' from curate's folder)"
    )


@pytest.mark.shared_data
def test_imdb_reviews_with_br_tags_pass_c4_sentence_rule_after_clean(shared_data):
    from curate.stages.quality import Quality, QualityConfig

    reviews = pl.read_parquet(shared_data / "neardup" / "documents.parquet", columns=["id", "text"])
    reviews = reviews.filter(pl.col("text").str.contains("<br")).head(1000)
    c4 = Quality(QualityConfig(stage="quality", rules=["c4"]), Columns(text="text", id="id"))
    stage = Clean(CleanConfig(), Columns(text="text", id="id"))
    cleaned = settle_rewrite(stage, stage.annotate(reviews), applied=True)
    # the rest are the set's synthetic edits of Wikipedia text with a broken tag ("/><br")
    assert cleaned[REASON].null_count() == 1000 and (cleaned["clean_markup"] == "html").mean() > 0.95

    def few_sentences(frame: pl.DataFrame) -> float:
        return (c4.annotate(frame.drop(REASON, strict=False))[REASON] == "c4_too_few_sentences").fill_null(False).mean()

    raw_share, clean_share = few_sentences(reviews), few_sentences(cleaned)
    assert raw_share > 0.25 and clean_share < 0.12, (raw_share, clean_share)
