"""What the extension sends, in a real browser: its compact copy of the page (what it keeps, what it leaves
out, how small it is and how long it takes), and that the model reads the copy as it reads the page in
training, so that what the extension collapses is what `hush evaluate` counts. Fixtures in conftest.py.
"""

from __future__ import annotations

import re
import statistics

import browser_support as bs
import pytest
from extension_pages import (
    BIG_PAGE,
    COUNT_BY_LABEL,
    MARKUP_PAGE,
    SHARED,
    assert_collapsed_as_counted,
    assert_collapsed_near_count,
    corpus_spread,
    evaluated,
    open_article,
    real_page_files,
    seed_files,
    wait_appeal_collapsed,
)

pytestmark = bs.needs_chromium()


def test_token_is_sent_and_payload_is_compact(browser, fake, page, site):
    fake.answer = lambda request: (200, "application/json", b'{"hide": []}')
    fake.requests.clear()
    fake.headers.clear()
    browser.set_settings(endpoint=fake.url, token="s3cret-token", mode="placeholder", disabledSites=[])
    page.goto(f"http://127.0.0.1:{site}/article.html?session=abc#top")
    browser.wait_settled(page, url=page.url)
    assert fake.headers[0].get("Authorization") == "Bearer s3cret-token"
    request = fake.requests[0]
    assert request["url"] == f"http://127.0.0.1:{site}/article.html"  # no query string, no fragment
    assert request["context"] == {"title": "Harbour Street bridge reopens after repairs", "lang": "en"}
    html = request["html"]
    for gone in ("<script", "<style", "<svg", "<!--", "style=", "utm_source", "data:"):
        assert gone not in html
    assert " href=/donate>" in html  # a value that needs no quotes goes without them
    assert ' href="/">' in html  # one ending in "/" keeps them
    assert "Harbour Street bridge reopened" in html
    assert re.search(r"<aside data-hush-id=[0-9a-z]+ class=support-box id=support>", html)


def test_images_and_what_held_nothing_else_are_left_out(browser, fake, page, site):
    """No image is sent; a block that held only images goes bare (no attributes, no id) where it parts two
    stretches of text, and an inline icon that held only an image goes altogether."""
    html = sent_copy(browser, fake, page, f"http://127.0.0.1:{site}/markup.html")
    for gone in ("<img", "gallery", "photo", "ad-slot", "slot-2", "icon-anchor"):
        assert gone not in html
    assert "<div></div>" in html  # the gallery: one bare block, not one per level
    assert "<figure" not in html
    notes = r"<div data-hush-id=[0-9a-z]+ class=notes>Ferry notes <div></div> go on here\. +Berth 4\."
    assert re.search(notes, html)


def test_ids_and_end_tags_go_where_they_say_nothing(browser, fake, page, site):
    """The server names the outermost stamped elements whose text is all appeal, never one without text:
    a paragraph that holds all its stamped section's text, and a box with no text, are sent without ids.
    Nor are the end tags the server's parser infers from what follows."""
    html = sent_copy(browser, fake, page, f"http://127.0.0.1:{site}/markup.html")
    stamp = r" data-hush-id=[0-9a-z]+"
    assert re.search(f"<section{stamp} class=promo><div class=promo-inner><p>Tide tables", html)
    # ... and so is the </a> that the </div> after it implies.
    assert "<div class=follow-us><a href=//social.example/harbourpress></div>" in html
    # A box whose text is split among its children keeps its id, and they keep theirs.
    assert re.search(f'<aside{stamp} class="support-box member-drive" role=complementary><h2{stamp}>', html)
    # A list item's end tag goes where the next item or the list's end closes it.
    tides = f"<ul{stamp} class=tides><li{stamp}>High water 06:10<li{stamp}>Low water 12:25</ul>"
    assert re.search(tides, html)
    ids = re.findall(r"data-hush-id=([0-9a-z]+)", html)
    assert len(ids) == len(set(ids))


def test_links_to_the_pages_own_site_go_as_their_paths(browser, fake, page):
    """On a page at https://www.ferry.example/, a link to that site goes as its path, written with or
    without "www.", with either scheme or none; a link to any other host, a subdomain too, keeps it."""
    url = "https://www.ferry.example/today.html"
    links = [
        ("https://www.ferry.example/news/", "Timetable news"),
        ("http://ferry.example/donate", "Keep the ferry afloat"),
        ("//WWW.Ferry.example/about?ref=nav", "About the crossing"),
        ("https://ferry.example", "Home"),
        ("https://ferry.example.org/routes", "Routes elsewhere"),
        ("https://shop.ferry.example/mugs", "Mugs"),
    ]
    nav = "".join(f'<li><a href="{href}">{text}</a></li>' for href, text in links)
    body = f"<!DOCTYPE html><title>Ferry</title><nav><ul>{nav}</ul></nav><p>Boats run from Monday.</p>"
    page.route(url, lambda route: route.fulfill(status=200, body=body, content_type="text/html"))
    html = sent_copy(browser, fake, page, url)
    sent = re.findall(r"<a href=([^>]*)>", html)
    assert sent == [
        '"/news/"',
        "/donate",
        "/about",
        '"/"',
        "//ferry.example.org/routes",
        "//shop.ferry.example/mugs",
    ]


