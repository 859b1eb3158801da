"""Tiny labelled sites written on the fly, so that ``hush train`` runs in seconds in tests."""

from __future__ import annotations

import json
from pathlib import Path

from threadpoolctl import threadpool_limits

from model import load_model
from model.compare import scores
from model.labelled import load_pages
from server.cli import main

# site -> (place, topic, the heading of its appeal box)
SITES = {
    "harbour-news.example": ("harbour", "ferry timetable", "Support the Harbour News"),
    "valley-times.example": ("valley", "school budget", "Become a Valley Times member"),
    "river-post.example": ("river", "flood defences", "Donate to keep the River Post free"),
    "hill-gazette.example": ("hill", "bus route", "Chip in for local reporting"),
}
MORE_SITES = {
    "moor-herald.example": ("moor", "wind farm", "Keep the Moor Herald independent: donate"),
    "bay-courier.example": ("bay", "harbour wall", "Support local journalism in the bay"),
    "fen-chronicle.example": ("fen", "drainage levy", "Become a supporter of the Chronicle"),
    "dale-observer.example": ("dale", "library hours", "Give to the Dale Observer"),
    "cliff-echo.example": ("cliff", "coast path", "Donate today and keep the Echo going"),
    "glen-review.example": ("glen", "village hall", "Join our members: support the Review"),
    "marsh-mercury.example": ("marsh", "bird reserve", "Support the Mercury with a monthly gift"),
    "ridge-record.example": ("ridge", "quarry plan", "Help fund the Ridge Record"),
    "lake-ledger.example": ("lake", "boat licences", "Donate to the Lake Ledger"),
    "wood-weekly.example": ("wood", "tree felling", "Become a Wood Weekly patron"),
}


def page(place: str, topic: str, appeal: str, n: int, extra: str = "", flat: bool = False) -> str:
    """A small news page: a story, an appeal (not on the third page; a box, or with ``flat`` two bare
    paragraphs after the story's), a related box and a footer."""
    story = "".join(
        f"<p>The {place} council discussed the {topic} for the {k + 1}th time on Monday, "
        f"and residents of the {place} district asked for a decision before winter.</p>"
        for k in range(3 + n)
    )
    pitch = "We are funded by readers like you. Please donate today: $5, $10 or $25 a month keeps our"
    box = (
        f'<div class="support-box" data-hush-label="appeal"><h3>{appeal}</h3><p>{pitch} newsroom going.</p>'
        '<a href="/donate">Donate now</a> <a href="/member">Become a member</a></div>'
    )
    if flat:
        box = (
            f'<p data-hush-label="appeal"><b>{appeal}</b></p>'
            f'<p data-hush-label="appeal">{pitch} newsroom going: <a href="/donate">give now</a>.</p>'
        )
    other = '<p data-hush-label="other">Sign up for our free morning newsletter.</p>' if n % 2 else ""
    related = (  # boxes of content, so that the box model sees both kinds
        f'<section class="related"><h4>More on the {topic}</h4><p>Why the {place} vote was delayed.</p>'
        f"<p>What the {topic} means for families.</p></section>"
    )
    footer = f"<footer><p>The {place} paper, 1 Quay Street.</p><p>Letters to the editor.</p></footer>"
    article = f"<article><h1>The {topic}</h1>{story}{extra}{box if n != 2 else ''}{other}</article>"
    return f"<html><body>{article}{related}{footer}</body></html>"


def write_corpus(folder: Path, sites: dict[str, tuple[str, str, str]] = SITES, per_site: int = 3) -> Path:
    """Write ``per_site`` pages of every site into folder, each with a sidecar naming its site."""
    folder.mkdir(parents=True, exist_ok=True)
    for i, (site, (place, topic, appeal)) in enumerate(sites.items()):
        for n in range(per_site):
            name = f"{place}-{n}"
            html = page(place, topic, appeal, n, flat=n == 1 and i % 2 == 0)
            (folder / f"{name}.html").write_text(html, encoding="utf-8")
            (folder / f"{name}.json").write_text(json.dumps({"site": site}), encoding="utf-8")
    return folder


FLAT_APPEAL = (  # words the tiny corpus never uses for its appeals, and no wrapper around them
    '<p data-hush-label="appeal">A word from the lamplighters.</p>'
    '<p data-hush-label="appeal">Each season we ask our neighbours to keep the lamp lit: wire a few guilders '
    "to the lamplighters' purse, and the lamp burns for another winter.</p>"
)
LAMP_TOPICS = ["night market", "harbour lights", "market square", "fishing fleet"]


def write_lamp_pages(folder: Path, topics: list[str]) -> Path:
    """Pages of one more site whose appeal is a flat run of paragraphs in unusual words."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, topic in enumerate(topics):
        html = page("lamp", topic, "", 2, extra=FLAT_APPEAL)  # 2: no appeal box of the usual kind
        (folder / f"lamp-{k}.html").write_text(html, encoding="utf-8")
        (folder / f"lamp-{k}.json").write_text(json.dumps({"site": "lamp-post.example"}), encoding="utf-8")
    return folder


def train(*args: str | Path) -> int:
    """Run `hush train` in this process, with one BLAS thread."""
    with threadpool_limits(limits=1):
        return main(["train", *map(str, args)])


def lamp_scores(model_path: Path, folder: Path) -> dict:
    """Character scores of a model file on the labelled pages of a folder."""
    pages, problems = load_pages([folder])
    assert not problems
    return scores(load_model(model_path), pages)


HELD_OUT = {"cliff-echo.example", "ridge-record.example", "lake-ledger.example"}
