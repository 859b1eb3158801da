"""Turning page bytes or text into an lxml element tree, whatever the input looks like."""

from __future__ import annotations

import contextlib
import re
from html.parser import HTMLParser as _StdlibParser
from pathlib import Path

from bs4 import UnicodeDammit
from lxml import etree

from model.errors import PageError, PageTooLarge, TooManyAttributes

# Characters XML trees cannot hold; libxml2 would turn some into U+FFFD and choke on others.
_CONTROL_CHARS = "\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff"
_CONTROL = re.compile(f"[{_CONTROL_CHARS}]")
# What parse() does not keep as written: those characters, which it drops, and lone UTF-16 surrogates,
# which it writes as "?". An attribute value holding one comes out changed.
ALTERED = re.compile(f"[{_CONTROL_CHARS}\ud800-\udfff]")
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)


# What Hush reads of a page at most. The extension skips pages with more elements than this, and the model
# refuses them (PageTooLarge): a megabyte of "<p>a</p>" is 125,000 elements, and a block costs the model
# some 30 to 65 microseconds and 4 to 6 KB while it works (99,000 sibling paragraphs: 6.5 s, 600 MB).
MAX_ELEMENTS = 100_000
# libxml2 stops nesting at 2048 levels, and the page is then built here; an element that would go deeper
# than this is put beside the deepest one instead, as browsers do past their own limit (512 in Chromium).
# lxml's walks of a tree slow down with the square of its depth: 200,000 levels took minutes.
MAX_DEPTH = 4096


# libxml2 checks each attribute of a start tag against those before it: a tag of 40,000 attributes
# (430 KB) took 13 s to parse, one of 100,000 over two minutes, all of it in C, where no time limit can
# stop it. No element of the 186 real pages or the corpus carries 256, so a page with one is refused. The
# pattern reads start tags as libxml2 does (quoted values may hold ">"; attributes may follow a quoted
# value without a space), and its possessive parts never go back: a search costs some 3 ms a megabyte.
MAX_ATTRIBUTES = 256
_ATTRIBUTE = r"""[\s/]*+[^\s"'<>/=]++(?>\s*+=\s*+(?>"[^"]*+"|'[^']*+'|[^\s"'>][^\s>]*+))?+"""
_MANY_ATTRIBUTES = re.compile(rf"<[A-Za-z][^\s/>]*+(?>{_ATTRIBUTE}){{{MAX_ATTRIBUTES}}}")


def too_many_elements() -> PageTooLarge:
    return PageTooLarge(f"the page has more than {MAX_ELEMENTS:,} elements, more than Hush reads")


def _parser() -> etree.HTMLParser:
    return etree.HTMLParser(
        encoding="utf-8", huge_tree=True, remove_comments=True, remove_pis=True, no_network=True
    )


def decode(data: bytes) -> str:
    """Decode page bytes, honouring a BOM or meta charset, guessing otherwise. A page that declares UTF-8
    is read as UTF-8 whatever stray bytes it holds, each one a U+FFFD, as a browser shows it: guessed
    again, one stray byte had the whole page read as windows-1250 ("UnterstĂĽtzen")."""
    dammit = UnicodeDammit(data, is_html=True)
    if dammit.unicode_markup is None or stray_bytes(dammit):
        return data.decode("utf-8-sig", errors="replace")
    return dammit.unicode_markup


def stray_bytes(dammit: UnicodeDammit) -> bool:
    """Whether the page declares UTF-8 and holds bytes that are not UTF-8 (so it was read as another)."""
    declared = (dammit.declared_html_encoding or "").lower().replace("_", "-")
    return declared in ("utf-8", "utf8") and dammit.original_encoding != "utf-8"


WEB = re.compile(r"https?:/", re.IGNORECASE)  # a web address given for a file (a Path keeps one "/")


