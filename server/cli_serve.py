"""``hush serve``: the HTTP endpoint under gunicorn, with the model loaded before workers fork."""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import socket
import sys
import time
from http import HTTPStatus
from typing import Any

from flask import Flask
from gunicorn import util as gunicorn_util
from gunicorn.app.base import BaseApplication
from gunicorn.http.errors import NoMoreData
from gunicorn.workers.sync import SyncWorker
from threadpoolctl import threadpool_limits

from model import ModelError
from server.app import create_app
from server.config import ConfigError
from server.errors import CliError
from server.listen import listening

# Error codes for the statuses gunicorn answers itself, before the app sees the request.
GUNICORN_CODES = {
    403: "forbidden",
    414: "request_line_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    501: "not_implemented",
}
# The settings (server/config.py) this command's flags give, as the flags spell them (errors name them so).
FLAGS = {
    "MODEL_PATH": "--model",
    "TOKEN": "--token",
    "CORS_ORIGIN": "--cors-origin",
    "MAX_BYTES": "--max-bytes",
    "LOG_URLS": "--log-urls",
}
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
DEFAULT_TIMEOUT = 60  # seconds a worker may spend on one request, slow body upload included
MAX_TIMEOUT = 86_400  # past this, socket deadlines overflow the platform's time values
READ_SHARE = 0.5  # share of the timeout a client has to send its whole request (headers and body)
# A connection that has sent nothing by then is closed: idle ones (a browser's preconnect, or sockets
# opened to hold the workers) each kept a worker waiting half the timeout, 30 s, before the next client.
FIRST_BYTE_SECONDS = 2.0


def register(subparsers: Any) -> None:
    """Add ``serve`` to the ``hush`` command line."""
    parser = subparsers.add_parser(
        "serve",
        help="run the HTTP endpoint (gunicorn)",
        description="Serve POST /v1/classify, GET /v1/model, GET /healthz and GET /openapi.json.",
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default: %(default)s)")
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help="port (default: %(default)s)")
    parser.add_argument("--workers", type=_positive, default=1, help="worker processes (default: 1)")
    parser.add_argument("--model", metavar="PATH", help="model file (default: $HUSH_MODEL, else shipped)")
    parser.add_argument(
        "--token", help="require 'Authorization: Bearer TOKEN' on /v1/ (prefer $HUSH_TOKEN: argv is visible)"
    )
    parser.add_argument("--cors-origin", metavar="ORIGIN", help="allow this one browser origin (CORS)")
    parser.add_argument("--max-bytes", type=_positive, help="request body limit, decompressed (default 8 MB)")
    parser.add_argument(
        "--log-urls",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="log page urls, query strings (--no-log-urls: not, whatever HUSH_LOG_URLS says)",
    )
    parser.add_argument(
        "--timeout",
        type=_timeout,
        default=DEFAULT_TIMEOUT,
        help="seconds per request (%(default)s); a client has half of it to send the request, else 408",
    )
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    """Check the address, load the model and settings (errors become one line), then run gunicorn
    until stopped."""
    # Gunicorn, on a port it cannot open, retries for five seconds, logging each try, and stops with no
    # hint of what to change: find out first.
    listening(args.host, args.port, "is hush serve already running? else choose another --port").close()
    given = {key: getattr(args, flag[2:].replace("-", "_")) for key, flag in FLAGS.items()}
    try:
        app = create_app({key: value for key, value in given.items() if value is not None}, FLAGS)
    except (ModelError, ConfigError) as err:
        raise CliError(str(err)) from None
    if not app.config["TOKEN"] and not _is_loopback(args.host):
        print(f"hush serve: warning: {args.host} is not loopback and no token is set", file=sys.stderr)
    options = {
        "bind": f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}",
        "workers": args.workers,
        "worker_class": DeadlineSyncWorker,
        "timeout": args.timeout,
        # On SIGTERM (systemctl stop, docker stop) a worker finishes the request it holds: it has as long
        # as any request may take.
        "graceful_timeout": args.timeout,
        "preload_app": True,
        "accesslog": None,  # the app logs one line per request without urls
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "hush",
        "control_socket_disable": True,  # gunicorn >= 25.1 would open one per server in $HOME
    }
    GunicornServer(app, options).run()
    return 0


class GunicornServer(BaseApplication):
    """Gunicorn serving an app already built in the master process."""

    def __init__(self, app: Flask, options: dict[str, Any]) -> None:
        self.application = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # settings a given gunicorn version lacks are skipped
                self.cfg.set(key, value)

    def load(self) -> Flask:
        return self.application


class ReadTimeout(NoMoreData, TimeoutError):
    """The client did not send its request in time. Before the app runs, gunicorn closes the
    connection quietly (as for a client that went away); in the app it becomes a JSON 408."""


