"""Segmentation: one walk over the element tree turns a page into ordered blocks.

A *block* is the text of a block-level element up to its next block-level child: a paragraph, a heading,
a list item, a table cell, or the loose text of a box. A row made only of links or buttons (a menu, a
button bar) is split so that each link is a block of its own. Every text node becomes one *piece*;
pieces are numbered in document order, so the text under any element is a contiguous range of pieces.
Training and serving both use this one walk, and it reads every page as the extension sends it
(:mod:`model.compact`), so a labelled file and the extension's copy of the same page segment alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import accumulate

from lxml import etree

from model import compact
from model.parse import MAX_ELEMENTS, too_many_elements

BLOCK_TAGS = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "body",
        "center",
        "dd",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hgroup",
        "hr",
        "html",
        "li",
        "main",
        "menu",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "summary",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
        "caption",
        "legend",
        "select",
        "option",
        "optgroup",
        "textarea",
    ]
)
# What the model never reads: everything the extension never sends (model.compact.DROPPED), and three
# elements it sends whose text is no reading matter (a stray <title>; the fallback text of <video> and
# <audio>, shown only where they cannot play).
SKIP_TAGS = compact.DROPPED | {"title", "video", "audio"}
# Tags read as if only their contents were there: the extension sends formatting tags' text without the
# tags, and browsers add <tbody> to every table where lxml does not.
TRANSPARENT = compact.UNWRAPPED | {"tbody"}
BARE_TAGS = frozenset(["html", "body"])
HEADING_TAGS = frozenset(["h1", "h2", "h3", "h4", "h5", "h6"])
ID_ATTR = "data-hush-id"
LABEL_ATTR = "data-hush-label"
LABELS = {"appeal": 1, "other": 2}  # anything unlabelled is content (0)

_SPLIT_TOKENS = re.compile(r"[^0-9a-zA-Z\u00c0-\u024f\u0400-\u04ff]+|(?<=[a-z])(?=[A-Z])")
_SEPARATOR_TEXT = re.compile(r"^[\s|·•/\-–—:,;()\[\]>»«<]*$")


def attribute_tokens(el: etree._Element, memo: dict[tuple, str] | None = None) -> str:
    """Lowercase words of an element's class, id, role and aria-label (``donate-box`` → ``donate box``), as
    the extension sends them (:mod:`model.compact`).

    memo: the words of attribute values already seen (pages repeat their class names)."""
    get = el.get
    key = (get("class"), get("id"), get("role"), get("aria-label"))
    if key == (None, None, None, None):
        return ""
    found = memo.get(key) if memo is not None else None
    if found is None:
        found = _words(_sent_attributes(*key))
        if memo is not None:
            memo[key] = found
    return found


def _sent_attributes(cls: str | None, ident: str | None, role: str | None, aria: str | None) -> str:
    parts = (
        compact.class_list(cls) if cls else "",
        compact.squash(ident, compact.MAX_ID_CHARS) if ident else "",
        compact.role(role),
        compact.squash(aria, compact.MAX_ARIA_CHARS) if aria else "",
    )
    return " ".join(p for p in parts if p)


def _words(raw: str) -> str:
    return " ".join(t.lower() for t in _SPLIT_TOKENS.split(raw[:400]) if t and not t.isdigit())


@dataclass(slots=True)
class Context:
    """A block-level element: the unit boxes are made of."""

    element: etree._Element
    tag: str
    parent: int  # index of the enclosing context, -1 for the root
    depth: int
    tokens: str  # its own attribute tokens
    chain: str  # its own and its ancestors' tokens, nearest first, truncated
    path: str  # tag names from the root, truncated to the nearest few
    p0: int = 0  # pieces under it: [p0, p1)
    p1: int = 0
    b0: int = 0  # blocks under it: [b0, b1)
    b1: int = 0


@dataclass(slots=True)
class Block:
    """The unit the classifier labels."""

    element: etree._Element
    tag: str
    context: int  # the context the block's text stands in
    text: str
    chars: int  # non-whitespace characters
    p0: int
    p1: int
    tokens: str  # attribute tokens of the inline elements inside it
    hrefs: list[str]
    link_chars: int
    n_links: int
    n_buttons: int


@dataclass(slots=True)
class _Item:
    """A piece of a run: one top-level inline element, or loose text between them."""

    element: etree._Element | None
    p0: int
    p1: int = -1
    link_chars: int = 0
    n_links: int = 0
    n_buttons: int = 0
    hrefs: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Stamped:
    """An element the client stamped with ``data-hush-id``, with the pieces under it."""

    id: str
    order: int  # position of its start among all elements
    end: int  # order of the last element under it
    p0: int
    p1: int


@dataclass
class Page:
    blocks: list[Block]
    contexts: list[Context]
    piece_text: list[str]
    piece_chars: list[int]
    piece_block: list[int]
    stamped: list[Stamped]
    piece_label: list[int] | None = None  # only when segmenting a labelled page for training
    cum_chars: list[int] = field(default_factory=lambda: [0])  # cum_chars[p] = characters before piece p
    # What the feature code derives from the page, computed once however many rows are built from it.
    memo: dict = field(default_factory=dict, repr=False, compare=False)


def visible_chars(text: str) -> int:
    return len("".join(text.split()))


def segment(root: etree._Element | None, *, with_labels: bool = False) -> Page:
    """Walk the tree once and return its blocks, contexts, pieces and stamped elements; PageTooLarge past
    MAX_ELEMENTS elements."""
    return _Walker(with_labels).run(root)


class _Walker:
    def __init__(self, with_labels: bool) -> None:
        self.with_labels = with_labels
        self.blocks: list[Block] = []
        self.contexts: list[Context] = []
        self.piece_text: list[str] = []
        self.piece_chars: list[int] = []
        self.piece_block: list[int] = []
        self.piece_label: list[int] = []
        self.stamped: list[Stamped] = []
        self.label_stack: list[int] = [0]
        self.ctx_stack: list[int] = []
        self.run_items: list[_Item] = []  # the open run of the innermost context
        self.item_depth = 0  # inline elements open inside the current item
        self.link_depth = 0
        self.order = 0
        self.tokens_memo: dict[tuple, str] = {}

    # -- pieces and runs -------------------------------------------------------------------------

    def add_text(self, text: str | None) -> None:
        if not text or not self.ctx_stack:
            return
        n = visible_chars(text)
        # A <br> parts no words ("Support us<br>Donate now" reads "Support usDonate now"). Measured as a word
        # break: the retrained model's held-out precision fell from 0.967 to 0.916 (recall 0.855 to 0.874),
        # content hidden on 39 cross-validated pages against 34; left out.
        if n == 0:  # no piece, but still a word break ("<b>Name</b> <span>date</span>")
            if self.run_items and self.piece_text and not self.piece_text[-1][-1:].isspace():
                self.piece_text[-1] += " "
            return
        if not self.run_items or self.run_items[-1].p1 != -1:
            self.run_items.append(_Item(None, len(self.piece_text)))
        item = self.run_items[-1]
        self.piece_text.append(text)
        self.piece_chars.append(n)
        self.piece_block.append(-1)
        if self.with_labels:
            self.piece_label.append(self.label_stack[-1])
        if self.link_depth:
            item.link_chars += n

    def close_loose_text(self) -> None:
        if self.run_items and self.run_items[-1].p1 == -1 and self.run_items[-1].element is None:
            self.run_items[-1].p1 = len(self.piece_text)

    def flush_run(self) -> None:
        """Turn the open run of the innermost context into one block, or one per link if it is a link row."""
        items = self.run_items
        if not items:
            return
        end = len(self.piece_text)
        for item in items:
            if item.p1 == -1:
                item.p1 = end
        items = [it for it in items if it.p1 > it.p0]
        self.run_items = []
        self.item_depth = 0
        if not items:
            return
        ctx_index = self.ctx_stack[-1]
        ctx = self.contexts[ctx_index]
        linky = [it for it in items if it.n_links or it.n_buttons]
        if len(linky) >= 2 and all(
            it.n_links or it.n_buttons or _SEPARATOR_TEXT.match(self._text(it.p0, it.p1)) for it in items
        ):
            for it in items:
                self._emit(it.element if it.element is not None else ctx.element, ctx_index, [it])
        else:
            self._emit(ctx.element, ctx_index, items)

    def _text(self, p0: int, p1: int) -> str:
        return "".join(self.piece_text[p0:p1])

    def _emit(self, element: etree._Element, ctx_index: int, items: list[_Item]) -> None:
        p0, p1 = items[0].p0, items[-1].p1
        text = " ".join(self._text(p0, p1).split())
        index = len(self.blocks)
        for p in range(p0, p1):
            self.piece_block[p] = index
        tag = element.tag if isinstance(element.tag, str) else "#"
        self.blocks.append(
            Block(
                element=element,
                tag=tag,
                context=ctx_index,
                text=text,
                chars=sum(self.piece_chars[p0:p1]),
                p0=p0,
                p1=p1,
                tokens=" ".join(t for it in items for t in it.tokens),
                hrefs=[h for it in items for h in it.hrefs],
                link_chars=sum(it.link_chars for it in items),
                n_links=sum(it.n_links for it in items),
                n_buttons=sum(it.n_buttons for it in items),
            )
        )

    # -- the walk --------------------------------------------------------------------------------

    def run(self, root: etree._Element | None) -> Page:
        if root is not None:
            self.walk(root)
        return Page(
            blocks=self.blocks,
            contexts=self.contexts,
            piece_text=self.piece_text,
            piece_chars=self.piece_chars,
            piece_block=self.piece_block,
            stamped=self.stamped,
            piece_label=self.piece_label if self.with_labels else None,
            cum_chars=[0, *accumulate(self.piece_chars)],
        )

    def walk(self, root: etree._Element) -> None:
        walker = etree.iterwalk(root, events=("start", "end"))
        open_stamps: list[tuple[str, int, int]] = []
        pending: list[tuple[str, bool, bool]] = []  # per open element: (kind, labelled, stamped)
        for event, el in walker:
            tag = el.tag
            if not isinstance(tag, str):
                if event == "start":
                    walker.skip_subtree()
                    pending.append(("skip", False, False))
                else:
                    pending.pop()
                    self.add_text(el.tail)
                continue
            if event == "start":
                self.order += 1
                if self.order > MAX_ELEMENTS:
                    raise too_many_elements()
                if tag in SKIP_TAGS:
                    walker.skip_subtree()
                    pending.append(("skip", False, False))
                    continue
                labelled = False
                if self.with_labels:
                    label = el.get(LABEL_ATTR)
                    if label is not None:
                        self.label_stack.append(LABELS.get(label.strip().lower(), 0))
                        labelled = True
                stamp = el.get(ID_ATTR)
                if stamp is not None:
                    open_stamps.append((stamp, self.order, len(self.piece_text)))
                if tag in TRANSPARENT and self.ctx_stack:
                    pending.append(("transparent", labelled, stamp is not None))
                elif tag in BLOCK_TAGS or not self.ctx_stack:
                    self.start_context(el, tag)
                    pending.append(("block", labelled, stamp is not None))
                else:
                    self.start_inline(el, tag)
                    pending.append(("inline", labelled, stamp is not None))
                self.add_text(el.text)
            else:
                kind, labelled, stamped = pending.pop()
                if kind == "block":
                    self.end_context()
                elif kind == "inline":
                    self.end_inline(tag)
                if stamped:
                    stamp, order, p0 = open_stamps.pop()
                    self.stamped.append(Stamped(stamp, order, self.order, p0, len(self.piece_text)))
                if labelled:
                    self.label_stack.pop()
                self.add_text(el.tail)
        self.stamped.sort(key=lambda s: s.order)

    def start_context(self, el: etree._Element, tag: str) -> None:
        if self.ctx_stack:
            self.flush_run()
        parent = self.ctx_stack[-1] if self.ctx_stack else -1
        # The extension writes <html> and <body> without their attributes.
        tokens = "" if tag in BARE_TAGS else attribute_tokens(el, self.tokens_memo)
        if parent >= 0:
            up = self.contexts[parent]
            chain = f"{tokens} {up.chain}"[:240] if tokens else up.chain
            path = f"{up.path} {tag}"[-80:]
            depth = up.depth + 1
        else:
            chain, path, depth = tokens, tag, 0
        ctx = Context(
            el, tag, parent, depth, tokens, chain, path, p0=len(self.piece_text), b0=len(self.blocks)
        )
        self.ctx_stack.append(len(self.contexts))
        self.contexts.append(ctx)

    def end_context(self) -> None:
        self.flush_run()
        ctx = self.contexts[self.ctx_stack.pop()]
        ctx.p1 = len(self.piece_text)
        ctx.b1 = len(self.blocks)

    def start_inline(self, el: etree._Element, tag: str) -> None:
        if self.item_depth == 0:
            self.close_loose_text()
            self.run_items.append(_Item(el, len(self.piece_text)))
        self.item_depth += 1
        item = self.run_items[-1]
        # Empty elements (an icon's <span>) reach the model without their attributes, as the extension
        # sends them.
        tokens = "" if compact.sent_bare(el, tag) else attribute_tokens(el, self.tokens_memo)
        if tokens:
            item.tokens.append(tokens)
        if tag == "a":
            self.link_depth += 1
            item.n_links += 1
            href = el.get("href")
            if href and (href := compact.href(href)):
                item.hrefs.append(href)
        elif tag == "button" or (tag == "input" and el.get("type", "").lower() in ("submit", "button")):
            item.n_buttons += 1

    def end_inline(self, tag: str) -> None:
        if tag == "a":
            self.link_depth = max(0, self.link_depth - 1)
        if self.item_depth > 0:
            self.item_depth -= 1
            if self.item_depth == 0 and self.run_items:
                self.run_items[-1].p1 = len(self.piece_text)
