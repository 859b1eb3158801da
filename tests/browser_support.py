"""Helpers for the real-browser tests of the extension: loopback servers, `hush serve`, and Chromium with the
unpacked extension loaded through Playwright."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EXTENSION_DIR = ROOT / "extension"
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = os.environ.get("HUSH_CHROMIUM", "/usr/bin/chromium")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # No host resolves but loopback: nothing a page asks for can leave the machine, whether or not
    # the driver intercepts its requests too (ExtensionBrowser's `intercept`).
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ------------------------------------------------------------------------------------------ servers
class _Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:  # keep the test output clean
        pass


def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Cache-Control", "no-store")
    handler.end_headers()
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        handler.wfile.write(body)


@contextlib.contextmanager
def serve_in_thread(handler_cls: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """Run an HTTP server on 127.0.0.1 in a thread; yields its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_cls)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def page_server(
    pages: dict[str, str | bytes | Callable[[], str]], files: dict[str, Path] | None = None
) -> Iterator[int]:
    """Serve `pages` (path -> HTML) and `files` (path -> file on disk) from loopback."""
    files = files or {}

    class Handler(_Quiet):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            path = self.path.split("?", 1)[0]
            if path in pages:
                page = pages[path]
                page = page() if callable(page) else page
                body = page.encode("utf-8") if isinstance(page, str) else page
                _send(self, 200, body, "text/html; charset=utf-8")
            elif path in files:
                _send(self, 200, files[path].read_bytes(), "text/html; charset=utf-8")
            else:
                _send(self, 404, b"<!DOCTYPE html><title>Not found</title><p>Not found.</p>", "text/html")

    with serve_in_thread(Handler) as port:
        yield port


class FakeEndpoint:
    """A stand-in endpoint whose answers a test sets: used to feed the extension hostile answers."""

    def __init__(self) -> None:
        self.answer: Callable[[dict[str, Any]], tuple[int, str, bytes]] = lambda req: (
            200,
            "application/json",
            b'{"hide": [], "blocks": [], "model": "fake", "elapsed_ms": 0}',
        )
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.token: str | None = None  # when set, /v1/ asks for it, as `hush serve --token` does

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(_Quiet):
            def do_GET(self) -> None:  # noqa: N802
                if self.path == "/healthz":
                    _send(self, 200, b'{"status": "ok", "model": "fake"}', "application/json")
                elif fake.token and self.headers.get("Authorization") != f"Bearer {fake.token}":
                    refused = b'{"error": {"code": "unauthorized", "message": "no"}}'
                    _send(self, 401, refused, "application/json")
                else:
                    _send(self, 404, b'{"error": {"code": "not_found", "message": "no"}}', "application/json")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                request = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(request)
                fake.headers.append(dict(self.headers.items()))
                status, content_type, body = fake.answer(request)
                _send(self, status, body, content_type)

        return Handler


