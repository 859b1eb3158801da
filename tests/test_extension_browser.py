"""The extension in a real browser, as a reader meets it: Debian's Chromium with the unpacked extension,
driven by Playwright, against the real `hush serve` (or a fake endpoint) and pages served from loopback
(tests/extension_pages.py; the fixtures are in conftest.py). What it sends and how the model reads that
is in test_extension_copy.py.

Screenshots of one page before and after Hush are written to tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import io
import json
import re
import time
import zipfile

import browser_support as bs
import pytest
from extension_pages import (
    appeal_text_visible,
    assert_article_visible,
    assert_untouched,
    fragments_settle,
    hide_matches,
    open_answered,
    open_article,
    wait_appeal_collapsed,
    wheel_scrolls,
)

pytestmark = bs.needs_chromium()


def test_appeal_collapses_and_article_stays(hush, page, site):
    bs.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # Before: the same page with Hush paused on the site (nothing touched), for a person to compare.
    hush.set_settings(disabledSites=["127.0.0.1"])
    open_article(hush, page, site)
    page.screenshot(path=str(bs.ARTIFACTS / "article-before.png"), full_page=True)
    hush.set_settings(disabledSites=[])

    stats = open_article(hush, page, site)
    assert stats["state"] == "running"
    wait_appeal_collapsed(page)
    page.screenshot(path=str(bs.ARTIFACTS / "article-after.png"), full_page=True)

    assert_article_visible(page)
    hidden = page.locator("[data-hush-hidden]")
    assert hidden.count() >= 1
    # Only blocks of the appeal were hidden.
    assert page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-hush-hidden]'))"
        ".every((el) => el.closest('#support'))"
    )
    placeholders = page.locator("hush-placeholder")
    assert placeholders.count() == hidden.count()
    for i in range(placeholders.count()):
        placeholder = placeholders.nth(i)
        assert placeholder.is_visible()
        assert placeholder.locator("div").inner_text().startswith("Appeal hidden ·")  # in its shadow root
        height = placeholder.bounding_box()["height"]
        assert 10 < height < 60, f"the placeholder is not slim: {height}px"
    # The page's own CSS tries to show hidden blocks and hide placeholders; the user style sheet wins.
    assert page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-hush-hidden]'))"
        ".every((el) => getComputedStyle(el).display === 'none')"
    )
    # The toolbar badge counts the collapsed appeals: one per placeholder.
    assert hush.badge(hush.tab_id(page)) == str(placeholders.count())
    # Every block got an id, but the ids live in the content script: the page carries one only where a
    # block was collapsed.
    assert stats["perf"]["stamped"] > 10 * hidden.count()
    assert page.evaluate(
        "() => Array.from(document.querySelectorAll('[data-hush-id]'))"
        ".every((el) => el.hasAttribute('data-hush-hidden'))"
    )


def test_show_reveals_the_block(hush, page, site):
    open_article(hush, page, site)
    wait_appeal_collapsed(page)
    buttons = page.get_by_role("button", name="Show the hidden appeal")
    while buttons.count():
        buttons.first.click()
    assert appeal_text_visible(page)
    assert page.locator("hush-placeholder").count() == 0
    assert page.locator("[data-hush-hidden]").count() == 0
    assert_article_visible(page)


def test_placeholder_is_reachable_by_keyboard(hush, page, site):
    open_article(hush, page, site)
    wait_appeal_collapsed(page)
    target = page.locator("hush-placeholder").first.get_attribute("data-hush-for")
    page.locator("body").focus()
    focused = None
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => {
                const a = document.activeElement;
                if (!a || a.localName !== 'hush-placeholder') return null;
                const inner = a.shadowRoot && a.shadowRoot.activeElement;
                return inner ? [a.getAttribute('data-hush-for'), inner.textContent] : null;
            }"""
        )
        if focused:
            break
    assert focused == [target, "Show"], "Tab never reached the placeholder's Show button"
    outline = page.evaluate(
        """() => { const b = document.activeElement.shadowRoot.activeElement;
                   return getComputedStyle(b).outlineStyle; }"""
    )
    assert outline != "none", "the focused Show button has no visible focus ring"
    page.keyboard.press("Enter")
    shown = page.locator(f'[data-hush-id="{target}"]')
    shown.wait_for(state="visible", timeout=2000)
    assert shown.get_attribute("data-hush-hidden") is None
    assert page.evaluate("document.activeElement.getAttribute('data-hush-id')") == target, (
        "focus did not move to the shown block"
    )


def test_full_hiding_mode_leaves_no_placeholder(hush, page, site):
    hush.set_settings(mode="remove")
    open_article(hush, page, site)
    wait_appeal_collapsed(page)
    assert page.locator("[data-hush-hidden='remove']").count() >= 1
    assert page.locator("hush-placeholder").count() == 0
    assert_article_visible(page)


