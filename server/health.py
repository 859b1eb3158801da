"""Open endpoints: ``/healthz`` for load balancers and ``/openapi.json`` describing the API."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

bp = Blueprint("health", __name__)


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 description shipped beside this module."""
    return json.loads(resources.files("server").joinpath("openapi.json").read_text(encoding="utf-8"))


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok", model=current_app.extensions["hush_model"].version)


@bp.get("/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document())
