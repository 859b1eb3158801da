"""The sequence stage: what each block's row says about its neighbours, and how the shipped model reads it."""

from __future__ import annotations

import numpy as np

from model import load_model
from model.parse import parse
from model.segment import segment
from model.sequence import SEQUENCE_NUMERIC, copies, copy_groups, numbers, run_groups, runs, spread

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


def test_a_hidden_block_takes_in_the_run_of_neighbours_that_reach_the_lower_bar():
    hidden = np.array([0, 0, 0, 1, 0, 0, 0, 1], dtype=bool)
    scores = np.array([0.7, 0.2, 0.6, 0.95, 0.7, 0.6, 0.3, 0.95])
    # Block 2 joins from block 3, blocks 4 and 5 one after the other; block 0 is cut off by block 1.
    assert spread(hidden, scores, 0.5).tolist() == [0, 0, 1, 1, 1, 1, 0, 1]
    assert spread(hidden, scores, 0.65).tolist() == [0, 0, 0, 1, 1, 0, 0, 1]
    assert spread(hidden, scores, 1.01).tolist() == hidden.tolist()  # the rule switched off
    # Nothing is hidden for its neighbours' sake without a hidden block to start from.
    assert not spread(np.zeros(8, dtype=bool), scores, 0.5).any()


def test_the_run_stops_where_the_next_page_begins():
    hidden = np.array([0, 1, 0, 0], dtype=bool)
    scores = np.array([0.6, 0.95, 0.6, 0.6])
    assert spread(hidden, scores, 0.5, starts=np.array([0, 2])).tolist() == [1, 1, 0, 0]
    assert spread(hidden, scores, 0.5, starts=np.array([0, 2, 4])).tolist() == [1, 1, 0, 0]  # an empty page


def test_a_run_of_leaning_blocks_with_a_sure_one_is_hidden_whole_across_one_doubted_block():
    # Blocks 1-6: a lead line, a doubted mission sentence, then the ask. Blocks 9-12: a run with no sure
    # block, kept apart by two doubted ones.
    scores = np.array([0.1, 0.65, 0.05, 0.7, 0.99, 0.8, 0.62, 0.2, 0.3, 0.9, 0.97, 0.9, 0.9])
    one = np.zeros(13, dtype=np.int64)
    assert runs(scores, 0.6, one).astype(int).tolist() == [0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    # Two doubted blocks in a row end a run: what is left is too short.
    cut = np.array([0.65, 0.7, 0.05, 0.05, 0.99, 0.8, 0.7])
    assert not runs(cut, 0.6, one[:7]).any()
    # A run needs its four blocks reaching the threshold: a bridged block does not count among them.
    assert not runs(np.array([0.7, 0.99, 0.1, 0.7]), 0.6, one[:4]).any()
    assert not runs(scores, 1.01, one).any()  # the rule switched off
    assert runs(np.zeros(0), 0.6, one[:0]).shape == (0,)


def test_a_run_takes_in_the_siblings_at_its_edges_that_lean_appeal():
    # Blocks 2-5: a run. Its lead line (1) and its "Remind me later" (6) lean appeal and come along;
    # the block before the lead line (0) does not, however it scores: edges are one block deep.
    scores = np.array([0.55, 0.52, 0.7, 0.99, 0.7, 0.7, 0.5, 0.45])
    one = np.zeros(8, dtype=np.int64)
    assert runs(scores, 0.6, one).astype(int).tolist() == [0, 1, 1, 1, 1, 1, 1, 0]
    # Below the lean, or in another element, an edge stays.
    assert runs(np.array([0.45, 0.7, 0.99, 0.7, 0.7, 0.49]), 0.6, one[:6]).tolist() == [0, 1, 1, 1, 1, 0]
    groups = np.array([1, 0, 0, 0, 0, 2])
    assert runs(np.array([0.55, 0.7, 0.99, 0.7, 0.7, 0.55]), 0.6, groups).tolist() == [0, 1, 1, 1, 1, 0]
    # No run, no edges.
    assert not runs(np.array([0.55, 0.7, 0.99, 0.7, 0.55]), 0.6, one[:5]).any()


def test_a_run_keeps_to_the_blocks_of_one_element():
    scores = np.array([0.7, 0.99, 0.7, 0.7, 0.1, 0.7])
    assert runs(scores, 0.6, np.zeros(6, dtype=np.int64)).all()
    assert runs(scores, 0.6, np.array([3, 3, 3, 3, 5, 5])).tolist() == [1, 1, 1, 1, 0, 0]
    assert not runs(scores, 0.6, np.array([3, 3, 3, 5, 5, 5])).any()
    # A box's blocks, the article's paragraph after it, the next box's: the paragraph is not bridged.
    boxes = np.array([0.99, 1.0, 1.0, 0.56, 1.0, 0.99])
    assert runs(boxes, 0.6, np.array([4, 4, 4, 2, 7, 7])).tolist() == [0] * 6


def test_the_groups_of_a_run_are_the_elements_the_blocks_stand_in():
    page = segment(parse(PAGE.replace("<p>Article end.</p>", "<div><p>Box.</p><p>More.</p></div>")))
    groups = run_groups(page)
    assert len(set(groups[:4].tolist())) == 1 and groups[4] == groups[5] != groups[0]


def test_lone_links_to_one_address_copy_one_another_and_join_their_text_copies():
    html = (
        "<html><body><nav><a href='/spenden/'>Spenden</a> <a href='/'>Start</a></nav>"
        "<p>Our <a href='/spenden/'>appeal</a> reached its goal.</p><div><a href='/spenden/?ref=f'>Jetzt "
        "spenden</a></div><footer><p> SPENDEN  </p><a href='/'>Home</a></footer></body></html>"
    )
    page = segment(parse(html))
    texts = ["Spenden", "Start", "Our appeal reached its goal.", "Jetzt spenden", "SPENDEN", "Home"]
    assert [b.text.strip() for b in page.blocks] == texts
    groups = copy_groups(page).tolist()
    # The button joins the menu item by its address (the query is not sent), the footer line by its text
    # (case and spacing aside);
    # the sentence merely holding such a link, and two links home, copy nothing.
    assert groups[0] == groups[3] == groups[4]
    assert len({groups[0], groups[1], groups[2], groups[5]}) == 4


def test_a_copy_of_a_hidden_text_is_hidden_when_its_own_score_leans_that_way():
    groups = np.array([0, 1, 2, 0, 1, 0, -1, -1])
    hidden = np.array([1, 0, 0, 0, 0, 0, 1, 0], dtype=bool)
    scores = np.array([0.99, 0.9, 0.1, 0.6, 0.95, 0.3, 0.99, 0.99])
    # Block 3 copies hidden block 0 and scores 0.6; block 5 copies it too but scores 0.3; group 1 has
    # nothing hidden; blocks without text (-1) are copies of nothing.
    assert copies(hidden, scores, groups, 0.5).tolist() == [1, 0, 0, 1, 0, 0, 1, 0]
    assert copies(hidden, scores, groups, 1.01).tolist() == hidden.tolist()  # the rule off


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
