"""Loading the shipped model and classifying pages with it: the serving path, no training code."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from lxml import etree
from sklearn.pipeline import Pipeline

from model import boxes, sequence
from model import features as F
from model.decide import block_scores_by_id, hide_ids
from model.fastpath import BlockScorer, BoxScorer
from model.parse import ALTERED, parse
from model.segment import Page, segment

SHIPPED_MODEL = Path(__file__).resolve().parent / "shipped" / "hush-model.skops"
NO_THRESHOLD = 1.01  # above any score: that rule never hides a block
# Rules newer than the first model files: a file whose thresholds lack their keys has them off.
RULES_OFF = {"box_gate": 0.0, "neighbour": NO_THRESHOLD, "run": NO_THRESHOLD, "copy": NO_THRESHOLD}

THRESHOLD_ORDER = ("block", "box", "box_gate", "sequence", "run", "neighbour", "copy")  # as the rules apply


def threshold_text(threshold: dict) -> str:
    """The thresholds as a reader sees them ("off" for a rule that never hides a block)."""
    merged = {**RULES_OFF, **threshold}
    return ", ".join(
        f"{k.replace('_', ' ')} {'off' if float(merged[k]) > 1.0 else merged[k]}"
        for k in THRESHOLD_ORDER
        if k in merged
    )


def appeal_blocks(
    block_scores: np.ndarray,
    box_scores: np.ndarray,
    sequence_scores: np.ndarray,
    threshold: dict,
    groups: np.ndarray,
    copy_groups: np.ndarray,
) -> np.ndarray:
    """Per block: is it hidden? When its block, box or sequence score reaches its threshold (``box_scores``
    from the boxes that pass the box gate), when it lies in a run of sibling blocks (``groups``, from
    ``sequence.run_groups``) whose block scores reach the run threshold (``sequence.runs``), or when it
    stands next to a hidden block in reading order and its sequence score reaches the neighbour
    threshold; then when it copies a hidden block (``copy_groups``, from ``sequence.copy_groups``: the
    same text, or a lone link to the same address) and its block score reaches the copy threshold.
    Training judges its thresholds by this very rule."""
    appeal = (
        (block_scores >= threshold["block"])
        | (box_scores >= threshold["box"])
        | (sequence_scores >= threshold["sequence"])
        | sequence.runs(block_scores, threshold["run"], groups)
    )
    appeal = sequence.spread(appeal, sequence_scores, threshold["neighbour"])
    return sequence.copies(appeal, block_scores, copy_groups, threshold["copy"])


def best_of(block_scores: np.ndarray, box_scores: np.ndarray, sequence_scores: np.ndarray) -> np.ndarray:
    """Per block: the highest of its block, box and sequence scores (the score a hidden block reports)."""
    return np.maximum(np.maximum(block_scores, box_scores), sequence_scores)


@dataclass
class Classification:
    """What one classify call found: ids to hide, scores of appeal elements, time per stage (ms)."""

    hide: list[str]
    blocks: list[dict]
    timings: dict[str, float] = field(default_factory=dict)


@dataclass
class Scored:
    """A segmented page with its block and box scores and the final block decisions."""

    page: Page
    block_scores: np.ndarray
    box_scores: np.ndarray  # per block: the highest score of a candidate box holding it (0 if none)
    sequence_scores: np.ndarray  # per block: its score read from its neighbours' (model.sequence)
    appeal: np.ndarray  # per block: bool

    def best(self) -> np.ndarray:
        """Per block: the highest of its three scores."""
        return best_of(self.block_scores, self.box_scores, self.sequence_scores)


class HushModel:
    """A trained block model, box model and sequence model, their thresholds and metadata."""

    def __init__(
        self,
        block_model: Pipeline,
        box_model: Pipeline,
        sequence_model: Pipeline,
        metadata: dict,
        path: Path | None = None,
    ) -> None:
        self.path = path  # the file it was loaded from, if any
        self.block_model = block_model
        self.box_model = box_model
        self.sequence_model = sequence_model
        self.metadata = metadata
        self.threshold = {k: float(v) for k, v in {**RULES_OFF, **metadata["threshold"]}.items()}
        self._scorers: tuple | None = None

    @property
    def version(self) -> str:
        return str(self.metadata["version"])

    def scorers(self) -> tuple[BlockScorer | None, BoxScorer | None, BoxScorer | None]:
        """The fast equivalents of the three pipelines, built on first use (None for a pipeline of a
        shape they do not handle, which is then called as it is)."""
        models = (self.block_model, self.box_model, self.sequence_model)
        cached = self._scorers
        if cached is None or any(a is not b for a, b in zip(cached[0], models, strict=True)):
            fast = (
                BlockScorer.build(self.block_model),
                BoxScorer.build(self.box_model),
                BoxScorer.build(self.sequence_model),
            )
            cached = self._scorers = (models, fast)
        return cached[1]

    def score_page(self, page: Page, timings: dict[str, float] | None = None) -> Scored:
        """Score every block and every candidate box of a segmented page."""
        t0 = time.perf_counter()
        n = len(page.blocks)
        if n == 0:
            empty = np.zeros(0)
            return Scored(page, empty, empty, empty, np.zeros(0, dtype=bool))
        block_scorer, box_scorer, sequence_scorer = self.scorers()
        if block_scorer is not None:  # the same scores as the pipeline, from the same columns
            cols = F.block_columns(page)
            numbers = np.array(cols.numbers, dtype=np.float64).reshape(n, len(F.BLOCK_NUMERIC))
            t1 = time.perf_counter()
            block_scores = block_scorer.scores(cols.column, numbers, first=F.BLOCK_FIRST_NUMBER)
        else:
            rows = F.block_rows(page)
            t1 = time.perf_counter()
            block_scores = self.block_model.predict_proba(rows)[:, 1]
        t2 = time.perf_counter()
        spans = boxes.candidates(page, block_scores)
        box_numbers = boxes.numbers(page, spans, block_scores)
        t3 = time.perf_counter()
        box_scores = hiding_box_scores = np.zeros(n)
        if spans:
            if box_scorer is not None:
                span_scores = box_scorer.scores(box_numbers, first=0)
            else:
                span_scores = self.box_model.predict_proba(box_numbers)[:, 1]
            box_scores = hiding_box_scores = boxes.spread(n, spans, span_scores)
            gate = self.threshold["box_gate"]
            if gate > 0.0:
                hiding_box_scores = boxes.spread(n, spans, span_scores, block_scores, gate)
        t4 = time.perf_counter()
        sequence_numbers = sequence.numbers(page, block_scores, box_scores)
        t5 = time.perf_counter()
        if sequence_scorer is not None:
            sequence_scores = sequence_scorer.scores(sequence_numbers, first=0)
        else:
            sequence_scores = self.sequence_model.predict_proba(sequence_numbers)[:, 1]
        t6 = time.perf_counter()
        t1 += (t3 - t2) + (t5 - t4)  # box and sequence rows count as feature time
        if timings is not None:
            timings["features"] = (t1 - t0) * 1000
            timings["predict"] = (t6 - t1) * 1000
        groups, copy_groups = sequence.run_groups(page), sequence.copy_groups(page)
        appeal = appeal_blocks(
            block_scores, hiding_box_scores, sequence_scores, self.threshold, groups, copy_groups
        )
        return Scored(page, block_scores, box_scores, sequence_scores, appeal)

    def classify_tree(
        self,
        root: etree._Element | None,
        *,
        with_labels: bool = False,
        timings: dict[str, float] | None = None,
    ) -> Scored:
        t0 = time.perf_counter()
        page = segment(root, with_labels=with_labels)
        if timings is not None:
            timings["segment"] = (time.perf_counter() - t0) * 1000
        return self.score_page(page, timings)

    def classify(self, html: str) -> Classification:
        """Classify a document or fragment whose elements may carry ``data-hush-id``."""
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        root = parse(html)
        timings["parse"] = (time.perf_counter() - t0) * 1000
        scored = self.classify_tree(root, timings=timings)
        score = scored.best()
        hide = hide_ids(scored.page, scored.appeal)
        blocks = block_scores_by_id(scored.page, scored.appeal, score)
        if ALTERED.search(html):  # parse() dropped or replaced characters: ids may have changed
            hide = [i for i in hide if _written_in(i, html)]
            blocks = [b for b in blocks if _written_in(b["id"], html)]
        return Classification(hide, blocks, timings={k: round(v, 3) for k, v in timings.items()})


def _written_in(ident: str, html: str) -> bool:
    """Whether an id stands in the page as an attribute value, as written (else parsing changed it)."""
    return bool(ident) and (any(f"{q}{ident}{q}" in html for q in ('"', "'")) or f"={ident}" in html)


def load_model(path: str | Path | None = None) -> HushModel:
    """Load a model file (the shipped one by default); ModelError with a clear message otherwise."""
    from model.persist import load

    return load(Path(path) if path is not None else SHIPPED_MODEL)