def no_such_page(path: Path) -> str:
    """The error for a page file that does not exist, with a hint when it is a web address."""
    hint = " (a web address: save the page first, e.g. curl -o page.html URL)" if WEB.match(str(path)) else ""
    return f"{path}: no such file{hint}"


def read_page(path: str | Path) -> str:
    """Read an HTML file as text; PageError for missing, empty or binary files."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PageError(no_such_page(path)) from None
    except IsADirectoryError:
        raise PageError(f"{path}: is a directory, not an HTML file") from None
    except OSError as err:
        raise PageError(f"{path}: cannot read ({err.strerror})") from None
    if not data.strip():
        raise PageError(f"{path}: file is empty")
    head = data[:4096]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise PageError(f"{path}: looks like a binary file, not HTML")
    return decode(data)


def parse(html: str) -> etree._Element | None:
    """Parse a document or fragment into a tree rooted at <html>; None when there is nothing."""
    if _MANY_ATTRIBUTES.search(html):
        raise TooManyAttributes(
            f"an element of the page has {MAX_ATTRIBUTES:,} attributes or more, more than Hush reads"
        )
    data = _CONTROL.sub("", html).encode("utf-8", errors="replace")
    if not data.strip():
        return None
    parser = _parser()
    root = etree.fromstring(data, parser)
    if any(e.type_name == "ERR_RESOURCE_LIMIT" for e in parser.error_log):
        # libxml2 stops at nesting depth 2048 and drops the rest of the page; build it ourselves,
        # keeping libxml2's truncated tree if the standard library's tokenizer gives up too.
        with contextlib.suppress(AssertionError, ValueError, etree.LxmlError):
            root = _parse_past_depth_limit(data.decode("utf-8"))
    return root


# An open element -> the start tags that end it, as libxml2 reads them (extension/lib/compact.js leaves
# out the end tags they make redundant).
_ENDS_P = "div p ul ol li dl table form blockquote pre hr address fieldset h1 h2 h3 h4 h5 h6"
_ENDED_BY = {"li": frozenset(["li"]), "p": frozenset(_ENDS_P.split())}


class _TreeFeeder(_StdlibParser):
    """Feeds the standard library's tokenizer into an lxml TreeBuilder, nesting at most MAX_DEPTH levels."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.builder = etree.TreeBuilder()
        self.open: list[str] = []
        self.elements = 0
        self.builder.start("html", {})

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("html", "head", "body") and tag in self.open:
            return
        clean = {k: v or "" for k, v in attrs if _valid_name(k)}
        name = tag if _valid_name(tag) else "span"
        if self.open and name in _ENDED_BY.get(self.open[-1], ()):
            self.builder.end(self.open.pop())
        if len(self.open) >= MAX_DEPTH and tag not in _VOID:
            self.builder.end(self.open.pop())  # beside the deepest element, not inside it
        self.elements += 1
        if self.elements > MAX_ELEMENTS:
            raise too_many_elements()
        self.builder.start(name, clean)
        if tag in _VOID:
            self.builder.end(name)
        else:
            self.open.append(name)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        name = tag if _valid_name(tag) else "span"
        if tag not in _VOID and self.open and self.open[-1] == name:
            self.open.pop()
            self.builder.end(name)

    def handle_endtag(self, tag: str) -> None:
        tag = tag if _valid_name(tag) else "span"
        if tag not in self.open:
            return
        while self.open:
            name = self.open.pop()
            self.builder.end(name)
            if name == tag:
                break

    def handle_data(self, data: str) -> None:
        self.builder.data(data)

    def close_tree(self) -> etree._Element:
        self.close()
        while self.open:
            self.builder.end(self.open.pop())
        self.builder.end("html")
        return self.builder.close()


_NAME = re.compile(r"^[A-Za-z_][\w.-]*$")


def _valid_name(name: str) -> bool:
    return bool(_NAME.match(name))


def _parse_past_depth_limit(text: str) -> etree._Element:
    feeder = _TreeFeeder()
    feeder.feed(text)
    return feeder.close_tree()
