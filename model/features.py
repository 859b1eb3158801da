"""Feature rows for blocks and for boxes, as plain columns a scikit-learn ColumnTransformer reads.

Nothing here reads ``data-hush-label`` or the values of ``data-hush-id``: rows are built only from
text, tag names, class/id/role/aria tokens, link targets and page structure.
"""

from __future__ import annotations

import math
import re
from urllib.parse import urlsplit

import numpy as np

from model import signals
from model.segment import HEADING_TAGS, Block, Context, Page

TEXT_LIMIT = 600
NEIGHBOUR_LIMIT = 160
BOX_TEXT_LIMIT = 1500
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
BOX_MAX_CHARS = 4000

_WORD = re.compile(r"\w[\w'’-]*", re.UNICODE)


def href_tokens(href: str) -> list[str]:
    """Host and path words of a link, plus ``platform`` / ``giving`` facts about it."""
    try:
        parts = urlsplit(href.strip().lower())
    except ValueError:
        return []
    host = parts.netloc.split("@")[-1].split(":")[0]
    path = f"{parts.path} {parts.query}"
    words = [w for w in re.split(r"[^a-z0-9\u00c0-\u024f\u0400-\u04ff-]+", path) if w and not w.isdigit()]
    out = [f"h_{w}" for w in words[:12]]
    if host:
        out.append("host_" + ".".join(host.split(".")[-2:]))
    if is_platform(host, parts.path):
        out.append("platform")
    if any(w in signals.GIVING_PATH_WORDS for w in words) or host.startswith(signals.GIVING_SUBDOMAINS):
        out.append("giving")
    return out


def is_platform(host: str, path: str) -> bool:
    target = host + path
    return any(
        target.startswith(p) or f".{p}" in target or target.startswith("www." + p)
        for p in signals.PLATFORM_HOSTS
    )


_PHRASES = re.compile("|".join(re.escape(p) for p in sorted(signals.APPEAL_PHRASES, key=len, reverse=True)))


def phrase_hits(lower: str) -> int:
    """How many appeal phrases a lowercase text holds (non-overlapping)."""
    return len(_PHRASES.findall(lower))


def text_facts(text: str) -> tuple[int, int, int, int]:
    """Counts of amounts, bank details, call-to-action labels and appeal words and phrases in a text."""
    lower = text.lower()
    amounts = len(signals.AMOUNT.findall(text))
    bank = len(signals.IBAN.findall(text)) + len(signals.BIC.findall(text))
    stripped = lower.strip(" !.»›→>–-:·")
    cta = 1 if len(stripped) <= 40 and stripped in _CTA else 0
    words = _WORD.findall(lower[:2000])
    appeal = sum(1 for w in words if w in signals.APPEAL_WORDS) + phrase_hits(lower[:2000])
    return amounts, bank, cta, appeal


_CTA = frozenset(signals.CALL_TO_ACTION)


def in_chrome(ctx: Context) -> int:
    path_tags = set(ctx.path.split())
    return int(bool(path_tags & CHROME_TAGS) or bool(set(ctx.chain.split()) & CHROME_WORDS))


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


def block_rows(page: Page) -> np.ndarray:
    """One row per block: [text, neighbour text, tokens, *numbers]."""
    blocks = page.blocks
    n = len(blocks)
    rows = np.empty((n, 3 + len(BLOCK_NUMERIC)), dtype=object)
    total = max(1, page.cum_chars[-1])
    for i, b in enumerate(blocks):
        ctx = page.contexts[b.context]
        box = box_of(page, b)
        box_chars = chars_under(page, box)
        prev_text = blocks[i - 1].text[-NEIGHBOUR_LIMIT:] if i else ""
        next_text = blocks[i + 1].text[:NEIGHBOUR_LIMIT] if i + 1 < n else ""
        href = [t for h in b.hrefs[:8] for t in href_tokens(h)]
        tokens = " ".join(
            [
                f"tag_{b.tag}",
                *(f"s_{t}" for t in b.tokens.split()[:20]),
                *(f"a_{t}" for t in ctx.chain.split()[:30]),
                *(f"p_{t}" for t in ctx.path.split()[-6:]),
                *(f"b_{t}" for t in box.tokens.split()[:10]),
                *href,
            ]
        )
        amounts, bank, cta, appeal = text_facts(b.text)
        rows[i, BLOCK_TEXT] = b.text[:TEXT_LIMIT].lower()
        rows[i, BLOCK_CONTEXT] = f"{prev_text} {next_text}".lower()
        rows[i, BLOCK_TOKENS] = tokens
        rows[i, 3:] = (
            math.log1p(b.chars),
            min(len(b.text.split()), 300) / 100,
            b.link_chars / max(1, b.chars),
            min(b.n_links, 20),
            min(b.n_buttons, 10),
            page.cum_chars[b.p0] / total,
            min(ctx.depth, 40) / 10,
            int(b.tag in HEADING_TAGS),
            in_chrome(ctx),
            href.count("platform"),
            href.count("giving"),
            min(amounts, 10),
            min(bank, 3),
            cta,
            min(appeal, 20),
            _digit_share(b.text),
            math.log1p(box_chars),
            min(box.b1 - box.b0, 50) / 10,
            b.chars / max(1, box_chars),
        )
    return rows


def _digit_share(text: str) -> float:
    if not text:
        return 0.0
    return sum(ch.isdigit() for ch in text) / len(text)
