"""How training chooses its thresholds, on made-up out-of-fold scores: the neighbour and run rules, the box
gate, the cap on what one page's appeal counts and the weight of each page."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from model import thresholds
from model.boxes import Span, spread
from model.thresholds import choose_thresholds
from model.training_data import OutOfFold


def choose(
    sequence_scores: list[list[float]],
    appeal: list[list[int]],
    block_scores: list[list[float]] | None = None,
    texts: list[list[int]] | None = None,
    weights: list[float] | None = None,
) -> dict:
    """Thresholds chosen on pages of ten-character blocks with these sequence scores (block scores 0
    unless given, box scores 0), these labels and, when given, these copy groups (blocks of a page with
    the same number have the same text), each page's characters counted ``weights`` times when given."""
    pages = [
        SimpleNamespace(appeal_chars=np.array(a) * 10, content_chars=(1 - np.array(a)) * 10) for a in appeal
    ]
    zeros = [np.zeros(len(a)) for a in appeal]
    block = zeros if block_scores is None else [np.array(s) for s in block_scores]
    copies = None if texts is None else [np.array(t) for t in texts]
    oof = OutOfFold(block, zeros, [np.array(q) for q in sequence_scores], None, None, None, copies)
    return choose_thresholds(SimpleNamespace(pages=pages), oof, list(range(len(pages))), weights)


def test_training_chooses_the_neighbour_rule_when_appeals_have_doubted_edges():
    # Each appeal: a sure middle (0.95) between doubted edges (0.6); content scores 0.6 only away from
    # appeals, so no single threshold takes the edges without it.
    q = [[0.1, 0.6, 0.95, 0.95, 0.6, 0.1], [0.6, 0.1, 0.1, 0.6, 0.95, 0.6]]
    y = [[0, 1, 1, 1, 1, 0], [0, 0, 0, 1, 1, 1]]
    threshold = choose(q, y)
    assert threshold["sequence"] > 0.6 and 0.1 < threshold["neighbour"] <= 0.6, threshold


def test_training_leaves_the_neighbour_rule_off_when_it_would_hide_content():
    q = [[0.6, 0.95, 0.95, 0.6], [0.6, 0.95, 0.6, 0.1]]
    y = [[0, 1, 1, 0], [0, 1, 0, 0]]
    threshold = choose(q, y)
    assert threshold["sequence"] == 0.95 and threshold["neighbour"] > 1


def test_the_block_score_alone_hides_only_at_the_top_of_the_grid():
    # On these pages a block threshold of 0.99 would hide every appeal and nothing else; chosen on some
    # sites, such a threshold hid content on others, so the block score alone is trusted only when sure.
    y = [[0, 1, 1, 0], [0, 0, 0, 0]]
    zeros = [[0.0] * 4, [0.0] * 4]
    assert choose(zeros, y, [[0.1, 0.99, 0.99, 0.1], [0.1] * 4])["block"] >= 0.9999
    assert choose(zeros, y, [[0.1, 0.999995, 0.999995, 0.1], [0.1] * 4])["block"] == 0.99999


def test_training_turns_the_run_rule_on_when_appeals_stand_as_runs_of_leaning_blocks():
    # Page 0: a flat appeal (blocks 1-5), one block of it sure; no single block threshold below the sure
    # one takes the rest without the content blocks of page 1, which score as high one by one.
    block = [[0.1, 0.7, 0.2, 0.75, 0.99, 0.7, 0.1], [0.75, 0.1, 0.7, 0.1, 0.7, 0.75, 0.1]]
    y = [[0, 1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0, 0]]
    zeros = [[0.0] * 7, [0.0] * 7]
    assert choose(zeros, y, block)["run"] == 0.6


def test_training_keeps_the_run_rule_on_when_no_page_has_a_run():
    q = [[0.1, 0.6, 0.95, 0.95, 0.6, 0.1], [0.6, 0.1, 0.1, 0.6, 0.95, 0.6]]
    y = [[0, 1, 1, 1, 1, 0], [0, 0, 0, 1, 1, 1]]
    assert choose(q, y)["run"] == 0.6


