"""Labelling a saved page in place (model.relabel): start tags found in the source, only
``data-hush-label`` attributes added or removed, and the result read back as training reads it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.errors import PageError
from model.labelled import has_labels, load_page
from model.relabel import (
    LABEL_TEXT,
    NO_APPEAL_META,
    ChoiceError,
    Edit,
    Labelling,
    RelabelError,
    load_source,
    map_start_tags,
    parse_source,
    same_page_labelled,
    splice,
    start_tags,
    without_labels,
)
from model.segment import segment

LABEL = LABEL_TEXT.encode()
NOTE = NO_APPEAL_META.encode()


def labelling(path: Path) -> Labelling:
    source = load_source(path)
    root = parse_source(source)
    return Labelling(source, root, segment(root, with_labels=True))


def write(tmp_path: Path, content: str | bytes, name: str = "page.html") -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def block(lab: Labelling, text: str):
    found = [b for b in lab.blocks if lab.page.blocks[b.index].text == text]
    assert len(found) == 1, [lab.page.blocks[b.index].text for b in lab.blocks]
    return found[0]


def appeal_texts(path: Path) -> list[str]:
    page = load_page(path, path.parent)
    return [b.text for b, n in zip(page.page.blocks, page.appeal_chars, strict=True) if n]


def save(lab: Labelling, tmp_path: Path, marked: list[str]) -> Path:
    out = tmp_path / "out" / lab.source.path.name
    out.parent.mkdir(exist_ok=True)
    out.write_bytes(lab.render(marked))
    return out


# -- start tags --------------------------------------------------------------------------------------


def test_start_tags_are_found_with_their_offsets() -> None:
    text = "<!DOCTYPE html>\n<P CLASS=x title='a > \"b\"'>one<br/>\n<img src=x />two</p><!-- <p> -->"
    tags = start_tags(text)
    assert [t.tag for t in tags] == ["p", "br", "img"]
    assert [text[t.start : t.end] for t in tags] == [
        "<P CLASS=x title='a > \"b\"'>",
        "<br/>",
        "<img src=x />",
    ]
    assert [text[t.start : t.name_end] for t in tags] == ["<P", "<br", "<img"]


def test_label_attributes_are_found_whatever_their_spelling() -> None:
    text = "<div title=\"data-hush-label='appeal'\" DATA-HUSH-LABEL = 'Appeal'\n data-x=\"1>2\">x</div>"
    (tag,) = start_tags(text)
    assert [(text[a:b], value) for a, b, value in tag.labels] == [(" DATA-HUSH-LABEL = 'Appeal'", "Appeal")]
    assert tag.appeal_spans() == [(tag.labels[0][0], tag.labels[0][1])]


def test_invented_elements_have_no_start_tag() -> None:
    text = "Loose text first<p>one<p>two<table><tr><td>cell</table>"
    root = parse_source_text(text)
    found = map_start_tags(text, root)
    assert sorted(el.tag for el in found) == ["p", "p", "table", "td", "tr"]
    assert {el.tag for el in root.iter()} - {el.tag for el in found} == {"html", "body"}
    for el, tag in found.items():
        assert text[tag.start : tag.name_end].lower() == "<" + el.tag


def parse_source_text(text: str):
    from model.parse import parse

    return parse(text)


# -- saving --------------------------------------------------------------------------------------------


def test_nothing_changed_gives_the_same_bytes(tmp_path: Path) -> None:
    path = write(tmp_path, '<p data-hush-label="appeal">Give now.</p><p>News.</p>')
    lab = labelling(path)
    assert lab.render(lab.marked_ids()) == path.read_bytes()


def test_malformed_html_keeps_its_markup(tmp_path: Path) -> None:
    page = (
        "<html><body><div class=story><p>The council met on Monday<p>It voted for new lanes.\n"
        "</span></b><li>stray item<div>Unclosed box <b>bold <i>both</b> italic</i>\n"
        "<p>Please donate to keep us going.</body></html></div>trailing text"
    )
    path = write(tmp_path, page)
    lab = labelling(path)
    ask = block(lab, "Please donate to keep us going.")
    lanes = block(lab, "It voted for new lanes.")
    out = save(lab, tmp_path, [ask.id, lanes.id])
    assert out.read_bytes().replace(LABEL, b"") == path.read_bytes()
    assert appeal_texts(out) == ["It voted for new lanes.", "Please donate to keep us going."]


def test_windows_1252_page_stays_windows_1252(tmp_path: Path) -> None:
    page = (
        '<html><head><meta charset="windows-1252"></head><body>'
        "<p>Caf\u00e9 owners met the mayor \u2013 \u201cwe need parking\u201d.</p>"
        "<p>Soutenez-nous : donnez 5 \u20ac par mois.</p></body></html>"
    )
    path = write(tmp_path, page.encode("cp1252"))
    lab = labelling(path)
    assert lab.source.encoding == "windows-1252"
    ask = block(lab, "Soutenez-nous : donnez 5 \u20ac par mois.")
    out = save(lab, tmp_path, [ask.id])
    saved = out.read_bytes()
    assert saved.replace(LABEL, b"") == path.read_bytes()
    assert b"donnez 5 \x80 par mois" in saved  # the euro sign is still one cp1252 byte
    assert appeal_texts(out) == ["Soutenez-nous : donnez 5 \u20ac par mois."]


def test_a_byte_order_mark_is_kept(tmp_path: Path) -> None:
    path = write(tmp_path, b"\xef\xbb\xbf<p>Caf\xc3\xa9 news.</p><p>Donate today.</p>")
    lab = labelling(path)
    out = save(lab, tmp_path, [block(lab, "Donate today.").id])
    assert (
        out.read_bytes()
        == b'\xef\xbb\xbf<p>Caf\xc3\xa9 news.</p><p data-hush-label="appeal">Donate today.</p>'
    )


def test_quotes_and_angle_brackets_inside_attributes(tmp_path: Path) -> None:
    page = (
        '<p title=\'say "hi" > bye\' data-x="1>2">Weather: rain.</p>'
        '<div data-note="<p>" data-hush-label="appeal" class=\'a>b\'><p>Support us.</p></div>'
    )
    path = write(tmp_path, page)
    lab = labelling(path)
    assert lab.marked_ids() == [block(lab, "Support us.").id]
    out = save(lab, tmp_path, [block(lab, "Weather: rain.").id])
    assert out.read_bytes().decode() == (
        '<p data-hush-label="appeal" title=\'say "hi" > bye\' data-x="1>2">Weather: rain.</p>'
        "<div data-note=\"<p>\" class='a>b'><p>Support us.</p></div>"
    )
    assert appeal_texts(out) == ["Weather: rain."]


def test_self_closing_and_uppercase_tags(tmp_path: Path) -> None:
    page = (
        '<DIV CLASS="Box"><P>First line<BR/>second line</P>'
        '<IMG SRC="x.png" ALT="" /><SPAN/><P CLASS=ask>Become a member</P></DIV>'
    )
    path = write(tmp_path, page)
    lab = labelling(path)
    first = block(lab, "First linesecond line")
    ask = block(lab, "Become a member")
    out = save(lab, tmp_path, [first.id, ask.id])
    assert out.read_bytes().decode() == page.replace("<P", '<P data-hush-label="appeal"')
    assert appeal_texts(out) == ["First linesecond line", "Become a member"]


def test_an_existing_label_is_removed_and_its_other_blocks_keep_theirs(tmp_path: Path) -> None:
    page = (
        "<article><p>Harbour news.</p>\n"
        '<aside class="box" DATA-HUSH-LABEL="appeal" id=b><h3>Keep us going</h3><p>Give monthly.</p></aside>'
        "</article>"
    )
    path = write(tmp_path, page)
    lab = labelling(path)
    heading, plea = block(lab, "Keep us going"), block(lab, "Give monthly.")
    assert lab.marked_ids() == [heading.id, plea.id]
    assert [sorted(g.blocks) for g in lab.groups] == [[heading.index, plea.index]]
    out = save(lab, tmp_path, [plea.id])
    assert out.read_bytes().decode() == (
        "<article><p>Harbour news.</p>\n"
        '<aside class="box" id=b><h3>Keep us going</h3><p data-hush-label="appeal">Give monthly.</p></aside>'
        "</article>"
    )
    assert appeal_texts(out) == ["Give monthly."]
    cleared = save(lab, tmp_path, [])  # no label left: the page says it has no appeal
    note = f"<head>{NO_APPEAL_META}</head>"  # in a head of its own: the page has no <head> tag
    assert cleared.read_bytes().decode() == note + page.replace(' DATA-HUSH-LABEL="appeal"', "")


def test_a_page_saved_with_no_appeal_says_so_for_training(tmp_path: Path) -> None:
    """Saved with nothing marked, the copy was the page byte for byte, and training skipped it as
    unlabelled: a page where the model hid content could not teach it otherwise. It now carries a note;
    marking an appeal later takes the note out."""
    page = "<!DOCTYPE html><html><head><title>t</title></head><body><p>Harbour news.</p></body></html>"
    lab = labelling(write(tmp_path, page))
    out = save(lab, tmp_path, [])
    assert out.read_bytes().decode() == page.replace("<head>", "<head>" + NO_APPEAL_META)
    assert has_labels(out) and not load_page(out, out.parent).appeal_chars.sum()
    again = labelling(out)
    assert again.render([]) == out.read_bytes()  # said once
    marked = again.render([block(again, "Harbour news.").id]).decode()
    assert NO_APPEAL_META not in marked and marked == page.replace("<p>", f"<p{LABEL_TEXT}>")


def test_a_page_with_an_empty_head_saved_with_no_appeal_is_still_its_own_copy(tmp_path: Path) -> None:
    """The note went into the page's empty <head></head>, which then read as the note's own wrapper: taken
    out with it, the copy no longer matched the page, and hush label refused to go on from it."""
    page = "<!DOCTYPE html><html><head></head><body><p>Harbour news.</p></body></html>"
    path = write(tmp_path, page)
    out = save(labelling(path), tmp_path, [])
    assert out.read_bytes().decode() == page.replace("<head>", "<head>" + NO_APPEAL_META)
    assert same_page_labelled(out, path)
    assert not same_page_labelled(out, write(tmp_path, page.replace("Harbour", "Ferry"), "other.html"))


def test_the_elements_the_guideline_never_labels_cannot_be_chosen(tmp_path: Path) -> None:
    """A block whose only element was <main> (or <body>, <article>) could be labelled, taking in the
    whole page; training then warned about it."""
    page = (
        "<body><main>Please give today to keep us going.</main><article><p>Harbour news.</p></article></body>"
    )
    lab = labelling(write(tmp_path, page))
    plea, news = block(lab, "Please give today to keep us going."), block(lab, "Harbour news.")
    assert plea.target is None and "<main>, which the guideline never labels" in plea.reason
    assert news.target is not None and news.target.tag == "p"
    with pytest.raises(ChoiceError):
        lab.render([plea.id])


def test_a_label_on_the_html_element_can_be_taken_off(tmp_path: Path) -> None:
    """<html> carries no data-hush-id (ids are stamped from <body> down), so its label held no block and
    was kept whatever was chosen: every save was refused as not reading back."""
    page = (
        '<html data-hush-label="appeal"><head><title>t</title></head>'
        "<body><p>Harbour news.</p><div><p>Give monthly.</p></div></body></html>"
    )
    lab = labelling(write(tmp_path, page))
    news, plea = block(lab, "Harbour news."), block(lab, "Give monthly.")
    assert lab.marked_ids() == [news.id, plea.id]
    assert [sorted(g.blocks) for g in lab.groups] == [[news.index, plea.index]]
    out = save(lab, tmp_path, [plea.id])
    assert out.read_bytes().decode() == page.replace(' data-hush-label="appeal"', "").replace(
        "<div><p>", f"<div><p{LABEL_TEXT}>"
    )
    assert appeal_texts(out) == ["Give monthly."]
    assert lab.render([news.id, plea.id]) == page.encode()  # the label kept when all stays marked


def test_unmarking_a_tag_labelled_twice_leaves_its_text_content(tmp_path: Path) -> None:
    """The first of two label attributes decides; removing it alone left the second, "other", in force."""
    page = '<p>Harbour news.</p><p data-hush-label="appeal" data-hush-label="other">Give monthly.</p>'
    lab = labelling(write(tmp_path, page))
    assert lab.marked_ids() == [block(lab, "Give monthly.").id]
    cleared = save(lab, tmp_path, [])
    note = f"<head>{NO_APPEAL_META}</head>"
    assert cleared.read_bytes().decode() == note + "<p>Harbour news.</p><p>Give monthly.</p>"


def test_blocks_without_an_element_of_their_own(tmp_path: Path) -> None:
    path = write(tmp_path, "Loose text in the body<p>A paragraph.</p><div>Box text<p>Inner.</p>more</div>")
    lab = labelling(path)
    loose = block(lab, "Loose text in the body")
    assert loose.target is None and loose.id.startswith("n") and "no element" in loose.reason
    assert block(lab, "A paragraph.").target is not None
    with pytest.raises(ChoiceError) as err:
        lab.edits([loose.id])
    assert err.value.ids == [loose.id]


def test_text_loose_in_a_box_is_labelled_through_its_box(tmp_path: Path) -> None:
    """A heading written straight into its box had no element to carry a label, and the box could not be
    chosen: the appeal's heading was saved as content."""
    page = (
        "<article><p>Harbour news.</p>"
        '<div class="support">Support our journalism!<p data-hush-label="appeal">We rely on readers.</p>'
        '<a href="/give">Donate now</a></div></article>'
    )
    lab = labelling(write(tmp_path, page))
    texts = ("Support our journalism!", "We rely on readers.", "Donate now")
    loose, rely, give = (block(lab, text) for text in texts)
    assert loose.target is None and loose.wrapper is not None and loose.wrapper.tag == "div"
    assert loose.wrapped == {loose.index, rely.index, give.index}
    out = save(lab, tmp_path, [loose.id, rely.id, give.id])
    # One label, on the box; the one inside it taken off (labels never nest).
    assert out.read_bytes().decode() == page.replace(' data-hush-label="appeal"', "").replace(
        '<div class="support">', f'<div{LABEL_TEXT} class="support">'
    )
    assert appeal_texts(out) == list(texts)
    with pytest.raises(ChoiceError) as err:
        lab.edits([loose.id, rely.id])  # "Donate now" not marked: the box cannot carry the label
    assert err.value.ids == [loose.id] and "every block it holds marked" in str(err.value)


