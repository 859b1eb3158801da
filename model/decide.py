"""From block decisions to the stamped elements to collapse."""

from __future__ import annotations

from itertools import accumulate

import numpy as np

from model.segment import ID_ATTR, Page


def piece_flags(page: Page, appeal_blocks: np.ndarray) -> list[bool]:
    """For each piece of text: does its block count as appeal?"""
    return [bool(appeal_blocks[b]) for b in page.piece_block]


def hide_ids(page: Page, appeal_blocks: np.ndarray) -> list[str]:
    """The outermost stamped elements whose text is all appeal, in document order, each id once.

    An element holding any content character is never returned, nor is its id when another element
    carries it too (a client that stamps one id twice would hide both); an element with no text is never
    returned on its own (there is nothing to judge), but goes with an appeal box that contains it.
    """
    if not page.stamped:
        return []
    flags = piece_flags(page, appeal_blocks)
    appeal_cum = [0, *accumulate(c if f else 0 for c, f in zip(page.piece_chars, flags, strict=True))]
    total_cum = page.cum_chars
    hide: list[str] = []
    seen: set[str] = set()
    on_content: set[str] = set()
    covered_until = -1
    for s in page.stamped:  # sorted by document order
        if s.order <= covered_until:
            continue  # inside an element already named: all appeal
        appeal = appeal_cum[s.p1] - appeal_cum[s.p0]
        total = total_cum[s.p1] - total_cum[s.p0]
        if appeal and appeal == total:
            covered_until = s.end
            if s.id not in seen:
                seen.add(s.id)
                hide.append(s.id)
        elif total > appeal:
            on_content.add(s.id)
    return [i for i in hide if i not in on_content] if on_content & seen else hide


def block_scores_by_id(page: Page, appeal_blocks: np.ndarray, scores: np.ndarray) -> list[dict]:
    """The score of each stamped element that holds an appeal block (its nearest stamped ancestor)."""
    best: dict[str, float] = {}
    for i in np.flatnonzero(appeal_blocks):
        el = page.blocks[i].element
        for _ in range(64):
            if el is None:
                break
            stamp = el.get(ID_ATTR)
            if stamp is not None:
                best[stamp] = max(best.get(stamp, 0.0), float(scores[i]))
                break
            el = el.getparent()
    return [{"id": k, "score": round(v, 4)} for k, v in best.items()]
