"""Scoring a model on labelled pages as a reader meets them: every element stamped, hidden ids collapsed."""

from __future__ import annotations

from dataclasses import dataclass

from model.decide import hide_ids
from model.labelled import APPEAL, LabelledPage
from model.metrics import CharCounts, summary
from model.predict import HushModel


@dataclass
class PageResult:
    name: str
    counts: CharCounts
    hidden_other: int


def evaluate_page(model: HushModel, lp: LabelledPage) -> PageResult:
    """Character counts for one page that was loaded with ``stamped=True``."""
    page = lp.page
    scored = model.score_page(page)
    hidden_ids = set(hide_ids(page, scored.appeal))
    hidden = [False] * len(page.piece_chars)
    for s in page.stamped:
        if s.id in hidden_ids:
            hidden[s.p0 : s.p1] = [True] * (s.p1 - s.p0)
    counts, other = CharCounts(), 0
    for chars, label, h in zip(page.piece_chars, page.piece_label or [], hidden, strict=True):
        if label == APPEAL:
            counts.appeal += chars
            counts.hidden_appeal += chars if h else 0
        elif label == 0:
            counts.content += chars
            counts.hidden_content += chars if h else 0
        else:
            other += chars if h else 0
    return PageResult(str(lp.path), counts, other)


def evaluate(model: HushModel, pages: list[LabelledPage]) -> tuple[list[PageResult], dict]:
    results = [evaluate_page(model, p) for p in pages]
    return results, summary({r.name: r.counts for r in results})