def test_a_block_inside_another_label_is_not_labelled_over_it(tmp_path: Path) -> None:
    path = write(tmp_path, '<div class="n"><a data-hush-label="other" href="/n">Get the newsletter</a></div>')
    lab = labelling(path)
    (only,) = lab.blocks
    assert only.target is None and "another label" in only.reason


def test_unknown_ids_are_refused(tmp_path: Path) -> None:
    lab = labelling(write(tmp_path, "<p>One.</p>"))
    with pytest.raises(ChoiceError) as err:
        lab.edits(["zz", "n99"])
    assert err.value.ids == ["n99", "zz"]


def test_extension_corrections_keep_their_notes(tmp_path: Path) -> None:
    page = (
        '<html><head><meta name="hush-source" content="https://example.org/a">'
        '<meta name="hush-correction" content="not-appeal:k2"></head><body>'
        '<p data-hush-id="k2">Charity runners raised money for the hospital.</p>'
        '<div data-hush-id="k3" data-hush-label="appeal"><p>Donate now.</p></div></body></html>'
    )
    lab = labelling(write(tmp_path, page))
    assert lab.meta() == {"hush-source": "https://example.org/a", "hush-correction": "not-appeal:k2"}
    assert lab.correction_target().text.startswith("Charity runners")
    assert lab.marked_ids() == [block(lab, "Donate now.").id]


