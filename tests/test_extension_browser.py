"""The extension in a real browser: Debian's Chromium with the unpacked extension, driven by Playwright,
against the real `hush serve` and pages served from loopback by the test.

Screenshots of one page before and after Hush are written to tests/artifacts/ for a person to look at.
"""

from __future__ import annotations

import io
import json
import os
import re
import statistics
import zipfile
from pathlib import Path

import browser_support as bs
import pytest

REASON = bs.chromium_available()
if REASON and os.environ.get("CI"):
    raise RuntimeError(f"browser tests cannot run in CI: {REASON}")
pytestmark = pytest.mark.skipif(bool(REASON), reason=REASON or "ok")

SHARED = bs.ROOT.parent / "shared" / "realpages"
SEED = bs.ROOT.parent / "shared" / "seed"

# ------------------------------------------------------------------------------------------ pages
ARTICLE_PARAGRAPHS = [
    "The Harbour Street bridge reopened to traffic on Tuesday morning after eleven weeks of repairs to "
    "its corroded steel bearings, the county roads department said.",
    "Crews replaced four of the six bearings and resurfaced the deck, work that had been planned for "
    "next spring until an inspection in June found cracks wider than expected.",
    "Shop owners on the east bank said the closure had cut their trade by a third. \u201cPeople simply "
    "stopped crossing,\u201d said Mara Ellison, who runs a bakery near the southern ramp.",
    "The repairs cost 2.4 million, slightly below the estimate, and were paid from the county's "
    "maintenance reserve rather than a new levy, according to the finance committee.",
    "A weight limit of 18 tonnes remains in place until the remaining two bearings are replaced in the "
    "autumn, when the bridge will close again for about ten nights.",
    "Cyclists will get a separate lane on the northern side from next month, once the paint has cured "
    "and the railings have been raised to the new standard height.",
]

APPEAL_BOX = """
<aside class="support-box" id="support">
  <h2>Support our newsroom</h2>
  <p>Dear readers, we are reader-funded. If you value independent local reporting, please support us
  with a monthly donation. Every contribution, however small, keeps our journalists on the beat.</p>
  <div class="amounts">
    <button type="button">$5</button> <button type="button">$10</button> <button type="button">$25</button>
  </div>
  <p><a class="donate-button" href="/donate?utm_source=box&amp;amount=10">Donate now</a></p>
</aside>
"""

LATE_APPEAL = """
<section class="late-appeal" id="late-appeal">
  <h2>Support our newsroom</h2>
  <p>Dear readers, we are reader-funded and rely on your monthly donations. Please donate today to keep
  independent local journalism alive. Choose an amount and become a supporter.</p>
  <p><button type="button">$5</button> <button type="button">$10</button> <button type="button">$25</button>
  <a href="/donate">Donate now</a></p>
</section>
"""