def test_training_leaves_the_run_rule_off_when_a_run_is_content():
    # Page 1 is a run of content longer than the appeal: the appeal's sure block alone does better.
    block = [[0.1, 0.7, 0.2, 0.75, 0.99995, 0.7, 0.1], [0.75, 0.7, 0.985, 0.7, 0.7, 0.7, 0.7]]
    y = [[0, 1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0, 0]]
    zeros = [[0.0] * 7, [0.0] * 7]
    assert choose(zeros, y, block)["run"] > 1


def test_one_page_alone_does_not_turn_the_run_rule_off():
    # As above, but the appeal of page 0 is its sure block alone: the run rule hides content on page 1
    # only, and one page does not decide a rule.
    block = [[0.1, 0.1, 0.2, 0.1, 0.99995, 0.1, 0.1], [0.75, 0.7, 0.985, 0.7, 0.7, 0.7, 0.7]]
    y = [[0, 0, 0, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0, 0]]
    zeros = [[0.0] * 7, [0.0] * 7]
    assert choose(zeros, y, block)["run"] == 0.6
    # Twice that page, and the rule is off.
    assert choose([[0.0] * 7] * 3, y + y[1:], block + block[1:])["run"] > 1


def test_one_long_appeal_does_not_buy_content_hidden_on_many_pages(monkeypatch):
    # Page 0: a long appeal (600 characters) whose blocks score 0.8. Each of 25 other pages: a sure appeal
    # block (0.95) and a content block that scores 0.8 too. Counted whole, the long appeal makes hiding at
    # 0.8, and so content on every other page, the better choice; counted up to the cap, it does not.
    q = [[0.8] * 60] + [[0.8, 0.95, 0.1]] * 25
    y = [[1] * 60] + [[0, 1, 0]] * 25
    assert choose(q, y)["sequence"] == 0.95
    monkeypatch.setattr(thresholds, "PAGE_APPEAL_CAP", 10**9)
    assert choose(q, y)["sequence"] == 0.8


def test_training_keeps_the_copy_rule_on_when_copies_of_appeals_are_appeals():
    # The footer repeats the header's "Donate" (block 4, 0.7): only the copy rule hides it without the
    # content block that scores 0.7 on its own.
    block = [[0.99995, 0.1, 0.1, 0.7, 0.7], [0.99995, 0.1, 0.7, 0.1, 0.1]]
    y = [[1, 0, 0, 0, 1], [1, 0, 0, 0, 0]]
    texts = [[0, 1, 2, 3, 0], [0, 1, 2, 3, 4]]
    zeros = [[0.0] * 5, [0.0] * 5]
    assert choose(zeros, y, block, texts)["copy"] == 0.5


def test_training_turns_the_copy_rule_off_when_copies_are_content():
    # The same text both as an appeal's call and as content elsewhere on the page (a menu item "Join").
    block = [[0.99995, 0.1, 0.7, 0.1], [0.99995, 0.6, 0.1, 0.6]]
    y = [[1, 0, 0, 0], [1, 0, 0, 0]]
    texts = [[0, 1, 0, 2], [0, 0, 1, 0]]
    zeros = [[0.0] * 4, [0.0] * 4]
    assert choose(zeros, y, block, texts)["copy"] > 1


def test_a_gated_box_lends_its_score_only_when_one_of_its_blocks_is_sure_enough():
    spans = [Span(0, 3, 0, False), Span(3, 5, 0, False)]
    block = np.array([0.2, 0.75, 0.1, 0.3, 0.4])
    scores = np.array([0.95, 0.97])
    assert spread(5, spans, scores).tolist() == [0.95, 0.95, 0.95, 0.97, 0.97]
    assert spread(5, spans, scores, block, 0.7).tolist() == [0.95, 0.95, 0.95, 0.0, 0.0]
    assert spread(5, spans, scores, block, 0.8).tolist() == [0.0] * 5


