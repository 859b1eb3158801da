"""Reading labelled pages: segmentation plus the labels and the site each page belongs to."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
from lxml import etree

from model.errors import PageError
from model.parse import parse, read_page
from model.segment import ID_ATTR, LABEL_ATTR, LABELS, Page, segment

APPEAL, OTHER = 1, 2


@dataclass
class LabelledPage:
    path: Path
    source: str  # the folder it was read from
    site: str  # cross-validation group: pages of one site never sit in train and test at once
    meta: dict
    page: Page
    appeal_chars: np.ndarray  # per block
    other_chars: np.ndarray  # per block
    content_chars: np.ndarray  # per block
    root: etree._Element | None = None  # the parsed page (stamped when loaded with stamped=True)

    @property
    def has_appeal(self) -> bool:
        return bool(self.appeal_chars.sum())


def origin(p: LabelledPage) -> str:
    """Where a page comes from: written for Hush (hand-written or generated) or captured from the web."""
    source = p.meta.get("source")
    return source if isinstance(source, str) else "real"


def block_label_chars(page: Page) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Appeal, other and content characters of each block, from the labels of its pieces."""
    n = len(page.blocks)
    counts = np.zeros((3, n), dtype=np.int64)
    labels = page.piece_label or [0] * len(page.piece_chars)
    for chars, block, label in zip(page.piece_chars, page.piece_block, labels, strict=True):
        counts[label, block] += chars
    return counts[APPEAL], counts[OTHER], counts[0]


def page_files(folders: Iterable[Path]) -> list[tuple[Path, Path]]:
    """Every .html/.htm file below the folders (through linked folders too, each real folder once), with
    the folder it came from, sorted."""
    found: list[tuple[Path, Path]] = []
    for folder in folders:
        if folder.is_file():
            found.append((folder.parent, folder))
            continue
        files, seen = [], set()
        for where, dirs, names in os.walk(folder, followlinks=True):
            real = os.path.realpath(where)
            if real in seen:  # a link back up the tree, or a second way into a folder already read
                dirs.clear()
                continue
            seen.add(real)
            files += [Path(where, n) for n in names if Path(n).suffix.lower() in (".html", ".htm")]
        found.extend((folder, p) for p in sorted(p for p in files if p.is_file()))
    return found


def read_meta(path: Path) -> dict:
    sidecar = path.with_suffix(".json")
    if sidecar.is_file():
        try:
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            return meta if isinstance(meta, dict) else {}
        except (ValueError, OSError):
            return {}
    return {}


def source_host(root: etree._Element) -> str:
    """The host of the page's address, when the extension saved it (``<meta name="hush-source">``)."""
    for el in root.iter("meta"):
        if el.get("name") == "hush-source":
            return urlsplit(el.get("content") or "").hostname or ""
    return ""


def stamp_all(root: etree._Element) -> None:
    """Stamp every element the way the extension does, so scores measure what a reader would see."""
    body = root.find("body")
    for i, el in enumerate((body if body is not None else root).iter()):
        if isinstance(el.tag, str):
            el.set(ID_ATTR, format(i, "x"))


def load_page(path: Path, source: Path, *, stamped: bool = False) -> LabelledPage:
    html = read_page(path)
    try:
        root = parse(html)
        if root is None:
            raise PageError("no HTML in the file")
        if stamped:
            stamp_all(root)
        page = segment(root, with_labels=True)
    except PageError as err:
        raise PageError(f"{path}: {err}") from None
    meta = read_meta(path)
    site = str(meta.get("site") or meta.get("template") or source_host(root) or path.stem)
    appeal, other, content = block_label_chars(page)
    return LabelledPage(path, str(source), site, meta, page, appeal, other, content, root)


# Elements the guideline never labels: the page itself, or all of its main content.
NEVER_LABELLED = frozenset(["html", "body", "main", "article"])


