"""The cross-validation report as Markdown: the numbers behind docs/EVALUATION.md."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from model.metrics import CharCounts, summary
from model.predict import threshold_text
from model.ranking import STAGES
from model.sequence import RUN_LENGTH, RUN_PEAK
from model.thresholds import HAND_WRITTEN_WEIGHT, PAGE_APPEAL_CAP

BARS = {"precision": 0.95, "recall": 0.90}
GROUPS = [
    ("by_part", "Part (training folders, your own pages)"),
    ("by_origin", "Origin (hand-written, generated, real)"),
    ("by_label", "Page label"),
    ("by_lang", "Language"),
    ("by_kind", "Kind of appeal (first one on the page)"),
    ("by_form", "Form of appeal"),
]
# The groups told apart by origin when the report knows each page's: a language, kind or form of real
# pages scores differently from the same group of hand-written ones, and a mixed row hides which.
BY_ORIGIN = {"by_lang": "lang", "by_kind": "kind", "by_form": "forms"}


def _table(rows: dict[str, dict]) -> list[str]:
    lines = [
        "| group | pages | precision | recall | F1 | appeal chars | pages with content hidden | > 1 % |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, s in rows.items():
        lines.append(
            f"| {key} | {s['pages']} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | "
            f"{s['appeal_chars']} | {s['pages_with_content_hidden']} | "
            f"{s['pages_over_1pct_content_hidden']} |"
        )
    return lines


def _apart_by_origin(
    field_name: str, per_page: dict[str, CharCounts], page_info: dict[str, dict[str, str]]
) -> dict[str, dict]:
    """Scores per (origin, group) from each page's report information (a page of several forms counts
    under each; a page whose information leaves the group empty counts as "unstated"), rows ordered by
    origin, then group."""
    groups: dict[tuple[str, str], dict[str, CharCounts]] = {}
    for name, counts in per_page.items():
        info = page_info[name]
        for value in info[field_name].split(", "):
            value = value.strip() or "unstated"
            groups.setdefault((info["origin"], value), {})[name] = counts
    return {f"{o} · {v}": summary(pages) for (o, v), pages in sorted(groups.items())}


def _halving_rows(scored: dict[str, CharCounts], page_info: dict[str, dict[str, str]]) -> dict[str, dict]:
    """Scores of pages scored once per halving of the sites, keyed "path#halving"
    (model.thresholds.unseen_sites, model.halves): all of them first, then by origin."""
    groups: dict[str, dict[str, CharCounts]] = {}
    for key, counts in scored.items():
        origin = page_info.get(key.rpartition("#")[0], {}).get("origin", "?")
        groups.setdefault(origin, {})[key] = counts
        groups.setdefault("all pages", {})[key] = counts
    return {k: summary(v) for k, v in sorted(groups.items(), key=lambda kv: kv[0] != "all pages")}


UNSEEN_TITLE = "Thresholds chosen without the scored sites"
UNSEEN_TEXT = """\
The cross-validated rows of this report score each page at thresholds chosen on the out-of-fold
scores of all pages, its own among them. Here the sites are halved {halvings} times (by a hash of
the site name) and each half is scored at the thresholds chosen on the other half alone, so no
page helps choose the thresholds it is scored at. Half the pages choose less well than all of
them, so this errs low; the gap to the cross-validated rows is how much choosing on the scored
pages flatters them. *pages* counts page scorings (each page once per halving)."""

HALVES_TITLE = "Trained without the scored sites"
HALVES_TEXT = """\
The rows above still score the fold models' out-of-fold scores. Here the whole of `hush train`
runs on half the sites (halved {halvings} times, as above), and the model it writes, refitted on
that half at the thresholds it chose there, scores the pages of the other half: what a model
trained this way does on sites it never saw (`model/halves.py`). It learns from half the pages,
so this errs low too. *pages* counts page scorings (each page once per halving)."""


def _halving_section(
    title: str, text: str, scored: dict[str, CharCounts], rows: dict[str, dict]
) -> list[str]:
    """A section of pages scored once per halving of the sites: ``rows`` from _halving_rows, ``text``
    saying how (its ``{halvings}`` filled in)."""
    if not rows:
        return []
    halvings = len({key.rpartition("#")[2] for key in scored})
    return [f"## {title}", "", *text.format(halvings=halvings).splitlines(), "", *_table(rows), ""]


def _ranking(ranked: dict[str, dict[str, float | None]]) -> list[str]:
    """The section on how well each stage's out-of-fold scores rank appeal above content."""
    if not ranked:
        return []

    def cell(value: float | None) -> str:
        return "–" if value is None else f"{value:.3f}"

    lines = [
        "## Ranking, whatever the thresholds",
        "",
        "Character-weighted average precision of the out-of-fold block scores: the blocks ranked by a",
        "score, each counting with its labelled characters (appeal when most of them are). It does not",
        "depend on the thresholds, and moves less than the rows above when the folds are drawn",
        "differently (`model/ranking.py`): the steadier number when two models are compared. *best* is",
        "the highest of a block's three scores.",
        "",
        "| group | block | box | sequence | best |",
        "|---|---:|---:|---:|---:|",
    ]
    for group, stages in ranked.items():
        lines.append(f"| {group} | " + " | ".join(cell(stages[s]) for s in STAGES) + " |")
    return [*lines, ""]