def test_appeal_injected_after_load_is_collapsed(hush, page, site):
    open_article(hush, page, site, "/late.html?manual")
    assert page.locator("#late-appeal").count() == 0
    page.evaluate(
        """() => new Promise((resolve) => setTimeout(() => { window.injectAppeal(); resolve(); },
                                                      Math.max(0, 2000 - performance.now())))"""
    )
    took_ms = page.wait_for_function(
        """() => {
            const paras = document.querySelectorAll('#late-appeal p');
            const hidden = paras.length > 0 && Array.from(paras).every((p) => !p.checkVisibility());
            return hidden && performance.now() - window.injectedAt;
        }""",
        timeout=4000,
    ).json_value()
    assert took_ms < 2500, f"took {took_ms / 1000:.2f} s to collapse the late appeal"
    assert_article_visible(page)
    stats = hush.stats(hush.tab_id(page))
    assert stats["perf"]["fragmentsSent"] >= 1
    # Only the new subtree went to the endpoint, not the whole page again.
    assert stats["perf"]["fragmentChars"] < stats["perf"]["payloadChars"]


def test_an_appeal_the_reader_is_typing_in_is_left_in_view(browser, fake, page, site):
    """A block added with a field the reader is typing in (collapsed, it took the focus along and the rest
    of the typing was lost) is left in view; a field the page filled itself does not count."""
    section = re.compile(r"<section data-hush-id=([0-9a-z]+)")
    for typed, kept in (("me@example.org", True), ("", False)):
        url = f"http://127.0.0.1:{site}/late.html?manual"
        open_answered(browser, fake, page, url, section.findall, hidden=0)
        tab = browser.tab_id(page)
        sent = browser.stats(tab)["perf"]["fragmentsSent"]
        page.evaluate(
            """() => { window.injectAppeal();
            document.getElementById('late-appeal').insertAdjacentHTML('beforeend',
                '<input id="email" type="email" value="your e-mail">');
            document.getElementById('email').focus(); }"""
        )
        page.keyboard.type(typed)
        deadline = time.monotonic() + 10
        while browser.stats(tab)["perf"]["fragmentsSent"] == sent:
            assert time.monotonic() < deadline, "the new box was never sent"
            page.wait_for_timeout(50)
        page.wait_for_timeout(500)
        hidden = page.evaluate("document.getElementById('late-appeal').hasAttribute('data-hush-hidden')")
        assert hidden is not kept, typed
        if kept:
            assert page.evaluate("document.activeElement.id") == "email"
            assert typed in page.evaluate("document.getElementById('email').value")


REPLACE_FEED = """(round) => {
    const old = document.getElementById('feed');
    if (old) old.remove();
    const feed = document.createElement('div');
    feed.id = 'feed';
    for (let i = 0; i < 3000; i++) {
        const item = document.createElement('p');
        // Words of its own each round: a feed redrawn with the same words (digits aside) is not sent again.
        const nth = ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth'][round];
        item.textContent = 'Feed item ' + i + ' of the ' + nth + ' feed: the ferry leaves at ten past.';
        feed.appendChild(item);
    }
    document.getElementById('story').appendChild(feed);
}"""


def test_a_long_lived_page_forgets_the_ids_of_what_it_removed(hush, page, site):
    """A feed that keeps replacing its items: past 20,000 ids the script forgets those of elements that
    left the page, keeps those of elements still in it, and still collapses an appeal added after that."""
    open_article(hush, page, site, "/late.html?manual")
    tab = hush.tab_id(page)
    article_ids = hush.stats(tab)["ids"]
    for round_ in range(8):  # 3,000 new ids a round: the eighth round's flush finds more than 20,000
        sent = hush.stats(tab)["perf"]["fragmentsSent"]
        page.evaluate(REPLACE_FEED, round_)
        deadline = time.monotonic() + 10
        while hush.stats(tab)["perf"]["fragmentsSent"] == sent:
            assert time.monotonic() < deadline, f"round {round_}: the new feed items were never sent"
            page.wait_for_timeout(50)
    stats = hush.stats(tab)
    assert stats["perf"]["stamped"] > 24_000
    # Kept: the article's ids and the last feed's (its 3,000 items and the feed itself); the seven
    # feeds removed are forgotten.
    assert stats["ids"] == article_ids + 3_001, (article_ids, stats["ids"])
    page.evaluate("window.injectAppeal()")
    wait_appeal_collapsed(page, "#late-appeal")
    assert_article_visible(page)


def test_items_added_one_by_one_go_in_few_requests(browser, fake, page, site):
    """A feed adding paragraphs a few at a time: the new siblings of a flush go in one request, not one
    request each."""
    browser.set_settings(endpoint=fake.url, token="", mode="placeholder", disabledSites=[])
    open_article(browser, page, site, "/late.html?manual")
    tab = browser.tab_id(page)
    before = browser.stats(tab)["perf"]["fragmentsSent"]
    for round_ in range(20):
        page.evaluate(
            """(round) => { for (let i = 0; i < 10; i++) { const p = document.createElement('p');
                const who = 'abcdefghijklmnopqrst'[round] + 'klmnopqrst'[i];  // words of its own each
                p.textContent = 'Comment by reader ' + who + ': the new timetable suits me fine.';
                document.getElementById('story').appendChild(p); } }""",
            round_,
        )
        page.wait_for_timeout(50)
    sent = fragments_settle(browser, page, tab) - before
    assert 1 <= sent <= 6, sent  # 200 paragraphs in about 1.5 s; one request each before
    assert browser.stats(tab)["perf"]["fragmentsSkipped"] == 0  # none judged before


