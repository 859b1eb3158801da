"""The extension on pages that change what it judged: text rewritten in place (a single-page app's next
story in the same boxes, a widget filling a "Loading…" box), a collapsed block taken away and put back,
an overlay or dialog the page shows only later, a widget with its own style sheet, a shown block's text
met again elsewhere, and a site paused with two of its tabs open. Pages are in extension_pages.py."""

from __future__ import annotations

import re

import browser_support as bs
from extension_pages import fragments_settle, hide_matches, open_answered, wheel_scrolls

pytestmark = bs.needs_chromium()

ASIDE = re.compile(r"<aside data-hush-id=([0-9a-z]+)[^>]*>(.{0,80})", re.S)  # end tags are left out
OVERLAY = r"<div data-hush-id=([0-9a-z]+) id=overlay"
HIDDEN = "[data-hush-hidden]"


def hide_asking_boxes(browser, fake, page, url: str, hidden: int = 1) -> None:
    """open_answered, hiding the <aside> boxes whose text, as sent, opens by asking for support."""

    def ids_in(html: str) -> list[str]:
        return [m.group(1) for m in ASIDE.finditer(html) if "Support our newsroom" in m.group(2)]

    open_answered(browser, fake, page, url, ids_in, hidden)


NEXT_STORY = """() => {
    const box = document.getElementById('support');
    box.querySelector('h2').textContent = 'Key facts about the crossing';
    const [first, second] = box.querySelectorAll('p');
    first.textContent = 'The crossing carries twelve thousand vehicles a day and first opened in spring.';
    second.textContent = 'Its deck was last replaced after the floods, when the river rose above the piers.';
    box.querySelector('.amounts').remove();
}"""


def test_a_collapsed_box_the_page_fills_with_its_next_story_is_shown(browser, fake, page, site):
    """A single-page app writes its next story into the boxes it has: the box Hush collapsed now holds
    article text, and is shown again, judged anew (the endpoint no longer names it)."""
    hide_asking_boxes(browser, fake, page, f"http://127.0.0.1:{site}/article.html")
    tab = browser.tab_id(page)
    before = browser.stats(tab)["perf"]["fragmentsSent"]
    page.evaluate(NEXT_STORY)
    page.wait_for_function(f"!document.querySelector('{HIDDEN}')", timeout=3000)
    assert fragments_settle(browser, page, tab) > before  # the box went to the endpoint again
    assert page.locator("#support p").first.is_visible()
    assert page.locator("hush-placeholder").count() == 0
    assert browser.badge(tab) in ("", "0")  # it counted the box shown, as collapsed, until reloaded


def test_digits_changing_in_a_collapsed_box_keep_it_collapsed(browser, fake, page, site):
    """A fund drive's countdown or running total changes digits only: no new text, nothing sent."""
    hide_asking_boxes(browser, fake, page, f"http://127.0.0.1:{site}/article.html")
    tab = browser.tab_id(page)
    before = browser.stats(tab)["perf"]["fragmentsSent"]
    for amount in (6, 7, 8):
        page.evaluate(f"document.querySelector('#support button').textContent = '${amount}'")
        page.wait_for_timeout(150)
    assert fragments_settle(browser, page, tab) == before
    assert page.evaluate("document.getElementById('support').hasAttribute('data-hush-hidden')")


def test_a_box_whose_text_arrives_later_is_judged_then(browser, fake, page, site):
    """A widget puts up a "Loading…" box, judged as nothing, and writes its appeal into it later."""
    hide_asking_boxes(browser, fake, page, f"http://127.0.0.1:{site}/article.html")
    page.evaluate(
        """() => { const box = document.createElement('aside'); box.id = 'later';
        box.textContent = 'Loading the latest from our newsroom, one moment please';
        document.querySelector('footer').before(box); }"""
    )
    fragments_settle(browser, page, browser.tab_id(page))
    assert not page.evaluate("document.getElementById('later').hasAttribute('data-hush-hidden')")
    page.evaluate(
        "document.getElementById('later').textContent = 'Support our newsroom: dear readers, please donate "
        "monthly to keep local reporting free.'"
    )
    page.wait_for_function("document.getElementById('later').hasAttribute('data-hush-hidden')", timeout=3000)


