"""``hush label``'s pages: one saved page shown with its blocks outlined and scored, blocks marked by
clicking, and the page saved with only its ``data-hush-label`` attributes changed (or, with no appeal
marked, a note saying so: :data:`model.relabel.NO_APPEAL_META`).

The blueprint is registered by :func:`create_label_app` alone, never by ``hush serve``. The page being
labelled is arbitrary web HTML: it is shown from ``/label/view`` in a sandboxed frame whose
Content-Security-Policy lets no script run and nothing load from another host; the labelling script runs
in the parent page only. The saved file comes from the original bytes (see :mod:`model.relabel`).
"""

from __future__ import annotations

import contextlib
import copy
import threading
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from lxml import etree

from model.errors import PageError
from model.files import replaced_atomically
from model.labelled import digest_if_any
from model.relabel import (
    ChoiceError,
    Labelling,
    RelabelError,
    load_source,
    parse_source,
    same_page_labelled,
)
from model.segment import ID_ATTR, segment
from server.app import create_app
from server.body import fail, json_request_body, parse_json

bp = Blueprint(
    "label", __name__, url_prefix="/label", static_folder="label_static", static_url_path="/static"
)

# The labelling page: its own script and styles, the page shown in a frame from this server.
UI_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-src 'self'; frame-ancestors 'none'"
)
# The page being labelled: no script at all, nothing from other hosts, no forms, no frames.
VIEW_POLICY = (
    "default-src 'self' data:; script-src 'none'; style-src 'self' 'unsafe-inline' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-src 'none'; frame-ancestors 'self'"
)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
_DROPPED = frozenset(["script", "base", "iframe", "frame", "frameset", "object", "embed", "portal"])
_NO_BADGE = frozenset(
    ["table", "thead", "tbody", "tfoot", "tr", "ul", "ol", "dl", "select", "optgroup", "option", "textarea"]
)


@dataclass
class LabelSession:
    """One page being labelled: its blocks and scores, the copy shown, and where it is saved.

    ``page`` is the page named on the command line, never written; ``labelling`` reads the copy saved
    before when there is one (labelling goes on from it), else the page. ``saved`` is the digest of the
    file at ``out_path`` as last read or written (None: no file), so that a save never replaces what
    someone else wrote there meanwhile."""

    page: Path
    labelling: Labelling
    out_dir: Path
    scores: list[float]
    hide: list[bool]
    model_version: str
    view: bytes
    lock: threading.Lock
    saved: bytes | None

    @property
    def out_path(self) -> Path:
        return self.out_dir / self.page.name

    def state(self) -> dict[str, Any]:
        """What the labelling page needs: blocks with scores and marks, existing labels, notes."""
        lab = self.labelling
        meta = lab.meta()
        correction = lab.correction_target()
        return {
            "page": self.page.name,
            "out": str(self.out_path),
            "model": self.model_version,
            "source": meta.get("hush-source"),
            "correction": meta.get("hush-correction"),
            "correction_element": correction.get(ID_ATTR) if correction is not None else None,
            "blocks": [
                {
                    "id": b.id,
                    "element": b.shown.get(ID_ATTR),
                    "text": lab.page.blocks[b.index].text[:160],
                    "score": round(self.scores[b.index], 3),
                    "hide": self.hide[b.index],
                    "labellable": b.target is not None,
                    "reason": b.reason,
                    "marked": b.marked,
                    # Marked with all of these, it is labelled through the element around it.
                    "wrapper": sorted(lab.blocks[i].id for i in b.wrapped),
                }
                for b in lab.blocks
            ],
            "groups": [sorted(lab.blocks[i].id for i in g.blocks) for g in lab.groups if g.blocks],
        }

    def save(self, marked: list[str]) -> dict[str, Any]:
        """Write the labelled page into the output folder atomically; ChoiceError, RelabelError, OSError."""
        data = self.labelling.render(marked)
        target = self.out_path
        if target.resolve() == self.page.resolve():
            raise RelabelError(f"{target} is the page being labelled; it is never overwritten")
        with self.lock:
            if digest_if_any(target) != self.saved:
                raise RelabelError(
                    f"{target} changed on disk since this page was opened (another hush label saving "
                    "there?); nothing was written. Stop and run hush label again to go on from it"
                )
            self.out_dir.mkdir(parents=True, exist_ok=True)
            with replaced_atomically(target) as tmp:
                tmp.write_bytes(data)
            self.saved = digest_if_any(target)
            with contextlib.suppress(PageError):  # what a reload of the labelling page shows: the saved
                source = load_source(target)
                root = parse_source(source)
                self.labelling = Labelling(source, root, segment(root, with_labels=True))
        return {"saved": str(target), "blocks": len(set(marked)), "bytes": len(data)}