def test_an_appeal_after_thousands_of_new_nodes_is_not_dropped(browser, fake, page, site):
    """4,500 comments and then an appeal, added in one go: more nodes than the queue holds, but the appeal
    is still sent and collapsed."""

    def answer(request):
        ids = re.findall(r"<section data-hush-id=([0-9a-z]+) class=late-appeal", request["html"])
        return 200, "application/json", json.dumps({"hide": ids}).encode()

    fake.answer = answer
    browser.set_settings(endpoint=fake.url, token="", mode="placeholder", disabledSites=[])
    open_article(browser, page, site, "/late.html?manual")
    page.evaluate(
        """() => { const story = document.getElementById('story');
            for (let i = 0; i < 4500; i++) { const p = document.createElement('p');
                p.textContent = 'Comment ' + i + ': the new timetable suits me fine.'; story.appendChild(p); }
            window.injectAppeal(); }"""
    )
    wait_appeal_collapsed(page, "#late-appeal", timeout=15000)
    assert browser.stats(browser.tab_id(page))["perf"]["fragmentsSent"] <= 30


def test_pausing_a_site_leaves_it_untouched(hush, page, site):
    # "localhost" is its own site here, so pausing it does not affect the other tests.
    open_article(hush, page, site, host="localhost")
    wait_appeal_collapsed(page)
    tab = hush.tab_id(page)

    popup = hush.context.new_page()
    popup.goto(hush.url(f"popup.html?tab={tab}"))
    popup.get_by_text(re.compile(r"^\d+ appeals? collapsed on this tab\.$")).wait_for(timeout=3000)
    popup.get_by_role("button", name="Pause on this site").click()
    popup.get_by_role("button", name="Resume on this site").wait_for(timeout=3000)
    # The open page is restored at once ...
    page.wait_for_function("() => !document.querySelector('[data-hush-id]')", timeout=3000)
    assert appeal_text_visible(page)
    assert_untouched(page)

    # ... and stays untouched on the next visit.
    stats = open_article(hush, page, site, host="localhost")
    assert stats["state"] == "paused"
    assert appeal_text_visible(page)
    assert_untouched(page)

    popup.reload()
    popup.get_by_role("button", name="Resume on this site").click()
    popup.get_by_role("button", name="Pause on this site").wait_for(timeout=3000)
    wait_appeal_collapsed(page)
    popup.close()


def test_the_popup_says_checking_until_the_first_answer(browser, fake, page, site):
    def slow(request):
        time.sleep(3)  # in the fake endpoint's own thread
        return 200, "application/json", b'{"hide": []}'

    fake.answer = slow
    browser.set_settings(endpoint=fake.url, token="", mode="placeholder", disabledSites=[])
    page.goto(f"http://127.0.0.1:{site}/article.html")
    popup = browser.context.new_page()
    popup.goto(browser.url(f"popup.html?tab={browser.tab_id(page)}"))
    popup.get_by_text("Checking this page\u2026").wait_for(timeout=2000)
    popup.wait_for_timeout(3500)
    popup.reload()
    popup.get_by_text("No appeals collapsed on this tab.").wait_for(timeout=3000)
    popup.close()
    fake.answer = lambda request: (200, "application/json", b'{"hide": []}')  # quick again for later tests


def test_popup_show_all(hush, page, site):
    open_article(hush, page, site)
    wait_appeal_collapsed(page)
    tab = hush.tab_id(page)
    popup = hush.context.new_page()
    popup.goto(hush.url(f"popup.html?tab={tab}"))
    popup.get_by_text(re.compile(r"^\d+ appeals? collapsed on this tab\.$")).wait_for(timeout=3000)
    popup.get_by_role("button", name="Show all").click()
    popup.get_by_text("No appeals collapsed on this tab.").wait_for(timeout=3000)
    popup.close()
    assert appeal_text_visible(page)
    assert page.locator("hush-placeholder").count() == 0


def test_stopped_endpoint_leaves_page_untouched_and_shows_badge(hush, page, site):
    hush.set_settings(endpoint=f"http://127.0.0.1:{bs.free_port()}")  # nothing listens there
    stats = open_article(hush, page, site)
    assert stats["state"] == "unreachable"
    assert appeal_text_visible(page)
    assert_article_visible(page)
    assert_untouched(page)
    tab = hush.tab_id(page)
    assert hush.badge(tab) == "!"
    title = hush.sw("async (tabId) => chrome.action.getTitle({tabId})", tab)
    assert "cannot reach" in title
    # The popup says what to do about it.
    popup = hush.context.new_page()
    popup.goto(hush.url(f"popup.html?tab={tab}"))
    popup.get_by_text(re.compile(r"Start it with .hush serve.")).wait_for(timeout=3000)
    assert "cannot reach http://127.0.0.1:" in popup.locator("#problem").inner_text()
    popup.close()


