"""``hush label`` in a real browser: the real command on a free loopback port, Debian's Chromium driven by
Playwright, blocks clicked and saved, the saved file read back the way training reads it; and the whole
retraining path, from a page the current model gets wrong to a model that gets it right."""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import browser_support as bs
import pytest
from small_corpus import (
    FLAT_APPEAL,
    MORE_SITES,
    SITES,
    lamp_scores,
    page,
    train,
    write_corpus,
    write_lamp_pages,
)

from model import load_model
from model.labelled import load_page

pytestmark = bs.needs_chromium()

LABEL = b' data-hush-label="appeal"'

# Uppercase tags, a '>' inside an attribute value, CRLF line ends, a script, a handler, a refresh and
# resources on another host: none of it may run or load, and the saved file must keep all of it.
PAGE = (
    '<!DOCTYPE html>\r\n<HTML lang="en"><head><meta charset="utf-8"><title>Quay Road</title>\r\n'
    '<meta http-equiv="refresh" content="2;url=https://example.com/moved">\r\n'
    '<link rel="stylesheet" href="https://example.com/site.css">\r\n'
    "<script>document.documentElement.setAttribute('data-ran', '1');</script>\r\n"
    "</head>\r\n<body onload=\"document.body.setAttribute('data-onload', '1')\">\r\n"
    '<h1 id="title">Council approves new cycle lanes on Quay Road</h1>\r\n'
    '<P id="lede" title="a > b">The council voted 9 to 2 on Tuesday for protected lanes on both sides '
    "of Quay Road, to be built next spring.</P>\r\n"
    '<p id="cost">The work will cost 1.2 million, paid from the transport budget, and close the road '
    'for <a id="link" href="https://example.com/closures">six weekends</a> in April and May.</p>\r\n'
    '<img src="https://example.com/photo.jpg" alt="Quay Road">\r\n'
    '<div class="support" id="box"><h3 id="ask">Support local news</h3>\r\n'
    '<p id="plea">Dear readers, the Gazette is funded by you. Please give \u20ac5 a month to keep '
    "reporters at council meetings.</p></div>\r\n"
    '<p id="last">Residents can comment on the plans until the end of the month at the town hall.</p>\r\n'
    "</body></HTML>\r\n"
)

# An extension correction: an earlier labelled appeal box, a "not an appeal" note, the extension's ids.
CORRECTION = """<!DOCTYPE html><html><head><meta charset="utf-8">
<meta name="hush-source" content="https://gazette.example/quay-road">
<meta name="hush-correction" content="not-appeal:h7"></head>
<body><article><h1>Council approves new cycle lanes</h1>
<p id="lede">The council voted 9 to 2 on Tuesday for protected lanes on both sides of Quay Road.</p>
<p id="fund" data-hush-id="h7">The council's transport fund will pay for the lanes, the treasurer said.</p>
<div class="support" data-hush-id="h9" data-hush-label="appeal"><h3 id="ask">Support local news</h3>
<p id="plea">Dear readers, please give a few euros a month to keep reporters at council meetings.</p></div>
<p id="last">Residents can comment on the plans until the end of the month at the town hall.</p>
</article></body></html>
"""


