"""The held-out part of a training corpus: sites no model trained by ``hush train`` ever learns from.

Which sites are held out depends on the site name alone, so every run over the same folders holds out the
same pages, and a model trained earlier can be compared with a new one on pages neither has seen.

Real pages are held out too (16 of 186), though they are scarce: the shipped model trained on them as
well chose a box threshold of 0.96 instead of 0.92 and scored lower on the evaluation pages (kinds-eval
recall 0.717 to 0.582, flat-eval 0.334 to 0.193; at the shipped thresholds, 0.560 and 0.327).
"""

from __future__ import annotations

import hashlib

from model.labelled import LabelledPage

SHARE = 10  # one site in SHARE, by a hash of its name
MIN_SITES = 10  # fewer sites than this: nothing is held out (too few to spare any)


def is_held_out(site: str) -> bool:
    digest = hashlib.sha256(site.strip().lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % SHARE == 0


def split(pages: list[LabelledPage]) -> tuple[list[LabelledPage], list[LabelledPage]]:
    """(pages to train on, held-out pages); nothing is held out from a corpus of few sites."""
    if len({p.site for p in pages}) < MIN_SITES:
        return list(pages), []
    kept = [p for p in pages if not is_held_out(p.site)]
    held = [p for p in pages if is_held_out(p.site)]
    return kept, held
