"""Features never see labels or id values: the same page, labelled or not, gives the same rows."""

from __future__ import annotations

import re

import numpy as np

from model import boxes
from model.facts import voice_counts
from model.features import block_rows, href_tokens, text_facts
from model.parse import parse
from model.segment import segment

LABELLED = """<body><nav><a href="/">Start</a> <a href="/spenden" data-hush-label="appeal">Spenden</a></nav>
<article><p data-hush-id="p1">The regional choir performed in the old mill on Sunday.</p>
<div class="promo" data-hush-label="appeal" data-hush-id="b1"><h2>Support our reporting</h2>
<p>Readers fund every story. Give 5 € · 10 € · 25 € a month.</p>
<p>IBAN DE12 5001 0517 0648 4898 90</p><a href="https://ko-fi.com/mill">Buy us a coffee</a></div>
<p data-hush-label="other">Sign up for the free newsletter.</p></article></body>"""


def rows_for(html: str) -> tuple[np.ndarray, np.ndarray]:
    page = segment(parse(html), with_labels=False)
    rows = block_rows(page)
    scores = np.linspace(0.1, 0.9, len(page.blocks))
    return rows, boxes.numbers(page, boxes.candidates(page, scores), scores)


def test_rows_do_not_change_when_labels_are_removed_or_ids_change():
    unlabelled = re.sub(r' data-hush-label="[^"]*"', "", LABELLED)
    renamed = LABELLED.replace('data-hush-id="p1"', 'data-hush-id="zz"').replace('"b1"', '"donate-now"')
    reference = rows_for(LABELLED)
    for variant in (unlabelled, renamed):
        got = rows_for(variant)
        # Compared as text: a span without links has a NaN link score, which equals nothing.
        assert all(np.array_equal(a.astype(str), b.astype(str)) for a, b in zip(reference, got, strict=True))


def test_labels_and_ids_never_reach_the_tokens():
    page = segment(parse(LABELLED), with_labels=True)
    rows = block_rows(page)
    tokens = " ".join(rows[:, 2])
    assert "appeal" not in tokens and "hush" not in tokens and "donate" not in tokens


def test_links_to_giving_platforms_and_paths_are_recognised():
    assert "platform" in href_tokens("https://www.patreon.com/someone")
    assert "platform" in href_tokens("https://ko-fi.com/mill")
    assert "giving" in href_tokens("/de/spenden/")
    assert "giving" in href_tokens("https://donate.example.org/")
    assert "platform" not in href_tokens("https://example.com/news/patreon-earnings-report")
    assert "giving" not in href_tokens("https://support.example.com/tickets")


def test_amount_ladders_bank_details_and_call_to_action_labels():
    amounts, bank, cta, _ = text_facts("Give 5 € · 10 € · 25 € a month. IBAN DE12 5001 0517 0648 4898 90")
    assert amounts == 3 and bank == 1 and cta == 0
    assert text_facts("Jetzt spenden")[2] == 1
    assert text_facts("The council approved the budget")[:3] == (0, 0, 0)


def test_the_sites_voice_is_counted_in_every_language_and_only_where_unambiguous():
    hits, words = voice_counts(
        [
            "We're funded by readers like you.",
            "Sie lesen unsere Zeitung: unterstützen Sie uns!",
            "Soutenez notre rédaction, nous comptons sur vous.",
            "Помогите нам: ваш вклад важен.",
            "The council met. They voted on the budget.",
            "My dog and my cat.",  # "my" is "we" in Polish and Czech, and "my" in English: not counted
        ]
    )
    assert hits == [2, 2, 3, 2, 0, 0]
    assert words == [7, 7, 7, 5, 8, 5]


def test_a_box_speaking_as_we_to_you_says_so_and_an_article_about_a_charity_does_not():
    page = segment(parse(LABELLED), with_labels=False)
    scores = np.linspace(0.1, 0.9, len(page.blocks))
    spans = boxes.candidates(page, scores)
    voice = boxes.BOX_NUMERIC.index("voice_share")
    rows = boxes.numbers(page, spans, scores)
    texts = [" ".join(b.text for b in page.blocks[s.b0 : s.b1]) for s in spans]
    promo = next(i for i, t in enumerate(texts) if t.startswith("Support our reporting"))
    assert rows[promo, voice] > 0  # "our", "us"
    report = segment(
        parse("<body><div><p>The hospice raised 40,000 euros.</p><p>Volunteers sold cakes.</p></div></body>")
    )
    flat = np.full(len(report.blocks), 0.9)
    report_spans = boxes.candidates(report, flat)
    assert report_spans
    assert np.all(boxes.numbers(report, report_spans, flat)[:, voice] == 0)