def article_page(
    title: str = "Harbour Street bridge reopens after repairs",
    extra_head: str = "",
    appeal: str = APPEAL_BOX,
    tail: str = "",
) -> str:
    paragraphs = "\n".join(
        f'<p class="para" id="p{i}">{text}</p>' for i, text in enumerate(ARTICLE_PARAGRAPHS)
    )
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ font: 17px/1.5 Georgia, serif; margin: 0; color: #222; }}
  header, footer {{ background: #23395d; color: #fff; padding: 12px 24px; }}
  header a, footer a {{ color: #fff; margin-right: 16px; }}
  .layout {{ display: flex; gap: 32px; max-width: 1000px; margin: 24px auto; padding: 0 24px; }}
  article {{ flex: 3; }}
  .rail {{ flex: 1; font-size: 15px; }}
  .support-box, .late-appeal {{ background: #fff3c4; border: 3px solid #e0a800; padding: 16px;
    margin: 24px 0; }}
  .support-box button, .late-appeal button {{ font-size: 18px; padding: 6px 14px; }}
  .donate-button {{ display: inline-block; background: #c0392b; color: #fff; padding: 8px 18px; }}
  /* A page trying to undo Hush: user-origin !important still wins. */
  [data-hush-hidden] {{ display: block !important; }}
  hush-placeholder {{ display: none !important; }}
</style>
{extra_head}
</head>
<body>
<header><a href="/">Riverside Gazette</a><a href="/news">News</a><a href="/sport">Sport</a>
<a href="/weather">Weather</a></header>
<div class="layout">
<article id="story">
<h1>{title}</h1>
<p class="byline">By Tomas Reyes, transport reporter</p>
{paragraphs}
{appeal}
</article>
<div class="rail"><h3>Most read</h3>
<ul><li><a href="/news/ferry-timetable">Ferry timetable changes for winter</a></li>
<li><a href="/news/school-roof">School roof to be replaced over summer</a></li></ul></div>
</div>
<footer><a href="/about">About us</a><a href="/contact">Contact</a></footer>
{tail}
</body>
</html>"""


LATE_PAGE = article_page(
    title="Council approves new cycle lanes on Quay Road",
    appeal="",
    # The page's own script adds an appeal box 2 s after load, as a fundraising widget would. With
    # ?manual the test starts the same function itself (never before 2 s), so a slow machine cannot
    # make the box part of the first page sent.
    tail="<script>window.injectAppeal = function () {"
    "  var holder = document.createElement('div');"
    f"  holder.innerHTML = {json.dumps(LATE_APPEAL)};"
    "  document.getElementById('story').appendChild(holder.firstElementChild);"
    "  window.injectedAt = performance.now();"
    "};"
    "if (!/manual/.test(location.search)) setTimeout(window.injectAppeal, 2000);</script>",
)


def big_page(target_bytes: int = 1_050_000) -> str:
    """A ~1 MB front page made like today's: long class lists, data attributes, inline styles, SVG icons,
    tracking links, analytics snippets, the teasers again as hydration JSON (as server-rendered
    frameworks ship them), and an appeal at the end."""
    icon = (
        '<svg class="icon icon-share" viewBox="0 0 24 24" aria-hidden="true">'
        '<path d="M18 16.08c-.76 0-1.44.3-1.96.77'
        "L8.91 12.7c.05-.23.09-.46.09-.7s-.04-.47-.09-.7l7.05-4.11c.54.5 1.25.81 2.04.81 1.66 0 3-1.34 3-3s"
        "-1.34-3-3-3-3 1.34-3 3c0 .24.04.47.09.7L8.04 9.81C7.5 9.31 6.79 9 6 9c-1.66 0-3 1.34-3 3s1.34 3 3 3"
        "c.79 0 1.5-.31 2.04-.81l7.12 4.16c-.05.21-.08.43-.08.65 0 1.61 1.31 2.92 2.92 2.92"
        "s2.92-1.31 2.92-2.92"
        '-1.31-2.92-2.92-2.92z"/></svg>'
    )
    parts = []
    teasers = []
    i = 0
    size = 0
    while size < target_bytes:
        text = ARTICLE_PARAGRAPHS[i % len(ARTICLE_PARAGRAPHS)]
        block = (
            '<div class="teaser teaser--medium teaser--with-image grid__item grid__item--span-4 '
            f'js-track-teaser u-margin-bottom-m" data-component="Teaser" data-track-id="teaser-{i}" '
            f'data-analytics=\'{{"pos":{i},"list":"latest","variant":"b"}}\' '
            f'style="--teaser-accent:#23395d;order:{i}">'
            f'<a class="teaser__link js-link" href="/news/story-{i}?utm_source=homepage&amp;utm_medium=teaser'
            f'&amp;utm_campaign=latest&amp;ref=grid" data-link-name="teaser-{i}">'
            f'<picture class="teaser__picture">'
            + "".join(
                f'<source type="image/{fmt}" media="(min-width: {w}px)" srcset="/img/{i}-{w}.{fmt} 1x, '
                f'/img/{i}-{w}@2x.{fmt} 2x">'
                for fmt in ("avif", "webp")
                for w in (1200, 800, 400)
            )
            + f'<img class="teaser__image lazyload" src="data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///'
            f'yH5BAEAAAAALAAAAAABAAEAAAIBRAA7" data-src="/img/{i}.jpg" alt="" width="320" height="180">'
            "</picture>"
            f'<h3 class="teaser__headline headline headline--s">Story number {i}</h3></a>'
            f'<p class="teaser__standfirst">{text}</p>'
            f'<span class="teaser__meta"><time datetime="2024-05-0{i % 9 + 1}">May {i % 9 + 1}</time></span>'
            f'<button class="share-button js-share" type="button" aria-label="Share story {i}">'
            f"{icon}</button>"
            f"<!-- teaser {i} end --></div>\n"
        )
        if i % 40 == 0:
            block += (
                '<script type="application/ld+json">{"@context":"https://schema.org","@type":"NewsArticle",'
                f'"headline":"Story {i}","datePublished":"2024-05-01T10:00:00Z","image":["/img/{i}.jpg"],'
                '"author":[{"@type":"Person","name":"Staff"}]}' + "</script>\n"
            )
            block += (
                "<script>window.dataLayer=window.dataLayer||[];dataLayer.push({event:'teaser_block',"
                f"block:{i},ts:Date.now()}});" + "</script>\n"
            )
        parts.append(block)
        teasers.append(
            {
                "id": f"story-{i}",
                "headline": f"Story number {i}",
                "standfirst": text,
                "url": f"/news/story-{i}",
                "image": {"src": f"/img/{i}.jpg", "width": 320, "height": 180},
                "tracking": {"list": "latest", "position": i, "variant": "b"},
            }
        )
        size += len(block) + len(json.dumps(teasers[-1]))
        i += 1
    hydration = json.dumps({"props": {"pageProps": {"teasers": teasers}}, "page": "/", "buildId": "b1"})
    body = "".join(parts) + f'<script id="__NEXT_DATA__" type="application/json">{hydration}</script>'
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Front page</title>'
        "<style>.teaser{display:inline-block;width:30%;vertical-align:top;margin:1%}"
        ".teaser__image{width:100%;height:auto;background:#ddd}.icon{width:16px;height:16px}</style>"
        f'</head><body><main class="grid">{body}</main>{APPEAL_BOX}</body></html>'
    )


BIG_PAGE = big_page()
LAYOUT_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Layout</title>
<style>
  body { font: 16px/1.4 sans-serif; margin: 20px; }
  #nav { display: flex; gap: 12px; list-style: none; padding: 0; }
  #scores td { border: 1px solid #999; padding: 4px 8px; }
  #cards { display: grid; grid-template-columns: repeat(3, 200px); gap: 10px; }
  #cards > div { border: 1px solid #ccc; padding: 8px; min-height: 80px; }
</style></head><body>
<ul id="nav"><li><a href="/">Home</a></li><li class="donate-item"><a href="/donate">Donate</a></li>
<li id="last-item"><a href="/contact">Contact</a></li></ul>
<table id="scores"><tr><td>Harbour Rovers</td><td>3</td></tr>
<tr class="appeal-row"><td colspan="2">Enjoying the scores? Please donate to keep them free.</td></tr>
<tr id="last-row"><td>Quay United</td><td>1</td></tr></table>
<div id="cards"><div>Tide tables for the week</div><div class="appeal-card">Support us: donate monthly</div>
<div id="last-card">Ferry times</div></div>
<p>The results above are updated every evening by our sports desk.</p>
</body></html>"""

TOO_BIG_PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Huge</title></head><body><div>'
    + "<b>x</b>" * 100_001
    + APPEAL_BOX
    + "</div></body></html>"
)

# Markup the extension's compact copy rewrites: a link row in <font>, a table without <tbody>, icons
# that are an empty <span> around an <svg>, long links with queries, generated class names, a body class.
MARKUP_PAGE = """<!DOCTYPE html><html class="no-js" lang="en"><head><meta charset="utf-8">
<title>Markup</title></head><body class="single single-post postid-4411 page-template-default">
<table class="layout-2col"><tr><td class="navbar"><font size="2"><a href="/index.php">Home</a> |
<a href="https://www.example.org/news/local/">News</a> | <a href="/support/?utm_source=nav&amp;x=1">Support
us</a></font></td></tr>
<tr><td><p><strong>Mara Ellison</strong> <span class="date">12.03.2024</span></p>
<p>The ferry timetable changes on Monday, when the winter service starts and the last crossing moves
to half past eight.</p></td></tr></table>
<div class="css-1x2y3z sc-AxjAm share-tools__kQzPa"><a class="share-link" href="https://social.example/share?u=1">
<span class="icon icon-share"><svg viewBox="0 0 8 8"><path d="M0 0h8v8z"></path></svg></span> Share</a></div>
<aside class="support-box member-drive" role="complementary"><h2>Keep the <em>Gazette</em> going</h2>
<p>We rely on readers like you. <b>Become a member</b> for <i>5 a month</i>.</p>
<a class="btn btn-primary" role="presentation"
href="https://members.example.org/campaigns/2024/winter-drive/join/monthly-membership-options?ref=box">Join
now</a></aside>
<div class="gallery"><figure class="photo"><img src="/harbour.jpg" alt="The harbour"></figure></div>
<div class="notes">Ferry notes <div class="ad-slot" id="slot-2"><img src="/ad.gif"></div> go on here.
<span class="icon icon-anchor"><img src="/anchor.png"></span> Berth 4.</div>
<div id="footer" class="site-footer"><p>Printed by the harbour press.
<a href="javascript:void(0)">Top</a></p></div>
</body></html>"""


# An appeal of plain paragraphs standing among the article's (ids a1-a3), and one more appeal paragraph
# after a paragraph of the article (a4).
FLAT_PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Flat</title></head>
<body><div id="story"><p>The ferry will run twice a day from May.</p>
<p class="ask" id="a1">Dear readers, this paper is written by four people.</p>
<!-- a comment between two blocks does not part them -->
<p class="ask" id="a2">We need 300 more of you to give monthly.</p>
<p class="ask" id="a3">Remind me later.</p>
<p>The harbour master expects more visitors than last year.</p>
<p class="ask" id="a4">Give today.</p></div></body></html>"""


PAGES = {
    "/article.html": article_page(),
    "/flat.html": FLAT_PAGE,
    "/layout.html": LAYOUT_PAGE,
    "/too-big.html": TOO_BIG_PAGE,
    "/late.html": LATE_PAGE,
    "/big.html": BIG_PAGE,
    "/markup.html": MARKUP_PAGE,
    "/hostile.html": article_page(
        title="Library extends opening hours",
        appeal=APPEAL_BOX.replace(
            '<aside class="support-box"', '<aside data-hush-id="zz" class="support-box"'
        ),
    ),
}


def corpus_spread() -> dict[str, Path]:
    """A fixed spread of the hand-written corpus: every tenth page, all markup styles among them."""
    files = sorted((bs.ROOT / "corpus" / "pages").glob("*/*.html"))
    return {f"/corpus/{p.parent.name}/{p.name}": p for p in files[::10]}


def seed_files() -> dict[str, Path]:
    return {f"/seed/{p.name}": p for p in sorted(SEED.glob("*.html"))} if SEED.is_dir() else {}


def real_page_files() -> dict[str, Path]:
    if not SHARED.is_dir():
        return {}
    files = sorted(p for p in SHARED.glob("*.html") if p.stat().st_size >= 100_000)
    # A fixed spread of real pages: every fourth one of 100 KB or more.
    return {f"/real/{p.name}": p for p in files[::4]}


# --------------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def endpoint():
    with bs.hush_serve() as url:
        yield url


@pytest.fixture(scope="module")
def fake():
    fake = bs.FakeEndpoint()
    with bs.serve_in_thread(fake.handler()) as port:
        fake.url = f"http://127.0.0.1:{port}"
        yield fake


@pytest.fixture(scope="module")
def site():
    with bs.page_server(PAGES, {**real_page_files(), **corpus_spread(), **seed_files()}) as port:
        yield port


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright, tmp_path_factory):
    b = bs.ExtensionBrowser(playwright, tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield b
    finally:
        b.close()


@pytest.fixture
def hush(browser, endpoint):
    """The extension pointed at the real `hush serve`, placeholder mode, no paused sites."""
    browser.set_settings(endpoint=endpoint, token="", mode="placeholder", disabledSites=[])
    return browser


@pytest.fixture
def page(browser):
    page = browser.context.new_page()
    yield page
    page.close()


# -------------------------------------------------------------------------------------- assertions
def assert_article_visible(page):
    for i in range(len(ARTICLE_PARAGRAPHS)):
        para = page.locator(f"#p{i}")
        assert para.is_visible(), f"article paragraph #{i} was hidden"
        box = para.bounding_box()
        assert box and box["height"] > 10 and box["width"] > 100, (
            f"article paragraph #{i} lost its layout: {box}"
        )


def assert_untouched(page):
    touched = page.evaluate(
        """() => ({
            stamped: document.querySelectorAll('[data-hush-id]:not([data-hush-id="zz"])').length,
            hidden: document.querySelectorAll('[data-hush-hidden]').length,
            placeholders: document.querySelectorAll('hush-placeholder, [data-hush-placeholder-wrap]').length,
        })"""
    )
    assert touched == {"stamped": 0, "hidden": 0, "placeholders": 0}, touched


def open_article(hush, page, site, path="/article.html", host="127.0.0.1"):
    page.goto(f"http://{host}:{site}{path}")
    return hush.wait_settled(page)


# Which wrapper the model names (the box, or the paragraphs in it) is the model's business; these check
# what the reader sees: the appeal's words are gone, or back.
def wait_appeal_collapsed(page, root="#support", timeout=5000):
    page.wait_for_function(
        f"""() => {{
            const paras = document.querySelectorAll({json.dumps(root + " p")});
            return paras.length > 0 && Array.from(paras).every((p) => !p.checkVisibility());
        }}""",
        timeout=timeout,
    )


def appeal_text_visible(page, root="#support"):
    return page.evaluate(
        f"""() => Array.from(document.querySelectorAll({json.dumps(root + " p")}))
                     .every((p) => p.checkVisibility())"""
    )


# -------------------------------------------------------------------------------------------- tests
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


def hide_matches(browser, fake, page, url: str, patterns, hidden: int) -> None:
    """Open url with a fake endpoint that hides every element whose stamp a pattern finds in the copy
    sent, and wait until that many elements are hidden."""

    def answer(request):
        ids = [i for pattern in patterns for i in re.findall(pattern, request["html"])]
        return 200, "application/json", json.dumps({"hide": ids}).encode()

    fake.answer = answer
    browser.set_settings(endpoint=fake.url, token="", mode="placeholder", disabledSites=[])
    page.goto(url)
    browser.wait_settled(page)
    count = f"document.querySelectorAll('[data-hush-hidden]').length === {hidden}"
    page.wait_for_function(count, timeout=3000)


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


# Characters of the page's visible text by label, and those inside what the extension collapsed.
COUNT_BY_LABEL = """() => {
  const out = {appeal: 0, content: 0, hidden_appeal: 0, hidden_content: 0};
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || el.closest('script, style, noscript, template, svg, [data-hush-for]')) continue;
    const chars = node.data.replace(/\\s+/g, '').length;
    const marked = el.closest('[data-hush-label]');
    const label = marked ? marked.getAttribute('data-hush-label') : 'content';
    if (!chars || label === 'other') continue;
    const key = label === 'appeal' ? 'appeal' : 'content';
    out[key] += chars;
    if (el.closest('[data-hush-hidden]')) out['hidden_' + key] += chars;
  }
  return out;
}"""


def evaluated(model, file: Path):
    """What `hush evaluate` counts for a labelled page: its characters by label, and those hidden."""
    from model.labelled import load_page
    from model.metrics import block_counts

    labelled = load_page(file, file.parent)
    hidden = model.score_page(labelled.page).appeal
    return block_counts(labelled.appeal_chars, labelled.content_chars, hidden)


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
        expected = {"hidden_appeal": counts.hidden_appeal, "hidden_content": counts.hidden_content}
        assert {k: seen[k] for k in expected} == expected, path
        # The same text is counted (the DOM may hold a stray character the model does not read, such as a
        # close button's glyph).
        assert seen["appeal"] == counts.appeal, path
        assert abs(seen["content"] - counts.content) <= max(2, counts.content // 200), path
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
        counts = evaluated(model, file)
        for key, expected in (
            ("hidden_appeal", counts.hidden_appeal),
            ("hidden_content", counts.hidden_content),
        ):
            assert abs(seen[key] - expected) <= max(5, expected // 50), (path, key, seen[key], expected)
        compared += 1
    assert compared >= 10


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

    # "Not an appeal" on the placeholder of a block the model hid.
    placeholder = page.locator("hush-placeholder").first
    model_id = placeholder.get_attribute("data-hush-for")
    placeholder.click(button="right", position={"x": 5, "y": 5})
    reply = hush.menu_click(tab, "hush-not-appeal")
    assert reply and reply.get("ok"), reply
    page.locator(f'[data-hush-id="{model_id}"]').wait_for(state="visible", timeout=2000)

    saved = hush.corrections()
    assert [c["kind"] for c in saved] == ["appeal", "not-appeal"]
    appeal_html, not_appeal_html = saved[0]["html"], saved[1]["html"]
    # The reader's block and the model's blocks carry the label ...
    assert re.search(r"<div data-hush-id=\w+ data-hush-label=appeal class=rail>", appeal_html)
    assert f"data-hush-id={model_id} data-hush-label=appeal" in appeal_html
    # ... and the "not an appeal" page keeps that block, unlabelled, and says so in its head.
    assert saved[1]["elementId"] == model_id
    assert f'<meta name="hush-correction" content="not-appeal:{model_id}">' in not_appeal_html
    assert re.search(f"data-hush-id={model_id}(?! data-hush-label)", not_appeal_html)
    assert re.search(r"data-hush-label=appeal class=rail", not_appeal_html)  # still labelled
    for html in (appeal_html, not_appeal_html):
        assert "<script" not in html and "<style" not in html
        assert "Harbour Street bridge reopened" in html

    # The options page lists them and exports a zip of .html pages.
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
        assert z.read(names[1]).decode("utf-8") == not_appeal_html


def test_options_page_checks_and_saves_endpoint(hush, endpoint, page):
    page.goto(hush.url("options.html"))
    field = page.get_by_label("Endpoint URL")
    assert field.input_value() == endpoint
    page.get_by_role("button", name="Check connection").click()
    page.get_by_text(re.compile(r"^Connected")).wait_for(timeout=5000)

    field.fill("http://example.org:8787")
    page.get_by_role("button", name="Save").click()
    page.get_by_text(re.compile("must use https://")).wait_for(timeout=2000)
    assert hush.sw("async () => (await chrome.storage.local.get('settings')).settings.endpoint") == endpoint

    page.get_by_label("Hide appeals entirely").check()
    field.fill(endpoint + "/")
    page.get_by_role("button", name="Save").click()
    page.get_by_text(re.compile("^Saved")).wait_for(timeout=2000)
    settings = hush.sw("async () => (await chrome.storage.local.get('settings')).settings")
    assert settings["endpoint"] == endpoint and settings["mode"] == "remove"


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