def _held_out(metadata: dict) -> list[str]:
    held = metadata.get("held_out")
    if not held:
        return []
    return [
        "## Held out",
        "",
        f"The model this run wrote, scored on the {held['pages']} pages of the "
        f"{len(metadata['held_out_sites'])} sites (one in ten, by a hash of the site name) that "
        "`hush train` sets aside and no model ever trains on:",
        "",
        *_table({"held-out pages": held, **metadata.get("held_out_by_origin", {})}),
        "",
    ]


@dataclass
class Peer:
    """A filter list scored on the same pages as the model (``model.peer``)."""

    rules: str  # what was read: "appeal_rules.txt: 590 hiding rules; not applied: ..."
    per_page: dict[str, CharCounts]  # the cross-validated pages
    held_out: dict[str, CharCounts] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)  # page -> origin, for every page above


def _peer(peer: Peer, report: dict, metadata: dict) -> list[str]:
    """The model beside the filter list, origin by origin, then the pages where the list hides anything."""

    def row(group: str, who: str, s: dict) -> str:
        precision = f"{s['precision']:.3f}" if s["hidden_chars"] else "–"  # nothing hidden: no precision
        return (
            f"| {group} | {who} | {s['pages']} | {precision} | {s['recall']:.3f} | {s['f1']:.3f} | "
            f"{s['hidden_chars']} | {s['pages_with_content_hidden']} | "
            f"{s['pages_over_1pct_content_hidden']} |"
        )

    def by_origin(counts: dict[str, CharCounts]) -> dict[str, dict]:
        groups: dict[str, dict[str, CharCounts]] = {}
        for name, c in counts.items():
            groups.setdefault(peer.origin.get(name, "?"), {})[name] = c
        return {k: summary(v) for k, v in sorted(groups.items())}

    lines = [
        "## Against the filter lists",
        "",
        "What a content blocker's user gets today: the cosmetic rules of annoyance filter lists that target",
        "appeals, applied to each page under the host it was captured from (its `url`; hand-written pages",
        "get only the rules meant for every site) and counted as the model's hiding is (`hush evaluate",
        "--peer`). The model's rows are cross-validated; the rules were never fitted to these pages.",
        "",
        f"Rules read from {peer.rules}.",
        "",
        "| group | hidden by | pages | precision | recall | F1 | hidden chars | pages with content hidden "
        "| > 1 % |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for origin, s in by_origin(peer.per_page).items():
        model = report.get("by_origin", {}).get(origin)
        if model:
            lines.append(row(origin, "Hush (cross-validated)", model))
        lines.append(row(origin, "filter lists", s))
    for origin, s in by_origin(peer.held_out).items():
        model = metadata.get("held_out_by_origin", {}).get(origin)
        if model:
            lines.append(row(f"held-out {origin}", "Hush (this model)", model))
        lines.append(row(f"held-out {origin}", "filter lists", s))
    pages = {**peer.per_page, **peer.held_out}
    hits = {k: c for k, c in pages.items() if c.hidden_appeal or c.hidden_content}
    lines += ["", f"The filter lists hide something on {len(hits)} of {len(pages)} pages:"]
    lines += [
        f"- {Path(k).name}: {c.hidden_appeal} of {c.appeal} appeal characters, "
        f"{c.hidden_content} content characters"
        for k, c in sorted(hits.items())
    ]
    return lines


LIMIT_ROWS = 12  # pages in each table of what limits the bars


def _limits(per_page: dict[str, CharCounts], page_info: dict[str, dict[str, str]]) -> list[str]:
    """The real pages where recall is lost and where content is hidden, most first: what limits the bars."""
    real = {name: c for name, c in per_page.items() if page_info.get(name, {}).get("origin") == "real"}

    def row(name: str, c: CharCounts, n: int, total: int) -> str:
        i = page_info[name]
        return (
            f"| {Path(name).name} | {i['kind']} | {i['forms']} | {i['lang']} | {c.appeal} | "
            f"{c.hidden_appeal} | {c.content} | {c.hidden_content} | {n / total:.1%} |"
        )

    losses: list[tuple[str, str, str, Callable[[CharCounts], int]]] = [
        (
            "Recall",
            "appeal characters of real pages are not hidden",
            "the missed characters",
            lambda c: c.appeal - c.hidden_appeal,
        ),
        (
            "Precision",
            "content characters of real pages are hidden",
            "the hidden content characters",
            lambda c: c.hidden_content,
        ),
    ]
    lines: list[str] = []
    for bar, what, share_of, lost in losses:
        total = sum(lost(c) for c in real.values())
        if not total:
            continue
        worst = sorted(((k, c) for k, c in real.items() if lost(c)), key=lambda kv: (-lost(kv[1]), kv[0]))
        worst = worst[:LIMIT_ROWS]
        held = sum(lost(c) for _, c in worst)
        lines += [
            "",
            f"{bar}: {total} {what}; these {len(worst)} pages hold {held / total:.0%} of them (share: of "
            f"{share_of}).",
            "",
            "| page | kind | forms | language | appeal | hidden appeal | content | hidden content | share |",
            "|---|---|---|---|---:|---:|---:|---:|---:|",
            *(row(k, c, lost(c), total) for k, c in worst),
        ]
    return ["", "## What limits the bars (real pages)", *lines] if lines else []


def _bar_rows(real: dict, how: str) -> list[str]:
    """The precision and recall bars, read on the real pages' scores ``real``."""
    rows = []
    for name, target in BARS.items():
        got = real[name]
        met = "yes" if got >= target else f"no, by {target - got:.3f}"
        rows.append(f"| {name} on real pages{how} | ≥ {target} | {got:.3f} | {met} |")
    return rows


def markdown(
    report: dict,
    per_page: dict[str, CharCounts],
    metadata: dict,
    command: str,
    page_info: dict[str, dict[str, str]] | None = None,
    peer: Peer | None = None,
    unseen: dict[str, CharCounts] | None = None,
    ranked: dict[str, dict[str, float | None]] | None = None,
    halves: dict[str, CharCounts] | None = None,
) -> str:
    """The whole report: how it was made, the bars, what limits them, the groups and the per-page table."""
    overall = report["overall"]
    info = page_info or {}
    unseen_rows = _halving_rows(unseen or {}, info)
    halves_rows = _halving_rows(halves or {}, info)
    lines = [
        "# Evaluation",
        "",
        "Cross-validation with folds grouped by site (pages of one site or template never sit in both",
        "the training and the test part). Character-level scores over visible non-whitespace text:",
        "precision = appeal characters hidden / characters hidden, recall = appeal characters hidden /",
        "appeal characters; text labelled `other` is not scored. Decisions are the model's own (thresholds",
        "chosen on out-of-fold scores, led by the real pages and the hard negatives when training has",
        f"enough real pages, the other pages weighted {HAND_WRITTEN_WEIGHT:g}, a page's appeal counting up",
        f"to {PAGE_APPEAL_CAP} characters), applied block by",
        "block: a block is hidden when its block, box or sequence score reaches its threshold (its box",
        "score counting only boxes holding a block whose block score reaches the box gate), when it lies in",
        "a run of sibling blocks whose block scores reach the run threshold",
        f"({RUN_LENGTH} of them at least, one reaching {RUN_PEAK}, a lone block below it bridged),",
        "or when it stands next to a hidden block in reading order and its sequence score reaches the",
        "neighbour threshold; and a block that copies a hidden block on the same page (the same text, or a",
        "lone link to the same address) is hidden when its block score reaches the copy threshold.",
        "",
        f"Produced by `{command}` with model `{metadata['version']}` "
        f"(thresholds: {threshold_text(metadata['threshold'])}, "
        f"chosen on {metadata.get('threshold_pages', 'all pages')}; "
        f"scikit-learn {metadata['sklearn_version']}; {metadata['pages']} pages from "
        f"{', '.join(metadata['folders'])}).",
        "",
        "## Overall",
        "",
        *_table({"all pages": overall}),
        "",
        *_held_out(metadata),
        *_halving_section(UNSEEN_TITLE, UNSEEN_TEXT, unseen or {}, unseen_rows),
        *_halving_section(HALVES_TITLE, HALVES_TEXT, halves or {}, halves_rows),
        *_ranking(ranked or {}),
        "## Bars",
        "",
        "| bar | target | measured | met |",
        "|---|---:|---:|---|",
    ]
    real = report["by_origin"].get("real")
    if real:
        lines += _bar_rows(real, "")
        if "real" in unseen_rows:
            lines += _bar_rows(unseen_rows["real"], ", thresholds chosen without their sites")
        if "real" in halves_rows:
            lines += _bar_rows(halves_rows["real"], ", trained without their sites")
        over = real["pages_over_1pct_content_hidden"]
        lines.append(
            f"| real pages with > 1 % of content hidden | 0 | {over} | {'yes' if over == 0 else 'no'} |"
        )
    hard = report["by_label"].get("hard_negative")
    if hard:
        n = hard["pages_with_content_hidden"]
        lines.append(
            f"| hard-negative pages with any content hidden | 0 | {n} | {'yes' if n == 0 else 'no'} |"
        )
    lines += _limits(per_page, info)
    if peer is not None:
        lines += ["", *_peer(peer, report, metadata)]
    apart = len({i["origin"] for i in info.values()}) > 1 and all(name in info for name in per_page)
    for key, title in GROUPS:
        if apart and key in BY_ORIGIN:
            rows = _apart_by_origin(BY_ORIGIN[key], per_page, info)
            lines += ["", f"## {title}, by origin", "", *_table(rows)]
        elif key in report:
            lines += ["", f"## {title}", "", *_table(report[key])]
    lines += [
        "",
        "## Per page",
        "",
        "| page | appeal | hidden appeal | content | hidden content | precision | recall |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, c in sorted(per_page.items(), key=lambda kv: (-kv[1].hidden_content, kv[0])):
        short = "/".join(Path(name).parts[-2:])
        lines.append(
            f"| {short} | {c.appeal} | {c.hidden_appeal} | {c.content} | {c.hidden_content} | "
            f"{c.precision:.2f} | {c.recall:.2f} |"
        )
    return "\n".join(lines) + "\n"