class DeadlineSocket:
    """A client socket whose reads fail with :class:`ReadTimeout` once the client has had
    ``seconds`` since it connected (FIRST_BYTE_SECONDS while it has sent nothing): a slow, stalled
    or idle connection cannot hold a worker until gunicorn kills it. Writes get the whole request
    timeout. Whoever sets a timeout (gunicorn closing the connection) takes over from the deadline."""

    def __init__(self, sock: socket.socket, seconds: float, write_timeout: float) -> None:
        self._sock = sock
        now = time.monotonic()
        self._deadline: float | None = now + seconds
        self._first_byte = now + min(seconds, FIRST_BYTE_SECONDS)
        self._heard = False
        self._write_timeout = write_timeout

    def recv(self, size: int, flags: int = 0) -> bytes:
        if self._deadline is None:
            return self._sock.recv(size, flags)
        remaining = (self._deadline if self._heard else self._first_byte) - time.monotonic()
        if remaining <= 0:
            raise ReadTimeout()
        self._sock.settimeout(remaining)
        try:
            data = self._sock.recv(size, flags)
        except TimeoutError:
            raise ReadTimeout() from None
        self._heard = self._heard or bool(data)
        return data

    def sendall(self, data: bytes, flags: int = 0) -> None:
        self._sock.settimeout(self._write_timeout)
        self._sock.sendall(data, flags)

    def send(self, data: bytes, flags: int = 0) -> int:
        self._sock.settimeout(self._write_timeout)
        return self._sock.send(data, flags)

    def settimeout(self, value: float | None) -> None:
        self._deadline = None
        self._sock.settimeout(value)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class DeadlineSyncWorker(SyncWorker):
    """gunicorn's sync worker, reading each request under a deadline (see :class:`DeadlineSocket`),
    with one OpenMP/BLAS thread: a worker classifies one page at a time and workers match cores, so
    more threads only wait for each other (2-4x fewer answers a second on a busy two-core machine)."""

    def init_process(self) -> None:
        threadpool_limits(limits=1)
        # gunicorn writes its own answers (malformed HTTP, a request line or headers past its limits)
        # through this function, as HTML; in a worker they go out as JSON.
        gunicorn_util.write_error = self.write_json_error
        self.timed_out = False
        super().init_process()

    def handle(self, listener: Any, client: socket.socket, addr: Any) -> None:
        timeout = float(self.cfg.timeout)
        super().handle(listener, DeadlineSocket(client, max(0.5, timeout * READ_SHARE), timeout), addr)

    def handle_abort(self, sig: int, frame: Any) -> None:
        self.timed_out = True  # the arbiter ends a worker that ran past --timeout with SIGABRT
        super().handle_abort(sig, frame)

    def handle_error(self, req: Any, client: socket.socket, addr: Any, exc: BaseException) -> None:
        if not isinstance(exc, SystemExit):
            super().handle_error(req, client, addr, exc)
            return
        # The worker is ending inside a request: past --timeout, or the server is stopping at once
        # (Ctrl-C, SIGQUIT). One line in the log (no traceback, no url), and the client is told why.
        if self.timed_out:
            why = f"the request ran past the server's time limit (--timeout {self.cfg.timeout} s)"
        else:
            why = "the server stopped while answering this request"
        self.log.warning("request ended: %s", why)
        send_json_error(client, 500, "Internal Server Error", "internal_error", why)

    def write_json_error(self, sock: socket.socket, status: int, reason: str, message: str) -> None:
        """gunicorn's own error answer in the API's JSON error shape (with the status's own reason: gunicorn
        says "Bad Request" of its 501)."""
        with contextlib.suppress(ValueError):
            reason = HTTPStatus(status).phrase
        if status == 500:
            code = "internal_error"
        else:
            code = GUNICORN_CODES.get(status, "bad_request")
            message = f"malformed HTTP request: {message}" if message else "malformed HTTP request"
        send_json_error(sock, status, reason, code, message or reason)


def send_json_error(sock: socket.socket, status: int, reason: str, code: str, message: str) -> None:
    """An error answer written straight to the client, as the app writes its own, and the connection
    closed after it."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with contextlib.suppress(OSError):  # the client may be gone
        gunicorn_util.write_nonblock(sock, head.encode("latin-1") + body)


def _is_loopback(host: str) -> bool:
    """Whether ``host``, resolved as the server binds it (its first address), is a loopback address:
    "127.1" and "localhost" are."""
    try:
        address = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)[0][4][0]
        return ipaddress.ip_address(str(address).split("%")[0]).is_loopback
    except (OSError, ValueError):
        return False


def _positive(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return number


def _timeout(text: str) -> int:
    seconds = _positive(text)
    if seconds > MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(f"at most {MAX_TIMEOUT} seconds (a day): {text!r}")
    return seconds


def _port(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}")
    return number