HOSTILE_ANSWERS = {
    "script in an id": lambda ids: {"hide": ['<img src=x onerror="window.__pwned=1">', ids["support"]]},
    "ids not in the page": lambda ids: {"hide": ["zz", "zzzzzz", "0", "9999999"]},
    "non-string ids": lambda ids: {"hide": [{"toString": 1}, 7, None]},
    "hide is not a list": lambda ids: {"hide": ids["support"]},
    "the article's container": lambda ids: {"hide": [ids["story"]]},
    "the whole body": lambda ids: {"hide": [ids["layout"]]},
}


@pytest.mark.parametrize("case", list(HOSTILE_ANSWERS))
def test_hostile_answers_change_nothing(browser, fake, page, site, case):
    def answer(request):
        html = request["html"]
        ids = {}
        for name, pattern in (
            ("support", r"<aside data-hush-id=(\w+)"),
            ("story", r"<article data-hush-id=(\w+)"),
            ("layout", r"<div data-hush-id=(\w+) class=layout"),
        ):
            m = re.search(pattern, html)
            ids[name] = m.group(1) if m else "x"
        return 200, "application/json", json.dumps(HOSTILE_ANSWERS[case](ids)).encode()

    fake.answer = answer
    browser.set_settings(endpoint=fake.url, token="", mode="placeholder", disabledSites=[])
    page.goto(f"http://127.0.0.1:{site}/hostile.html")
    stats = browser.wait_settled(page)
    page.wait_for_timeout(200)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#support").is_visible()
    assert page.locator("hush-placeholder").count() == 0
    assert page.locator("[data-hush-hidden]").count() == 0
    assert_article_visible(page)
    if case in ("script in an id", "non-string ids", "hide is not a list"):
        # A malformed answer is refused whole and the page is left exactly as it was.
        assert stats["state"] == "error"
        assert_untouched(page)


def test_a_collapsed_modal_dialog_leaves_the_page_usable(browser, fake, page, site):
    """Hidden but still modal, a dialog would leave the rest of the page inert: it is closed while
    collapsed, and opened again, modal, when the reader shows it."""
    url = f"http://127.0.0.1:{site}/modal.html"
    hide_matches(browser, fake, page, url, [r"<dialog data-hush-id=([0-9a-z]+)"], hidden=1)
    assert page.evaluate("document.querySelector(':modal')") is None
    assert page.evaluate("document.getElementById('appeal-dialog').open") is False
    page.locator("#p0").click(timeout=2000)  # not inert
    page.get_by_role("button", name="Show the hidden appeal").click(timeout=2000)
    assert page.evaluate("document.getElementById('appeal-dialog').matches(':modal')")


OVERLAY = r"<div data-hush-id=([0-9a-z]+) id=overlay>"


@pytest.mark.parametrize(
    ("path", "prop", "locked", "inline"),
    [
        ("/overlay.html", "overflowY", "hidden", ""),
        ("/overlay-late.html", "overflowY", "hidden", ""),
        ("/overlay-fixed.html", "position", "fixed", "fixed"),  # <body> fixed in place, as phones need
        ("/overlay-height.html", "overflowY", "hidden", ""),  # <html>, <body> the window's height, clipped
    ],
)
def test_a_collapsed_overlay_lets_the_page_scroll(browser, fake, page, site, path, prop, locked, inline):
    """A page stops its scrolling while its appeal lies over it, and lets go when the reader closes the
    appeal, which Hush hid: the lock is released while the overlay is collapsed (also a lock set after
    it was), and put back by Show, the page's own inline style as it was."""
    hide_matches(browser, fake, page, f"http://127.0.0.1:{site}{path}", [OVERLAY], hidden=1)
    page.wait_for_function(f"getComputedStyle(document.body).{prop} !== '{locked}'", timeout=3000)
    assert wheel_scrolls(page)
    page.get_by_role("button", name="Show the hidden appeal").click(timeout=2000)
    assert page.evaluate(f"getComputedStyle(document.body).{prop}") == locked
    assert not wheel_scrolls(page)
    assert page.evaluate(f"document.body.style.{prop}") == inline


def test_a_collapsed_overlay_takes_its_backdrop_along(browser, fake, page, site):
    """The empty layer that dims the page behind an appeal's overlay would leave the page dark and
    unclickable, and keep its scrolling locked: it goes with the overlay, and comes back with Show."""
    url = f"http://127.0.0.1:{site}/overlay-backdrop.html"
    hide_matches(browser, fake, page, url, [OVERLAY], hidden=1)
    page.wait_for_function("!document.getElementById('backdrop').checkVisibility()", timeout=3000)
    page.locator("#p0").click(timeout=2000)  # nothing in front of it
    assert wheel_scrolls(page)
    page.get_by_role("button", name="Show the hidden appeal").click(timeout=2000)
    assert page.evaluate("document.getElementById('backdrop').checkVisibility()")
    assert page.evaluate("document.getElementById('backdrop').style.display") == ""
    assert not wheel_scrolls(page)