def test_training_gates_boxes_when_boxes_of_doubted_blocks_hold_content():
    # Page 0: an appeal box whose heading the block model is sure of. Page 1: a help desk's contact box,
    # every block doubted, that the box model is even surer of: no box threshold tells them apart.
    block = [np.array([0.1, 0.9, 0.4, 0.4]), np.array([0.1, 0.3, 0.3, 0.2])]
    spans = [[Span(1, 4, 0, False)], [Span(1, 4, 0, False)]]
    span_scores = [np.array([0.95]), np.array([0.98])]
    box = [spread(4, s, x) for s, x in zip(spans, span_scores, strict=True)]
    zeros = [np.zeros(4), np.zeros(4)]
    oof = OutOfFold(block, box, zeros, SimpleNamespace(spans=spans), span_scores)
    pages = [
        SimpleNamespace(appeal_chars=np.array([0, 10, 10, 10]), content_chars=np.array([10, 0, 0, 0])),
        SimpleNamespace(appeal_chars=np.zeros(4), content_chars=np.full(4, 10)),
    ]
    threshold = choose_thresholds(SimpleNamespace(pages=pages), oof, [0, 1])
    assert threshold["box_gate"] > 0.3 and threshold["box"] <= 0.95, threshold
    assert oof.hidden(0, threshold).tolist() == [False, True, True, True]
    assert not oof.hidden(1, threshold).any()


def test_the_unseen_sites_check_scores_each_page_at_thresholds_chosen_without_its_site(monkeypatch):
    sites = [f"site{n}.example" for n in range(12) for _ in range(2)]  # two pages a site
    pages = [
        SimpleNamespace(
            path=f"p{i}.html", site=s, appeal_chars=np.array([10, 0]), content_chars=np.array([0, 10])
        )
        for i, s in enumerate(sites)
    ]
    chosen_on: dict[float, set[str]] = {}  # each call's thresholds, told apart by their block threshold

    def choose(data, oof, idx, weights=None):
        key = float(len(chosen_on))
        chosen_on[key] = {sites[i] for i in idx}
        return {"block": key}

    scored: list[tuple[int, float]] = []

    def hidden(i, threshold):
        scored.append((i, threshold["block"]))
        return np.array([True, False])

    monkeypatch.setattr(thresholds, "choose_thresholds", choose)
    oof = SimpleNamespace(hidden=hidden)
    counts = thresholds.unseen_sites(SimpleNamespace(pages=pages), oof, list(range(len(pages))))
    assert scored and all(sites[i] not in chosen_on[key] for i, key in scored)
    assert sorted(i for i, _ in scored) == sorted(list(range(len(pages))) * thresholds.UNSEEN_SPLITS)
    assert len(counts) == len(pages) * thresholds.UNSEEN_SPLITS
    assert all(c.hidden_appeal == 10 and c.hidden_content == 0 for c in counts.values())


def test_a_page_weighted_down_weighs_less_in_the_choice():
    # Page 1's content at sequence score 0.8 (60 characters) outweighs page 0's appeal there (40): counted
    # in full it keeps the sequence threshold above 0.8; weighted 0.1 it does not.
    q = [[0.1, 0.95, 0.1, 0.8, 0.8, 0.8, 0.8, 0.1], [0.1, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.1]]
    y = [[0, 1, 0, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0, 0, 0]]
    alike, weighted = choose(q, y), choose(q, y, weights=[1.0, 0.1])
    assert alike["sequence"] > 0.8 and weighted["sequence"] <= 0.8, (alike, weighted)


def test_thresholds_are_led_by_real_pages_and_hard_negatives():
    def page(source: str | None, label: str) -> SimpleNamespace:
        meta = {"label": label} if source is None else {"label": label, "source": source}
        return SimpleNamespace(meta=meta)

    real = [page(None, "appeal") for _ in range(thresholds.MIN_REAL_PAGES)]
    written = [page("hand-written", "hard_negative"), page("hand-written", "appeal")]
    weights = thresholds.threshold_weights(SimpleNamespace(pages=real + written))[1]
    n = len(real)
    assert weights is not None
    assert [weights[i] for i in (0, n, n + 1)] == [1.0, 1.0, thresholds.HAND_WRITTEN_WEIGHT]
    assert thresholds.threshold_weights(SimpleNamespace(pages=real[1:] + written))[1] is None
