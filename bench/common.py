"""What every part of the benchmark shares: paths, the page set, stamping, and summary statistics."""

from __future__ import annotations

import hashlib
import importlib
import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from urllib.parse import urlsplit

from lxml import etree

from model.labelled import read_meta, stamp_all
from model.parse import parse, read_page
from model.segment import LABEL_ATTR

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus" / "pages"
REALPAGES = ROOT.parent / "shared" / "realpages"
APPEAL_RULES = ROOT.parent / "shared" / "baselines" / "filterlists" / "appeal_rules.txt"
SHIPPED = ROOT / "model" / "shipped" / "hush-model.skops"
TESTS = ROOT / "tests"


def tests_module(name: str) -> ModuleType:
    """A helper module of the test suite (browser_support, extension_pages), imported, not copied."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))
    return importlib.import_module(name)


@dataclass
class Page:
    name: str
    source: str  # "corpus" or "real"
    path: Path
    html: str  # labels removed, every body element stamped with data-hush-id, as the server sees it


def realpages_missing() -> str:
    """'' when ../shared/realpages is there, else the message saying it is skipped."""
    if REALPAGES.is_dir():
        return ""
    return f"{REALPAGES} not found: real pages skipped, corpus pages only"


def stamped(path: Path) -> str:
    """The page as the server would get it: labels removed, every body element stamped like the extension."""
    root = parse(read_page(path))
    if root is None:
        return ""
    for el in root.iter():
        if isinstance(el.tag, str) and LABEL_ATTR in el.attrib:
            del el.attrib[LABEL_ATTR]
    stamp_all(root)
    return etree.tostring(root, encoding="unicode", method="html", doctype="<!DOCTYPE html>")


def real_files() -> list[Path]:
    return sorted(REALPAGES.glob("*.html")) if REALPAGES.is_dir() else []


def captured_url(path: Path) -> str | None:
    """The http(s) address a real page was captured from (its sidecar's ``url``), if it names one."""
    url = read_meta(path).get("url")
    if not isinstance(url, str):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme in ("http", "https") and parts.hostname else None


def load_pages(quick: bool) -> list[Page]:
    """Corpus pages and, when present, the real pages (quick: every fourth of each)."""
    step = 4 if quick else 1
    found = [("corpus", p) for p in sorted(CORPUS.rglob("*.html"))[::step]]
    found += [("real", p) for p in real_files()[::step]]
    pages = [Page(p.stem, src, p, stamped(p)) for src, p in found]
    return [p for p in pages if p.html]


def median_real_page() -> Path:
    """The median-sized real page, or the median-sized corpus page without ../shared."""
    files = real_files() or sorted(CORPUS.rglob("*.html"))
    files.sort(key=lambda p: (p.stat().st_size, p.name))
    return files[len(files) // 2]


def pct(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free interval for the median: the k-th smallest and k-th largest value, k the
    largest rank whose interval holds the median with at least ``confidence`` (the count of values below
    the median is binomial, n and one half). Too few values for that give the smallest and largest."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return math.nan, math.nan
    k = 1
    while k + 1 <= n - k and 1 - 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n >= confidence:
        k += 1
    return ordered[k - 1], ordered[n - k]


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median": statistics.median(values) if values else math.nan,
        "p95": pct(values, 95),
        "max": max(values) if values else math.nan,
    }


def model_stamp() -> dict[str, str]:
    """The shipped model's version and file digest, to tell whether it changed during the run."""
    from model.persist import load

    data = SHIPPED.read_bytes()
    return {"version": load(SHIPPED).version, "sha256": hashlib.sha256(data).hexdigest()[:12]}
