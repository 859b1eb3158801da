"""Firefox with the extension (its folder, or a packed zip), installed as a temporary add-on and driven
through WebDriver BiDi by tests/firefox_driver.js (puppeteer-core, which scripts/test.sh installs into
.tools/ where npm is; Firefox ESR comes from Debian there too)."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from browser_support import EXTENSION_DIR, ROOT, needs, settled

DRIVER = Path(__file__).with_name("firefox_driver.js")
PUPPETEER = ROOT / ".tools" / "puppeteer" / "node_modules" / "puppeteer-core"  # scripts/test.sh
FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")
NODE = shutil.which("node")
MANIFEST = json.loads((EXTENSION_DIR / "manifest.json").read_text(encoding="utf-8"))
ADDON_ID = MANIFEST["browser_specific_settings"]["gecko"]["id"]
MIN_VERSION = int(MANIFEST["browser_specific_settings"]["gecko"]["strict_min_version"].split(".")[0])
UUID = "6f1c2a9e-4b7d-4e0a-9c3f-2d8b5e7a1c40"  # the extension's internal address in the test profile
BASE = f"moz-extension://{UUID}"
COMMAND_TIMEOUT = 90.0  # seconds for one driver command (a page load waits at most 30 s of them)

# In one of the extension's own pages: the content script's stats for the tab at `url`, null when it does not
# answer, or {state: 'gone'} when no tab is at that address.
STATS = """async (url) => {
  const tab = (await browser.tabs.query({})).find((t) => t.url === url);
  if (!tab) return {state: 'gone'};
  const late = new Promise((resolve) => setTimeout(() => resolve(null), 2000));
  try { return await Promise.race([browser.tabs.sendMessage(tab.id, {type: 'stats'}), late]); }
  catch (e) { return null; }
}"""


def firefox_version() -> int | None:
    """The major version of the Firefox found, or None."""
    if not FIREFOX:
        return None
    done = subprocess.run([FIREFOX, "--version"], capture_output=True, text=True, timeout=60)
    found = re.search(r"(\d+)\.", done.stdout)
    return int(found.group(1)) if found else None


def firefox_missing() -> str:
    """Why Firefox tests cannot run here ("" when they can)."""
    if not FIREFOX:
        return "Firefox is not installed (scripts/test.sh installs firefox-esr from Debian)"
    version = firefox_version()
    if version is None or version < MIN_VERSION:
        return f"Firefox {version} is older than {MIN_VERSION}, the extension's minimum"
    if not NODE:
        return "node is not installed (it runs tests/firefox_driver.js)"
    if not PUPPETEER.is_dir():
        return "puppeteer-core is not installed (scripts/test.sh installs it where npm is)"
    return ""


def needs_firefox() -> Any:
    """The mark for a module of Firefox tests: skipped without Firefox and the driver; in CI, where
    scripts/test.sh installs both, an error without them (unless there is no Node to install with)."""
    return needs(firefox_missing(), "Firefox tests", required_in_ci=bool(NODE))


class FirefoxBrowser:
    """Headless Firefox with the extension; a tab for the reader's page and one for the extension's own
    pages (where browser.* calls run with the extension's rights)."""

    def __init__(self, log: Path, extension_dir: Path = EXTENSION_DIR) -> None:
        self.log = log
        with log.open("wb") as sink:
            self.process = subprocess.Popen(
                [NODE or "node", str(DRIVER), str(FIREFOX), str(extension_dir.resolve()), UUID, ADDON_ID],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=sink,
                text=True,
                env={**os.environ, "HUSH_PUPPETEER": str(PUPPETEER)},
            )
        self.answers: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        try:
            self.version = self.call("start")
        except AssertionError:
            self.process.kill()  # the driver may be waiting on a Firefox that never came up
            self.process.wait()
            raise

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.answers.put(line)
        self.answers.put("")  # the driver is gone

    def call(self, command: str, **args: Any) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"command": command, **args}) + "\n")
        self.process.stdin.flush()
        try:
            line = self.answers.get(timeout=COMMAND_TIMEOUT)
        except queue.Empty:
            raise AssertionError(f"Firefox did not answer {command} within {COMMAND_TIMEOUT:.0f} s") from None
        if not line:
            output = self.log.read_text(errors="replace")[-2000:]
            raise AssertionError(f"the Firefox driver stopped: {output}")
        answer = json.loads(line)
        if "error" in answer:
            raise AssertionError(f"Firefox {command}: {answer['error']}")
        return answer["ok"]

    def goto(self, url: str, navigated_away: bool = False) -> None:
        """Open ``url`` in the reader's tab; with ``navigated_away``, a page that sends itself elsewhere
        while it loads (a script's redirect) is no error."""
        try:
            self.call("goto", url=url, tab="page")
        except AssertionError:
            if not navigated_away:
                raise

    def evaluate(self, fn: str, arg: Any = None) -> Any:
        """``fn(arg)`` in the reader's page."""
        return self.call("evaluate", fn=fn, arg=arg, tab="page")

    def open_extension_page(self, name: str) -> None:
        self.call("goto", url=f"{BASE}/{name}", tab="extension")

    def in_extension(self, fn: str, arg: Any = None) -> Any:
        """``fn(arg)`` in the extension's page (options.html once open_extension_page has opened it)."""
        return self.call("evaluate", fn=fn, arg=arg, tab="extension")

    def wait_for(self, fn: str, arg: Any = None, timeout: float = 5.0, extension: bool = False) -> Any:
        """Evaluate ``fn(arg)`` (in the extension's page with ``extension``) until it returns something
        truthy or the time is up; its last value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.in_extension(fn, arg) if extension else self.evaluate(fn, arg)
            if value or time.monotonic() > deadline:
                return value
            time.sleep(0.05)

    def wait_settled(self, url: str, timeout: float = 15.0) -> dict[str, Any]:
        """Wait until the content script in the tab at ``url`` has its first answer (or has given up);
        its stats, whose state is "gone" if the tab has left that address."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.in_extension(STATS, url)
            if last and (last["state"] == "gone" or settled(last)):
                return last
            time.sleep(0.05)
        raise AssertionError(f"the content script did not settle within {timeout} s: {last}")

    def close(self) -> None:
        with contextlib.suppress(AssertionError):  # a driver already gone has nothing to close
            self.call("close")
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
