"""Average precision of out-of-fold scores: threshold-free, weighted by characters, reported by origin."""

from types import SimpleNamespace

import numpy as np
import pytest
from test_report import INFO, METADATA, PAGES, _report

from model import cv_summary
from model.ranking import average_precision
from model.report import markdown

A = np.array


def test_appeal_ranked_above_all_content_scores_one():
    assert average_precision([A([30, 0, 5])], [A([0, 40, 0])], [A([0.9, 0.1, 0.6])]) == pytest.approx(1.0)


def test_each_block_counts_with_its_characters():
    # One content block outranks both appeal blocks: it costs more when it is long.
    appeal, scores = [A([10, 10, 0])], [A([0.8, 0.7, 0.9])]
    short = average_precision(appeal, [A([0, 0, 1])], scores)
    long = average_precision(appeal, [A([0, 0, 100])], scores)
    assert long < short < 1.0
    # The first block holding appeal comes after 100 content characters: precision 10/110, then 20/120.
    assert long == pytest.approx((10 / 110 + 20 / 120) / 2)


def test_a_block_is_appeal_when_most_of_its_characters_are_and_unlabelled_blocks_are_left_out():
    mixed = average_precision([A([60, 0, 0])], [A([40, 50, 0])], [A([0.9, 0.1, 0.99])])
    assert mixed == pytest.approx(1.0)  # the third block has no labelled text: its score counts for nothing


def test_no_appeal_or_no_content_has_no_ranking():
    assert average_precision([A([0, 0])], [A([5, 5])], [A([0.1, 0.2])]) is None
    assert average_precision([A([5, 5])], [A([0, 0])], [A([0.1, 0.2])]) is None


def test_stages_are_ranked_apart_by_origin():
    pages = [
        SimpleNamespace(meta={}, appeal_chars=A([10, 0]), content_chars=A([0, 10])),
        SimpleNamespace(meta={"source": "handwritten"}, appeal_chars=A([10, 0]), content_chars=A([0, 10])),
    ]
    oof = SimpleNamespace(
        block=[A([0.9, 0.1]), A([0.1, 0.9])],  # right on the real page, wrong on the hand-written one
        box=[A([0.0, 0.0]), A([0.8, 0.0])],
        sequence=[A([0.2, 0.3]), A([0.5, 0.5])],
    )
    ranked = cv_summary.ranking_by_origin(SimpleNamespace(pages=pages), oof)
    assert list(ranked) == ["all pages", "real", "handwritten"]
    assert ranked["real"]["block"] == pytest.approx(1.0)
    assert ranked["handwritten"]["block"] == pytest.approx(0.5)
    assert ranked["handwritten"]["box"] == pytest.approx(1.0)
    assert ranked["real"]["sequence"] == pytest.approx(0.5)
    assert ranked["handwritten"]["best"] == pytest.approx(0.5)  # 0.9 on the content block wins there


def test_the_report_has_a_ranking_section_only_when_given_one():
    ranked = {"all pages": {"block": 0.5, "box": None, "sequence": 0.75, "best": 0.6}}
    text = markdown(_report(), PAGES, METADATA, "hush train real corpus", INFO, ranked=ranked)
    section = text.split("\n## Ranking, whatever the thresholds\n", 1)[1].split("\n## ", 1)[0]
    assert "| all pages | 0.500 | – | 0.750 | 0.600 |" in section
    assert "Ranking, whatever" not in markdown(_report(), PAGES, METADATA, "hush train", INFO)