def test_a_collapsed_box_taken_away_and_put_back_is_collapsed_again(browser, fake, page, site):
    """The same element back in the page (a tab panel, a carousel) is judged again: it was shown, bar
    gone, when it left, and stayed in view when it came back."""
    hide_asking_boxes(browser, fake, page, f"http://127.0.0.1:{site}/article.html")
    page.evaluate(
        """() => { const box = document.getElementById('support');
        window.kept = [box, box.parentNode, box.nextSibling]; box.remove(); }"""
    )
    page.wait_for_timeout(500)  # past the check for collapsed blocks the page took away
    assert page.locator("hush-placeholder").count() == 0
    page.evaluate("() => { const [box, parent, next] = window.kept; parent.insertBefore(box, next); }")
    page.wait_for_function(
        "document.getElementById('support').hasAttribute('data-hush-hidden')", timeout=3000
    )
    assert page.locator("hush-placeholder").count() == 1


def test_a_box_carrying_its_own_style_sheet_is_collapsed(browser, fake, page, site):
    """Its CSS is no text a reader sees, and is not sent: counted, it made the box look like most of
    the page, and the endpoint's answer was refused."""
    hide_matches(
        browser,
        fake,
        page,
        f"http://127.0.0.1:{site}/styled-box.html",
        [r"<aside data-hush-id=([0-9a-z]+)"],
        1,
    )
    assert page.locator("#p0").is_visible()


def test_a_collapsed_dialog_the_page_opens_later_leaves_the_page_usable(browser, fake, page, site):
    """Opened modal while collapsed, the dialog would make the rest of the page inert, the bar too: it
    is closed again, and Show opens it."""
    url = f"http://127.0.0.1:{site}/dialog-later.html"
    hide_matches(browser, fake, page, url, [r"<dialog data-hush-id=([0-9a-z]+)"], hidden=1)
    page.evaluate("document.getElementById('appeal-dialog').showModal()")
    page.wait_for_function("!document.querySelector(':modal')", timeout=3000)
    page.locator("#p0").click(timeout=2000)  # not inert
    page.get_by_role("button", name="Show the hidden appeal").click(timeout=2000)
    assert page.evaluate("document.getElementById('appeal-dialog').matches(':modal')")


def test_an_overlay_the_page_shows_later_takes_its_backdrop_and_lock_along(browser, fake, page, site):
    """The overlay and its backdrop were in the page, not shown, from the start; shown (and the page's
    scrolling stopped) after Hush collapsed the overlay, they left the page dark and frozen."""
    show = """() => { for (const id of ['backdrop', 'overlay']) {
        document.getElementById(id).style.display = ''; } document.body.classList.add('modal-open'); }"""
    overlay_shown_later_is_released(
        browser, fake, page, f"http://127.0.0.1:{site}/overlay-hidden.html", OVERLAY, show
    )


def overlay_shown_later_is_released(browser, fake, page, url: str, pattern: str, show: str) -> None:
    """Collapse the overlay the pattern finds, have the page show it (the script ``show``) a while
    later, and check that its backdrop and lock went with it, and came back with Show."""
    hide_matches(browser, fake, page, url, [pattern], hidden=1)
    page.wait_for_timeout(1300)  # past the second look Hush takes after collapsing
    page.evaluate(show)
    page.wait_for_function("!document.getElementById('backdrop').checkVisibility()", timeout=3000)
    page.locator("#p0").click(timeout=2000)
    assert wheel_scrolls(page)
    page.get_by_role("button", name="Show the hidden appeal").click(timeout=2000)
    assert page.evaluate("document.getElementById('backdrop').checkVisibility()")
    assert not wheel_scrolls(page)


