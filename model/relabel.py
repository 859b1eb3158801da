"""Labelling a saved page in place: the saved file keeps its markup byte for byte, and only
``data-hush-label="appeal"`` attributes are added to or removed from start tags.

Nothing is re-serialised. The standard library's HTMLParser finds every start tag in the decoded source;
a copy of the source with a numbered marker attribute in each start tag is parsed the way the model parses
pages, so each element of the tree knows the start tag it came from (elements the parser invented, such as
an implied ``<html>``, ``<body>`` or ``<p>``, have none). A block can carry a label when an element with a
start tag of its own holds exactly the block's text. Labels are written as text edits at those offsets
and spliced into the original bytes; the result is re-read to check it says what was asked.
"""

from __future__ import annotations

import codecs
import re
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from html.parser import HTMLParser
from pathlib import Path

from bs4 import UnicodeDammit
from lxml import etree

from model.errors import PageError
from model.labelled import NEVER_LABELLED, block_label_chars, stamp_all
from model.parse import decode, parse, read_page, stray_bytes
from model.segment import ID_ATTR, LABEL_ATTR, LABELS, Page, segment

APPEAL = "appeal"
LABEL_TEXT = f' {LABEL_ATTR}="{APPEAL}"'  # what a new label adds, right after the tag name
# What a page saved with no appeal marked gets, and nothing else then: training reads a page as labelled
# when it carries a label or this note (model.labelled.has_labels), so the page teaches "no appeal here".
NO_APPEAL_META = '<meta name="hush-correction" content="no-appeal">'
# The note as it is written: in a <head> of its own when the page has no <head> tag (see Labelling._note).
_NOTES = (f"<head>{NO_APPEAL_META}</head>", NO_APPEAL_META)
_DOCTYPE = re.compile(r"\s*<!doctype[^>]*>", re.IGNORECASE)
_BOMS = (codecs.BOM_UTF8, codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_TAG_NAME = re.compile(r"<[a-zA-Z][^\t\n\r\f />\x00]*")
# One attribute of a start tag, after the tag name: HTML's tokenizer rules, without the error cases.
_ATTRIBUTE = re.compile(
    r"""(?P<space>[\t\n\r\f /]*)(?P<name>[^\t\n\r\f />][^\t\n\r\f />=]*)"""
    r"""(?:[\t\n\r\f ]*=[\t\n\r\f ]*(?P<value>"[^"]*"|'[^']*'|[^\t\n\r\f >]*))?"""
)


class RelabelError(PageError):
    """A page that cannot be labelled without changing its markup, or a choice that cannot be written."""


class ChoiceError(ValueError):
    """The blocks asked for are unknown or cannot carry a label; ``ids`` names them."""

    def __init__(self, message: str, ids: list[str]) -> None:
        super().__init__(message)
        self.ids = ids


# -- the source: text and bytes ------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A page file's bytes and their text, decoded the way the model reads pages."""

    path: Path
    data: bytes
    text: str
    encoding: str
    bom: bytes = b""


def load_source(path: str | Path) -> Source:
    """Read a page; RelabelError unless decoding and encoding back gives the very same bytes."""
    path = Path(path)
    text = read_page(path)  # PageError for missing, empty or binary files
    data = path.read_bytes()
    dammit = UnicodeDammit(data, is_html=True)
    encoding = dammit.original_encoding
    if stray_bytes(dammit):
        raise RelabelError(
            f"{path}: it declares UTF-8 but holds bytes that are not (shown as \ufffd), so it cannot be "
            "rewritten exactly; label a copy with those bytes fixed"
        )
    if not encoding or dammit.unicode_markup != text or dammit.contains_replacement_characters:
        raise RelabelError(f"{path}: cannot tell its character encoding, so it cannot be rewritten exactly")
    try:
        encoded: bytes | None = text.encode(encoding)
    except (UnicodeError, LookupError):
        encoded = None
    bom = data[: len(data) - len(encoded or b"")]
    if encoded is None or not data.endswith(encoded) or (bom and bom not in _BOMS):
        raise RelabelError(
            f"{path}: read as {encoding} it does not encode back to the same bytes; refusing to rewrite it"
        )
    return Source(path, data, text, encoding, bom)


_LABEL = re.compile(rb"""\s+data-hush-label\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>]+)""", re.IGNORECASE)


def same_page_labelled(saved: Path, page: Path) -> bool:
    """True when there is no file at ``saved``, or it is ``page`` with other labels (a copy saved before,
    which saving again updates), rather than a page of the same name from elsewhere. OSError when
    either cannot be read."""
    try:
        copy = saved.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        return True
    return without_labels(copy) == without_labels(page.read_bytes())


_EMPTY_HEAD = re.compile(rb"<head\s*>\s*</head\s*>", re.IGNORECASE)


def without_labels(data: bytes) -> bytes:
    """A page's bytes less its labels, the note a page saved with no appeal gets and any empty <head>: the
    note's own, and a page's whose empty <head> took the note (it then reads as the note's own)."""
    data = _LABEL.sub(b"", data).replace(NO_APPEAL_META.encode(), b"")
    return _EMPTY_HEAD.sub(b"", data)


@dataclass(frozen=True, order=True)
class Edit:
    """Replace ``text[start:end]`` of the source with ``insert`` (an insertion when start == end)."""

    start: int
    end: int
    insert: str


def splice(source: Source, edits: Iterable[Edit]) -> bytes:
    """The source's bytes with the edits made; every byte outside the edits is the original's."""
    out = [source.bom]
    pos, at = 0, len(source.bom)
    for edit in sorted(edits):
        if edit.start < pos or edit.end < edit.start:
            raise RelabelError(f"{source.path}: overlapping edits at offset {edit.start}")
        for a, b, keep in ((pos, edit.start, True), (edit.start, edit.end, False)):
            chunk = source.text[a:b].encode(source.encoding)
            if source.data[at : at + len(chunk)] != chunk:
                raise RelabelError(f"{source.path}: the text near offset {a} does not map back to its bytes")
            if keep:
                out.append(source.data[at : at + len(chunk)])
            at += len(chunk)
        out.append(edit.insert.encode(source.encoding))
        pos = edit.end
    tail = source.data[at:]
    if tail != source.text[pos:].encode(source.encoding):
        raise RelabelError(f"{source.path}: the end of the text does not map back to its bytes")
    out.append(tail)
    return b"".join(out)


# -- start tags ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StartTag:
    """One start tag of the source, as offsets into its text."""

    tag: str  # lower-case name
    start: int  # the "<"
    name_end: int  # just after the name: where a new attribute goes
    end: int  # just after the ">"
    labels: tuple[tuple[int, int, str], ...] = ()  # each data-hush-label: its span with the space, its value
    hush_id: str | None = None  # the data-hush-id it carries, if any (extension corrections have some)

    def appeal_spans(self) -> list[tuple[int, int]]:
        return [(a, b) for a, b, value in self.labels if LABELS.get(value.strip().lower()) == 1]


class _StartTagFinder(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.found: list[StartTag] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        raw = self.get_starttag_text() or ""
        line, column = self.getpos()
        start = self.line_starts[line - 1] + column
        name = _TAG_NAME.match(raw)
        if not name or not self.text.startswith(raw, start):
            return  # not where the tokenizer says: leave this tag alone
        labels = []
        pos = name.end()
        while (m := _ATTRIBUTE.match(raw, pos)) and m.end() > pos:
            if m.group("name").lower() == LABEL_ATTR:
                value = (m.group("value") or "").strip("\"'")
                labels.append((start + m.start(), start + m.end(), value))
            pos = m.end()
        hush_id = next((v for k, v in attrs if k == ID_ATTR), None)
        self.found.append(StartTag(tag, start, start + name.end(), start + len(raw), tuple(labels), hush_id))

    handle_startendtag = handle_starttag


def start_tags(text: str) -> list[StartTag]:
    """Every start tag the standard library's tokenizer finds, in source order."""
    finder = _StartTagFinder(text)
    finder.feed(text)
    finder.close()
    return finder.found


def map_start_tags(text: str, root: etree._Element) -> dict[etree._Element, StartTag]:
    """The start tag each element of ``root`` (parsed from ``text``) came from; invented elements
    and those the two tokenizers disagree on are left out."""
    tags = start_tags(text)
    marker = "data-hush-src"
    while marker in text.lower():
        marker += "x"
    parts, pos = [], 0
    for i, tag in enumerate(tags):
        parts += [text[pos : tag.name_end], f' {marker}="{i}"']
        pos = tag.name_end
    parts.append(text[pos:])
    marked_root = parse("".join(parts))
    if marked_root is None:
        return {}
    ours = [el for el in root.iter() if isinstance(el.tag, str)]
    theirs = [el for el in marked_root.iter() if isinstance(el.tag, str)]
    a, b = [el.tag for el in ours], [el.tag for el in theirs]
    if a == b:
        pairs = list(zip(ours, theirs, strict=True))
    else:  # the markers changed how the page parses somewhere: keep what still lines up
        matcher = SequenceMatcher(None, a, b, autojunk=False)
        pairs = [
            (ours[m.a + k], theirs[m.b + k]) for m in matcher.get_matching_blocks() for k in range(m.size)
        ]
    claims: dict[int, list[etree._Element]] = {}
    for mine, marked in pairs:
        value = marked.get(marker, "")
        if value.isdigit() and int(value) < len(tags) and tags[int(value)].tag == mine.tag:
            claims.setdefault(int(value), []).append(mine)
    # One start tag behind two elements means the parser copied it somewhere: trust neither.
    return {els[0]: tags[i] for i, els in claims.items() if len(els) == 1}


# -- blocks and labels ---------------------------------------------------------------------------


def parse_source(source: Source) -> etree._Element:
    """The source parsed as the model parses pages, every element stamped as by ``stamp_all``."""
    root = parse(source.text)
    if root is None:
        raise RelabelError(f"{source.path}: no HTML in the file")
    stamp_all(root)
    return root


def _is_appeal(el: etree._Element) -> bool:
    value = el.get(LABEL_ATTR)
    return value is not None and LABELS.get(value.strip().lower()) == 1


@dataclass
class LabelBlock:
    """One block of the page, and the element that can carry its label on its own."""

    index: int
    id: str  # the target's data-hush-id, or "n<index>" when it has no target
    target: etree._Element | None
    shown: etree._Element  # the element that shows the block: its target, else the block's element
    marked: bool  # labelled appeal in the source
    reason: str = ""  # why it cannot be labelled on its own ("" when it can)
    # With no element of its own (text loose in a box): the nearest element around it that can carry a
    # label, labelled when every block it holds is marked, and those blocks.
    wrapper: etree._Element | None = None
    wrapped: frozenset[int] = frozenset()


def _wrapper(
    el: etree._Element | None, spans: dict[etree._Element, tuple[int, int]], firsts: list[int]
) -> tuple[etree._Element | None, frozenset[int]]:
    """The nearest element from ``el`` up that can carry a label (one with a start tag of its own that holds
    no other label, never <body>, <main> or <article>; ``spans``: their pieces), and the blocks it holds
    (``firsts``: each block's first piece)."""
    while el is not None and el.tag not in NEVER_LABELLED:
        if el in spans:
            p0, p1 = spans[el]
            return el, frozenset(range(bisect_left(firsts, p0), bisect_left(firsts, p1)))
        el = el.getparent()
    return None, frozenset()


@dataclass
class Group:
    """An existing appeal label in the source and the blocks whose appeal text it holds."""

    element: etree._Element
    start: StartTag
    blocks: frozenset[int] = field(default_factory=frozenset)


class Labelling:
    """A page's blocks, the labels it already has, and the saved page for a chosen set of blocks."""

    def __init__(self, source: Source, root: etree._Element, page: Page) -> None:
        """``root`` comes from :func:`parse_source`; ``page`` is its segmentation with labels."""
        self.source, self.root, self.page = source, root, page
        self.starts = map_start_tags(source.text, root)
        ranges = {s.id: (s.p0, s.p1) for s in page.stamped}
        # An appeal label on an element that has or holds another label would not read back as appeal.
        blocked: set[etree._Element] = set()
        for el in root.iter():
            if isinstance(el.tag, str) and el.get(LABEL_ATTR) is not None and not _is_appeal(el):
                blocked.update([el, *el.iterancestors()])
        by_range: dict[tuple[int, int], list[etree._Element]] = {}  # elements with a start tag, by text
        held_by_other: set[tuple[int, int]] = set()
        whole: dict[tuple[int, int], str] = {}  # text held by an element the guideline never labels
        for el, tag in self.starts.items():  # in document order
            span = ranges.get(el.get(ID_ATTR, ""))
            if not span or span[1] <= span[0]:
                continue
            if el.tag in NEVER_LABELLED:
                whole.setdefault(span, el.tag)
            elif el in blocked or (tag.labels and not _is_appeal(el)):
                held_by_other.add(span)
            else:
                by_range.setdefault(span, []).append(el)
        appeal, _, _ = block_label_chars(page)
        spans = {el: span for span, els in by_range.items() for el in els}
        firsts = [b.p0 for b in page.blocks]  # in document order
        self.blocks: list[LabelBlock] = []
        for i, block in enumerate(page.blocks):
            span = (block.p0, block.p1)
            usable = by_range.get(span, [])
            target = block.element if block.element in usable else (usable[-1] if usable else None)
            block_id = target.get(ID_ATTR, "") if target is not None else f"n{i}"
            shown = target if target is not None else block.element
            reason = ""
            wrapper: tuple[etree._Element | None, frozenset[int]] = (None, frozenset())
            if target is None and span in held_by_other:
                reason = "it holds another label"
            elif target is None:
                reason = (
                    f"its element is <{whole[span]}>, which the guideline never labels"
                    if span in whole
                    else "it has no element of its own"
                )
                wrapper = _wrapper(block.element, spans, firsts)
            self.blocks.append(LabelBlock(i, block_id, target, shown, bool(appeal[i]), reason, *wrapper))
        self.by_id = {b.id: b for b in self.blocks}
        self.groups: list[Group] = []
        labels = page.piece_label or [0] * len(page.piece_block)
        for el in root.iter():
            if not isinstance(el.tag, str) or not _is_appeal(el):
                continue
            start = self.starts.get(el)
            if start is None or not start.appeal_spans():
                raise RelabelError(
                    f"{source.path}: the label on <{el.tag}> (line {el.sourceline}) has no start tag of "
                    "its own in the source, so it could not be removed"
                )
            # <html> has no id (ids are stamped from <body> down) and holds every block.
            whole_page = (0, len(page.piece_block)) if el is root else (0, 0)
            p0, p1 = ranges.get(el.get(ID_ATTR, ""), whole_page)
            held = frozenset(page.piece_block[p] for p in range(p0, p1) if labels[p] == 1)
            self.groups.append(Group(el, start, held))

    def meta(self) -> dict[str, str]:
        """The ``hush-source`` and ``hush-correction`` notes an extension correction carries."""
        found: dict[str, str] = {}
        for el in self.root.iter("meta"):
            name = (el.get("name") or "").strip().lower()
            if name in ("hush-source", "hush-correction") and name not in found:
                found[name] = el.get("content") or ""
        return found

    def correction_target(self) -> etree._Element | None:
        """The element a "not an appeal" correction names (by the data-hush-id it had in the file)."""
        kind, _, old_id = self.meta().get("hush-correction", "").partition(":")
        if kind.strip() != "not-appeal" or not old_id.strip():
            return None
        for el, tag in self.starts.items():
            if tag.hush_id == old_id.strip():
                return el
        return None

    def marked_ids(self) -> list[str]:
        return [b.id for b in self.blocks if b.marked]

    def edits(self, marked: Iterable[str]) -> list[Edit]:
        """The edits that label exactly the ``marked`` blocks (ids from :attr:`blocks`).

        Existing labels whose blocks all stay marked are kept as they are; the others are removed,
        and every marked block they no longer cover gets a label of its own, or its wrapper's when it has
        no element of its own. ChoiceError for an unknown id, or a block with no element of its own whose
        wrapper holds blocks not marked (or that has none).
        """
        wanted = list(marked)
        unknown = sorted({i for i in wanted if i not in self.by_id})
        if unknown:
            raise ChoiceError(f"unknown block ids: {', '.join(unknown[:20])}", unknown)
        chosen = {self.by_id[i].index for i in wanted}
        # A block with no element of its own is labelled through the element around it, when all it holds
        # is marked: one label for the lot (none inside it, none around it: labels never nest).
        kept = [g for g in self.groups if g.blocks <= chosen]
        labelled = {g.element for g in kept}
        wrappers: dict[etree._Element, frozenset[int]] = {}
        for b in (self.blocks[i] for i in sorted(chosen)):
            if b.target is None and b.wrapper is not None and b.wrapped <= chosen:
                wrappers[b.wrapper] = b.wrapped
        wrappers = {
            el: held
            for el, held in wrappers.items()
            if el not in labelled and not any(a in wrappers or a in labelled for a in el.iterancestors())
        }
        inside = set().union(*wrappers.values())
        kept = [g for g in kept if not any(a in wrappers for a in g.element.iterancestors())]
        covered = inside.union(*(g.blocks for g in kept))
        kept_elements = {g.element for g in kept}
        edits = [Edit(self.starts[el].name_end, self.starts[el].name_end, LABEL_TEXT) for el in wrappers]
        alone = []
        for index in sorted(chosen - covered):
            block = self.blocks[index]
            if block.target is None:
                alone.append(block.id)
            elif block.target not in kept_elements:
                at = self.starts[block.target].name_end
                edits.append(Edit(at, at, LABEL_TEXT))
        if alone:
            raise ChoiceError(
                "blocks with no element of their own are labelled through the element around them, which "
                f"must then have every block it holds marked: {', '.join(alone[:20])}",
                alone,
            )
        for group in self.groups:
            if group.element not in kept_elements:  # every label on its tag: a second one would decide then
                edits.extend(Edit(a, b, "") for a, b, _ in group.start.labels)
        return sorted(set(edits))

    def _says_labelled(self, edits: list[Edit]) -> bool:
        """Whether training will read the saved page as labelled: a label stays on it, or it carries an
        extension correction's note."""
        removed = {(e.start, e.end) for e in edits if not e.insert}
        kept = any((a, b) not in removed for tag in self.starts.values() for a, b, _ in tag.labels)
        return kept or "hush-correction" in self.meta()

    def _note(self) -> Edit:
        """NO_APPEAL_META added after the <head> start tag; in a <head> of its own when the page has no
        such tag (after <html>'s, else after the doctype): libxml2 would keep an <article> after a lone
        <meta> in the head."""
        heads = [t.end for t in self.starts.values() if t.tag == "head"]
        if heads:
            return Edit(heads[0], heads[0], _NOTES[1])
        htmls = [t.end for t in self.starts.values() if t.tag == "html"]
        doctype = _DOCTYPE.match(self.source.text)
        at = htmls[0] if htmls else doctype.end() if doctype else 0
        return Edit(at, at, _NOTES[0])

    def render(self, marked: Iterable[str]) -> bytes:
        """The page's bytes with exactly the ``marked`` blocks labelled appeal, checked by reading
        them back the way training does (RelabelError if they would say anything else)."""
        wanted = set(marked)
        edits = self.edits(wanted)
        noted = next(((note, at) for note in _NOTES if (at := self.source.text.find(note)) >= 0), None)
        if wanted and noted:  # an appeal marked now: the page no longer says it has none
            edits.append(Edit(noted[1], noted[1] + len(noted[0]), ""))
        elif not wanted and not self._says_labelled(edits):
            edits.append(self._note())
        out = splice(self.source, edits)
        text = decode(out)
        if text != apply_edits(self.source.text, edits):
            guess = UnicodeDammit(out, is_html=True).original_encoding
            raise RelabelError(
                f"{self.source.path}: the page declares no character encoding and, with the labels, its "
                f"bytes would be guessed as {guess} rather than {self.source.encoding}; refusing to save. "
                f'Add <meta charset="{self.source.encoding}"> to its <head> (a copy of it) and label that'
            )
        check = segment(parse(text), with_labels=True)
        appeal, _, _ = block_label_chars(check)
        got = (
            {self.blocks[i].id for i, n in enumerate(appeal) if n}
            if len(appeal) == len(self.blocks)
            else None
        )
        same_text = [b.text for b in check.blocks] == [b.text for b in self.page.blocks]
        if got != {self.by_id[i].id for i in wanted} or not same_text:
            raise RelabelError(
                f"{self.source.path}: the labels could not be written so that they read back as chosen"
            )
        return out


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """The source text with the edits made (what :func:`splice` writes, as text)."""
    parts, pos = [], 0
    for edit in sorted(edits):
        parts += [text[pos : edit.start], edit.insert]
        pos = edit.end
    parts.append(text[pos:])
    return "".join(parts)