def label_warnings(pages: Iterable[LabelledPage]) -> list[str]:
    """One line per page whose labels break the guideline in a way that would teach the model quietly
    wrong: values other than appeal, other or content (a typo such as "apeal" is read as content), a
    label on <body>, <main> or <article> (all of the page's text), labels inside labels, appeal labels
    that take in no text (on an image or an empty wrapper alone)."""
    known = {*LABELS, "content"}
    lines = []
    for p in pages:
        labelled = p.root.xpath(f"//*[@{LABEL_ATTR}]") if p.root is not None else []
        odd = sorted(
            {str(e.get(LABEL_ATTR)) for e in labelled if e.get(LABEL_ATTR).strip().lower() not in known}
        )
        if odd:
            lines.append(f"{p.path}: data-hush-label {', '.join(map(repr, odd))} read as content")
        wide = sorted({str(e.tag) for e in labelled if e.tag in NEVER_LABELLED})
        if wide:
            lines.append(f"{p.path}: a label on {', '.join(f'<{t}>' for t in wide)} takes in the whole page")
        inner = sum(1 for e in labelled if any(a.get(LABEL_ATTR) is not None for a in e.iterancestors()))
        if inner:
            lines.append(f"{p.path}: {inner} label(s) inside another label (the inner one decides its text)")
        appeals = [e for e in labelled if e.get(LABEL_ATTR).strip().lower() == "appeal"]
        if appeals and not p.has_appeal:
            lines.append(f"{p.path}: its appeal labels hold no text, so nothing on it is learnt as an appeal")
    return lines


CORRECTION_META = b'name="hush-correction"'  # as the extension writes it (extension/content.js)


# The two marks in the encodings a saved page may be in: a UTF-16 page labelled by hush label stays UTF-16.
_MARKS = tuple(
    mark.encode(encoding)
    for mark in (LABEL_ATTR, CORRECTION_META.decode())
    for encoding in ("ascii", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be")
)
NOT_LABELLED = "nothing on it says what it holds (no data-hush-label, no no-appeal note, no sidecar label)"


def has_labels(path: Path) -> bool:
    """Whether the page was labelled: an element carries a label (however it is spelt), or it is a reader's
    correction (a "not an appeal" page from the extension, or one saved with no appeal by hush label,
    labels nothing: all of it is content)."""
    try:
        data = path.read_bytes().lower()
    except OSError:
        return False
    return any(mark in data for mark in _MARKS)


def is_labelled(page: LabelledPage) -> bool:
    """Whether something says what the page holds: a label, a correction's note, its sidecar's label. A page
    saved and never labelled says none of it, and read as labelled it would say all of it is content."""
    return bool(page.meta.get("label")) or has_labels(page.path)


def load_pages(
    folders: Iterable[Path],
    *,
    strict: bool = False,
    progress: Callable[[int, int, str], None] | None = None,
    stamped: bool = False,
) -> tuple[list[LabelledPage], list[str]]:
    """Read every page below the folders; unreadable pages are reported by name (or raise with strict)."""
    files = page_files(folders)
    pages: list[LabelledPage] = []
    problems: list[str] = []
    for i, (source, path) in enumerate(files, 1):
        if progress:
            progress(i, len(files), path.name)
        try:
            pages.append(load_page(path, source, stamped=stamped))
        except PageError as err:
            if strict:
                raise
            problems.append(str(err))
    return pages, problems


def file_digest(path: Path) -> bytes:
    """The SHA-256 of a page file's bytes: the same page, wherever it lies, gives the same digest."""
    return hashlib.sha256(path.read_bytes()).digest()


def digest_if_any(path: Path) -> bytes | None:
    """:func:`file_digest`, or None when there is no file there (a file written meanwhile is told by it)."""
    try:
        return file_digest(path)
    except (FileNotFoundError, NotADirectoryError):
        return None


def corpus_digest(pages: Iterable[LabelledPage]) -> str:
    """A digest of the training pages' bytes and names: the same corpus gives the same digest."""
    h = hashlib.sha256()
    for p in sorted(pages, key=lambda p: (p.source, str(p.path))):
        h.update(str(p.path.relative_to(p.source)).encode())
        h.update(file_digest(p.path))
    return h.hexdigest()