def test_pages_read_with_replacement_characters_are_refused(tmp_path: Path) -> None:
    path = write(tmp_path, b"<p>\x81\xd8\xff\xbf\x81\xbf\xfe\x93\xa9\x93")  # no encoding decodes it
    with pytest.raises(RelabelError, match="cannot be rewritten exactly"):
        load_source(path)


def test_a_page_declaring_utf_8_with_stray_bytes_is_refused_saying_why(tmp_path: Path) -> None:
    path = write(tmp_path, b'<meta charset="utf-8"><p>Caf\xe9 am Markt</p>')
    with pytest.raises(RelabelError, match="declares UTF-8 but holds bytes that are not"):
        load_source(path)


def test_pages_that_would_not_encode_back_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import model.relabel

    class Lossy(model.relabel.UnicodeDammit):
        original_encoding = property(lambda self: "ascii", lambda self, value: None)

    monkeypatch.setattr(model.relabel, "UnicodeDammit", Lossy)
    with pytest.raises(RelabelError, match="does not encode back to the same bytes"):
        load_source(write(tmp_path, "<p>Caf\u00e9</p>"))


def test_a_guessed_encoding_that_labels_would_change_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "<body><p>harbour harbour harbour caf\u00e9</p></body></html>".encode("cp1252"))
    lab = labelling(path)
    if lab.source.encoding.lower().replace("_", "-") in ("windows-1252", "cp1252", "iso-8859-1"):
        pytest.skip(f"guessed {lab.source.encoding}, which labels do not change")
    with pytest.raises(RelabelError, match="declares no character encoding.*Add <meta charset="):
        lab.render([lab.blocks[0].id])


