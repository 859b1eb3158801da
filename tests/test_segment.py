"""Segmentation: pages become ordered blocks, one walk, whatever the markup."""

from __future__ import annotations

import pytest
from lxml import etree

from model.parse import parse, read_page
from model.segment import segment

ARTICLE = """<!DOCTYPE html><html><head><title>t</title><style>p { color: red }</style></head><body>
<header><nav><a href="/">Home</a> | <a href="/sport">Sport</a> | <a href="/give">Give</a></nav></header>
<article><h1>Harbour wall repaired</h1>
<p>The town finished repairing the <a href="/harbour">harbour</a> wall on Monday.</p>
<p>Work took eleven weeks and cost less than planned.</p>
<p data-hush-label="appeal">Dear readers, this newsroom runs on gifts.</p>
<p data-hush-label="appeal">Please give what you can each month.</p>
</article>
<aside class="box" data-hush-label="appeal"><h3>Keep us going</h3><p>We need you.</p>
<a href="/give">Give now</a> <button>Later</button></aside>
<script>var donate = "ignored";</script><noscript>ignored</noscript>
<template><p>ignored</p></template><svg><text>ignored</text></svg>
<footer data-hush-label="other"><p>Free newsletter: sign up</p></footer>
</body></html>"""


def blocks_of(html: str, **kw):
    return segment(parse(html), **kw)


def texts(html: str) -> list[str]:
    return [b.text for b in blocks_of(html).blocks]


def test_sibling_paragraphs_are_separate_blocks():
    got = texts(ARTICLE)
    assert "Dear readers, this newsroom runs on gifts." in got
    assert "Please give what you can each month." in got
    assert "Work took eleven weeks and cost less than planned." in got


def test_inline_links_stay_inside_their_paragraph():
    assert "The town finished repairing the harbour wall on Monday." in texts(ARTICLE)


def test_a_row_of_links_is_split_into_one_block_per_link():
    got = texts(ARTICLE)
    assert got[:3] == ["Home", "|", "Sport"] or got[:5] == ["Home", "|", "Sport", "|", "Give"]
    assert "Give" in got


def test_boxed_appeal_parts_are_blocks_that_share_their_box():
    page = blocks_of(ARTICLE)
    by_text = {b.text: b for b in page.blocks}
    heading, button = by_text["Keep us going"], by_text["Later"]
    box_of = {page.contexts[b.context].element for b in (heading, by_text["We need you."], button)}
    ancestors = [{a for a in el.iterancestors()} | {el} for el in box_of]
    aside = next(el for el in ancestors[0] if el.tag == "aside")
    assert all(aside in a for a in ancestors)
    assert by_text["Give now"].hrefs == ["/give"] and by_text["Later"].n_buttons == 1


def test_script_style_noscript_template_svg_are_ignored():
    assert not any("ignored" in t or "color" in t for t in texts(ARTICLE))


def test_every_piece_of_text_belongs_to_exactly_one_block():
    page = blocks_of(ARTICLE)
    assert -1 not in page.piece_block
    covered = [p for b in page.blocks for p in range(b.p0, b.p1)]
    assert covered == list(range(len(page.piece_text)))


def test_labels_are_read_only_when_asked_and_inner_labels_win():
    assert blocks_of(ARTICLE).piece_label is None
    page = blocks_of(ARTICLE, with_labels=True)
    label = {page.piece_text[i].strip(): page.piece_label[i] for i in range(len(page.piece_text))}
    assert label["Dear readers, this newsroom runs on gifts."] == 1
    assert label["Keep us going"] == 1
    assert label["Free newsletter: sign up"] == 2
    assert label["Work took eleven weeks and cost less than planned."] == 0
    nested = blocks_of(
        '<div data-hush-label="appeal"><p>a</p><p data-hush-label="other">b</p></div>', with_labels=True
    )
    assert nested.piece_label == [1, 2]


def test_stamped_elements_know_the_text_under_them():
    html = (
        '<body><div data-hush-id="a"><p data-hush-id="b">one</p><p>two</p></div>'
        '<p data-hush-id="c">x</p></body>'
    )
    page = blocks_of(html)
    ranges = {s.id: "".join(page.piece_text[s.p0 : s.p1]) for s in page.stamped}
    assert ranges == {"a": "onetwo", "b": "one", "c": "x"}
    assert [s.id for s in page.stamped] == ["a", "b", "c"]