def test_a_lock_stays_while_something_else_covers_the_page(browser, fake, page, site):
    """Hiding the appeal's overlay does not release a lock that another overlay (a cookie wall) keeps."""
    url = f"http://127.0.0.1:{site}/overlay-wall.html"
    hide_matches(browser, fake, page, url, [OVERLAY], hidden=1)
    page.wait_for_timeout(1300)  # past the second look, a second after collapsing
    assert not wheel_scrolls(page)
    assert page.evaluate("document.body.style.overflowY") == ""


LIVE_BARS = """(hiddenId) => {
    const bars = Array.from(document.querySelectorAll('hush-placeholder'));
    const el = document.getElementById(hiddenId);
    return !!el && el.hasAttribute('data-hush-hidden') && bars.length === 1 && !!bars[0].shadowRoot &&
        bars[0].getAttribute('data-hush-for') === el.getAttribute('data-hush-id');
}"""


def test_a_new_body_is_a_new_page(browser, fake, page, site):
    """A site that puts a new <body> in place to show its next page gets the new page judged, and a copy
    of the old body put back (taken while collapsed) is judged again, with no copied bar or mark left."""
    url = f"http://127.0.0.1:{site}/swapping.html"
    hide_matches(browser, fake, page, url, [r"<aside data-hush-id=([0-9a-z]+)"], hidden=1)
    page.evaluate("window.visitNext()")
    page.wait_for_function(LIVE_BARS, arg="support-next", timeout=5000)
    assert page.locator("#next-p0").is_visible()
    page.evaluate("window.goBack()")
    page.wait_for_function(LIVE_BARS, arg="support", timeout=5000)
    assert_article_visible(page)
    assert page.evaluate("document.querySelectorAll('[data-hush-hidden]').length") == 1


def test_a_shown_block_stays_shown_when_the_page_renders_it_again(browser, fake, page, site):
    """What the reader chose to see stays in view when the page replaces it with a copy of itself, which
    the endpoint names again."""
    url = f"http://127.0.0.1:{site}/article.html"
    hide_matches(browser, fake, page, url, [r"<aside data-hush-id=([0-9a-z]+)"], hidden=1)
    page.get_by_role("button", name="Show the hidden appeal").click(timeout=2000)
    page.evaluate("(() => { const s = document.getElementById('support'); s.outerHTML = s.outerHTML; })()")
    fragments = fragments_settle(browser, page, browser.tab_id(page))
    assert fragments >= 1  # the copy went to the endpoint, which named it
    assert page.locator("#support p").first.is_visible()
    assert page.locator("hush-placeholder, [data-hush-hidden]").count() == 0


def test_a_copy_of_a_collapsed_block_is_not_left_hidden(browser, fake, page, site):
    """A page that re-renders a collapsed block (outerHTML) copies Hush's marks. With the endpoint failing
    meanwhile, the copy must not stay hidden with no bar to show it, nor a dead copy of the bar stay: it
    is collapsed as the block it copies was, with a bar of its own that shows it."""
    url = f"http://127.0.0.1:{site}/article.html"
    hide_matches(browser, fake, page, url, [r"<aside data-hush-id=([0-9a-z]+)"], hidden=1)
    fake.answer = lambda request: (500, "application/json", b'{"error": {"code": "x", "message": "down"}}')
    page.evaluate("(() => { const s = document.getElementById('support'); s.outerHTML = s.outerHTML; })()")
    page.wait_for_function(LIVE_BARS, arg="support", timeout=5000)
    page.get_by_role("button", name="Show the hidden appeal").click(timeout=2000)
    assert page.evaluate("document.querySelector('#support p').checkVisibility()")
    assert page.locator("hush-placeholder, [data-hush-hidden]").count() == 0
    assert_article_visible(page)


def test_a_failed_fragment_leaves_the_badge_count(browser, fake, page, site):
    """What is collapsed stays collapsed when a later fragment fails: the badge keeps its count, not "!"."""
    url = f"http://127.0.0.1:{site}/article.html"
    hide_matches(browser, fake, page, url, [r"<aside data-hush-id=([0-9a-z]+)"], hidden=1)
    tab = browser.tab_id(page)
    page.wait_for_timeout(200)  # the count reaches the badge 50 ms after the collapse
    assert browser.badge(tab) == "1"
    sent = browser.stats(tab)["perf"]["fragmentsSent"]
    fake.answer = lambda request: (500, "application/json", b'{"error": {"code": "x", "message": "down"}}')
    page.evaluate(
        "document.getElementById('story').insertAdjacentHTML('beforeend', "
        "'<p>The harbour master expects more visitors than last year.</p>')"
    )
    deadline = time.monotonic() + 5
    while browser.stats(tab)["perf"]["fragmentsSent"] == sent:
        assert time.monotonic() < deadline, "the new paragraph was never sent"
        page.wait_for_timeout(50)
    page.wait_for_timeout(300)
    assert browser.badge(tab) == "1"


