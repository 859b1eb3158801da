"""What ``hush train`` prints at the end: cross-validated scores by part, and the comparison of the new
model with the one it would replace."""

from __future__ import annotations

from model.compare import MAX_PRECISION_DROP, RECALL_DROP_WARNING, Comparison


def _shares(s: dict, width: int = 5) -> tuple[str, str]:
    """Precision and recall as printed: "–" for one that says nothing (precision when nothing was hidden,
    recall when the pages hold no appeal; both are 1 by convention)."""
    precision = f"{s['precision']:{width}.3f}" if s.get("hidden_chars", 1) else f"{'–':>{width}}"
    recall = f"{s['recall']:{width}.3f}" if s.get("appeal_chars", 1) else f"{'–':>{width}}"
    return precision, recall


def _scores(s: dict) -> str:
    precision, recall = _shares(s)
    hidden = s["pages_with_content_hidden"]
    return f"precision {precision}  recall {recall}  pages with content hidden {hidden}"


def cv_lines(report: dict) -> list[str]:
    """Cross-validated scores of the training folders and of the user's pages, each apart."""
    if not report:
        return ["no cross-validation: the pages come from fewer than two sites (default thresholds)"]
    parts = report.get("by_part", {})
    width = max(len(k) for k in parts) if parts else 0
    lines = [f"cross-validated on {report['overall']['pages']} pages (folds grouped by site):"]
    for part, s in parts.items():
        lines.append(f"  {part:{width}}  {s['pages']:4d} pages  {_scores(s)}")
    return lines


def comparison_lines(c: Comparison, where: str) -> list[str]:
    """A table of both models on each part, and the verdict."""
    lines = [f"compared with the current model {c.current_version} ({where}):"]
    if c.parts:
        width = max(len(k) for k in c.parts)
        lines.append(f"  {'':{width}}  {'pages':>5}  {'current P':>9} {'R':>6}  {'new P':>9} {'R':>6}")
        for part, both in c.parts.items():
            old, new = both["current"], both["new"]
            (old_p, old_r), (new_p, new_r) = _shares(old), _shares(new)
            lines.append(f"  {part:{width}}  {old['pages']:5d}  {old_p:>9} {old_r:>6}  {new_p:>9} {new_r:>6}")
    lines += [f"  note: {n}" for n in c.notes]
    if c.reference is not None:
        ref = c.reference
        lines.append(
            f"  the same training without your pages: held-out precision {ref['precision']:.3f}, recall "
            f"{ref['recall']:.3f}"
        )
    drop = c.precision_drop
    if drop is not None:
        verdict = "within" if c.acceptable else "beyond"
        change = 0.0 - drop  # never "-0.000"
        what = "held-out precision change" + (" from your pages" if c.reference is not None else "")
        lines.append(f"  {what}: {change:+.3f} ({verdict} the allowed drop of {MAX_PRECISION_DROP})")
    if c.recall_warning:
        whose = " from your pages" if c.reference is not None else ""
        lines.append(
            f"  warning: held-out recall falls by {c.recall_drop:.3f}{whose} "
            f"(more than {RECALL_DROP_WARNING}): the new model misses more appeals on pages it never "
            "trained on; precision alone decides whether it replaces the current one"
        )
    return lines
