"""Feature rows for blocks and for boxes, as plain columns a scikit-learn ColumnTransformer reads.

Nothing here reads ``data-hush-label`` or the values of ``data-hush-id``: rows are built only from
text, tag names, class/id/role/aria tokens, link targets and page structure.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np

from model import compact, signals
from model.facts import phrase_hits as phrase_hits
from model.facts import text_facts as text_facts
from model.facts import texts_facts, voice_counts
from model.segment import HEADING_TAGS, Block, Context, Page

TEXT_LIMIT = 600
NEIGHBOUR_LIMIT = 160
CHROME_TAGS = frozenset({"nav", "header", "footer", "aside", "form", "dialog"})
CHROME_WORDS = frozenset(
    [
        "nav",
        "navbar",
        "menu",
        "header",
        "footer",
        "sidebar",
        "aside",
        "banner",
        "modal",
        "dialog",
        "popup",
        "overlay",
        "sticky",
        "widget",
    ]
)

# Column order of a block row; the pipeline's ColumnTransformer selects by these positions.
BLOCK_TEXT, BLOCK_CONTEXT, BLOCK_TOKENS = 0, 1, 2
BLOCK_FIRST_NUMBER = BLOCK_TOKENS + 1  # the BLOCK_NUMERIC columns follow the text columns
BLOCK_NUMERIC = [
    "log_chars",
    "words",
    "link_density",
    "n_links",
    "n_buttons",
    "position",
    "depth",
    "heading",
    "in_chrome",
    "platform_links",
    "giving_links",
    "amounts",
    "bank",
    "cta",
    "appeal_words",
    "digits",
    "box_log_chars",
    "box_blocks",
    "box_share",
]
BLOCK_NUMBER_COLUMNS = list(range(BLOCK_FIRST_NUMBER, BLOCK_FIRST_NUMBER + len(BLOCK_NUMERIC)))
BOX_MAX_CHARS = 4000

_HREF_SPLIT = re.compile(r"[^a-z0-9\u00c0-\u024f\u0400-\u04ff-]+")
# A platform host (or path) at the start of the link's host, or after any dot in host + path.
_PLATFORM = re.compile(r"(?:^|\.)(?:" + "|".join(re.escape(p) for p in signals.PLATFORM_HOSTS) + ")")


def href_tokens(href: str) -> list[str]:
    """Host and path words of a link (as the extension sends it), plus ``platform`` / ``giving`` facts."""
    return list(_href_tokens(compact.href(href)))


def _href_tokens(href: str) -> tuple[str, ...]:
    try:
        parts = urlsplit(href.strip().lower())
    except ValueError:
        return ()
    host = parts.netloc.split("@")[-1].split(":")[0]
    words = [w for w in _HREF_SPLIT.split(parts.path) if w and not w.isdigit()]
    out = [f"h_{w}" for w in words[:12]]
    if host:
        out.append("host_" + ".".join(host.split(".")[-2:]))
    if is_platform(host, parts.path):
        out.append("platform")
    if not signals.GIVING_PATH_WORDS.isdisjoint(words) or host.startswith(signals.GIVING_SUBDOMAINS):
        out.append("giving")
    return tuple(out)


def is_platform(host: str, path: str) -> bool:
    """Whether host + path starts with a platform, optionally after ``www.``, or holds ``.platform``."""
    return _PLATFORM.search(host + path) is not None


def links_tokens(page: Page, limit: int) -> list[tuple[str, ...]]:
    """Per block: the href tokens of its first ``limit`` links (each distinct link read once per page)."""
    key = ("links", limit)
    if key not in page.memo:
        seen: dict[str, tuple[str, ...]] = page.memo.setdefault("hrefs", {})
        out = []
        for b in page.blocks:
            tokens: tuple[str, ...] = ()
            for h in b.hrefs[:limit]:
                found = seen.get(h)
                if found is None:
                    found = seen[h] = _href_tokens(h)
                tokens += found
            out.append(tokens)
        page.memo[key] = out
    return page.memo[key]


def block_facts(page: Page) -> np.ndarray:
    """``text_facts`` of every block's text, one row each (computed once per page)."""
    if "facts" not in page.memo:
        page.memo["facts"] = texts_facts([b.text for b in page.blocks])
    return page.memo["facts"]


def block_voice(page: Page) -> tuple[list[int], list[int]]:
    """``voice_counts`` of every block's text (computed once per page: training describes a page's boxes
    once per stage)."""
    if "voice" not in page.memo:
        page.memo["voice"] = voice_counts([b.text for b in page.blocks])
    return page.memo["voice"]


def in_chrome(ctx: Context, page: Page | None = None) -> int:
    """Whether a context is in page chrome (nav, header, footer, ...) by its path's tags or its chain's
    tokens; with the page, each distinct path and chain is looked at once."""
    if page is None:
        return _in_chrome(ctx.path, ctx.chain)
    seen = page.memo.setdefault("chrome", {})
    key = (ctx.path, ctx.chain)
    found = seen.get(key)
    if found is None:
        found = seen[key] = _in_chrome(ctx.path, ctx.chain)
    return found


