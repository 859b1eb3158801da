"""The cross-validated scores by group (part, origin, language, label, kind, form), the ranking of each
stage's out-of-fold scores, and what the report says of each page."""

from __future__ import annotations

from model import ranking
from model.labelled import LabelledPage, origin
from model.metrics import CharCounts, block_counts, summary
from model.training_data import Dataset, OutOfFold

BASE_PART, OWN_PART = "training folders", "your pages (--with)"


def ranking_by_origin(data: Dataset, oof: OutOfFold) -> dict[str, dict[str, float | None]]:
    """Per origin (all pages first): the character-weighted average precision of each stage's
    out-of-fold block scores (model.ranking)."""
    groups: dict[str, list[int]] = {"all pages": list(range(len(data.pages)))}
    for i, p in enumerate(data.pages):
        groups.setdefault(origin(p), []).append(i)
    scores = [ranking.stage_scores(b, x, q) for b, x, q in zip(oof.block, oof.box, oof.sequence, strict=True)]
    out: dict[str, dict[str, float | None]] = {}
    for group, idx in groups.items():
        appeal = [data.pages[i].appeal_chars for i in idx]
        content = [data.pages[i].content_chars for i in idx]
        out[group] = {
            stage: ranking.average_precision(appeal, content, [scores[i][stage] for i in idx])
            for stage in ranking.STAGES
        }
    return out


def page_forms(p: LabelledPage) -> list[str]:
    forms = p.meta.get("forms", p.meta.get("form"))
    if isinstance(forms, str):
        return [forms]
    return [str(f) for f in forms] if forms else ["none"]


def page_info(p: LabelledPage) -> dict[str, str]:
    """What the report says of a page beside its counts: origin, kind, forms and language."""
    return {
        "origin": origin(p),
        "kind": str(p.meta.get("kind", "?")),
        "forms": ", ".join(page_forms(p)),
        "lang": str(p.meta.get("lang", "?")).split("-")[0],
    }


def cv_report(data: Dataset, oof: OutOfFold, threshold: dict) -> tuple[dict, dict[str, CharCounts]]:
    """Cross-validated character scores overall and by part, origin, language, page label, kind and form."""
    per_page: dict[str, CharCounts] = {}
    by: dict[str, dict[str, dict[str, CharCounts]]] = {
        k: {} for k in ("part", "origin", "lang", "label", "kind", "form")
    }
    for i, p in enumerate(data.pages):
        hidden = oof.hidden(i, threshold)
        counts = block_counts(p.appeal_chars, p.content_chars, hidden)
        name = str(p.path)
        per_page[name] = counts
        info = page_info(p)
        keys = {
            "part": [OWN_PART if data.own[i] else BASE_PART],
            "origin": [info["origin"]],
            "lang": [info["lang"]],
            "label": [str(p.meta.get("label", "?"))],
            "kind": [info["kind"]],
            "form": page_forms(p),
        }
        for kind, values in keys.items():
            for key in values:
                by[kind].setdefault(key, {})[name] = counts
    report = {"overall": summary(per_page)}
    for kind, groups in by.items():
        report[f"by_{kind}"] = {key: summary(pages) for key, pages in sorted(groups.items())}
    return report, per_page