def test_nesting_ten_thousand_deep_keeps_the_text_and_what_follows():
    html = "<body>" + "<div>" * 10_000 + "deep text" + "</div>" * 10_000 + "<p>after the tower</p></body>"
    got = texts(html)
    assert "deep text" in got and "after the tower" in got


# Markup with every end tag, and as the extension writes it (extension/lib/compact.js): without the end
# tags that what follows implies.
WITH_END_TAGS = (
    "<ul><li>one</li><li><a href=/two>two</a></li><li>three<ul><li>inner</li></ul></li></ul>"
    "<div><p>para</p><div>next</div><p>last <span>word</span></p></div>"
    "<span><label><span>name</span></label></span><a href=/x><div>card</div></a>"
    "<table><tr><td><div>cell</div></td></tr></table><p>tail</p>"
)
AS_SENT = (
    "<ul><li>one<li><a href=/two>two</li><li>three<ul><li>inner</ul></ul>"
    "<div><p>para<div>next</div><p>last <span>word</div>"
    "<span><label><span>name</label></span><a href=/x><div>card</div></a>"
    "<table><tr><td><div>cell</table><p>tail"
)


@pytest.mark.parametrize("depth", [10, 3_000])
def test_end_tags_the_extension_leaves_out_are_inferred(depth):
    """At any nesting depth up to model.parse.MAX_DEPTH: libxml2, and the builder for pages too deep for
    it, read the same tree."""

    def tree(body: str) -> bytes:
        return etree.tostring(parse("<body>" + "<div>" * depth + body + "</div>" * depth + "</body>"))

    assert tree(AS_SENT) == tree(WITH_END_TAGS)
    assert tree("<ul><li>one<li>two</ul>") != tree("<ul><li>one<ul><li>two</ul></ul>")  # not vacuous


def test_malformed_markup_still_gives_blocks():
    got = texts("<p>first <b>bold <i>both</b> still</i><p>second<div>third</span></table>")
    assert got[0].startswith("first bold both") and "second" in got and "third" in got


def test_nothing_to_segment():
    assert parse("") is None and parse("   \n") is None
    assert segment(None).blocks == []
    assert texts("<!-- only a comment -->") == []


def test_nul_bytes_and_control_characters_are_dropped():
    assert texts("<p>a\x00b\x01c</p>") == ["abc"]


def test_huge_page_of_eight_megabytes():
    para = "<p>" + "word " * 40 + "</p>"
    html = "<body>" + para * (8_000_000 // len(para)) + "</body>"
    page = blocks_of(html)
    assert len(page.blocks) == 8_000_000 // len(para)


def test_encodings_are_detected_from_meta_charset_and_bom(tmp_path):
    latin = tmp_path / "latin.html"
    latin.write_bytes('<meta charset="windows-1252"><p>Spenden für Vögel</p>'.encode("cp1252"))
    bom = tmp_path / "bom.html"
    bom.write_bytes("<p>Поддержать</p>".encode("utf-16"))
    assert texts(read_page(latin)) == ["Spenden für Vögel"]
    assert texts(read_page(bom)) == ["Поддержать"]


def test_a_page_declaring_utf_8_is_read_as_utf_8_whatever_stray_bytes_it_holds(tmp_path):
    """One byte that is not UTF-8 had the whole page guessed anew, as windows-1250: "UnterstĂĽtzen"."""
    page = tmp_path / "stray.html"
    page.write_bytes(b'<meta charset="utf-8"><h3>Unterst\xc3\xbctzen Sie uns</h3><p>Caf\xe9 am Markt</p>')
    assert texts(read_page(page)) == ["Unterstützen Sie uns", "Caf\ufffd am Markt"]
    page.write_bytes(b'\xef\xbb\xbf<meta charset="utf-8"><p>Caf\xe9</p>')
    assert texts(read_page(page)) == ["Caf\ufffd"]  # and its byte order mark is no text
