"""Shared fixtures: the Flask app and test client (one shipped model per session, a fresh app per test);
real `hush serve` processes for the reliability tests; the extension in Chromium for the browser tests."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import browser_support as bs
import pytest
from flask import Flask
from flask.testing import FlaskClient

from model import load_model
from server import create_app
from server.config import ENV_VARS


@pytest.fixture(scope="session")
def hush_model() -> Any:
    """The shipped model, loaded once and shared by every app the tests build."""
    return load_model()


@pytest.fixture
def app(hush_model: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An app with default settings, whatever HUSH_* variables the shell has set."""
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    app = create_app({"MODEL": hush_model, "TESTING": True})
    yield app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# --- reliability tests: a real `hush serve` on a free loopback port, and counts for docs/SECURITY.md ---

REPO = Path(__file__).resolve().parents[1]
COUNTS_FILE = REPO / "tests" / "artifacts" / "reliability-counts.json"


class HushServer:
    """A running ``hush serve``: its port, process and output file."""

    def __init__(self, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
        self.port, self.process, self.log = port, process, log
        self.url = f"http://127.0.0.1:{port}"

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def request(self, method: str, path: str, body: Any = None, **headers: str) -> tuple[int, Any]:
        """One request over a fresh connection; a body that is not bytes is sent chunked."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
        try:
            chunked = body is not None and not isinstance(body, bytes)
            connection.request(method, path, body=body, headers=headers, encode_chunked=chunked)
            response = connection.getresponse()
            return response.status, json.loads(response.read())
        finally:
            connection.close()

    def workers(self) -> set[int]:
        """Pids of the gunicorn workers (children of the master, which is the process we started)."""
        pids: set[int] = set()
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            pids.update(int(p) for p in (task / "children").read_text().split())
        return pids


@pytest.fixture(scope="session")
def start_hush(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Any]:
    """``with start_hush("--workers", "2") as server:`` runs ``hush serve`` on loopback for the block."""

    @contextmanager
    def start(*args: str, env: dict[str, str] | None = None) -> Iterator[HushServer]:
        port = bs.free_port()
        log = tmp_path_factory.mktemp("hush-serve") / "serve.log"
        base = {k: v for k, v in os.environ.items() if not k.startswith("HUSH_")}
        command = [sys.executable, "-m", "server.cli", "serve", "--port", str(port), *args]
        with log.open("wb") as sink:
            process = subprocess.Popen(
                command,
                cwd=REPO,
                env={**base, **(env or {})},
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = HushServer(port, process, log)
        try:
            try:
                bs.wait_until_serving(process, server.url, 30, server.output)
            except RuntimeError as err:
                pytest.fail(str(err))
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    return start


@pytest.fixture(scope="session")
def reliability_counts(request: pytest.FixtureRequest) -> Iterator[Counter[str]]:
    """Cases tried and requests sent by the reliability tests; written to tests/artifacts and shown
    at the end of the run (the numbers quoted in docs/SECURITY.md)."""
    counts: Counter[str] = Counter()
    yield counts
    if counts:
        COUNTS_FILE.parent.mkdir(parents=True, exist_ok=True)
        COUNTS_FILE.write_text(json.dumps(dict(sorted(counts.items())), indent=1) + "\n", encoding="utf-8")
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            shown = ", ".join(f"{key}={value}" for key, value in sorted(counts.items()))
            with capture.global_and_fixture_disabled():
                reporter.write_line(f"\nreliability counts: {shown}")


# --- the extension in Chromium (test_extension_browser.py, test_extension_copy.py): per test module, one
# `hush serve`, one fake endpoint, one server for tests/extension_pages.py and one browser; the Firefox
# tests (test_extension_firefox.py) share `endpoint` and `site` and start their own browser ---


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """The URL of a real `hush serve` with the shipped model."""
    with bs.hush_serve() as url:
        yield url


@pytest.fixture(scope="module")
def fake() -> Iterator[bs.FakeEndpoint]:
    """An endpoint that records what it is sent and answers what the test tells it to."""
    fake = bs.FakeEndpoint()
    with bs.serve_in_thread(fake.handler()) as port:
        fake.url = f"http://127.0.0.1:{port}"
        yield fake


@pytest.fixture(scope="module")
def site() -> Iterator[int]:
    """The port serving the test pages, a spread of the corpus, and the seed and real pages if present."""
    from extension_pages import PAGES, corpus_spread, real_page_files, seed_files

    with bs.page_server(PAGES, {**real_page_files(), **corpus_spread(), **seed_files()}) as port:
        yield port


@pytest.fixture(scope="module")
def playwright() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[bs.ExtensionBrowser]:
    b = bs.ExtensionBrowser(playwright, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def hush(browser: bs.ExtensionBrowser, endpoint: str) -> bs.ExtensionBrowser:
    """The extension pointed at the real `hush serve`, placeholder mode, no paused sites."""
    browser.set_settings(endpoint=endpoint, token="", mode="placeholder", disabledSites=[])
    return browser


@pytest.fixture
def page(browser: bs.ExtensionBrowser) -> Iterator[Any]:
    page = browser.context.new_page()
    yield page
    page.close()