def test_the_bar_goes_when_the_page_removes_a_collapsed_block(browser, fake, page, site):
    url = f"http://127.0.0.1:{site}/article.html"
    hide_matches(browser, fake, page, url, [r"<aside data-hush-id=([0-9a-z]+)"], hidden=1)
    page.evaluate("document.getElementById('support').remove()")
    page.wait_for_function("document.querySelectorAll('hush-placeholder').length === 0", timeout=3000)
    assert browser.stats(browser.tab_id(page))["collapsed"] == 0


def test_layout_around_collapsed_blocks_holds(browser, fake, page, site):
    """A list item, a table row and a grid cell collapse into placeholders of the same kind: the list
    stays a list, the table keeps its columns, the grid its cells."""

    patterns = (
        r"<li data-hush-id=(\w+) class=donate-item>",
        r"<tr data-hush-id=(\w+) class=appeal-row>",
        r"<div data-hush-id=(\w+) class=appeal-card>",
    )
    hide_matches(browser, fake, page, f"http://127.0.0.1:{site}/layout.html", patterns, 3)
    layout = page.evaluate(
        """() => {
            const box = (sel) => document.querySelector(sel).getBoundingClientRect();
            return {
                navChildren: Array.from(document.querySelector('#nav').children).map((e) => e.localName),
                rows: Array.from(document.querySelectorAll('#scores tr')).map((tr) => tr.children.length),
                rowPlaceholder: !!document.querySelector('#scores tr > td[colspan] > hush-placeholder'),
                cellWidth: box('#last-row td').width,
                firstCellWidth: box('#scores tr td').width,
                cards: document.querySelector('#cards').children.length,
                lastCardTop: box('#last-card').top,
                firstCardTop: box('#cards > div').top,
                lastItemTop: box('#last-item').top,
                firstItemTop: box('#nav > li').top,
            };
        }"""
    )
    assert layout["navChildren"] == ["li", "li", "li", "li"]  # the placeholder is a list item too
    assert layout["rowPlaceholder"]
    assert layout["rows"] == [2, 1, 1, 2]
    assert abs(layout["cellWidth"] - layout["firstCellWidth"]) < 1  # columns line up
    assert layout["cards"] == 4
    assert layout["lastCardTop"] == layout["firstCardTop"] or layout["lastCardTop"] > layout["firstCardTop"]
    assert abs(layout["lastItemTop"] - layout["firstItemTop"]) < 2  # the nav stays on one line
    for placeholder in page.locator("hush-placeholder").all():
        assert placeholder.is_visible()
        assert 10 < placeholder.bounding_box()["height"] < 60


def test_side_by_side_blocks_share_one_placeholder(browser, fake, page, site):
    """Hidden blocks standing side by side (an appeal of plain paragraphs) collapse behind one placeholder,
    and its Show reveals them all; a hidden block further on keeps its own."""

    url = f"http://127.0.0.1:{site}/flat.html"
    hide_matches(browser, fake, page, url, [r"<p data-hush-id=(\w+) class=ask"], 4)
    placeholders = page.locator("hush-placeholder")
    assert placeholders.count() == 2
    tab = browser.tab_id(page)
    for _ in range(40):  # the count reaches the badge a moment after the collapse
        if browser.badge(tab) == "2":
            break
        page.wait_for_timeout(50)
    assert browser.badge(tab) == "2"  # two appeals, four blocks
    assert page.evaluate("document.querySelector('hush-placeholder').nextElementSibling.id") == "a1"
    page.get_by_role("button", name="Show the hidden appeal").first.click()
    assert all(page.locator(f"#a{i}").is_visible() for i in (1, 2, 3))
    assert not page.locator("#a4").is_visible() and placeholders.count() == 1
    page.get_by_role("button", name="Show the hidden appeal").click()
    assert page.locator("#a4").is_visible() and placeholders.count() == 0


def test_pages_over_the_size_cap_are_skipped(hush, page, site):
    stats = open_article(hush, page, site, "/too-big.html")
    assert stats["state"] == "skipped" and stats["error"] == "too-big"
    assert_untouched(page)
    assert page.locator("#support").is_visible()


def test_the_connection_check_tells_a_refused_token(browser, fake):
    """/healthz asks for no token: the check also asks a route that does, so a wrong or missing token is
    told as such, not as "connected"."""
    fake.token = "right-token"
    try:
        check = "async ([endpoint, token]) => hushDebug.checkConnection(endpoint, token)"
        assert browser.sw(check, [fake.url, "right-token"])["ok"]
        wrong = browser.sw(check, [fake.url, "wrong-token"])
        assert not wrong["ok"] and "refused the token" in wrong["error"]
        missing = browser.sw(check, [fake.url, ""])
        assert not missing["ok"] and "asks for a token" in missing["error"]
    finally:
        fake.token = None


