"""The Flask app factory: settings, the model (loaded once), blueprints, and the cross-cutting
request hooks — bearer token, CORS for one origin, one log line per request, JSON errors."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import re
import sys
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from model import load_model
from server import api, health
from server.body import fail
from server.config import resolve

access_log = logging.getLogger("hush.access")
error_log = logging.getLogger("hush.error")

CORS_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding",
    "Access-Control-Max-Age": "600",
}


def create_app(config: Mapping[str, Any] | None = None, names: Mapping[str, str] | None = None) -> Flask:
    """Build the app from settings (see :mod:`server.config`); loads the model unless
    ``config["MODEL"]`` holds one. ``names``: how the caller spells the settings it gives, for errors.

    Raises ``model.ModelError`` for a missing or bad model file and
    ``server.config.ConfigError`` for a bad setting, each with a one-line message.
    """
    settings = resolve(config, names)
    app = Flask(__name__, static_folder=None)
    app.config.update(settings)
    model = settings["MODEL"]
    if model is None:
        path = settings["MODEL_PATH"]
        model = load_model(path) if path else load_model()
    app.config["MODEL"] = None  # the model lives in extensions, not in the config
    app.config["MODEL_FILE"] = _model_file(settings["MODEL_PATH"], model)
    app.extensions["hush_model"] = model

    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.before_request(_start_timer)
    app.before_request(_refuse_rebound_names)
    app.before_request(_answer_options)
    app.before_request(_require_token)
    app.after_request(_add_headers)
    app.after_request(_log_request)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    _setup_access_log()
    return app


def _model_file(path: str | None, model: Any) -> str | None:
    if path:
        return str(Path(path).resolve())
    found = getattr(model, "path", None)
    return str(found) if found else None


def _setup_access_log() -> None:
    if not access_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] %(message)s"))
        for logger in (access_log, error_log):
            logger.addHandler(handler)
            logger.setLevel(logging.INFO)
            logger.propagate = False


def _start_timer() -> None:
    g.started = time.perf_counter()


def _is_ip(text: str, loopback: bool = False) -> bool:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return False
    return address.is_loopback or not loopback


def _refuse_rebound_names() -> None:
    """With no token, a request from this machine must name the server by an address or as localhost.
    A web page whose own name its owner turns to 127.0.0.1 (DNS rebinding) would otherwise reach the
    endpoint as a page of that name, and read its answers."""
    if current_app.config["TOKEN"] or not _is_ip(request.remote_addr or "", loopback=True):
        return
    host = request.host
    name = (host[1 : host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]).lower()
    if name == "localhost" or name.endswith(".localhost") or _is_ip(name):
        return
    fail(
        403,
        "forbidden_host",
        f"with no token set, this server answers requests from its own machine only under an address "
        f"or 'localhost', not {name!r} (a web page could reach it by pointing that name at 127.0.0.1); "
        "set a token to serve it under a name",
    )


def _answer_options() -> ResponseReturnValue | None:
    """OPTIONS on a route, with no token needed: a CORS preflight from the configured origin (browsers send
    no token with it) gets the CORS headers, any other the route's methods in ``Allow``; both are 204s with
    no body (Flask's own answer was an empty 200 said to be HTML)."""
    if request.method != "OPTIONS" or request.routing_exception is not None:
        return None
    origin = current_app.config["CORS_ORIGIN"]
    preflight = "Access-Control-Request-Method" in request.headers
    if origin and preflight and request.headers.get("Origin") == origin:
        return Response(status=204, headers=CORS_HEADERS)
    response = current_app.make_default_options_response()
    response.status_code = 204
    del response.headers["Content-Type"]
    return response


def _require_token() -> None:
    token = current_app.config["TOKEN"]
    if not token or not (request.path == "/v1" or request.path.startswith("/v1/")):
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), token.encode()):
        fail(401, "unauthorized", "a valid 'Authorization: Bearer <token>' header is required")


def _add_headers(response: Response) -> Response:
    response.headers["X-Content-Type-Options"] = "nosniff"
    origin = current_app.config["CORS_ORIGIN"]
    if origin:
        response.vary.add("Origin")
        if request.headers.get("Origin") == origin:
            response.headers["Access-Control-Allow-Origin"] = origin
    return response


def _log_request(response: Response) -> Response:
    """One line: method, route, status, bytes in and out, time. The path is logged only when
    it matched a route; page urls and query strings only with LOG_URLS."""
    log_urls = current_app.config["LOG_URLS"]
    rule = request.url_rule.rule if request.url_rule else "-"
    if log_urls:
        rule = repr(request.full_path.rstrip("?"))[1:-1]  # escaped: a path cannot forge log lines
    received = g.get("received_bytes", 0)  # body bytes read: none of a body refused by its announced length
    line = f"{request.method} {rule} {response.status_code} in={received}B"
    if g.get("body_bytes", received) != received:
        line += f" decoded={g.body_bytes}B"
    line += f" out={response.calculate_content_length() or 0}B"
    line += f" {(time.perf_counter() - g.get('started', time.perf_counter())) * 1000:.1f}ms"
    if log_urls and g.get("page_url"):
        line += f" url={g.page_url!r}"
    access_log.info("%s", line)
    return response


def _error_code(error: HTTPException) -> str:
    code = getattr(error, "error_code", None)
    if code:
        return str(code)
    return re.sub(r"[^a-z]+", "_", (error.name or "error").lower()).strip("_")


def _http_error(error: HTTPException) -> ResponseReturnValue:
    if error.code is None or error.code < 400:
        return error
    headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    if error.code == 401:
        headers["WWW-Authenticate"] = "Bearer"
    body = {"error": {"code": _error_code(error), "message": error.description or error.name}}
    return jsonify(body), error.code, headers


def _unexpected_error(error: Exception) -> ResponseReturnValue:
    """Anything else: a JSON 500 with no traceback for the client. The log gets the exception
    type and stack but not its message, which may quote page content."""
    frames = "".join(traceback.format_tb(error.__traceback__))
    error_log.error(
        "unhandled %s on %s %s\n%s",
        type(error).__name__,
        request.method,
        request.url_rule.rule if request.url_rule else "-",
        frames,
    )
    body = {"error": {"code": "internal_error", "message": "the server could not process this request"}}
    return jsonify(body), 500
