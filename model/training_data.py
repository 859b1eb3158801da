"""What training works on: the labelled pages' rows, targets and sample weights, and the stages' scores of
pages their models did not see (out-of-fold), from which thresholds are chosen and reports are made."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from model import boxes
from model import features as F
from model.labelled import LabelledPage
from model.predict import appeal_blocks

APPEAL_BOX_SHARE = 0.97  # an element box is appeal when this share of its labelled text is

Progress = Callable[[str, int, int], None]  # (step, done, total)


@dataclass
class Dataset:
    """The pages trained on, each with its block rows and how much it weighs."""

    pages: list[LabelledPage]
    rows: list[np.ndarray]  # block rows per page
    weights: list[float]  # per page: each block's sample weight
    page_weights: list[float]  # per page: 1, or the own weight for the user's pages
    own: list[bool]  # per page: one of the user's pages (``hush train --with``)


@dataclass
class BoxStage:
    """Each page's candidate spans (model.boxes) and the box model's row of each."""

    spans: list[list[boxes.Span]]  # per page
    rows: list[np.ndarray]  # per page


def block_targets(p: LabelledPage) -> tuple[np.ndarray, np.ndarray]:
    """Per block: is it appeal, and is it usable for training (not mostly 'other')."""
    chars = p.appeal_chars + p.other_chars + p.content_chars
    usable = p.other_chars * 2 < chars
    return p.appeal_chars * 2 > chars, usable


def box_targets(p: LabelledPage, spans: list[boxes.Span]) -> tuple[np.ndarray, np.ndarray]:
    """Per candidate span: is (nearly) all its labelled text appeal, and does it hold labelled text."""
    y = np.zeros(len(spans), dtype=bool)
    usable = np.zeros(len(spans), dtype=bool)
    for r, span in enumerate(spans):
        a, k = p.appeal_chars[span.b0 : span.b1].sum(), p.content_chars[span.b0 : span.b1].sum()
        usable[r] = a + k > 0
        # A window of sibling paragraphs has no wrapper to excuse stray text: it must be all appeal.
        y[r] = a > 0 and (k == 0 if span.window else a >= APPEAL_BOX_SHARE * (a + k))
    # Parts of a larger appeal say nothing about where an appeal ends: learn from the outermost ones.
    outer_end = -1
    for r, span in enumerate(spans):  # sorted by start, longest first
        if y[r] and span.b1 <= outer_end:
            usable[r] = False
        elif y[r]:
            outer_end = span.b1
    return y, usable


# Real pages weighted twice in every stage's fit: models trained on half the sites (--halvings, nine
# halvings) did better on the other half's real pages (precision 0.845 to 0.863, recall 0.435 to 0.446),
# but trained on everything the model chose other thresholds, missed part of the user's flat seed appeal
# (recall 0.977) and hid content on two flat-eval pages (precision 1.000 to 0.904). Left out. Weighted in
# the block stage alone: 0.855/0.431; in the box and sequence stages alone: 0.838/0.426. Measured again
# with thresholds chosen on every page (model.thresholds.threshold_weights), in every stage: 0.906/0.518
# to 0.897/0.502.
def build_dataset(
    pages: list[LabelledPage], own: list[bool], own_weight: float, progress: Progress
) -> Dataset:
    page_weights = [own_weight if o else 1.0 for o in own]
    rows = []
    for i, p in enumerate(pages, 1):
        rows.append(F.block_rows(p.page))
        progress("features", i, len(pages))
    # A long page should not outweigh many short ones: its blocks share sqrt(blocks) of weight.
    weights = [w / np.sqrt(max(1, len(p.page.blocks))) for p, w in zip(pages, page_weights, strict=True)]
    return Dataset(pages, rows, weights, page_weights, own)


Samples = tuple[np.ndarray, np.ndarray, np.ndarray]  # one page's usable rows, targets, weights


def block_samples(data: Dataset, rows: list[np.ndarray]) -> list[Samples]:
    """Per page: the given rows of its usable blocks (block rows, or sequence rows), their targets and
    their sample weights."""
    out = []
    for p, page_rows, weight in zip(data.pages, rows, data.weights, strict=True):
        target, usable = block_targets(p)
        out.append((page_rows[usable], target[usable], np.full(int(usable.sum()), weight)))
    return out


def box_samples(data: Dataset, stage: BoxStage) -> list[Samples]:
    """Per page: the rows of its usable candidate spans, their targets and their sample weights."""
    out = []
    for i, p in enumerate(data.pages):
        target, usable = box_targets(p, stage.spans[i])
        out.append((stage.rows[i][usable], target[usable], np.full(int(usable.sum()), data.page_weights[i])))
    return out


@dataclass
class OutOfFold:
    """Scores of each stage for pages its model did not see, per page."""

    block: list[np.ndarray]
    box: list[np.ndarray]  # per block: the best score of a span holding it
    sequence: list[np.ndarray]
    stage: BoxStage | None  # the candidate spans described by the out-of-fold block scores
    span_scores: list[np.ndarray] | None = None  # per page: each candidate span's score
    groups: list[np.ndarray] | None = None  # per page: sequence.run_groups (else one group a page)
    copies: list[np.ndarray] | None = None  # per page: sequence.copy_groups (else no copies)

    def run_groups(self, i: int) -> np.ndarray:
        """Per block of page ``i``: its group for the run rule."""
        return self.groups[i] if self.groups is not None else np.zeros(len(self.block[i]), dtype=np.int64)

    def copy_groups(self, i: int) -> np.ndarray:
        """Per block of page ``i``: its group for the copy rule (-1: a copy of nothing)."""
        return self.copies[i] if self.copies is not None else np.full(len(self.block[i]), -1, dtype=np.int64)

    def hiding_box(self, i: int, gate: float) -> np.ndarray:
        """Per block: the best score of a span holding it among those that pass the box gate."""
        if gate <= 0.0 or self.stage is None or self.span_scores is None:
            return self.box[i]
        return boxes.spread(len(self.block[i]), self.stage.spans[i], self.span_scores[i], self.block[i], gate)

    def hidden(self, i: int, threshold: dict) -> np.ndarray:
        """Per block of page ``i``: hidden under ``threshold`` (all its keys), by the serving rule."""
        box = self.hiding_box(i, threshold["box_gate"])
        groups, copies = self.run_groups(i), self.copy_groups(i)
        return appeal_blocks(self.block[i], box, self.sequence[i], threshold, groups, copies)
