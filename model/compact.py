"""What survives the extension's compact copy of a page, applied to any page the model reads.

The extension does not send a page's HTML as it is: it trims class lists, keeps only some ARIA roles,
shortens links and drops the tags of pure formatting (``extension/content.js``, "serialising"). The model
reads attributes and links through these functions, so a labelled page read raw in training and the same
page sent by the extension give the same features. Both sides must keep to the same rules.
"""

from __future__ import annotations

import re

from lxml import etree

# ARIA roles the extension sends; any other role is left out.
ROLES = frozenset(
    [
        "banner",
        "complementary",
        "contentinfo",
        "dialog",
        "alertdialog",
        "alert",
        "status",
        "main",
        "navigation",
        "region",
        "button",
        "link",
        "form",
        "search",
        "note",
        "marquee",
        "article",
        "heading",
        "tooltip",
        "log",
    ]
)
# Pure formatting: the extension sends their text without their tags (so without their attributes).
UNWRAPPED = frozenset(
    [
        "b",
        "i",
        "em",
        "strong",
        "small",
        "sup",
        "sub",
        "abbr",
        "mark",
        "u",
        "s",
        "font",
        "time",
        "data",
        "bdi",
        "bdo",
        "cite",
        "q",
        "dfn",
        "del",
        "ins",
        "kbd",
        "var",
        "samp",
        "code",
        "tt",
        "big",
        "nobr",
        "wbr",
        "picture",
    ]
)
# Elements sent even when empty: their attributes can carry the signal (a "donate" link with an icon).
KEEP_EMPTY = frozenset(["a", "button", "select", "textarea", "progress", "meter"])
# Elements the extension never sends, with everything inside them.
DROPPED = frozenset(
    [
        "script",
        "style",
        "svg",
        "noscript",
        "template",
        "iframe",
        "object",
        "embed",
        "canvas",
        "math",
        "link",
        "meta",
        "base",
        "head",
        "source",
        "track",
        "param",
        "img",
    ]
)
VOID = frozenset(["area", "br", "col", "embed", "hr", "img", "input", "source", "track", "wbr"])
MAX_CLASS_CHARS = 48
MAX_CLASS_TOKEN = 32
MAX_ID_CHARS = 60
MAX_ARIA_CHARS = 120
MAX_PATH_CHARS = 40  # longer paths keep their last two segments
MAX_SEGMENTS_CHARS = 60
MAX_HREF_CHARS = 120

# Generated class names: anything with a digit ("col-md-3", "css-1x2y3z"), or a hash suffix ("box__kQzPa").
_GENERATED = re.compile(r"\d|__[A-Za-z]{5}$")
_SPACE = re.compile(r"\s+")
_OTHER_SITE = re.compile(r"^(?:https?:)?//(?:www\.)?([^/]*)", re.IGNORECASE)
_NOT_A_LINK = ("data:", "javascript:", "blob:", "vbscript:")


def squash(value: str, limit: int) -> str:
    """Whitespace runs as one space, trimmed, cut to ``limit`` characters."""
    return _SPACE.sub(" ", value).strip()[:limit]


def class_list(value: str) -> str:
    """The class tokens the extension keeps: no generated names, the first ones up to 48 characters."""
    kept = ""
    for token in value.split():
        if len(token) > MAX_CLASS_TOKEN or _GENERATED.search(token):
            continue
        if len(kept) + len(token) > MAX_CLASS_CHARS:
            break
        kept = f"{kept} {token}" if kept else token
    return kept


def sent_bare(el: etree._Element, tag: str) -> bool:
    """Whether an element reaches the model without its attributes: the extension leaves out elements with
    no content at all (an icon's ``<span class="icon">``)."""
    if tag in KEEP_EMPTY or tag in VOID or (el.text and not el.text.isspace()):
        return False
    # Empty once what the extension never sends (an icon's <svg>, comments) is left out.
    return all(
        (not isinstance(child.tag, str) or child.tag in DROPPED) and (not child.tail or child.tail.isspace())
        for child in el
    )


def role(value: str | None) -> str:
    return value if value in ROLES else ""


def href(value: str) -> str:
    """A link as the extension sends it: no query or fragment, no scheme, no ``www.``, long paths cut to
    their last two segments; "" for links that go nowhere (``javascript:``, ``data:``).

    The extension also drops the host of links to the page's own site (written with or without ``www.``,
    with either scheme or none), which only it knows; that host names one site and says nothing the
    model can carry to another."""
    v = value.strip()
    if v[:11].lower().startswith(_NOT_A_LINK):
        return ""
    cut = re.search(r"[?#]", v)
    if cut:
        v = v[: cut.start()]
    host = ""
    m = _OTHER_SITE.match(v)
    if m:
        host = "//" + m.group(1)
        v = v[m.end() :]
    if len(v) > MAX_PATH_CHARS:
        segments = "/".join([s for s in v.split("/") if s][-2:])
        v = "/…/" + segments[-MAX_SEGMENTS_CHARS:]
    return (host + v)[:MAX_HREF_CHARS]
