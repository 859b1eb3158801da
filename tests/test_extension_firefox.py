"""The extension in Firefox (140 or newer, as its manifest asks), as a Firefox user runs it: installed from
the extension/ folder or from the packed zip, pointed at `hush serve` through its options page, collapsing
on labelled pages what `hush evaluate` counts as hidden, and showing an appeal again on request. The
Chromium tests go through the reader's side in depth; these check that the same code runs in Firefox's
extension runtime (background scripts instead of a service worker, ``browser.*``, its content-script
sandbox). The `endpoint` and `site` fixtures are in conftest.py."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import browser_support as bs
import firefox_support as fs
import pytest
from extension_pages import (
    ARTICLE_PARAGRAPHS,
    COUNT_BY_LABEL,
    SHARED,
    assert_collapsed_as_counted,
    assert_collapsed_near_count,
    corpus_spread,
    evaluated,
    real_page_files,
    seed_files,
)

pytestmark = fs.needs_firefox()

# The options form, filled and saved as a user does; what it then says, and what was stored.
SAVE_ENDPOINT = """async (url) => {
  const input = document.getElementById('endpoint');
  for (let i = 0; i < 100 && !input.value; i++) await new Promise((r) => setTimeout(r, 50));  // filled
  const before = input.value;
  input.value = url;
  document.getElementById('save').click();
  const result = document.getElementById('save-result');
  for (let i = 0; i < 100 && !result.textContent; i++) await new Promise((r) => setTimeout(r, 50));
  return {before, said: result.textContent, stored: (await browser.storage.local.get('settings')).settings};
}"""

CHECK_CONNECTION = """async () => {
  document.getElementById('check').click();
  const result = document.getElementById('check-result');
  for (let i = 0; i < 200 && /^(Checking…)?$/.test(result.textContent); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return result.textContent;
}"""

# What the reader sees of the test article: its paragraphs, the appeal box's paragraphs, the Show buttons.
ARTICLE_STATE = """() => ({
  article: Array.from(document.querySelectorAll('.para')).map((p) => p.checkVisibility()),
  appeal: Array.from(document.querySelectorAll('#support p')).map((p) => p.checkVisibility()),
  shows: Array.from(document.querySelectorAll('hush-placeholder'))
    .map((host) => host.shadowRoot && host.shadowRoot.querySelector('button'))
    .filter((b) => b && b.getAttribute('aria-label') === 'Show the hidden appeal').length,
})"""

COLLAPSED = "() => document.querySelector('hush-placeholder') !== null"
UNTOUCHED = "() => !document.querySelector('[data-hush-id], [data-hush-hidden], hush-placeholder')"
# In the extension's page: the id of the tab at `url`; a change to the settings.
TAB_ID = "async (url) => (await browser.tabs.query({})).find((t) => t.url === url).id"
PATCH_SETTINGS = """async (patch) => {
  const {settings} = await browser.storage.local.get('settings');
  await browser.storage.local.set({settings: Object.assign({}, settings, patch)});
}"""

CLICK_SHOW = """() => {
  const host = document.querySelector('hush-placeholder');
  host.shadowRoot.querySelector('button').click();
}"""


Saved = tuple[fs.FirefoxBrowser, dict]


@pytest.fixture(scope="module", params=["folder", "zip"])
def saved(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, endpoint: str
) -> Iterator[Saved]:
    """Firefox with the extension installed from the extension/ folder (as "Load Temporary Add-on" does)
    or from the zip `hush extension pack` writes, its endpoint set to the real `hush serve` in the options
    page; and what the options page showed and stored on saving."""
    where = tmp_path_factory.mktemp(f"firefox-{request.param}")
    extension = fs.EXTENSION_DIR
    if request.param == "zip":
        command = [sys.executable, "-m", "server.cli", "extension", "pack", "--out", str(where)]
        done = subprocess.run(command, cwd=fs.ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        (extension,) = where.glob("hush-firefox-*.zip")
    firefox = fs.FirefoxBrowser(where / "driver.log", extension)
    try:
        firefox.open_extension_page("options.html")
        yield firefox, firefox.in_extension(SAVE_ENDPOINT, endpoint)
    finally:
        firefox.close()


@pytest.fixture
def firefox(saved: Saved) -> fs.FirefoxBrowser:
    return saved[0]


def test_the_options_page_points_the_extension_at_the_server(saved, endpoint):
    firefox, result = saved
    assert firefox.version.startswith("firefox/")
    assert int(firefox.version.split("/")[1].split(".")[0]) >= fs.MIN_VERSION
    assert result["before"] == "http://127.0.0.1:8787"  # the default: `hush serve` on this computer
    assert result["said"].startswith("Saved")
    assert result["stored"]["endpoint"] == endpoint
    with urllib.request.urlopen(f"{endpoint}/healthz", timeout=10) as answer:
        model = json.load(answer)["model"]
    assert firefox.in_extension(CHECK_CONNECTION) == f"Connected · model {model}."  # the background's fetch


def test_firefox_collapses_what_hush_evaluate_counts(firefox, site):
    """On the seed pages (when ../shared is beside the checkout) and a spread of the corpus, the characters
    Firefox shows collapsed are, label by label, those `hush evaluate` counts as hidden."""
    from model.predict import load_model

    model = load_model()
    files = {**seed_files(), **dict(list(corpus_spread().items())[::3])}
    collapsed = 0
    for path, file in files.items():
        url = f"http://127.0.0.1:{site}{path}"
        firefox.goto(url)
        assert firefox.wait_settled(url)["state"] == "running", path
        time.sleep(0.3)  # the collapse follows the answer
        seen = firefox.evaluate(COUNT_BY_LABEL)
        counts = evaluated(model, file)
        assert_collapsed_as_counted(seen, counts, path)
        collapsed += counts.hidden_appeal > 0
    assert collapsed >= 3  # the comparison covered pages where something was hidden


def test_show_brings_the_appeal_back_in_firefox(firefox, site):
    url = f"http://127.0.0.1:{site}/article.html"
    firefox.goto(url)
    firefox.wait_settled(url)
    assert firefox.wait_for(COLLAPSED)
    state = firefox.evaluate(ARTICLE_STATE)
    assert state["shows"] >= 1 and not any(state["appeal"]), state
    assert state["article"] == [True] * len(ARTICLE_PARAGRAPHS), state
    for _ in range(state["shows"]):
        firefox.evaluate(CLICK_SHOW)
    state = firefox.evaluate(ARTICLE_STATE)
    assert state["shows"] == 0 and all(state["appeal"]), state
    assert state["article"] == [True] * len(ARTICLE_PARAGRAPHS), state


def test_an_appeal_added_after_load_is_collapsed_in_firefox(firefox, site):
    """The page's own script adds a fundraising box after the first answer: the content script's observer
    sends it on its own and collapses it."""
    url = f"http://127.0.0.1:{site}/late.html?manual"
    firefox.goto(url)
    firefox.wait_settled(url)
    firefox.evaluate("() => window.injectAppeal()")
    hidden = """() => {
      const paras = Array.from(document.querySelectorAll('#late-appeal p'));
      return paras.length > 0 && paras.every((p) => !p.checkVisibility());
    }"""
    assert firefox.wait_for(hidden), "the late appeal was not collapsed within 5 s"
    assert all(firefox.evaluate(ARTICLE_STATE)["article"])
    assert firefox.in_extension(fs.STATS, url)["perf"]["fragmentsSent"] >= 1


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/realpages is not beside the checkout")
def test_on_real_pages_firefox_collapses_what_hush_evaluate_counts(firefox, site):
    """The same on a spread of real pages, whose own scripts run in the browser and may change their text
    a little: page by page, the collapsed characters stay within 2% of what `hush evaluate` counts."""
    from model.predict import load_model

    model = load_model()
    compared = 0
    for path, file in real_page_files().items():
        url = f"http://127.0.0.1:{site}{path}"
        firefox.goto(url, navigated_away=True)
        if firefox.wait_settled(url, timeout=20)["state"] != "running":
            continue  # the page sent itself elsewhere (a script's redirect, say)
        time.sleep(0.3)
        seen = firefox.evaluate(COUNT_BY_LABEL)
        assert_collapsed_near_count(seen, evaluated(model, file), path)
        compared += 1
    assert compared >= 10


# The reader's right-click on an element, then the background's handler for a Hush menu item (what a click on
# the item runs; Firefox's menus are not reachable over BiDi).
RIGHT_CLICK = """(selector) => document.querySelector(selector).dispatchEvent(
  new MouseEvent('contextmenu', {bubbles: true, cancelable: true, button: 2}))"""
MENU_ITEM = """async ([url, item]) => {
  const tab = (await browser.tabs.query({})).find((t) => t.url === url);
  const background = await browser.runtime.getBackgroundPage();
  return background.hushDebug.onMenuClicked({menuItemId: item, frameId: 0}, {id: tab.id});
}"""
CORRECTIONS = "async () => (await browser.storage.local.get('corrections')).corrections || []"


def test_reader_corrections_are_stored_in_firefox(firefox, site):
    """The reader's "hide this as an appeal" on the article's rail and "not an appeal" on a block the model
    hid are kept as a labelled page, and the options page counts it."""
    firefox.in_extension("async () => { await browser.storage.local.set({corrections: []}); }")
    url = f"http://127.0.0.1:{site}/article.html"
    firefox.goto(url)
    firefox.wait_settled(url)
    firefox.evaluate(RIGHT_CLICK, ".rail h3")
    assert firefox.in_extension(MENU_ITEM, [url, "hush-hide"])["ok"]
    assert firefox.wait_for(COLLAPSED)
    model_id = firefox.evaluate(
        "() => document.querySelector('hush-placeholder').getAttribute('data-hush-for')"
    )
    firefox.evaluate(RIGHT_CLICK, "hush-placeholder")
    assert firefox.in_extension(MENU_ITEM, [url, "hush-not-appeal"])["ok"]
    shown = f"() => document.querySelector('[data-hush-id=\"{model_id}\"]').checkVisibility()"
    assert firefox.wait_for(shown, timeout=2)  # the reader's "not an appeal" brings the block back

    # Both on one view of the page: one page, labelled as the reader judged it last.
    saved = firefox.in_extension(CORRECTIONS)
    assert [c["kind"] for c in saved] == ["not-appeal"]
    assert re.search(r"<div data-hush-id=\w+ data-hush-label=appeal class=rail>", saved[0]["html"])
    assert saved[0]["elementId"] == model_id
    assert f'<meta name="hush-correction" content="not-appeal:{model_id}">' in saved[0]["html"]
    firefox.open_extension_page("options.html")
    said = "() => document.getElementById('corrections-count').textContent"
    counted = f"() => ({said})() === '1 correction stored on this computer.'"
    assert firefox.wait_for(counted, timeout=3, extension=True), firefox.in_extension(said)


POPUP_SAYS = "() => document.getElementById('count').textContent"
# The popup's button once it reads `label` (it is re-labelled as the popup refreshes), clicked.
CLICK = """async (label) => {
  for (let i = 0; i < 100; i++) {
    const button = Array.from(document.querySelectorAll('button')).find((b) => b.textContent === label);
    if (button && !button.disabled) { button.click(); return true; }
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}"""


def test_the_popup_pauses_a_site_and_shows_all_in_firefox(firefox, site):
    """The toolbar popup (opened on the reader's tab) counts what was collapsed; "Pause on this site"
    restores the page and keeps it untouched on the next visit, "Resume" collapses again, and "Show all"
    brings every appeal back. On "localhost", its own site here, so that pausing it leaves the others."""
    url = f"http://localhost:{site}/article.html"
    firefox.goto(url)
    firefox.wait_settled(url)
    assert firefox.wait_for(COLLAPSED)
    firefox.open_extension_page(f"popup.html?tab={firefox.in_extension(TAB_ID, url)}")
    counted = f"() => /^\\d+ appeals? collapsed on this tab\\.$/.test(({POPUP_SAYS})())"
    assert firefox.wait_for(counted, extension=True), firefox.in_extension(POPUP_SAYS)

    assert firefox.in_extension(CLICK, "Pause on this site")
    assert firefox.wait_for(UNTOUCHED), "pausing did not restore the open page"
    assert all(firefox.evaluate(ARTICLE_STATE)["appeal"])
    firefox.goto(url)
    assert firefox.wait_settled(url)["state"] == "paused"
    assert firefox.evaluate(UNTOUCHED)

    firefox.open_extension_page(f"popup.html?tab={firefox.in_extension(TAB_ID, url)}")
    assert firefox.in_extension(CLICK, "Resume on this site")
    assert firefox.wait_for(COLLAPSED)
    assert firefox.in_extension(CLICK, "Show all")
    says_none = f"() => ({POPUP_SAYS})() === 'No appeals collapsed on this tab.'"
    assert firefox.wait_for(says_none, extension=True), firefox.in_extension(POPUP_SAYS)
    state = firefox.evaluate(ARTICLE_STATE)
    assert state["shows"] == 0 and all(state["appeal"]) and all(state["article"]), state


def test_a_stopped_server_leaves_the_page_as_it_was_in_firefox(firefox, site, endpoint):
    """With nothing listening at the endpoint, the page is left exactly as it was and the badge says so."""
    firefox.in_extension(PATCH_SETTINGS, {"endpoint": f"http://127.0.0.1:{bs.free_port()}"})
    try:
        url = f"http://127.0.0.1:{site}/article.html"
        firefox.goto(url)
        assert firefox.wait_settled(url)["state"] == "unreachable"
        assert firefox.evaluate(UNTOUCHED)
        state = firefox.evaluate(ARTICLE_STATE)
        assert all(state["appeal"]) and all(state["article"]), state
        tab = firefox.in_extension(TAB_ID, url)
        assert firefox.in_extension("(tabId) => browser.action.getBadgeText({tabId})", tab) == "!"
    finally:
        firefox.in_extension(PATCH_SETTINGS, {"endpoint": endpoint})
