"""Comparing the current model with a newly trained one before the new one replaces it.

Both are scored, block by block as in cross-validation, on the held-out part of the training folders (pages
neither model trained on) and on the user's own pages. The new model may replace the current one only when
its held-out precision is no more than ``MAX_PRECISION_DROP`` below the current model's. A fall in held-out
recall beyond ``RECALL_DROP_WARNING`` is reported and refuses nothing: recall may be traded for
precision, and the held-out pages are few.

When the new model goes to a file of its own, the current model is the shipped one, which may have trained
on folders the user does not have (the shipped model's real pages): it is then ahead on the held-out pages
whatever the user's pages do. The drop is then judged against a ``reference``, the same training without
the user's pages, so that it says what those pages change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from model.labelled import LabelledPage
from model.metrics import CharCounts, block_counts, summary
from model.predict import HushModel

MAX_PRECISION_DROP = 0.01
RECALL_DROP_WARNING = 0.05


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
    reference: dict | None = None  # held-out summary of the same training without the user's pages

    def _drop(self, score: str) -> float | None:
        """How much lower the new model's held-out ``score`` is than the current model's, or than the
        reference's when there is one (None without held-out pages)."""
        held = self.parts.get("held-out")
        if held is None:
            return None
        base = held["current"] if self.reference is None else self.reference
        return round(base[score] - held["new"][score], 4)

    @property
    def precision_drop(self) -> float | None:
        return self._drop("precision")

    @property
    def recall_drop(self) -> float | None:
        return self._drop("recall")

    @property
    def recall_warning(self) -> bool:
        drop = self.recall_drop
        return drop is not None and drop > RECALL_DROP_WARNING + 1e-9

    @property
    def acceptable(self) -> bool:
        drop = self.precision_drop
        return drop is None or drop <= MAX_PRECISION_DROP + 1e-9

    def as_dict(self) -> dict:
        return {
            "current": self.current_version,
            "new": self.new_version,
            "parts": self.parts,
            "reference": self.reference,
            "precision_drop": self.precision_drop,
            "recall_drop": self.recall_drop,
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


def trained_elsewhere(current: HushModel, new: HushModel) -> list[str]:
    """The folders the current model trained on and the new one did not (as each recorded them)."""
    return sorted(set(current.metadata.get("folders") or []) - set(new.metadata.get("folders") or []))