def test_a_server_that_says_later_is_asked_again(browser, fake, page, site):
    """A 429 (a proxy's rate limit, as in DEPLOY.md) or a 503 on the page left it untouched for good, in
    the "error" state: the page is sent again after 2 s, then 5 s."""
    for status in (429, 503):
        calls = []

        def answer(request, status=status, calls=calls):
            calls.append(request)
            if len(calls) == 1:
                return status, "application/json", b'{"error": {"code": "later", "message": "try later"}}'
            ids = re.findall(r"<aside data-hush-id=([0-9a-z]+)", request["html"])
            return 200, "application/json", json.dumps({"hide": ids}).encode()

        fake.answer = answer
        browser.set_settings(endpoint=fake.url, token="", mode="placeholder", disabledSites=[])
        page.goto(f"http://127.0.0.1:{site}/article.html")
        page.wait_for_selector("#support[data-hush-hidden]", state="attached", timeout=8000)
        assert len(calls) == 2, status
        assert browser.badge(browser.tab_id(page)) == "1"


def test_failing_endpoint_after_health_check_unstamps(browser, fake, page, site):
    fake.answer = lambda request: (
        500,
        "application/json",
        b'{"error": {"code": "boom", "message": "broken"}}',
    )
    browser.set_settings(endpoint=fake.url, token="", mode="placeholder", disabledSites=[])
    page.goto(f"http://127.0.0.1:{site}/article.html")
    stats = browser.wait_settled(page)
    assert stats["state"] == "unreachable"
    assert_untouched(page)
    assert browser.badge(browser.tab_id(page)) == "!"


def test_reader_corrections_are_stored_and_exported(hush, page, site, tmp_path):
    hush.clear_corrections()
    open_article(hush, page, site)
    page.wait_for_selector("hush-placeholder", timeout=5000)
    tab = hush.tab_id(page)

    # "Hush: hide this as an appeal" on the "Most read" rail (the reader's call, not the model's).
    page.locator(".rail h3").click(button="right")
    reply = hush.menu_click(tab, "hush-hide")
    assert reply and reply.get("ok"), reply
    page.wait_for_selector(".rail[data-hush-hidden]", state="attached", timeout=2000)
    first = hush.corrections()
    assert len(first) == 1 and first[0]["kind"] == "appeal"
    appeal_html = first[0]["html"]
    # The reader's block and the model's blocks carry the label.
    assert re.search(r"<div data-hush-id=\w+ data-hush-label=appeal class=rail>", appeal_html)

    # "Not an appeal" on the placeholder of a block the model hid.
    placeholder = page.locator("hush-placeholder").first
    model_id = placeholder.get_attribute("data-hush-for")
    assert f"data-hush-id={model_id} data-hush-label=appeal" in appeal_html
    placeholder.click(button="right", position={"x": 5, "y": 5})
    reply = hush.menu_click(tab, "hush-not-appeal")
    assert reply and reply.get("ok"), reply
    page.locator(f'[data-hush-id="{model_id}"]').wait_for(state="visible", timeout=2000)
    # The same correction again, on the block now shown: stored once.
    page.locator(f'[data-hush-id="{model_id}"] h2').click(button="right")
    reply = hush.menu_click(tab, "hush-not-appeal")
    assert reply and reply.get("ok"), reply

    # One page, as the reader judged it last: the earlier correction of this view of the page, which
    # still labelled the model's block an appeal, is replaced (under its id, so its file name stays).
    saved = hush.corrections()
    assert [c["kind"] for c in saved] == ["not-appeal"] and saved[0]["id"] == first[0]["id"]
    not_appeal_html = saved[0]["html"]
    # The "not an appeal" page keeps that block, unlabelled, and says so in its head; the rail the
    # reader hid is still labelled.
    assert saved[0]["elementId"] == model_id
    assert f'<meta name="hush-correction" content="not-appeal:{model_id}">' in not_appeal_html
    assert re.search(f"data-hush-id={model_id}(?! data-hush-label)", not_appeal_html)
    assert re.search(r"data-hush-label=appeal class=rail", not_appeal_html)
    for html in (appeal_html, not_appeal_html):
        assert "<script" not in html and "<style" not in html
        assert "Harbour Street bridge reopened" in html

    # Another view of the page (reloaded) is another correction.
    open_article(hush, page, site)
    page.wait_for_selector("hush-placeholder", timeout=5000)
    page.locator(".rail h3").click(button="right")
    reply = hush.menu_click(hush.tab_id(page), "hush-hide")
    assert reply and reply.get("ok"), reply
    assert [c["kind"] for c in hush.corrections()] == ["not-appeal", "appeal"]

    # The options page lists them and exports a zip of .html pages, named by each correction's id.
    options = hush.context.new_page()
    options.goto(hush.url("options.html"))
    options.get_by_text("2 corrections stored on this computer.").wait_for(timeout=3000)
    with options.expect_download(timeout=5000) as download_info:
        options.get_by_role("button", name="Export all (.zip of .html pages)").click()
    target = tmp_path / "export.zip"
    download_info.value.save_as(target)
    options.close()
    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as z:
        names = z.namelist()
        assert len(names) == 2 and all(n.endswith(".html") for n in names)
        assert z.read(names[0]).decode("utf-8") == not_appeal_html
        assert first[0]["id"] in names[0]