def open_session(page: Path, out_dir: Path, model: Any) -> LabelSession:
    """Read, score and map a page, or the copy of it saved into ``out_dir`` before; PageError
    (RelabelError included) when it cannot be labelled, or when a page of the same name from elsewhere
    is saved there."""
    saved = out_dir / page.name
    try:
        same = same_page_labelled(saved, page)
    except OSError as err:
        raise RelabelError(f"{saved}: cannot read it: {err.strerror or err}") from None
    if not same:
        raise RelabelError(f"{saved} holds another page of the same name; choose another folder with --out")
    going_on = saved.is_file() and saved.resolve() != page.resolve()
    source = load_source(saved if going_on else page)
    root = parse_source(source)
    scored = model.classify_tree(root, with_labels=True)
    labelling = Labelling(source, root, scored.page)
    scores = [float(v) for v in scored.best()]
    hide = [bool(x) for x in scored.appeal]
    view = shown_copy(labelling, scores, hide)
    lock = threading.Lock()
    saved_digest = digest_if_any(saved)
    return LabelSession(page, labelling, out_dir, scores, hide, model.version, view, lock, saved_digest)


def shown_copy(lab: Labelling, scores: list[float], hide: list[bool]) -> bytes:
    """The page as the frame shows it: stamped, each block's element annotated, scripts and anything
    that could load or navigate elsewhere taken out, and the frame's style sheet linked."""
    root = copy.deepcopy(lab.root)
    by_id = {el.get(ID_ATTR): el for el in root.iter() if isinstance(el.tag, str) and el.get(ID_ATTR)}
    shown: dict[str, list[int]] = {}
    for block in lab.blocks:
        key = block.shown.get(ID_ATTR)
        if key in by_id:
            shown.setdefault(key, []).append(block.index)
    for key, indexes in shown.items():
        el = by_id[key]
        el.set("data-hush-block", " ".join(lab.blocks[i].id for i in indexes))
        el.set("data-hush-kind", "label" if lab.blocks[indexes[0]].target is not None else "fixed")
        el.set("data-hush-score", f"{max(scores[i] for i in indexes):.2f}")
        if any(hide[i] for i in indexes):
            el.set("data-hush-hide", "1")
        if el.tag in _NO_BADGE:
            el.set("data-hush-nobadge", "1")
    for el in list(root.iter()):
        if not isinstance(el.tag, str):
            continue
        if (
            el.tag in _DROPPED
            or (el.tag == "meta" and el.get("http-equiv") is not None)
            or (el.tag == "link" and "stylesheet" not in (el.get("rel") or "").lower().split())
        ):
            _drop(el)
            continue
        for name in [n for n in el.attrib if n.lower().startswith("on") or n.lower() == "srcdoc"]:
            del el.attrib[name]
    head = root.find("head")
    if head is None:
        head = etree.Element("head")
        root.insert(0, head)
    etree.SubElement(head, "link", rel="stylesheet", href="static/frame.css")
    return etree.tostring(root, method="html", encoding="utf-8", doctype="<!DOCTYPE html>")


def _drop(el: etree._Element) -> None:
    """Remove an element and what it holds, keeping the text that follows it."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail:
        before = el.getprevious()
        if before is not None:
            before.tail = (before.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)


def create_label_app(page: Path, out_dir: Path, config: dict[str, Any] | None = None) -> Flask:
    """The ``hush`` app (see :func:`server.app.create_app`) plus the labelling pages for one page."""
    app = create_app(config)
    app.extensions["hush_label"] = open_session(page, out_dir, app.extensions["hush_model"])
    app.register_blueprint(bp)
    return app


def _session() -> LabelSession:
    return current_app.extensions["hush_label"]


@bp.before_request
def _same_origin_only() -> None:
    """Only loopback host names (no DNS rebinding), and no posts from other sites' pages."""
    host = request.host.rsplit(":", 1)[0] if not request.host.endswith("]") else request.host
    if host not in LOOPBACK_HOSTS:
        fail(403, "forbidden_host", "the labelling pages answer on 127.0.0.1 only")
    origin = request.headers.get("Origin")
    if request.method == "POST" and origin is not None and origin != request.host_url.rstrip("/"):
        fail(403, "forbidden_origin", "requests from other sites are refused")


@bp.after_request
def _policy(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", UI_POLICY)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/")
def index() -> ResponseReturnValue:
    html = resources.files("server").joinpath("label_static", "label.html").read_bytes()
    return Response(html, mimetype="text/html")


@bp.get("/view")
def view() -> ResponseReturnValue:
    response = Response(_session().view, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = VIEW_POLICY
    response.headers["X-DNS-Prefetch-Control"] = "off"  # no look-ups of the page's hosts either
    return response


@bp.get("/state")
def state() -> ResponseReturnValue:
    return jsonify(_session().state())


@bp.post("/save")
def save() -> ResponseReturnValue:
    """Save with exactly the blocks in ``{"marked": [block id, ...]}`` labelled appeal."""
    body = json_request_body()
    payload = parse_json(body.data)
    marked = payload.get("marked") if isinstance(payload, dict) else None
    if not isinstance(marked, list) or not all(isinstance(m, str) for m in marked):
        fail(400, "invalid_body", 'the body must be {"marked": [block id, ...]}')
    try:
        return jsonify(_session().save(marked))
    except ChoiceError as err:
        fail(400, "invalid_blocks", str(err))
    except RelabelError as err:
        fail(409, "cannot_label", str(err))
    except OSError as err:
        fail(500, "cannot_write", f"cannot write {_session().out_path}: {err.strerror or err}")