@contextlib.contextmanager
def hush_label(page: Path, out: Path, *args: str, timeout: float = 60.0) -> Iterator[str]:
    """Run the real ``hush label PAGE --out DIR [args]`` on a free loopback port; yields the URL it prints."""
    port = bs.free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUSH_")}
    log = out.parent / f"hush-label-{port}.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "server.cli",
                "label",
                str(page),
                "--out",
                str(out),
                "--port",
                str(port),
                *args,
            ],
            cwd=bs.ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + timeout
        while not _answers(log.read_text()):
            if proc.poll() is not None:
                raise AssertionError(f"hush label exited with {proc.returncode}:\n{log.read_text()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"hush label did not start within {timeout:.0f} s:\n{log.read_text()}")
            time.sleep(0.1)
        yield _answers(log.read_text())
    finally:
        bs.stop(proc)


def _answers(output: str) -> str:
    """The URL ``hush label`` printed, once it answers there; '' before."""
    found = re.search(r"http://127\.0\.0\.1:\d+/label/", output)
    if not found:
        return ""
    try:
        with urllib.request.urlopen(found.group(0), timeout=2):
            return found.group(0)
    except OSError:
        return ""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=bs.CHROMIUM, headless=True, args=bs.CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextlib.contextmanager
def labelling_page(browser: Any, url: str) -> Iterator[tuple[Any, Any, list[str]]]:
    """The labelling page, ready; its frame; and every request that tried to leave loopback."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    outside: list[str] = []

    def route(r: Any) -> None:
        if bs._is_local(r.request.url):
            r.continue_()
        else:
            outside.append(r.request.url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    try:
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=15000)
        yield page, page.frame_locator("#page"), outside
        assert errors == [], errors
    finally:
        context.close()


def marked(frame: Any, element_id: str) -> str | None:
    return frame.locator(f"#{element_id}").get_attribute("data-hush-marked")


def save(page: Any) -> str:
    from playwright.sync_api import expect

    page.click("#save")
    expect(page.locator("#status")).to_have_text(re.compile("^saved to "), timeout=10000)
    return page.text_content("#status")


def appeal_texts(path: Path) -> list[str]:
    labelled = load_page(path, path.parent)
    return [b.text for b, n in zip(labelled.page.blocks, labelled.appeal_chars, strict=True) if n]


def test_click_two_blocks_and_save(browser: Any, tmp_path: Path) -> None:
    source = tmp_path / "quay-road.html"
    source.write_bytes(PAGE.encode("utf-8"))
    original = source.read_bytes()
    out = tmp_path / "labelled"
    with hush_label(source, out) as url, labelling_page(browser, url) as (page, frame, outside):
        assert marked(frame, "plea") == "0"
        frame.locator("#ask").click()
        frame.locator("#link").click()  # a link inside a block: marks the block, does not navigate
        frame.locator("#lede").click()
        frame.locator("#cost").click()  # unmark the block of the link again
        assert [marked(frame, i) for i in ("ask", "lede", "cost", "plea")] == ["1", "1", "0", "0"]
        assert "2 marked" in page.text_content("#counts")
        assert save(page).endswith(str(out / "quay-road.html"))
        # The page's own script, handler and refresh never ran; nothing left loopback.
        time.sleep(0.3)
        view = page.frames[1]
        assert view.url.endswith("/label/view")
        assert view.evaluate("document.documentElement.getAttribute('data-ran')") is None
        assert view.evaluate("document.body.getAttribute('data-onload')") is None
        assert outside == []
    saved = (out / "quay-road.html").read_bytes()
    assert saved.count(LABEL) == 2
    assert saved.replace(LABEL, b"") == original
    assert source.read_bytes() == original
    assert appeal_texts(out / "quay-road.html") == [
        "The council voted 9 to 2 on Tuesday for protected lanes on both sides of Quay Road, to be built "
        "next spring.",
        "Support local news",
    ]
    assert b'<P id="lede" title="a > b" data-hush-label' not in saved  # inserted after the tag name
    assert b'<P data-hush-label="appeal" id="lede" title="a > b">' in saved


def test_existing_labels_open_marked_and_can_be_changed(browser: Any, tmp_path: Path) -> None:
    source = tmp_path / "correction-1.html"
    source.write_text(CORRECTION, encoding="utf-8")
    original = source.read_bytes()
    out = tmp_path / "labelled"
    with hush_label(source, out) as url, labelling_page(browser, url) as (page, frame, _):
        assert [marked(frame, i) for i in ("ask", "plea", "lede", "fund")] == ["1", "1", "0", "0"]
        assert frame.locator("#fund").get_attribute("data-hush-correction") == "not-appeal"
        assert "not-appeal:h7" in page.text_content("#notes")
        frame.locator("#ask").click()  # unmark the heading of the labelled box; its paragraph stays
        frame.locator("#last").click()
        assert [marked(frame, i) for i in ("ask", "plea", "last")] == ["0", "1", "1"]
        save(page)
    saved = (out / "correction-1.html").read_bytes()
    assert saved.count(LABEL) == 2 and b'<div class="support" data-hush-id="h9">' in saved
    assert saved.replace(LABEL, b"") == original.replace(LABEL, b"")
    assert appeal_texts(out / "correction-1.html") == [
        "Dear readers, please give a few euros a month to keep reporters at council meetings.",
        "Residents can comment on the plans until the end of the month at the town hall.",
    ]


def test_text_loose_in_a_box_is_labelled_with_its_box(browser: Any, tmp_path: Path) -> None:
    """Text standing in the box itself, beside its paragraphs, has no element of its own: it could not be
    marked, so the box's heading was saved as content. Clicked, it marks the whole box, labelled once."""
    source = tmp_path / "box.html"
    source.write_text(
        "<!DOCTYPE html><html><head><title>t</title></head><body><article>"
        '<p id="news">The harbour wall was repaired on Monday after a winter of storms.</p>'
        '<div id="box" class="support">Support our journalism! <p id="rely">We rely on our readers.</p>'
        '<a id="give" href="/donate">Donate now</a></div></article></body></html>',
        encoding="utf-8",
    )
    original = source.read_bytes()
    out = tmp_path / "labelled"
    with hush_label(source, out) as url, labelling_page(browser, url) as (page, frame, _):
        frame.locator("#box").click(position={"x": 3, "y": 3})  # on its loose text
        assert [marked(frame, i) for i in ("news", "box", "rely", "give")] == ["0", "1", "1", "1"]
        save(page)
    saved = (out / "box.html").read_bytes()
    assert saved.count(LABEL) == 1 and b'<div data-hush-label="appeal" id="box"' in saved
    assert saved.replace(LABEL, b"") == original
    assert appeal_texts(out / "box.html") == [
        "Support our journalism!",
        "We rely on our readers.",
        "Donate now",
    ]


# --- issue #8 end to end: label a page the model gets wrong, retrain with it, and the model is fixed ---

# The lamp site's flat appeal, unlabelled, with ids to click: what a reader saved from their browser.
UNLABELLED = FLAT_APPEAL.replace(' data-hush-label="appeal">A word', ' id="lead">A word').replace(
    ' data-hush-label="appeal">Each', ' id="ask">Each'
)


def test_a_page_labelled_in_the_browser_fixes_the_model(browser: Any, tmp_path: Path, capsys) -> None:
    corpus = write_corpus(tmp_path / "corpus", {**SITES, **MORE_SITES}, per_site=2)
    current = tmp_path / "models" / "hush-model.skops"
    current.parent.mkdir()
    assert train(corpus, "--out", current) == 0
    saved = tmp_path / "saved" / "lamp-night-market.html"
    saved.parent.mkdir()
    saved.write_text(page("lamp", "night market", "", 2, extra=UNLABELLED), encoding="utf-8")
    unseen = write_lamp_pages(tmp_path / "unseen", ["harbour lights", "fishing fleet"])
    assert lamp_scores(current, unseen)["recall"] < 0.5, "the current model already finds this appeal"

    mine = tmp_path / "mine"
    with (
        hush_label(saved, mine, "--model", str(current)) as url,
        labelling_page(browser, url) as (view, frame, _),
    ):
        for element in ("lead", "ask"):
            frame.locator(f"#{element}").click()
        assert "2 marked" in view.text_content("#counts")
        save(view)
    labelled = (mine / saved.name).read_text(encoding="utf-8")
    assert labelled.count('data-hush-label="appeal"') == 2
    assert lamp_scores(current, mine)["recall"] < 0.5

    capsys.readouterr()
    assert train(corpus, "--with", mine, "--out", current) == 0
    out = capsys.readouterr().out
    change = re.search(r"held-out precision change: ([-+]\d\.\d+) \(within", out)
    assert change and float(change.group(1)) >= -0.01, out
    new = load_model(current)
    assert new.metadata["own_pages"] == 1 and new.metadata["own_folders"] == [os.path.relpath(mine)]
    for folder in (mine, unseen):
        fixed = lamp_scores(current, folder)
        assert fixed["recall"] > 0.9 and fixed["precision"] == 1.0, (folder.name, fixed)