SECOND_OVERLAY = """() => document.body.insertAdjacentHTML('beforeend',
    '<div id="backdrop2" style="position: fixed; inset: 0; background: rgba(0, 0, 0, 0.5)"></div>' +
    '<div id="overlay2" style="position: fixed; inset: 0; padding: 10vh 10vw"><aside class="support-box">' +
    '<h2>Support our newsroom</h2><p>Dear readers, please donate monthly to keep reporting free.</p>' +
    '</aside></div>')"""


def test_a_second_collapsed_overlay_takes_its_own_backdrop_along(browser, fake, page, site):
    """Only one overlay's release was kept at a time: a second appeal overlay, collapsed while the first
    still was, left its backdrop over the page. Each Show puts back its own."""
    hide_matches(browser, fake, page, f"http://127.0.0.1:{site}/overlay-backdrop.html", [OVERLAY], hidden=1)
    page.wait_for_function("!document.getElementById('backdrop').checkVisibility()", timeout=3000)
    page.evaluate(SECOND_OVERLAY)
    page.wait_for_function(
        "document.getElementById('overlay2').hasAttribute('data-hush-hidden')", timeout=3000
    )
    page.wait_for_function("!document.getElementById('backdrop2').checkVisibility()", timeout=3000)
    page.locator("#p0").click(timeout=2000)  # nothing in front of it
    page.locator("hush-placeholder[data-hush-for]").last.get_by_role("button").click(timeout=2000)
    assert page.evaluate("document.getElementById('backdrop2').checkVisibility()")
    assert not page.evaluate("document.getElementById('backdrop').checkVisibility()")


def test_a_shown_blocks_text_elsewhere_is_collapsed(browser, fake, page, site):
    """What the reader showed stays shown where it is; the same appeal in another place (the next story
    of a feed) is collapsed."""
    hide_asking_boxes(browser, fake, page, f"http://127.0.0.1:{site}/article.html")
    page.get_by_role("button", name="Show the hidden appeal").click(timeout=2000)
    page.evaluate(
        """() => { const box = document.getElementById('support');
        document.querySelector('footer').insertAdjacentHTML('beforebegin',
            box.outerHTML.replace('id="support"', 'id="again"')); }"""
    )
    page.wait_for_function("document.getElementById('again').hasAttribute('data-hush-hidden')", timeout=3000)
    assert page.locator("#support p").first.is_visible()


def test_a_shown_block_stays_shown_when_the_page_draws_it_again(browser, fake, page, site):
    """A block the reader showed was collapsed again when the page drew anew the element around it (its
    old parent gone, only that parent was remembered), or drew it again after an in-page link changed the
    address's #fragment (taken for another view of a single-page app)."""
    redraws = {
        "the layout around it": "const layout = document.querySelector('.layout');"
        " layout.outerHTML = layout.outerHTML;",
        "itself, after a #fragment": "location.hash = '#p3'; const box = document.getElementById('support');"
        " box.outerHTML = box.outerHTML;",
    }
    for name, redraw in redraws.items():
        hide_asking_boxes(browser, fake, page, f"http://127.0.0.1:{site}/article.html")
        tab = browser.tab_id(page)
        page.get_by_role("button", name="Show the hidden appeal").click(timeout=2000)
        before = browser.stats(tab)["perf"]["fragmentsSent"]
        page.evaluate(f"() => {{ {redraw} }}")
        assert fragments_settle(browser, page, tab) > before, name  # the copy was judged
        assert not page.evaluate("document.getElementById('support').hasAttribute('data-hush-hidden')"), name
        assert page.locator("#support p").first.is_visible(), name


