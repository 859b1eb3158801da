"""What the extension's payload is made of: text, each kind of attribute, and the tags around them.

The serialiser writes regular HTML (every attribute as name="value", or name=value where no quotes are
needed; text and values escaped), so a pattern over its output splits it exactly; every character is
counted in one part.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PARTS = ("text", "data-hush-id", "class", "href", "other attributes", "tags")
_TAG = re.compile(r"<[^>]*>")
_ATTRIBUTE = re.compile(r'\s([^\s=>"]+)=(?:"[^"]*"|[^\s"\'=<>`]+)')
_NAMED = {"data-hush-id", "class", "href"}


def parts(html: str) -> dict[str, int]:
    """Characters of each part of ``html`` (they add up to its length)."""
    out = dict.fromkeys(PARTS, 0)
    at = 0
    for tag in _TAG.finditer(html):
        out["text"] += tag.start() - at
        at = tag.end()
        inside = len(tag.group())
        for attribute in _ATTRIBUTE.finditer(tag.group()):
            name = attribute.group(1).lower()
            out[name if name in _NAMED else "other attributes"] += len(attribute.group())
            inside -= len(attribute.group())
        out["tags"] += inside
    out["text"] += len(html) - at
    return out


def shares(counts: Iterable[dict[str, int]]) -> dict[str, float]:
    """Each part's share of all the characters of several payloads."""
    total = dict.fromkeys(PARTS, 0)
    for c in counts:
        for k in PARTS:
            total[k] += c[k]
    whole = sum(total.values()) or 1
    return {k: v / whole for k, v in total.items()}