@contextlib.contextmanager
def hush_serve(timeout: float = 60.0) -> Iterator[str]:
    """Start the real `hush serve` on a free loopback port; yields its base URL.

    HUSH_TEST_ENDPOINT=<url> uses an endpoint that is already running instead."""
    if os.environ.get("HUSH_TEST_ENDPOINT"):
        yield os.environ["HUSH_TEST_ENDPOINT"].rstrip("/")
        return
    port = free_port()
    env = dict(os.environ)
    env.pop("HUSH_TOKEN", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        # Its output is a pipe: read only once it has ended, or the read would wait for ever.
        wait_until_serving(proc, url, timeout, lambda: proc.stdout.read() if proc.poll() is not None else "")
        yield url
    finally:
        stop(proc)


def wait_until_serving(
    proc: subprocess.Popen,
    url: str,
    timeout: float,
    output: Callable[[], str],
    ready: Callable[[], bool] = lambda: True,
) -> None:
    """Return once the `hush serve` process answers {url}/healthz with status "ok" and `ready()` holds;
    RuntimeError with the end of its `output()` if it exits first or does not answer within `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"hush serve exited with {proc.returncode}:\n{output()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                if json.load(response).get("status") == "ok" and ready():
                    return
        except (OSError, ValueError):  # refused, reset, an error status, or not JSON yet
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"hush serve did not answer {url}/healthz within {timeout:.0f} s:\n{output()[-3000:]}"
            )
        time.sleep(0.1)


def stop(proc: subprocess.Popen) -> None:
    """Terminate a server process, and kill it if it has not ended within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


# ------------------------------------------------------------------------------------------ browser
def chromium_available() -> str:
    """'' when the browser tests can run, else the reason they cannot."""
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Python playwright is not installed (pip install playwright)"
    return ""


def needs(reason: str, tests: str, required_in_ci: bool = True) -> Any:
    """The mark for a module of ``tests`` that cannot run here when ``reason`` says why: skipped, or, in CI
    (where scripts/test.sh installs what they need) and ``required_in_ci``, an error."""
    import pytest

    if reason and required_in_ci and os.environ.get("CI"):
        raise RuntimeError(f"{tests} cannot run in CI: {reason}")
    return pytest.mark.skipif(bool(reason), reason=reason or "ok")


def needs_chromium() -> Any:
    """The mark for a module of browser tests: skipped without Chromium, an error without it in CI."""
    return needs(chromium_available(), "browser tests")


class ExtensionBrowser:
    """Chromium with the unpacked extension, and handles on its service worker."""

    def __init__(
        self,
        playwright: Any,
        user_data_dir: Path,
        extension_dir: Path = EXTENSION_DIR,
        intercept: bool = True,
    ) -> None:
        """With `intercept`, the driver also sees every request and refuses those not for loopback (a
        second guard for tests). Each intercepted request is a round trip to this Python process, which
        competes with the page for the machine's cores: timings are taken without it (bench/browser.py)."""
        ext = str(extension_dir.resolve())
        self.context = playwright.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=CHROMIUM,
            headless=True,
            args=[f"--load-extension={ext}", f"--disable-extensions-except={ext}", *CHROMIUM_ARGS],
            viewport={"width": 1100, "height": 900},
            accept_downloads=True,
        )
        if intercept:
            # Only loopback: nothing a test page asks for may leave the machine.
            self.context.route(
                "**/*",
                lambda route: route.continue_() if _is_local(route.request.url) else route.abort(),
            )
        workers = self.context.service_workers
        self.worker = workers[0] if workers else self.context.wait_for_event("serviceworker", timeout=15000)
        self.extension_id = self.worker.url.split("/")[2]

    def close(self) -> None:
        self.context.close()

    def url(self, path: str) -> str:
        return f"chrome-extension://{self.extension_id}/{path}"

    def sw(self, script: str, arg: Any = None) -> Any:
        """Evaluate an async function expression in the service worker."""
        return self.worker.evaluate(script, arg)

    def set_settings(self, **settings: Any) -> None:
        self.sw(
            """async (patch) => {
                const cur = (await chrome.storage.local.get('settings')).settings || {};
                await chrome.storage.local.set({settings: Object.assign({}, cur, patch)});
            }""",
            settings,
        )

    def clear_corrections(self) -> None:
        self.sw("async () => { await chrome.storage.local.set({corrections: []}); }")

    def corrections(self) -> list[dict[str, Any]]:
        return self.sw("async () => (await chrome.storage.local.get('corrections')).corrections || []")

    def tab_id(self, page: Any, url: str | None = None) -> int | None:
        url = url or page.url
        return self.sw(
            """async (url) => {
                const tabs = await chrome.tabs.query({});
                const t = tabs.find((t) => t.url === url);
                return t ? t.id : null;
            }""",
            url,
        )

    def stats(self, tab_id: int) -> dict[str, Any] | None:
        """The content script's stats, or None when it does not answer within 2 s. The timer keeps the
        promise alive: a reply lost while a page tears itself down otherwise leaves an unsettled promise
        that Chrome collects, and Playwright raises "Resulting promise was garbage collected"."""
        return self.sw(
            """async (tabId) => {
                const late = new Promise((resolve) => setTimeout(() => resolve(null), 2000));
                try { return await Promise.race([chrome.tabs.sendMessage(tabId, {type: 'stats'}), late]); }
                catch (e) { return null; }
            }""",
            tab_id,
        )

    def badge(self, tab_id: int) -> str:
        return self.sw("async (tabId) => chrome.action.getBadgeText({tabId})", tab_id)

    def menu_click(self, tab_id: int, item: str) -> Any:
        return self.sw(
            "async ([tabId, item]) => hushDebug.onMenuClicked({menuItemId: item, frameId: 0}, {id: tabId})",
            [tab_id, item],
        )

    def wait_settled(self, page: Any, timeout: float = 10.0, url: str | None = None) -> dict[str, Any] | None:
        """Wait until the content script has its first answer (or has given up); returns its stats.
        With `url`, returns None if the tab is no longer at that address (the page navigated away)."""
        tab = self.tab_id(page, url)
        if tab is None:
            if url:
                return None
            raise AssertionError(f"no tab for {page.url}")
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.stats(tab)
            if last is None and url and self.tab_id(page, url) is None:
                return None
            if last and settled(last):
                return last
            time.sleep(0.05)
        raise AssertionError(f"the content script did not settle within {timeout} s: {last}")


GAVE_UP = frozenset({"paused", "unreachable", "error", "skipped"})  # content-script states that send no more


def settled(stats: dict[str, Any]) -> bool:
    """Whether a content script's stats say it has its first answer, or has given up."""
    running = stats["state"] == "running" and stats["perf"]["answeredAt"] > 0
    return running or stats["state"] in GAVE_UP


def _is_local(url: str) -> bool:
    if url.startswith(("chrome-extension://", "data:", "blob:", "about:")):
        return True
    host = url.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if not host.startswith("[") else host.split("]")[0] + "]"
    return host in ("127.0.0.1", "localhost", "[::1]")


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path