def _in_chrome(path: str, chain: str) -> int:
    return int(bool(set(path.split()) & CHROME_TAGS) or bool(set(chain.split()) & CHROME_WORDS))


def _prefixed(seen: dict, prefix: str, words: str, start: int, stop: int | None) -> list[str]:
    """``prefix`` before each of words.split()[start:stop], each distinct value done once."""
    key = (prefix, words)
    found = seen.get(key)
    if found is None:
        found = seen[key] = [prefix + t for t in words.split()[start:stop]]
    return found


def box_of(page: Page, block: Block) -> Context:
    """The nearest context that holds more than this block and stays small: the block's box."""
    ctx = page.contexts[block.context]
    i = block.context
    while i >= 0:
        c = page.contexts[i]
        if c.b1 - c.b0 >= 2 or c.b1 == 0:
            return c if chars_under(page, c) <= BOX_MAX_CHARS else ctx
        i = c.parent
    return ctx


def chars_under(page: Page, ctx: Context) -> int:
    return page.cum_chars[ctx.p1] - page.cum_chars[ctx.p0]


@dataclass(slots=True)
class BlockColumns:
    """The columns of the block rows, per block: the three texts and the numbers."""

    text: list[str]
    context: list[str]
    tokens: list[str]
    numbers: list[tuple[float, ...]]

    def column(self, index: int) -> list[str]:
        """Text column BLOCK_TEXT, BLOCK_CONTEXT or BLOCK_TOKENS."""
        return (self.text, self.context, self.tokens)[index]


def block_rows(page: Page) -> np.ndarray:
    """One row per block: [text, neighbour text, tokens, *numbers]."""
    cols = block_columns(page)
    rows = np.empty((len(page.blocks), 3 + len(BLOCK_NUMERIC)), dtype=object)
    if len(rows):
        rows[:, BLOCK_TEXT] = cols.text
        rows[:, BLOCK_CONTEXT] = cols.context
        rows[:, BLOCK_TOKENS] = cols.tokens
        rows[:, 3:] = cols.numbers
    return rows


def block_columns(page: Page) -> BlockColumns:
    """The columns of ``block_rows``, with what blocks share (context, box, links) worked out once."""
    blocks = page.blocks
    texts = [b.text for b in blocks]
    total = max(1, page.cum_chars[-1])
    facts = block_facts(page).tolist()
    links = links_tokens(page, 8)
    before = ["", *(t[-NEIGHBOUR_LIMIT:] for t in texts[:-1])][: len(texts)]
    after = [*(t[:NEIGHBOUR_LIMIT] for t in texts[1:]), ""][-len(texts) :] if texts else []
    cols = BlockColumns(
        [t[:TEXT_LIMIT].lower() for t in texts],
        [f"{a} {b}".lower() for a, b in zip(before, after, strict=True)],
        [],
        [],
    )
    shared: dict[int, tuple[Context, Context, int, int, list[str]]] = {}
    # Contexts differ more than their chains, paths and boxes' tokens do: each is prefixed once.
    prefixed: dict[tuple[str, str], list[str]] = {}
    for b, text, href, (amounts, bank, cta, appeal) in zip(blocks, texts, links, facts, strict=True):
        known = shared.get(b.context)
        if known is None:
            ctx = page.contexts[b.context]
            box = box_of(page, b)
            words = [
                *_prefixed(prefixed, "a_", ctx.chain, 0, 30),
                *_prefixed(prefixed, "p_", ctx.path, -6, None),
                *_prefixed(prefixed, "b_", box.tokens, 0, 10),
            ]
            known = shared[b.context] = (ctx, box, chars_under(page, box), in_chrome(ctx, page), words)
        ctx, box, box_chars, chrome, words = known
        own = [f"s_{t}" for t in b.tokens.split()[:20]] if b.tokens else []
        cols.tokens.append(" ".join([f"tag_{b.tag}", *own, *words, *href]))
        cols.numbers.append(
            (
                math.log1p(b.chars),
                min(len(text.split()), 300) / 100,
                b.link_chars / max(1, b.chars),
                min(b.n_links, 20),
                min(b.n_buttons, 10),
                page.cum_chars[b.p0] / total,
                min(ctx.depth, 40) / 10,
                int(b.tag in HEADING_TAGS),
                chrome,
                href.count("platform"),
                href.count("giving"),
                min(amounts, 10),
                min(bank, 3),
                cta,
                min(appeal, 20),
                _digit_share(text),
                math.log1p(box_chars),
                min(box.b1 - box.b0, 50) / 10,
                b.chars / max(1, box_chars),
            )
        )
    return cols


_ASCII_DIGITS = str.maketrans("", "", "0123456789")


def _digit_share(text: str) -> float:
    if not text:
        return 0.0
    if text.isascii():  # the only ASCII characters isdigit() accepts
        return (len(text) - len(text.translate(_ASCII_DIGITS))) / len(text)
    return sum(map(str.isdigit, text)) / len(text)
