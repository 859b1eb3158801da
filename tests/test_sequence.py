"""The sequence stage: what each block's row says about its neighbours, and how the shipped model reads it."""

from __future__ import annotations

import numpy as np

from model import load_model
from model.parse import parse
from model.segment import segment
from model.sequence import SEQUENCE_NUMERIC, numbers

PAGE = """<html><body>
<p>Article one.</p><p>Dear readers,</p><p>We are a small newsroom.</p>
<p>Please give monthly: <a href="/give">give</a></p><p>Article end.</p>
</body></html>"""
SCORES = np.array([0.1, 0.8, 0.05, 0.9, 0.2])


def column(rows: np.ndarray, name: str) -> list[float]:
    return rows[:, SEQUENCE_NUMERIC.index(name)].tolist()


def test_each_block_sees_two_blocks_on_either_side_in_reading_order():
    page = segment(parse(PAGE))
    assert [b.text for b in page.blocks][1:3] == ["Dear readers,", "We are a small newsroom."]
    rows = numbers(page, SCORES, np.array([0.0, 0.3, 0.3, 0.3, 0.0]))
    assert column(rows, "score") == SCORES.tolist()
    assert column(rows, "box_score") == [0.0, 0.3, 0.3, 0.3, 0.0]
    assert column(rows, "previous") == [0.0, 0.1, 0.8, 0.05, 0.9]  # nothing before the first block
    assert column(rows, "previous_2") == [0.0, 0.0, 0.1, 0.8, 0.05]
    assert column(rows, "next") == [0.8, 0.05, 0.9, 0.2, 0.0]
    assert column(rows, "next_2") == [0.05, 0.9, 0.2, 0.0, 0.0]
    assert column(rows, "linky") == [0.0, 0.0, 0.0, 1.0, 0.0]
    assert column(rows, "log_chars")[1] == np.log1p(len("Dearreaders,"))


def test_an_empty_page_has_no_rows():
    rows = numbers(segment(None), np.zeros(0), np.zeros(0))
    assert rows.shape == (0, len(SEQUENCE_NUMERIC))


def test_the_shipped_model_lifts_a_quiet_block_between_confident_ones():
    """A block the block model doubts scores higher between two confident appeal blocks than between two
    article paragraphs, the case the stage is there for."""
    model = load_model().sequence_model
    quiet = [0.1, 0.2, 0.95, 0.9, 0.95, 0.9, 5.0, 0.0]
    amid_article = [0.1, 0.0, 0.05, 0.05, 0.05, 0.05, 5.0, 0.0]
    lifted, left = model.predict_proba(np.array([quiet, amid_article]))[:, 1]
    assert lifted > 2 * left