def test_payload_is_compact_and_main_thread_time_is_short(hush, page, site):
    stats = open_article(hush, page, site, "/big.html")
    perf = stats["perf"]
    raw = len(BIG_PAGE)
    assert raw > 1_000_000
    ratio = perf["payloadChars"] / raw
    print(
        f"1 MB page: payload {perf['payloadChars']} chars ({ratio:.1%} of {raw}), "
        f"{perf['elements']} elements, busy {perf['busyMs']:.1f} ms in {perf['slices']} slices, "
        f"longest slice {perf['maxSliceMs']:.1f} ms"
    )
    assert ratio <= 0.30
    assert perf["maxSliceMs"] <= 50, "a slice of DOM work blocked the page for more than 50 ms"
    # The budget is 50 ms; a loaded 2-core CI machine can stretch the wall-clock slices, hence the margin.
    assert perf["busyMs"] <= 120, "stamping and serialising took far longer than budgeted"
    wait_appeal_collapsed(page)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/realpages is not beside the checkout")
def test_payload_ratio_on_real_pages(browser, fake, page, site):
    """Real pages of today's size (raw HTML of 100 KB or more): the median payload is at most 30% of the
    raw HTML, and no slice of DOM work blocks the page for more than 50 ms."""
    fake.answer = lambda request: (200, "application/json", b'{"hide": []}')
    browser.set_settings(endpoint=fake.url, token="", mode="placeholder", disabledSites=[])
    ratios = []
    slices = []
    busy = []
    for path, file in real_page_files().items():
        url = f"http://127.0.0.1:{site}{path}"
        page.goto(url, wait_until="domcontentloaded", timeout=10000)
        stats = browser.wait_settled(page, url=url)
        if not stats or stats["state"] != "running":
            continue  # the page navigated itself away, or was skipped
        ratios.append(stats["perf"]["payloadChars"] / file.stat().st_size)
        slices.append(stats["perf"]["maxSliceMs"])
        busy.append(stats["perf"]["busyMs"])
    assert len(ratios) >= 10
    median = statistics.median(ratios)
    print(
        f"real pages: median payload {median:.1%} of raw HTML over {len(ratios)} pages "
        f"(max {max(ratios):.1%}); main-thread time median {statistics.median(busy):.1f} ms, "
        f"max {max(busy):.1f} ms; longest slice {max(slices):.1f} ms"
    )
    assert median <= 0.30
    assert max(slices) <= 50


def sent_copy(browser, fake, page, url: str) -> str:
    """The HTML the extension sends for the page at url (its first request)."""
    fake.answer = lambda request: (200, "application/json", b'{"hide": []}')
    browser.set_settings(endpoint=fake.url, token="", mode="placeholder", disabledSites=[])
    before = len(fake.requests)
    page.goto(url, wait_until="load")
    browser.wait_settled(page)
    assert len(fake.requests) > before, f"nothing was sent for {url}"
    return fake.requests[before]["html"]


def first_difference(a, b) -> str:
    if a.shape != b.shape:
        return f"{len(a)} blocks read from the page, {len(b)} from the copy"
    for r, (x, y) in enumerate(zip(a, b, strict=True)):
        if any(u != v for u, v in zip(x, y, strict=True)):
            return f"block {r}: page {list(x)!r}\n copy {list(y)!r}"
    return ""


def test_the_model_reads_the_extensions_copy_as_it_reads_the_page(browser, fake, page, site):
    """Training reads labelled pages as files, serving reads the extension's compact copy of the live page:
    every feature of every block must come out the same, or the model meets at work what it never saw."""
    from model import features
    from model.labelled import read_page
    from model.parse import parse
    from model.segment import segment

    pages = {"/markup.html": MARKUP_PAGE, **{k: read_page(f) for k, f in corpus_spread().items()}}
    assert len(pages) >= 25
    for path, html in pages.items():
        copy = sent_copy(browser, fake, page, f"http://127.0.0.1:{site}{path}")
        read = features.block_rows(segment(parse(html)))
        sent = features.block_rows(segment(parse(copy)))
        assert len(read) > 0
        assert not first_difference(read, sent), f"{path}: {first_difference(read, sent)}"


def test_what_the_extension_collapses_is_what_hush_evaluate_counts(hush, page, site):
    """The score that counts is taken in the browser: on the seed pages and a spread of the corpus, the
    characters the extension collapses are, label by label, those `hush evaluate` counts as hidden."""
    from model.predict import load_model

    model = load_model()
    files = {**seed_files(), **dict(list(corpus_spread().items())[::3])}
    collapsed_any = False
    for path, file in files.items():
        url = f"http://127.0.0.1:{site}{path}"
        page.goto(url, wait_until="load")
        hush.wait_settled(page)
        page.wait_for_timeout(300)  # the collapse follows the answer
        seen = page.evaluate(COUNT_BY_LABEL)
        counts = evaluated(model, file)
        assert_collapsed_as_counted(seen, counts, path)
        if path == "/seed/seed-flat.html":  # the user's appeal of plain paragraphs: one bar for it all
            assert page.locator("hush-placeholder").count() == 1
        collapsed_any = collapsed_any or counts.hidden_appeal > 0
    assert collapsed_any


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/realpages is not beside the checkout")
def test_on_real_pages_the_extension_collapses_what_hush_evaluate_counts(hush, page, site):
    """The same on real pages, whose own scripts run in the browser and may change their text a little:
    page by page, the collapsed characters stay within 2% of what `hush evaluate` counts."""
    from model.predict import load_model

    model = load_model()
    compared = 0
    for path, file in real_page_files().items():
        url = f"http://127.0.0.1:{site}{path}"
        page.goto(url, wait_until="load")
        stats = hush.wait_settled(page, timeout=20, url=url)
        if not stats or stats["state"] != "running":
            continue  # the page sent itself elsewhere (an https redirect, say)
        page.wait_for_timeout(300)
        seen = page.evaluate(COUNT_BY_LABEL)
        assert_collapsed_near_count(seen, evaluated(model, file), path)
        compared += 1
    assert compared >= 10
