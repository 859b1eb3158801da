"""The fast prediction path gives what the fitted pipelines give, bit for bit, and the batched feature
helpers give what their one-at-a-time definitions give."""

from __future__ import annotations

import random
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.pipeline import Pipeline
from sklearn.utils import murmurhash3_32

from model import boxes, load_model, signals
from model import features as F
from model.facts import BIC_CASES, PHRASES, text_facts, texts_facts, trie_pattern
from model.fastpath import BlockScorer, BoxScorer
from model.forest import GROUPED_ROWS, Forest
from model.hashing import HashedText, murmur3_32
from model.parse import parse, read_page
from model.segment import attribute_tokens, segment
from model.sequence import numbers as sequence_numbers

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "corpus" / "pages").rglob("*.html"))[::25]


@pytest.fixture(scope="module")
def model():
    return load_model()


def pages():
    for path in PAGES:
        yield segment(parse(read_page(path)))


def same_csr(a, b) -> bool:
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.data, b.data)
    )


# --- facts -------------------------------------------------------------------------------------------

PIECES = [
    *signals.APPEAL_PHRASES[:40], *sorted(signals.APPEAL_WORDS)[:40], *signals.CALL_TO_ACTION[:20],
    " ", "-", "'", "’", "x", "5 €", "$10", "€ 3,50", "CHF 20", "руб. 5", "12345678", "5.99", "eur", "zł",
    "IBAN DE12 5001 0517 0648 4898 90", "BIC", "bic: ", "ſwift ", "SWİFT", "COBADEFFXXX", "İ", "ı", "ß", "!",
]  # fmt: skip


def random_text(rnd: random.Random, pieces: int) -> str:
    return "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, pieces)))


def test_texts_facts_count_as_text_facts_does_text_by_text():
    rnd = random.Random(7)
    for _ in range(3000):
        texts = [random_text(rnd, 10) for _ in range(rnd.randint(1, 5))]
        assert texts_facts(texts).tolist() == [list(text_facts(t)) for t in texts], texts
    assert texts_facts([]).shape == (0, 4)
    assert texts_facts(["a\x00b", "5 €"]).tolist() == [list(text_facts("a\x00b")), list(text_facts("5 €"))]


def test_a_trie_pattern_matches_as_the_longest_first_alternation():
    trie = re.compile(trie_pattern(signals.APPEAL_PHRASES))
    rnd = random.Random(3)
    for _ in range(5000):
        text = random_text(rnd, 8).lower()
        assert trie.findall(text) == PHRASES.findall(text)


def test_bic_label_letters_match_what_ignorecase_matches():
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    for letter, cases in BIC_CASES.items():
        assert "".join(re.findall(letter, every, re.IGNORECASE)) == "".join(sorted(cases))


def test_platform_links_are_found_as_the_linear_scan_found_them():
    def linear(host: str, path: str) -> bool:
        target = host + path
        return any(
            target.startswith(p) or f".{p}" in target or target.startswith("www." + p)
            for p in signals.PLATFORM_HOSTS
        )

    hosts = ["", "www.", "x.", "patreon.com", "patreon.community", "a.com/redirect.", "paypal.com", "ko-fi"]
    paths = ["", "/", "/donate", ".patreon.com", "/cgi-bin/webscr", "/sponsors/me"]
    for host in hosts:
        for other in ["", *signals.PLATFORM_HOSTS[::5]]:
            for path in paths:
                assert F.is_platform(host + other, path) == linear(host + other, path)


# --- hashing -----------------------------------------------------------------------------------------


def test_murmur3_matches_sklearn():
    rnd = random.Random(5)
    alphabet = "abc äöüß中\U0001f600-'\x00\x7f\x80\xff"
    strings = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30))) for _ in range(20000)]
    encoded = [s.encode() for s in strings]
    data = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    nbytes = np.array([len(e) for e in encoded])
    begin = np.concatenate(([0], np.cumsum(nbytes)[:-1]))
    expected = np.array([murmurhash3_32(s, 0) for s in strings])
    assert np.array_equal(murmur3_32(data, begin, nbytes), expected)


def test_whitespace_is_the_same_for_re_and_str_split():
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    assert "".join(re.findall(r"\s", every)) == "".join(c for c in every if c.isspace())