def test_missing_and_binary_files_are_page_errors(tmp_path: Path) -> None:
    with pytest.raises(PageError, match="no such file"):
        load_source(tmp_path / "nope.html")
    with pytest.raises(PageError, match="binary"):
        load_source(write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00"))


def test_splice_never_touches_bytes_outside_the_edits(tmp_path: Path) -> None:
    source = load_source(write(tmp_path, "<p>\u00e9t\u00e9</p><p>x</p>"))
    out = splice(source, [Edit(9, 9, " a=1"), Edit(2, 2, " b=2")])
    assert out == "<p b=2>\u00e9t\u00e9</p a=1><p>x</p>".encode()
    with pytest.raises(RelabelError, match="overlapping"):
        splice(source, [Edit(1, 5, ""), Edit(3, 3, "x")])


# -- the property: only the labels change, and they read back as chosen --------------------------------

WORDS = st.sampled_from(
    ["harbour", "council", "Donate", "monthly", "caf\u00e9", "r\u00e9sum\u00e9", "news", "&amp;"]
)
TEXT = st.lists(WORDS, min_size=1, max_size=4).map(" ".join)
NAMES = st.sampled_from(["p", "P", "h2", "div", "section", "li", "td", "span", "a"])


NAMES_WITH_LABELS = st.sampled_from(["class", "ID", "title", "data-x", "data-hush-label", "DATA-HUSH-LABEL"])


@st.composite
def attributes(draw, labels: bool = False) -> str:
    names = NAMES_WITH_LABELS if labels else st.sampled_from(["class", "ID", "title", "data-x"])
    out = ""
    for name in draw(st.lists(names, max_size=2, unique_by=str.lower)):
        values = ["appeal", "Appeal", "other"] if name.lower() == "data-hush-label" else []
        value = draw(st.sampled_from(values or ["box", "a > b", 'say "hi"', "it's", ""]))
        quote = "'" if '"' in value else draw(st.sampled_from(['"', "'"]))
        out += draw(st.sampled_from([" ", "\n ", "  "])) + f"{name}={quote}{value}{quote}"
    return out


@st.composite
def fragments(draw, depth: int = 0, labels: bool = False) -> str:
    kind = draw(
        st.sampled_from(["text", "element", "br", "list", "table", "links"] if depth < 3 else ["text"])
    )
    if kind == "text":
        return draw(TEXT)
    if kind == "br":
        return draw(st.sampled_from(["<br>", "<br/>", "<BR />", "<hr>"]))
    if kind == "list":
        items = draw(st.lists(fragments(depth + 1, labels), min_size=1, max_size=3))
        return "<ul>" + "".join(f"<li{draw(attributes(labels))}>{i}</li>" for i in items) + "</ul>"
    if kind == "table":
        return f"<table><tr><td>{draw(TEXT)}</td><td>{draw(fragments(depth + 1, labels))}</td></tr></table>"
    if kind == "links":
        return " | ".join(f'<a href="/{i}">{draw(TEXT)}</a>' for i in range(draw(st.integers(2, 3))))
    name = draw(NAMES)
    inner = "".join(draw(st.lists(fragments(depth + 1, labels), min_size=1, max_size=3)))
    close = draw(st.sampled_from([f"</{name}>", f"</{name.upper()}>", ""]))  # sometimes left open
    return f"<{name}{draw(attributes(labels))}>{inner}{close}\n"


PAGES = st.builds(
    lambda head, body, encoding: (f"{head}<body>{body}</body></html>", encoding),
    st.sampled_from(["", "<!DOCTYPE html><html><head><title>t</title></head>", "<html>"]),
    st.lists(fragments(), min_size=1, max_size=6).map("".join),
    st.sampled_from(["utf-8", "windows-1252"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(page=PAGES, data=st.data())
def test_only_the_chosen_labels_change(tmp_path: Path, page: tuple[str, str], data: st.DataObject) -> None:
    html, encoding = page
    if encoding != "utf-8":  # declared: without it the encoding is guessed, see the test above
        html = f'<meta charset="{encoding}">{html}'
    path = write(tmp_path, html.encode(encoding), name="random.html")
    lab = labelling(path)
    choices = [b.id for b in lab.blocks if b.target is not None]
    chosen = data.draw(st.lists(st.sampled_from(choices), unique=True) if choices else st.just([]))
    out = save(lab, tmp_path, chosen)
    saved = out.read_bytes()
    edits = lab.edits(chosen)
    assert all(e.insert == LABEL_TEXT and e.start == e.end for e in edits) and len(edits) == len(chosen)
    assert without_labels(saved) == path.read_bytes()
    assert (NOTE in saved) == (not chosen)  # a page saved with no appeal says so
    labelled = load_page(out, out.parent)
    got = {lab.blocks[i].id for i, n in enumerate(labelled.appeal_chars) if n}
    assert len(labelled.page.blocks) == len(lab.blocks)
    assert got == set(chosen)


LABELLED_PAGES = st.lists(fragments(labels=True), min_size=1, max_size=6).map(
    lambda body: f"<!DOCTYPE html><html><head><title>t</title></head><body>{''.join(body)}</body></html>"
)
ANY_LABEL = re.compile(rb"""\s*data-hush-label=("[^"]*"|'[^']*')""", re.IGNORECASE)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(html=LABELLED_PAGES, data=st.data())
def test_existing_labels_are_kept_or_removed_as_chosen(
    tmp_path: Path, html: str, data: st.DataObject
) -> None:
    path = write(tmp_path, html, name="labelled.html")
    lab = labelling(path)
    assert without_labels(lab.render(lab.marked_ids())) == without_labels(path.read_bytes())
    # What the labelling page allows: blocks with an element of their own, and existing labels kept whole.
    own = [b.id for b in lab.blocks if b.target is not None]
    chosen = set(data.draw(st.lists(st.sampled_from(own), unique=True) if own else st.just([])))
    for group in lab.groups:
        if data.draw(st.booleans()):
            chosen |= {lab.blocks[i].id for i in group.blocks}
    out = save(lab, tmp_path, sorted(chosen))
    labelled = load_page(out, out.parent)
    assert {lab.blocks[i].id for i, n in enumerate(labelled.appeal_chars) if n} == chosen
    assert without_labels(out.read_bytes()) == ANY_LABEL.sub(b"", path.read_bytes())
