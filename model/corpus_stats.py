"""What a labelled corpus holds: pages, blocks and characters by label, kind, language, style and origin."""

from __future__ import annotations

from collections import defaultdict

from model.labelled import LabelledPage, origin

GROUPS = ("label", "kind", "lang", "style", "origin")


def _key(p: LabelledPage, group: str) -> str:
    if group == "origin":
        return origin(p)
    return str(p.meta.get(group) or "?")


def stats(pages: list[LabelledPage]) -> dict[str, dict[str, dict[str, int]]]:
    """For each grouping, per value: pages, appeal/content blocks and appeal/content/other characters."""
    out: dict[str, dict[str, dict[str, int]]] = {g: defaultdict(lambda: defaultdict(int)) for g in GROUPS}
    for p in pages:
        chars = p.appeal_chars + p.other_chars + p.content_chars
        appeal_blocks = int((p.appeal_chars * 2 > chars).sum())
        other_blocks = int((p.other_chars * 2 >= chars).sum())
        row = {
            "pages": 1,
            "appeal_blocks": appeal_blocks,
            "content_blocks": len(chars) - appeal_blocks - other_blocks,
            "appeal_chars": int(p.appeal_chars.sum()),
            "content_chars": int(p.content_chars.sum()),
            "other_chars": int(p.other_chars.sum()),
        }
        for group in GROUPS:
            for name, value in row.items():
                out[group][_key(p, group)][name] += value
    return {g: {k: dict(v) for k, v in sorted(rows.items())} for g, rows in out.items()}


def table(group: str, rows: dict[str, dict[str, int]]) -> str:
    head = f"{group:14} {'pages':>6} {'appeal bl':>10} {'content bl':>10} {'appeal ch':>10} {'content':>11}"
    lines = [head, "-" * len(head)]
    for key, r in rows.items():
        lines.append(
            f"{key[:14]:14} {r['pages']:6d} {r['appeal_blocks']:10d} {r['content_blocks']:10d} "
            f"{r['appeal_chars']:10d} {r['content_chars']:11d}"
        )
    return "\n".join(lines)