def test_a_collapsed_box_whose_attributes_the_page_brings_in_line_stays_collapsed(browser, fake, page, site):
    """A page that brings its elements' attributes in line with its markup (morphdom, idiomorph) took
    Hush's mark off the collapsed box: the box showed under its "Appeal hidden" bar, and the badge still
    counted it. The mark is put back; past 20 times the box is shown, bar and count along."""
    hide_asking_boxes(browser, fake, page, f"http://127.0.0.1:{site}/article.html")
    tab = browser.tab_id(page)
    morph = """() => { const box = document.getElementById('support');
        for (const a of Array.from(box.attributes)) {
            if (!['id', 'class'].includes(a.name)) box.removeAttribute(a.name);
        } }"""
    page.evaluate(morph)
    page.wait_for_timeout(300)
    assert not page.locator("#support h2").is_visible()
    assert page.locator("hush-placeholder").count() == 1 and browser.badge(tab) == "1"
    for _ in range(20):
        page.evaluate(morph)
        page.wait_for_timeout(20)
    page.wait_for_function("!document.querySelector('hush-placeholder')", timeout=3000)
    assert page.locator("#support h2").is_visible()
    page.wait_for_timeout(200)
    assert browser.badge(tab) in ("", "0")


def test_pausing_a_site_pauses_its_other_tabs(browser, fake, page, site):
    """The popup pauses the site in its own tab and in every other tab of the site; resuming, likewise."""
    url = f"http://127.0.0.1:{site}/article.html"
    hide_asking_boxes(browser, fake, page, url)
    other = browser.context.new_page()
    try:
        other.goto(url + "?second")  # another address: tabs are told apart by it
        browser.wait_settled(other)
        other.wait_for_function(f"!!document.querySelector('{HIDDEN}')", timeout=3000)
        tab = browser.tab_id(page)
        browser.sw("async ([tab]) => hushDebug.setSitePaused('127.0.0.1', true, tab)", [tab])
        for p in (page, other):
            p.wait_for_function(f"!document.querySelector('{HIDDEN}')", timeout=3000)
        assert {browser.stats(t)["state"] for t in {browser.tab_id(p) for p in (page, other)}} == {"paused"}
        browser.sw("async ([tab]) => hushDebug.setSitePaused('127.0.0.1', false, tab)", [tab])
        other.wait_for_function(f"!!document.querySelector('{HIDDEN}')", timeout=3000)
    finally:
        other.close()
        browser.set_settings(disabledSites=[])


def test_an_appeal_added_while_the_endpoint_is_down_is_judged_when_it_is_back(browser, fake, page, site):
    """A fragment the endpoint could not answer was dropped: the appeal stayed in view for good. It is
    sent again a few seconds later."""
    hide_asking_boxes(browser, fake, page, f"http://127.0.0.1:{site}/article.html")
    answer = fake.answer
    fake.answer = lambda request: (503, "application/json", b'{"error": {"code": "busy", "message": "busy"}}')
    down_since = len(fake.requests)
    page.evaluate(
        """() => { const box = document.createElement('aside'); box.id = 'later';
        box.textContent = 'Support our newsroom: dear readers, please donate monthly to keep reporting free.';
        document.querySelector('footer').before(box); }"""
    )
    deadline = 30
    while len(fake.requests) == down_since and deadline:
        page.wait_for_timeout(100)
        deadline -= 1
    assert len(fake.requests) > down_since, "the new box was never sent"
    fake.answer = answer
    page.wait_for_function("document.getElementById('later').hasAttribute('data-hush-hidden')", timeout=8000)


def test_the_bar_follows_a_collapsed_block_the_page_moves(browser, fake, page, site):
    """A page that moves a collapsed box (into its sidebar) left the bar in the article, and the box
    hidden in the sidebar with no bar to show it."""
    hide_asking_boxes(browser, fake, page, f"http://127.0.0.1:{site}/article.html")
    page.evaluate("document.querySelector('.rail').append(document.getElementById('support'))")
    page.wait_for_function(
        """() => { const bars = document.querySelectorAll('hush-placeholder, [data-hush-placeholder-wrap]');
        const box = document.getElementById('support');
        return bars.length === 1 && box.previousSibling === bars[0] && !!box.closest('.rail'); }""",
        timeout=3000,
    )
    page.get_by_role("button", name="Show the hidden appeal").click(timeout=2000)
    assert page.locator("#support p").first.is_visible()


