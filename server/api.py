"""The ``/v1`` blueprint: classify a page or fragment, describe the loaded model."""

from __future__ import annotations

import re
import time
from typing import Any

from flask import Blueprint, current_app, g, jsonify
from flask.typing import ResponseReturnValue

from model.errors import PageTooLarge
from server.body import fail, json_request_body, parse_json

bp = Blueprint("api", __name__, url_prefix="/v1")

# A JSON escape of a UTF-16 surrogate; only bodies holding one need the slower check below.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


@bp.post("/classify")
def classify() -> ResponseReturnValue:
    """Answer which stamped elements of ``html`` to hide, and the scores of appeal blocks."""
    body = json_request_body()
    g.body_bytes = len(body.data)
    fields = validate(parse_json(body.data), check_surrogates=bool(_SURROGATE_ESCAPE.search(body.data)))
    g.page_url = fields.get("url")
    model = current_app.extensions["hush_model"]
    try:
        result = model.classify(fields["html"])
    except PageTooLarge as err:
        fail(413, err.code, str(err))
    return jsonify(
        hide=list(result.hide),
        blocks=[{"id": block["id"], "score": float(block["score"])} for block in result.blocks],
        model=model.version,
        elapsed_ms=round((time.perf_counter() - g.started) * 1000, 1),
    )


@bp.get("/model")
def model_info() -> ResponseReturnValue:
    """The loaded model's metadata and the file it came from."""
    model = current_app.extensions["hush_model"]
    return jsonify({**model.metadata, "version": model.version, "path": current_app.config["MODEL_FILE"]})


def validate(payload: Any, check_surrogates: bool = False) -> dict[str, Any]:
    """The request's fields, checked: ``html`` a non-empty string, ``url`` an optional string,
    ``context`` an optional object whose ``title`` and ``lang`` are strings. Other keys are ignored."""
    if not isinstance(payload, dict):
        fail(400, "invalid_body", "the request body must be a JSON object")
    if "html" not in payload or payload["html"] is None:
        fail(400, "missing_field", "the field 'html' is required")
    html = payload["html"]
    if not isinstance(html, str):
        fail(400, "invalid_field", "the field 'html' must be a string")
    if not html or html.isspace():
        fail(400, "empty_html", "the field 'html' must not be empty")
    fields: dict[str, Any] = {"html": html}
    url = payload.get("url")
    if url is not None:
        fields["url"] = _string("url", url)
    context = payload.get("context")
    if context is not None:
        if not isinstance(context, dict):
            fail(400, "invalid_field", "the field 'context' must be an object")
        fields["context"] = {
            key: _string(f"context.{key}", context[key])
            for key in ("title", "lang")
            if context.get(key) is not None
        }
    if check_surrogates:
        for name, value in [("html", html), ("url", fields.get("url"))]:
            if value is not None and not _encodable(value):
                fail(400, "invalid_field", f"the field '{name}' holds an unpaired UTF-16 surrogate")
    return fields


def _string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        fail(400, "invalid_field", f"the field '{name}' must be a string")
    return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
