"""Training run whole on half the sites, its model scoring the other half.

The report's cross-validated rows score out-of-fold scores at thresholds chosen on them, and its
"thresholds chosen without the scored sites" rows still score the fold models' scores. A model that
``hush train`` writes is neither: it is refitted on every page, its thresholds are chosen once, and it
meets sites it never saw. Here that whole run is repeated on half the sites (halved as
:func:`model.thresholds.unseen_sites` halves them), and the written model scores the pages of the other half,
so the numbers are those of the procedure itself on unseen sites, with half the pages to learn from.
"""

from __future__ import annotations

from model import heldout
from model.labelled import LabelledPage
from model.metrics import CharCounts, block_counts
from model.thresholds import UNSEEN_SPLITS, half_of
from model.train import OWN_WEIGHT, TrainingError, train
from model.training_data import Progress


def whole_runs(
    pages: list[LabelledPage],
    folders: list[str],
    halvings: int = UNSEEN_SPLITS,
    *,
    own: list[LabelledPage] | None = None,
    own_folders: list[str] | None = None,
    own_weight: float = OWN_WEIGHT,
    workers: int = 1,
    progress: Progress | None = None,
) -> dict[str, CharCounts]:
    """Per page and halving ("path#1"): its counts under the model trained on the other half of the
    sites. The held-out sites stay out, as in training; the user's own pages (``own``) are halved by
    their sites too and trained on at their weight. A half that cannot be trained on (no appeal in it,
    say) scores nothing."""
    say = progress or (lambda step, done, total: None)
    pages, _ = heldout.split(pages)
    own = own or []
    counts: dict[str, CharCounts] = {}
    step = "training on half the sites, scoring the other half"
    say(step, 0, 2 * halvings)
    for split in range(halvings):
        sides: tuple[list[LabelledPage], list[LabelledPage]] = ([], [])
        own_sides: tuple[list[LabelledPage], list[LabelledPage]] = ([], [])
        for group, halves in ((pages, sides), (own, own_sides)):
            for p in group:
                halves[half_of(p.site, split)].append(p)
        for side in (0, 1):
            scored = sides[1 - side] + own_sides[1 - side]
            model = None
            try:  # train raises on a half with no pages or no appeal: the other half goes unscored
                if scored:
                    model = train(
                        sides[side],
                        folders,
                        own=own_sides[side],
                        own_folders=own_folders,
                        own_weight=own_weight,
                        workers=workers,
                    ).model
            except TrainingError:
                pass
            if model is not None:
                for p in scored:
                    hidden = model.score_page(p.page).appeal
                    counts[f"{p.path}#{split}"] = block_counts(p.appeal_chars, p.content_chars, hidden)
            say(step, 2 * split + side + 1, 2 * halvings)
    return counts