def test_a_box_redrawing_itself_stays_collapsed_between_redraws(browser, fake, page, site):
    """A fund drive's countdown redraws its box every few hundred milliseconds (replaceWith a copy, its
    digits changed): each copy showed until its fragment's answer came back, the article below jumping,
    and one request went out per redraw."""
    hide_asking_boxes(browser, fake, page, f"http://127.0.0.1:{site}/article.html")
    tab = browser.tab_id(page)
    sent = browser.stats(tab)["perf"]["fragmentsSent"]
    shown = page.evaluate(
        """() => new Promise((resolve) => {
            let n = 0, seen = 0;
            const redraw = setInterval(() => {
                const box = document.getElementById('support');
                const copy = box.cloneNode(true);
                copy.querySelector('button').textContent = '$' + (5 + ++n);
                box.replaceWith(copy);
            }, 250);
            const look = setInterval(() => {
                if (document.getElementById('support').checkVisibility()) seen++;
            }, 20);
            setTimeout(() => { clearInterval(redraw); clearInterval(look); resolve(seen); }, 2500);
        })"""
    )
    assert shown == 0
    assert page.locator("hush-placeholder").count() == 1
    assert browser.stats(tab)["perf"]["fragmentsSent"] == sent


def test_a_block_the_page_keeps_hidden_gets_no_bar_until_the_page_shows_it(browser, fake, page, site):
    """A bar for a box the page itself hides (a `hidden` attribute, a modal not opened) stood for
    nothing the reader could see, its Show showed nothing, and the badge counted it."""
    url = f"http://127.0.0.1:{site}/hidden-box.html"
    hide_matches(browser, fake, page, url, [r"<aside data-hush-id=([0-9a-z]+)"], hidden=1)
    tab = browser.tab_id(page)
    page.wait_for_timeout(200)  # the count reaches the badge 50 ms after the collapse
    assert page.locator("hush-placeholder").count() == 1 and not page.locator("hush-placeholder").is_visible()
    assert browser.badge(tab) in ("", "0")
    page.evaluate("document.getElementById('support').hidden = false")
    page.locator("hush-placeholder").wait_for(state="visible", timeout=3000)
    assert not page.locator("#support p").first.is_visible()
    page.wait_for_timeout(200)
    assert browser.badge(tab) == "1"
    page.get_by_role("button", name="Show the hidden appeal").click(timeout=2000)
    assert page.locator("#support p").first.is_visible()


def test_a_block_the_page_shows_through_the_element_around_it_gets_its_bar(browser, fake, page, site):
    """A box kept hidden by a style rule on its parent and shown by a class there: only changes on the
    box itself, <html> and <body> were watched, so its bar stayed out of sight and uncounted."""
    hide_matches(
        browser,
        fake,
        page,
        f"http://127.0.0.1:{site}/drawer-box.html",
        [r"<aside data-hush-id=([0-9a-z]+)"],
        1,
    )
    tab = browser.tab_id(page)
    page.evaluate("document.getElementById('drawer').classList.add('open')")
    page.locator("hush-placeholder").wait_for(state="visible", timeout=3000)
    assert not page.locator("#support p").first.is_visible()
    page.wait_for_timeout(200)  # the count reaches the badge 50 ms after the change is seen
    assert browser.badge(tab) == "1"


def test_a_collapsed_popover_the_page_opens_later_gets_its_bar(browser, fake, page, site):
    """Opening a popover (showPopover) changes none of the attributes watched: the box stayed collapsed
    without a bar the reader could use to show it, and uncounted."""
    hide_asking_boxes(browser, fake, page, f"http://127.0.0.1:{site}/popover-box.html")
    tab = browser.tab_id(page)
    page.wait_for_timeout(300)
    assert not page.locator("hush-placeholder").is_visible() and browser.badge(tab) in ("", "0")
    page.evaluate("document.getElementById('support').showPopover()")
    page.locator("hush-placeholder").wait_for(state="visible", timeout=3000)
    assert not page.locator("#support h2").is_visible()
    page.wait_for_timeout(200)
    assert browser.badge(tab) == "1"


