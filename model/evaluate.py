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
    scored = model.score_page(lp.page)
    return counts_for(lp, set(hide_ids(lp.page, scored.appeal)))


def counts_for(lp: LabelledPage, hidden_ids: set[str]) -> PageResult:
    """Character counts for one stamped page when the elements with these ids are collapsed."""
    page = lp.page
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
