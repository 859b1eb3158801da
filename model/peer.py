"""The filter-list peer, scored exactly as the model is: same pages, same characters, same counts.

A content-blocker user today gets the cosmetic rules of annoyance filter lists (:mod:`model.filterlist`).
Here those rules are applied to each labelled page, under the host it was captured from, and the text
of the elements they hide is counted as ``hush evaluate`` counts the model's collapsed elements.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from bs4 import BeautifulSoup
from lxml import etree

from model.evaluate import PageResult, counts_for
from model.filterlist import FilterList, hide
from model.labelled import LabelledPage, load_page
from model.metrics import CharCounts, summary
from model.segment import ID_ATTR


def page_host(lp: LabelledPage) -> str:
    """The host a page was captured from: its ``url``, else its site when that is a domain, else ""."""
    url = lp.meta.get("url")
    host = urlsplit(url).hostname if isinstance(url, str) else None
    if host:
        return host
    return lp.site.lower() if "." in lp.site and " " not in lp.site else ""


def hidden_ids(rules: FilterList, lp: LabelledPage) -> set[str]:
    """The stamped ids of the elements the rules hide on a page loaded with ``stamped=True``."""
    selectors = rules.for_host(page_host(lp))
    if lp.root is None or not selectors:  # no rule for this host: the page need not be parsed again
        return set()
    soup = BeautifulSoup(etree.tostring(lp.root, method="html", encoding="unicode"), "lxml")
    ids = (el.get(ID_ATTR) for el in hide(soup, selectors))
    return {i for i in ids if isinstance(i, str)}


def evaluate_peer(rules: FilterList, pages: list[LabelledPage]) -> tuple[list[PageResult], dict]:
    """Per page and in total, what the rules hide of each stamped page's appeal and content."""
    results = [counts_for(lp, hidden_ids(rules, lp)) for lp in pages]
    return results, summary({r.name: r.counts for r in results})


def peer_counts(rules: FilterList, paths: list[str]) -> dict[str, CharCounts]:
    """The rules' counts on labelled page files, read again stamped (keyed by the paths given)."""
    out: dict[str, CharCounts] = {}
    for name in paths:
        path = Path(name)
        lp = load_page(path, path.parent, stamped=True)
        out[name] = counts_for(lp, hidden_ids(rules, lp)).counts
    return out