def test_an_overlay_the_page_shows_through_its_root_element_releases_its_lock(browser, fake, page, site):
    """An overlay shown by a class on the element the whole page stands in (an app's root), the page's
    scrolling stopped by a style rule that follows that class: nothing on the overlay, <html> or <body>
    changed, and the page stayed frozen under the collapsed overlay."""
    url = f"http://127.0.0.1:{site}/overlay-wrapped.html"
    show = "document.getElementById('app').classList.add('modal-shown')"
    overlay_shown_later_is_released(
        browser, fake, page, url, r"<div data-hush-id=([0-9a-z]+) id=modal-root", show
    )


def test_hiding_from_an_appeals_heading_takes_its_box_but_not_a_menu(browser, fake, page, site):
    """ "Hush: hide this as an appeal" on an appeal's heading or button hid that element alone, and the
    correction labelled it alone; on a link in a menu, the link alone is still what it hides."""
    open_answered(browser, fake, page, f"http://127.0.0.1:{site}/article.html", lambda html: [], hidden=0)
    page.evaluate(
        """() => {
            const links = Array.from({length: 20}, (_, i) => `<a href="/s/${i}">Section number ${i}</a>`);
            links.push('<a id="give" href="/donate">Donate</a>');
            const menu = `<div id="links">${links.join(' ')}</div>`;
            document.querySelector('header').insertAdjacentHTML('afterend', menu);
        }"""
    )
    tab = browser.tab_id(page)
    for target, hidden in (
        ("#support h2", "#support"),
        ("#support .donate-button", None),
        ("#give", "#give"),
    ):
        if hidden is None:  # the box is hidden already: show it, then hide it again from its button
            page.get_by_role("button", name="Show the hidden appeal").click(timeout=2000)
            hidden = "#support"
        page.locator(target).click(button="right")
        reply = browser.menu_click(tab, "hush-hide")
        assert reply and reply.get("ok"), (target, reply)
        page.wait_for_selector(f"{hidden}[data-hush-hidden]", state="attached", timeout=2000)
    assert not page.evaluate("document.getElementById('links').hasAttribute('data-hush-hidden')")


def test_hiding_a_link_that_ends_an_article_hides_the_link_alone(browser, fake, page, site):
    """From a short element the correction climbs to a small box around it (an appeal's heading to its
    box): from a "Support us" link ending an article's body (a <div> of six paragraphs, under 1,500
    characters), it climbed to the body, collapsed it and stored it labelled appeal."""
    hush_correction_page(browser, fake, page, site)
    page.evaluate(
        """() => {
            const body = document.createElement('div');
            body.className = 'article-body';
            body.append(...document.querySelectorAll('#story .para'));
            const ask = '<p id="ask"><a id="donate" href="/donate">Support us</a></p>';
            body.insertAdjacentHTML('beforeend', ask);
            document.querySelector('#story .byline').after(body);
            const said = 'I cross that bridge each morning and the repairs took far too long, frankly.';
            const comments = Array.from({length: 8}, (_, i) => `<p>Reader ${i}: ${said}</p>`).join('');
            document.querySelector('.rail').insertAdjacentHTML('beforeend', comments);  // the body under half
        }"""
    )
    page.locator("#donate").click(button="right")
    reply = browser.menu_click(browser.tab_id(page), "hush-hide")
    assert reply and reply.get("ok"), reply
    page.wait_for_selector("#ask[data-hush-hidden]", state="attached", timeout=2000)
    assert page.evaluate("Array.from(document.querySelectorAll('[data-hush-hidden]'), e => e.id)") == ["ask"]
    assert all(page.locator(f"#p{i}").is_visible() for i in range(6))
    (stored,) = browser.corrections()
    assert re.findall(r"<(\w+) data-hush-id=\w+ data-hush-label=appeal", stored["html"]) == ["p"]


