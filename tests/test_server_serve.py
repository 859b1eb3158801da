"""``hush serve`` for real: gunicorn on a free loopback port, spoken to over a socket."""

from __future__ import annotations

import gzip
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import model
from server.cli import main

REPO = Path(__file__).resolve().parents[1]
SHIPPED = Path(model.__file__).resolve().parent / "shipped" / "hush-model.skops"
TOKEN = "serve-test-token"
MAX_BYTES = 100_000
PAGE = (
    "<html><head><title>Harbour works</title></head><body><article>"
    '<p data-hush-id="p1">The harbour reopens on Monday after two years of works, the port said.</p>'
    '<div data-hush-id="d1"><p data-hush-id="p2">Please support our journalism: donate today, '
    "even $5 a month keeps us going. Become a member.</p>"
    '<a data-hush-id="a1" href="/donate">Donate now</a></div></article></body></html>'
)


def hush_env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUSH_")}
    return {**env, **extra}


@pytest.fixture(scope="module")
def server(start_hush: Any) -> Iterator[Any]:
    if not SHIPPED.is_file():
        pytest.fail(f"the shipped model {SHIPPED} is missing")
    args = ["--workers", "2", "--model", str(SHIPPED), "--max-bytes", str(MAX_BYTES)]
    with start_hush(*args, env={"HUSH_TOKEN": TOKEN}) as running:
        yield running


AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}


def test_healthz_needs_no_token(server: Any) -> None:
    status, body = server.request("GET", "/healthz")
    assert status == 200 and body["status"] == "ok"


def test_classify_over_a_socket(server: Any) -> None:
    status, body = server.request("POST", "/v1/classify", json.dumps({"html": PAGE}).encode(), **AUTH)
    assert status == 200
    assert set(body) == {"hide", "blocks", "model", "elapsed_ms"}
    assert set(body["hide"]) <= {"p1", "d1", "p2", "a1"} and "p1" not in body["hide"]
    assert body["model"] == server.request("GET", "/healthz")[1]["model"]


def test_token_is_required(server: Any) -> None:
    data = json.dumps({"html": PAGE}).encode()
    status, body = server.request("POST", "/v1/classify", data, **{"Content-Type": "application/json"})
    assert status == 401 and body["error"]["code"] == "unauthorized"


def test_gzip_over_a_socket(server: Any) -> None:
    data = gzip.compress(json.dumps({"html": PAGE}).encode())
    status, body = server.request("POST", "/v1/classify", data, **AUTH, **{"Content-Encoding": "gzip"})
    assert status == 200 and "hide" in body


def test_chunked_bodies_are_bounded(server: Any) -> None:
    def chunks(size: int) -> Iterator[bytes]:
        yield b'{"html": "<p>'
        for _ in range(size // 10_000):
            yield b"x" * 10_000
        yield b'</p>"}'

    status, _ = server.request("POST", "/v1/classify", chunks(50_000), **AUTH)
    assert status == 200
    status, body = server.request("POST", "/v1/classify", chunks(MAX_BYTES + 10_000), **AUTH)
    assert status == 413 and body["error"]["code"] == "payload_too_large"


def test_model_file_is_shown(server: Any) -> None:
    status, body = server.request("GET", "/v1/model", **AUTH)
    assert status == 200 and body["path"] == str(SHIPPED)


def test_log_has_one_line_per_request_and_no_page_content(server: Any) -> None:
    data = json.dumps({"url": "https://harbour.example/news?id=7", "html": PAGE}).encode()
    server.request("POST", "/v1/classify?ref=private-query", data, **AUTH)
    time.sleep(0.2)
    output = server.output()
    assert f"Listening at: http://127.0.0.1:{server.port}" in output
    assert [line for line in output.splitlines() if "POST /v1/classify 200 in=" in line and "out=" in line]
    for private in ("harbour.example", "private-query", "Harbour", "donate today"):
        assert private not in output
    assert "Traceback" not in output


def start_up_error(*args: str) -> str:
    """The one line ``hush serve`` prints when it refuses to start with ``args`` (exit 2, no traceback)."""
    result = subprocess.run(
        [sys.executable, "-m", "server.cli", "serve", *args],
        cwd=REPO,
        env=hush_env(),
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("hush serve: error:"), result.stderr
    assert result.stdout == ""
    return lines[0]


def test_bad_model_stops_start_up_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.skops"
    bad.write_bytes(b"not a model")
    for path in (bad, tmp_path / "missing.skops"):
        assert "model" in start_up_error("--port", "0", "--model", str(path))


def test_an_address_it_cannot_listen_on_stops_start_up_with_one_line() -> None:
    """A port already taken (another hush serve, say), an address this machine lacks and an unknown host
    each get one line saying so, at once, where gunicorn would retry for seconds and exit with no hint."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = str(taken.getsockname()[1])
        cases = {
            ("--port", port): f"cannot listen on 127.0.0.1:{port}: Address already in use (is hush serve",
            ("--host", "192.0.2.1", "--port", port): "cannot listen on 192.0.2.1",  # TEST-NET-1
            ("--host", "no-such-host.invalid"): "--host no-such-host.invalid:",
        }
        for args, said in cases.items():
            assert start_up_error(*args).startswith(f"hush serve: error: {said}")
    assert start_up_error("--host", f"127.0.0.1:{port}").endswith("(give the port with --port)")


def test_loopback_is_told_however_it_is_written() -> None:
    """ "127.1" binds 127.0.0.1, yet was warned about as an address other machines reach."""
    from server.cli_serve import _is_loopback

    assert all(_is_loopback(host) for host in ("127.0.0.1", "127.1", "localhost"))
    assert not any(_is_loopback(host) for host in ("0.0.0.0", "192.0.2.1", "no-such-host.invalid"))


def test_no_log_urls_wins_over_its_variable(monkeypatch: pytest.MonkeyPatch, hush_model: Any) -> None:
    """A flag wins over its variable, but --log-urls could not be turned off when HUSH_LOG_URLS=1."""
    import server.cli_serve as cli_serve

    built, real = {}, cli_serve.create_app

    def create_app(config: dict, names: dict) -> Any:
        return built.setdefault("app", real({**config, "MODEL": hush_model}, names))

    monkeypatch.setenv("HUSH_LOG_URLS", "1")
    monkeypatch.setattr(cli_serve, "create_app", create_app)
    monkeypatch.setattr(cli_serve.GunicornServer, "run", lambda self: None)  # not serving: only its settings
    assert main(["serve", "--port", "0", "--no-log-urls"]) == 0
    assert built["app"].config["LOG_URLS"] is False