def test_options_page_checks_and_saves_endpoint(hush, endpoint, page):
    page.goto(hush.url("options.html"))
    field = page.get_by_label("Endpoint URL")
    assert field.input_value() == endpoint
    page.get_by_role("button", name="Check connection").click()
    page.get_by_text(re.compile(r"^Connected")).wait_for(timeout=5000)

    field.fill("http://example.org:8787")
    page.get_by_role("button", name="Save").click()
    page.get_by_text(re.compile("must use https://")).wait_for(timeout=2000)
    page.get_by_role("button", name="Check connection").click()
    page.locator("#check-result").get_by_text(re.compile("must use https://")).wait_for(timeout=2000)
    assert field.get_attribute("aria-invalid") == "true"
    assert hush.sw("async () => (await chrome.storage.local.get('settings')).settings.endpoint") == endpoint

    field.fill(endpoint)
    token = page.get_by_label("Token")
    token.fill("s\u00ebkrit")  # fetch cannot send it, and hush serve refuses it
    page.get_by_role("button", name="Save").click()
    page.get_by_text(re.compile("no spaces or accents")).wait_for(timeout=2000)
    assert token.get_attribute("aria-invalid") == "true"
    token.fill("")

    page.get_by_label("Hide appeals entirely").check()
    field.fill(endpoint + "/")
    page.get_by_role("button", name="Save").click()
    page.get_by_text(re.compile("^Saved")).wait_for(timeout=2000)
    settings = hush.sw("async () => (await chrome.storage.local.get('settings')).settings")
    assert settings["endpoint"] == endpoint and settings["mode"] == "remove"


def test_the_site_list_takes_names_as_the_browser_gives_them(hush, page):
    """Sites are stored as pages report their host (an accented name in its xn-- form, no www.), and a
    name no page can have is refused."""
    hush.set_settings(disabledSites=[])
    page.goto(hush.url("options.html"))
    field = page.get_by_label("Site to turn Hush off on")
    cases = [
        ("B\u00fccher.de", "xn--bcher-kva.de"),
        ("https://www.Example.org/news?x=1", "example.org"),
        ("foo..com", None),
        ("two words.org", None),
    ]
    for typed, listed in cases:
        field.fill(typed)
        page.get_by_role("button", name="Turn off on this site").click()
        if listed:
            page.locator("#sites").get_by_text(listed, exact=True).wait_for(timeout=2000)
        else:
            page.get_by_text("Write a site name like example.org.").wait_for(timeout=2000)
    stored = hush.sw("async () => (await chrome.storage.local.get('settings')).settings.disabledSites")
    assert stored == ["xn--bcher-kva.de", "example.org"]


def test_messages_only_from_own_scripts(hush, page, site):
    open_article(hush, page, site)
    # Without externally_connectable a web page has no channel to the extension at all.
    assert page.evaluate(
        "() => typeof chrome === 'undefined' || !chrome.runtime || !chrome.runtime.sendMessage"
    )
    # The service worker's router ignores another extension, and a sender that is neither a tab's
    # content script nor one of Hush's own pages.
    routes = hush.sw(
        """async () => {
            const own = chrome.runtime.id;
            const r = (sender) => hushDebug.route({type: 'correction'}, sender);
            return {
                otherExtension: r({id: 'abcdefghijklmnopabcdefghijklmnop', tab: {id: 1}, url: 'https://example.org/'}),
                noTab: r({id: own, url: 'https://example.org/'}),
                contentScript: r({id: own, tab: {id: 1}, frameId: 0, url: 'https://example.org/'}),
                ownPage: r({id: own, url: chrome.runtime.getURL('options.html')}),
            };
        }"""
    )
    assert routes == {"otherExtension": None, "noTab": None, "contentScript": "content", "ownPage": "page"}


def test_packed_chromium_zip_loads(playwright, endpoint, site, tmp_path):
    from server.cli_extension import pack

    chromium_zip = pack(bs.EXTENSION_DIR, tmp_path / "dist")[0]
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(chromium_zip) as z:
        z.extractall(unpacked)
    packed = bs.ExtensionBrowser(playwright, tmp_path / "profile", extension_dir=unpacked)
    try:
        packed.set_settings(endpoint=endpoint)
        page = packed.context.new_page()
        stats = open_article(packed, page, site)
        assert stats["state"] == "running"
        page.wait_for_selector("hush-placeholder", timeout=5000)
    finally:
        packed.close()