def test_a_block_the_reader_only_showed_is_still_stored_as_an_appeal(browser, fake, page, site):
    """Show is for reading, not a verdict: a box the model hid and the reader showed was stored with no
    label in the reader's next correction on the page, which training reads as not an appeal."""
    hush_correction_page(browser, fake, page, site, hidden=1)
    page.get_by_role("button", name="Show the hidden appeal").click(timeout=2000)
    page.locator(".rail h3").click(button="right")
    reply = browser.menu_click(browser.tab_id(page), "hush-hide")
    assert reply and reply.get("ok"), reply
    (stored,) = browser.corrections()
    assert re.search(r"<aside data-hush-id=\w+ data-hush-label=appeal", stored["html"])
    # "Not an appeal" on it is a verdict: the box is stored unlabelled, the rail still labelled.
    page.locator("#support h2").click(button="right")
    reply = browser.menu_click(browser.tab_id(page), "hush-not-appeal")
    assert reply and reply.get("ok"), reply
    (stored,) = browser.corrections()
    assert re.search(r"<aside data-hush-id=\w+ class=support-box", stored["html"])
    assert re.search(r"data-hush-label=appeal class=rail", stored["html"])


def hush_correction_page(browser, fake, page, site, hidden: int = 0) -> None:
    """The article page, its appeal box collapsed when `hidden`, and no correction stored yet."""
    browser.clear_corrections()
    if hidden:
        hide_asking_boxes(browser, fake, page, f"http://127.0.0.1:{site}/article.html", hidden)
    else:
        open_answered(browser, fake, page, f"http://127.0.0.1:{site}/article.html", lambda html: [], hidden=0)


def test_a_page_redrawing_itself_as_it_is_read_is_sent_whole(browser, fake, page, site):
    """A list redrawn every 50 ms moved the nodes the copy was being read from between two slices: the
    copy was cut short there, so the appeal after it was never judged, and a correction made on the
    page was stored without its label. Cut short, the page is read again in one go."""
    url = f"http://127.0.0.1:{site}/redrawing.html"
    hide_matches(browser, fake, page, url, [r"<aside data-hush-id=([0-9a-z]+)"], hidden=1)
    browser.clear_corrections()
    page.locator("#p0").click(button="right")
    reply = browser.menu_click(browser.tab_id(page), "hush-hide")
    assert reply and reply.get("ok"), reply
    saved = browser.corrections()
    assert len(saved) == 1 and "data-hush-label=appeal" in saved[0]["html"]
    assert saved[0]["html"].rstrip().endswith("</html>") and "Donate now" in saved[0]["html"]


def test_a_correction_that_cannot_be_stored_says_so_on_its_bar(browser, fake, page, site):
    """On a page too large to store, "hide this as an appeal" hid the block and stored nothing, without
    a word: the reader counted on it for retraining."""
    open_answered(browser, fake, page, f"http://127.0.0.1:{site}/article.html", lambda html: [], hidden=0)
    browser.clear_corrections()
    page.evaluate("document.querySelector('footer').append('results '.repeat(450000))")  # 3.6 MB of text
    page.locator("#support h2").click(button="right")
    reply = browser.menu_click(browser.tab_id(page), "hush-hide")
    assert reply and reply.get("hidden") and not reply.get("ok"), reply
    assert "too large" in reply.get("error", "")
    page.get_by_text("not saved for retraining").wait_for(timeout=2000)
    assert browser.corrections() == []


def test_a_list_redrawn_with_the_same_words_is_not_sent_again(browser, fake, page, site):
    """Live results redrawn every 50 ms, digits changing: each redraw went to the endpoint, several
    requests a second for as long as the page was open."""
    hide_matches(
        browser,
        fake,
        page,
        f"http://127.0.0.1:{site}/redrawing.html",
        [r"<aside data-hush-id=([0-9a-z]+)"],
        1,
    )
    tab = browser.tab_id(page)
    page.wait_for_timeout(1000)  # the first redraws after the page's answer: judged once
    sent = browser.stats(tab)["perf"]["fragmentsSent"]
    page.wait_for_timeout(3000)
    stats = browser.stats(tab)["perf"]
    assert stats["fragmentsSent"] == sent and stats["fragmentsSkipped"] > 0, stats
