"""The pages the extension's browser tests serve, and what a reader should see on them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import browser_support as bs

SHARED = bs.ROOT.parent / "shared" / "realpages"
SEED = bs.ROOT.parent / "shared" / "seed"

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


# A site that moves to its next page by putting a new <body> in place (as Turbo does), and back by putting
# back the copy of the first body it kept (taken while its appeal, id "support", was collapsed).
NEXT_BODY = (
    "<article><h1>Tram depot to open its doors on Sunday</h1>"
    '<p id="next-p0">Visitors can walk through the workshop where the old cars are rebuilt.</p>'
    '<p id="next-p1">Guided tours start every hour from the main gate on Mill Lane.</p>'
    + APPEAL_BOX.replace('id="support"', 'id="support-next"')
    + "</article>"
)
SWAPPING_PAGE = article_page(
    title="Harbour Street bridge reopens after repairs",
    tail="<script>window.visitNext = function () {"
    "  window.kept = document.body.cloneNode(true);"
    "  var body = document.createElement('body');"
    f"  body.innerHTML = {json.dumps(NEXT_BODY)};"
    "  document.body.replaceWith(body);"
    "};"
    "window.goBack = function () { document.body.replaceWith(window.kept); };</script>",
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
# that are an empty <span> around an <svg>, long links with queries, generated class names, a body class,
# a paragraph that is all its section's text, a box whose only content is a link with an image, a list.
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
<section class="promo"><div class="promo-inner"><p>Tide tables for the week are pinned by the ticket office.
</p></div></section>
<ul class="tides"><li>High water 06:10</li> <li>Low water 12:25</li></ul>
<div class="follow-us"><a href="https://social.example/harbourpress"><img src="/follow.png"></a></div>
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


MODAL_PAGE = article_page(
    title="Ferry fares rise by four percent in spring",
    appeal="",
    # An appeal in a modal dialog, opened as the page loads: while it is modal, the rest of the page is inert.
    tail='<dialog id="appeal-dialog">'
    + APPEAL_BOX.replace('id="support"', 'id="dialog-box"')
    + '<form method="dialog"><button>Close</button></form></dialog>'
    "<script>document.getElementById('appeal-dialog').showModal();</script>",
)


# An appeal laid over the page as it loads (ids "overlay", "overlay-box"), the page's scrolling stopped
# meanwhile, as such pages do, by a class on <body>; a spacer makes the page taller than the window.
OVERLAY_PAGE = article_page(
    title="Night buses return to the harbour line",
    appeal='<div style="height: 3000px"></div>',
    extra_head="<style>.modal-open { overflow: hidden; } #overlay { position: fixed; inset: 0;"
    " background: rgba(0, 0, 0, 0.6); padding: 10vh 10vw; }</style>",
    tail='<div id="overlay">'
    + APPEAL_BOX.replace('id="support"', 'id="overlay-box"')
    + "</div><script>document.body.classList.add('modal-open');</script>",
)

# The same, with a cookie wall still laid over the page once the appeal is hidden.
WALLED_OVERLAY_PAGE = OVERLAY_PAGE.replace(
    '<div id="overlay">',
    '<div id="wall" style="position: fixed; inset: 0; z-index: 9">Accept cookies</div><div id="overlay">',
)
# The same, with the rest of the page dimmed behind an empty layer, as modal libraries do.
BACKDROP_OVERLAY_PAGE = OVERLAY_PAGE.replace(
    '<div id="overlay">',
    '<div id="backdrop" style="position: fixed; inset: 0; background: rgba(0, 0, 0, 0.5)"></div>'
    '<div id="overlay">',
)
# The same, its scrolling stopped only after the overlay was hidden (an overlay that animates in).
LATE_LOCK_OVERLAY_PAGE = OVERLAY_PAGE.replace(
    "document.body.classList.add('modal-open');",
    "const lock = new MutationObserver(() => { if (document.querySelector('#overlay[data-hush-hidden]'))"
    " { lock.disconnect(); document.body.classList.add('modal-open'); } });"
    " lock.observe(document.body, {subtree: true, attributes: true});",
)

# The same, its scrolling stopped as phones' browsers need: <body> fixed in place (top: minus the distance
# scrolled, none here).
FIXED_LOCK_OVERLAY_PAGE = OVERLAY_PAGE.replace(
    "document.body.classList.add('modal-open');",
    "Object.assign(document.body.style, {position: 'fixed', top: '0px', width: '100%'});",
)
# The same, its scrolling stopped by a class on <html> that makes <html> and <body> the window's height
# and clips them: the page is then no taller than the window, its text cut off inside <body>.
HEIGHT_LOCK_OVERLAY_PAGE = OVERLAY_PAGE.replace(
    "document.body.classList.add('modal-open');", "document.documentElement.classList.add('lock');"
).replace("</style>", " html.lock, html.lock body { height: 100%; overflow: hidden; }</style>", 1)
# The modal dialog closed as the page loads, opened by the page later (the tests open it).
DIALOG_LATER_PAGE = MODAL_PAGE.replace("document.getElementById('appeal-dialog').showModal();", "")
# The backdrop overlay in the page from the start, not shown, and neither the lock (the tests show both).
HIDDEN_OVERLAY_PAGE = (
    BACKDROP_OVERLAY_PAGE.replace("document.body.classList.add('modal-open');", "")
    .replace('id="backdrop" style="', 'id="backdrop" style="display: none; ')
    .replace('<div id="overlay">', '<div id="overlay" style="display: none">')
)
# The same backdrop overlay, kept out of sight by a style rule on the element all the page stands in
# (a single-page app's root), shown by a class there; the page's scrolling stops by a style rule that
# follows the same class. Nothing changes on the overlay, <html> or <body>.
WRAPPED_OVERLAY_PAGE = (
    HIDDEN_OVERLAY_PAGE.replace('style="display: none; ', 'style="')
    .replace(' style="display: none"', "")
    .replace('<div id="backdrop"', '<div id="modal-root"><div id="backdrop"')
    .replace("</div><script>", "</div></div><script>")
    .replace("<body>", '<body><div id="app">')
    .replace("</body>", "</div></body>")
    .replace(
        "</style>",
        " #app:not(.modal-shown) #modal-root { display: none; }"
        " html:has(#app.modal-shown) { overflow: hidden; }</style>",
        1,
    )
)

# An appeal widget that brings its own style sheet, longer than the article's text.
STYLED_BOX_PAGE = article_page(
    title="Tram depot gets solar roof",
    appeal=APPEAL_BOX.replace(
        "<h2>",
        "<style>"
        + "".join(
            f"#support .tier-{i} {{ margin: {i}px; padding: {i}px; color: #{i:03d}; }} " for i in range(150)
        )
        + "</style><h2>",
    ),
)

# The appeal box kept hidden by the page itself (the `hidden` attribute) until the tests show it.
HIDDEN_BOX_PAGE = article_page(
    appeal=APPEAL_BOX.replace('<aside class="support-box"', "<aside hidden class=support-box")
)

# The appeal box in a popover, closed until the tests open it.
POPOVER_BOX_PAGE = article_page(
    appeal=APPEAL_BOX.replace('<aside class="support-box"', "<aside popover class=support-box")
)

# The appeal box kept out of sight by a style rule on the element around it, until a class there shows it.
DRAWER_BOX_PAGE = article_page(
    extra_head="<style>#drawer:not(.open) > .support-box { display: none; }</style>",
    appeal='<div id="drawer"><button type="button">More from the newsroom</button>' + APPEAL_BOX + "</div>",
)

# A live results list of 4,000 items, redrawn every 50 ms, between the article and its appeal box: the
# page moves the nodes the copy is being read from between two of its slices.
REDRAWING_PAGE = article_page(
    title="Marathon results come in",
    appeal='<ul id="results"></ul>' + APPEAL_BOX,
    tail="<script>const results = document.getElementById('results'); let round = 0;"
    " function redraw() { round++; const items = [];"
    " for (let i = 0; i < 4000; i++) items.push(`<li>Runner ${i} passed checkpoint ${round % 7}</li>`);"
    " results.innerHTML = items.join(''); }"
    " redraw(); setInterval(redraw, 50);</script>",
)


PAGES = {
    "/article.html": article_page(),
    "/modal.html": MODAL_PAGE,
    "/overlay.html": OVERLAY_PAGE,
    "/overlay-wall.html": WALLED_OVERLAY_PAGE,
    "/swapping.html": SWAPPING_PAGE,
    "/overlay-backdrop.html": BACKDROP_OVERLAY_PAGE,
    "/overlay-late.html": LATE_LOCK_OVERLAY_PAGE,
    "/overlay-hidden.html": HIDDEN_OVERLAY_PAGE,
    "/overlay-fixed.html": FIXED_LOCK_OVERLAY_PAGE,
    "/overlay-height.html": HEIGHT_LOCK_OVERLAY_PAGE,
    "/dialog-later.html": DIALOG_LATER_PAGE,
    "/styled-box.html": STYLED_BOX_PAGE,
    "/hidden-box.html": HIDDEN_BOX_PAGE,
    "/drawer-box.html": DRAWER_BOX_PAGE,
    "/popover-box.html": POPOVER_BOX_PAGE,
    "/overlay-wrapped.html": WRAPPED_OVERLAY_PAGE,
    "/redrawing.html": REDRAWING_PAGE,
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


# ------------------------------------------------------------------------------- what the reader sees
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


def assert_collapsed_as_counted(seen: dict, counts, path: str) -> None:
    """What the browser collapsed (COUNT_BY_LABEL) is, label by label, what `hush evaluate` counts."""
    expected = {"hidden_appeal": counts.hidden_appeal, "hidden_content": counts.hidden_content}
    assert {k: seen[k] for k in expected} == expected, path
    # The same text is counted (the DOM may hold a stray character the model does not read, such as a
    # close button's glyph).
    assert seen["appeal"] == counts.appeal, path
    assert abs(seen["content"] - counts.content) <= max(2, counts.content // 200), path


def assert_collapsed_near_count(seen: dict, counts, path: str) -> None:
    """On a real page, whose own scripts may change its text a little: within 2% of the count."""
    for key, expected in (("hidden_appeal", counts.hidden_appeal), ("hidden_content", counts.hidden_content)):
        assert abs(seen[key] - expected) <= max(5, expected // 50), (path, key, seen[key], expected)


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


def fragments_settle(browser, page, tab, quiet_ms: int = 1500) -> int:
    """Wait until no fragment has been sent for quiet_ms; the number sent."""
    last, since = -1, 0
    while since < quiet_ms:
        page.wait_for_timeout(100)
        sent = browser.stats(tab)["perf"]["fragmentsSent"]
        since = since + 100 if sent == last else 0
        last = sent
    return last


def open_answered(browser, fake, page, url: str, ids_in, hidden: int) -> None:
    """Open url with a fake endpoint that hides the ids `ids_in` finds in each copy it is sent, and wait
    until that many elements are hidden."""

    def answer(request):
        return 200, "application/json", json.dumps({"hide": ids_in(request["html"])}).encode()

    fake.answer = answer
    browser.set_settings(endpoint=fake.url, token="", mode="placeholder", disabledSites=[])
    page.goto(url)
    browser.wait_settled(page)
    count = f"document.querySelectorAll('[data-hush-hidden]').length === {hidden}"
    page.wait_for_function(count, timeout=3000)


def hide_matches(browser, fake, page, url: str, patterns, hidden: int) -> None:
    """open_answered, hiding every element whose stamp a pattern finds in the copy sent."""

    def ids_in(html: str) -> list[str]:
        return [i for pattern in patterns for i in re.findall(pattern, html)]

    open_answered(browser, fake, page, url, ids_in, hidden)


def wheel_scrolls(page) -> bool:
    """Whether the reader's mouse wheel moves the page (a script's scrollTo moves it even when locked)."""
    page.evaluate("window.scrollTo(0, 0)")
    page.mouse.move(300, 300)
    page.mouse.wheel(0, 600)
    for _ in range(10):
        page.wait_for_timeout(100)
        if page.evaluate("window.scrollY") > 0:
            page.evaluate("window.scrollTo(0, 0)")
            return True
    return False
