"""From block decisions to ids: outermost all-appeal elements, never one that holds content."""

from __future__ import annotations

import numpy as np

from model.decide import hide_ids
from model.parse import parse
from model.segment import segment

PAGE = """<body data-hush-id="0">
<article data-hush-id="1"><p data-hush-id="2">Council news paragraph.</p>
<div data-hush-id="3"><div data-hush-id="4"><h3 data-hush-id="5">Give to us</h3>
<p data-hush-id="6">Monthly gifts keep us free.</p><img data-hush-id="7" src="x.png"></div></div>
<p data-hush-id="8">Another news paragraph.</p>
<p data-hush-id="9">Dear readers</p><p data-hush-id="9">Dear readers again</p>
</article></body>"""


def decide(appeal_texts: set[str]) -> list[str]:
    page = segment(parse(PAGE))
    flags = np.array([b.text in appeal_texts for b in page.blocks])
    return hide_ids(page, flags)


def test_the_outermost_element_whose_text_is_all_appeal_is_hidden():
    assert decide({"Give to us", "Monthly gifts keep us free."}) == ["3"]


def test_an_element_holding_any_content_text_is_never_hidden():
    assert decide({"Give to us"}) == ["5"]
    assert "1" not in decide({"Give to us", "Monthly gifts keep us free.", "Another news paragraph."})


def test_ids_come_in_document_order_each_once():
    assert decide({"Council news paragraph.", "Dear readers", "Dear readers again"}) == ["2", "9"]


def test_nothing_appeal_nothing_hidden():
    assert decide(set()) == []


def test_an_id_that_also_marks_content_is_never_hidden():
    """Two elements stamped with one id ("9"): hidden only when both are all appeal, since a client that
    collapses by id would collapse both."""
    assert "9" not in decide({"Dear readers"})
    assert decide({"Dear readers again", "Give to us"}) == ["5"]