def test_hashed_text_gives_the_fitted_vectorizers_matrices(model):
    columns = model.block_model.named_steps["columns"]
    vectorizers = [t for _, t, _ in columns.transformers_ if HashedText.supports(t)]
    assert len(vectorizers) == 4
    rnd = random.Random(11)
    alphabet = [*"abcdefghij  ÄäöÜßéñ中\U0001f600-'’.,!?0123\t\n\u00a0\u2003_İǅ", "donate", "support us"]
    docs = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 60))) for _ in range(400)]
    for vec in vectorizers:
        assert same_csr(HashedText(vec).transform(docs), vec.transform(docs))
        assert same_csr(HashedText(vec).transform([""]), vec.transform([""]))


# --- the trees ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("stage", ["box_model", "sequence_model"])
@pytest.mark.parametrize("n", [1, 2, 37, GROUPED_ROWS + 5])
def test_forest_sums_the_leaves_as_the_classifier_does(model, n, stage):
    trees = getattr(model, stage).named_steps["classify"]
    forest = Forest(trees)
    rnd = np.random.RandomState(n)
    x = rnd.randn(n, trees.n_features_in_) * rnd.choice([0.1, 1, 10, 1000], size=(n, trees.n_features_in_))
    x[rnd.rand(*x.shape) < 0.05] = np.nan
    x[rnd.rand(*x.shape) < 0.02] = np.inf
    if n:  # values on, just above and just below the thresholds
        for f, thresholds in enumerate(forest.thresholds):
            if len(thresholds):
                up, down = np.nextafter(thresholds, np.inf), np.nextafter(thresholds, -np.inf)
                near = np.concatenate([thresholds, up, down])
                x[:, f] = np.where(rnd.rand(n) < 0.5, rnd.choice(near, n), x[:, f])
    assert np.array_equal(forest.raw(x), trees._raw_predict(x)[:, 0])


# --- the whole path ----------------------------------------------------------------------------------


def test_the_fast_path_gives_the_pipelines_scores(model):
    block, box, sequence = model.scorers()
    assert block is not None and box is not None and sequence is not None
    for page in pages():
        if not page.blocks:
            continue
        rows = F.block_rows(page)
        cols = F.block_columns(page)
        numbers = np.array(cols.numbers, dtype=np.float64)
        scores = block.scores(cols.column, numbers, 3)
        assert np.array_equal(scores, model.block_model.predict_proba(rows)[:, 1])
        spans = boxes.candidates(page, scores)
        if spans:
            box_numbers = boxes.numbers(page, spans, scores)
            expected = model.box_model.predict_proba(box_numbers)[:, 1]
            assert np.array_equal(box.scores(box_numbers, 0), expected)
            box_scores = boxes.spread(len(page.blocks), spans, expected)
        else:
            box_scores = np.zeros(len(page.blocks))
        rows = sequence_numbers(page, scores, box_scores)
        assert np.array_equal(sequence.scores(rows, 0), model.sequence_model.predict_proba(rows)[:, 1])


def test_pipelines_of_another_shape_are_used_as_they_are(model):
    other = Pipeline([("classify", model.block_model.named_steps["classify"])])
    assert BlockScorer.build(other) is None and BoxScorer.build(other) is None
    assert BlockScorer.build(model.box_model) is None and BoxScorer.build(model.block_model) is None


def test_rows_are_the_columns(model):
    for page in pages():
        rows, cols = F.block_rows(page), F.block_columns(page)
        assert rows[:, F.BLOCK_TEXT].tolist() == cols.text
        assert rows[:, F.BLOCK_CONTEXT].tolist() == cols.context
        assert rows[:, F.BLOCK_TOKENS].tolist() == cols.tokens
        assert rows[:, 3:].tolist() == [list(n) for n in cols.numbers]


def test_attribute_tokens_are_the_same_with_a_memo():
    classes = 'class="donate-box DonateBox 2024"'
    root = parse(f'<div {classes} id="x1" role="region"><p {classes}>a</p><p {classes} id="x1">b</p></div>')
    memo: dict[str, str] = {}
    for el in root.iter():
        assert attribute_tokens(el, memo) == attribute_tokens(el) == attribute_tokens(el, memo)
