"""The benchmark's floor under the 3× bar: a walk over every element after a bare parse."""

from bench.inproc import walk
from bench.report import _walk_floor


def test_the_walk_visits_every_element_of_the_parsed_page():
    html = "<html><body><div class=a><p>One <b>two</b></p><!-- note --><p>three</p></div></body></html>"
    assert walk(html) == 7  # html, body, div, p, b, the comment, p


def test_the_report_says_what_the_bar_leaves_after_the_walk():
    ip = {"ratio": {"walk": {"median": 1.76, "p95": 2.2}}}
    (text,) = [line for line in _walk_floor(ip) if line]
    assert "1.76× the bare parse" in text and "2.20× at p95" in text
    assert "leaves 1.24× the parse" in text


def test_results_from_before_the_walk_give_no_floor():
    assert _walk_floor({"ratio": {"bare": {"median": 30.0}}}) == []
