"""Character-level scores: what share of hidden text was appeal, what share of appeal was hidden."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class CharCounts:
    appeal: int = 0  # appeal characters on the page(s)
    content: int = 0
    hidden_appeal: int = 0
    hidden_content: int = 0

    def __add__(self, other: CharCounts) -> CharCounts:
        return CharCounts(
            *(a + b for a, b in zip(asdict(self).values(), asdict(other).values(), strict=True))
        )

    @property
    def precision(self) -> float:
        hidden = self.hidden_appeal + self.hidden_content
        return self.hidden_appeal / hidden if hidden else 1.0

    @property
    def recall(self) -> float:
        return self.hidden_appeal / self.appeal if self.appeal else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def content_hidden_share(self) -> float:
        return self.hidden_content / self.content if self.content else 0.0


def block_counts(appeal: np.ndarray, content: np.ndarray, hidden: np.ndarray) -> CharCounts:
    """Counts when whole blocks are hidden (``hidden`` is a bool per block); 'other' text is not scored."""
    return CharCounts(
        int(appeal.sum()), int(content.sum()), int(appeal[hidden].sum()), int(content[hidden].sum())
    )


def summary(pages: dict[str, CharCounts]) -> dict:
    """Totals over pages, plus how many pages had any content character hidden."""
    total = sum(pages.values(), CharCounts())
    return {
        "pages": len(pages),
        "precision": round(total.precision, 4),
        "recall": round(total.recall, 4),
        "f1": round(total.f1, 4),
        "appeal_chars": total.appeal,
        "hidden_chars": total.hidden_appeal + total.hidden_content,
        "pages_with_content_hidden": sum(1 for c in pages.values() if c.hidden_content),
        "pages_over_1pct_content_hidden": sum(1 for c in pages.values() if c.content_hidden_share > 0.01),
    }
