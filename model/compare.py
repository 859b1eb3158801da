"""Comparing the current model with a newly trained one before the new one replaces it.

Both are scored, block by block as in cross-validation, on the held-out part of the training folders (pages
neither model trained on) and on the user's own pages. The new model may replace the current one only when
its held-out precision is no more than ``MAX_PRECISION_DROP`` below the current model's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from model.labelled import LabelledPage
from model.metrics import CharCounts, block_counts, summary
from model.predict import HushModel

MAX_PRECISION_DROP = 0.01


def page_counts(model: HushModel, pages: list[LabelledPage]) -> dict[str, CharCounts]:
    """Character counts of a model's decisions, per labelled page."""
    counts: dict[str, CharCounts] = {}
    for p in pages:
        hidden = model.score_page(p.page).appeal
        counts[str(p.path)] = block_counts(p.appeal_chars, p.content_chars, hidden)
    return counts


def scores(model: HushModel, pages: list[LabelledPage]) -> dict:
    """Character-level summary of a model's decisions on labelled pages."""
    return summary(page_counts(model, pages))


@dataclass
class Comparison:
    """Scores of both models on each part, and whether the new one may replace the current one."""

    current_version: str
    new_version: str
    parts: dict[str, dict[str, dict]] = field(default_factory=dict)  # part -> {"current", "new"} -> summary
    notes: list[str] = field(default_factory=list)

    @property
    def precision_drop(self) -> float | None:
        """How much lower the new model's held-out precision is (None without held-out pages)."""
        held = self.parts.get("held-out")
        return None if held is None else round(held["current"]["precision"] - held["new"]["precision"], 4)

    @property
    def acceptable(self) -> bool:
        drop = self.precision_drop
        return drop is None or drop <= MAX_PRECISION_DROP + 1e-9

    def as_dict(self) -> dict:
        return {
            "current": self.current_version,
            "new": self.new_version,
            "parts": self.parts,
            "precision_drop": self.precision_drop,
            "acceptable": self.acceptable,
            "notes": self.notes,
        }


def compare(
    current: HushModel, new: HushModel, held_out: list[LabelledPage], own: list[LabelledPage]
) -> Comparison:
    """Score both models on the held-out pages and on the user's pages."""
    result = Comparison(current.version, new.version)
    for name, pages in (("held-out", held_out), ("your pages", own)):
        if pages:
            result.parts[name] = {"current": scores(current, pages), "new": scores(new, pages)}
    if held_out:
        sites = {p.site for p in held_out}
        unseen = set(current.metadata.get("held_out_sites") or [])
        if not sites <= unseen:
            result.notes.append(
                "the current model does not record these held-out sites as unseen: it may have trained on "
                "them, which flatters its held-out scores"
            )
    else:
        result.notes.append("no held-out pages (the training folders hold fewer than ten sites)")
    return result
