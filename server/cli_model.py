"""``hush evaluate``, ``hush classify`` and ``hush corpus stats``: a model or a corpus, looked at."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from model import ModelError, load_model
from model.errors import PageError
from server.errors import CliError

if TYPE_CHECKING:
    from model.filterlist import FilterList

PEER_HELP = (
    "a filter list to score beside the model (cosmetic rules, one per line, or a tab-separated table whose "
    "first column is the rule, such as the appeal rules taken from annoyance lists)"
)


def register(sub: argparse._SubParsersAction) -> None:
    evaluate = sub.add_parser("evaluate", help="character-level scores of a model on labelled pages")
    evaluate.add_argument("pages", nargs="+", type=Path, metavar="PAGE", help="labelled pages or folders")
    evaluate.add_argument("--model", type=Path, default=None, help="model file (the shipped model)")
    evaluate.add_argument("--json", action="store_true", help="print JSON for machines")
    evaluate.add_argument("--peer", type=Path, metavar="RULES", help=PEER_HELP)
    evaluate.add_argument(
        "--strict", action="store_true", help="fail on a page that cannot be read (else it is skipped, named)"
    )
    evaluate.set_defaults(handler=run_evaluate)

    corpus = sub.add_parser("corpus", help="inspect a folder of labelled pages")
    corpus_sub = corpus.add_subparsers(dest="corpus_command", metavar="ACTION", required=True)
    stats = corpus_sub.add_parser("stats", help="pages, blocks and characters by group")
    stats.add_argument("folders", nargs="+", type=Path, metavar="CORPUS_DIR")
    stats.add_argument("--json", action="store_true", help="print JSON for machines")
    stats.set_defaults(handler=run_corpus_stats)

    classify = sub.add_parser("classify", help="show the blocks of a page that would be hidden")
    classify.add_argument("page", type=Path, metavar="PAGE.html")
    classify.add_argument("--model", type=Path, default=None, help="model file (the shipped model)")
    classify.set_defaults(handler=run_classify)


def _model(path: Path | None):
    try:
        return load_model(path)
    except ModelError as err:
        raise CliError(str(err)) from None


def require_existing(paths: list[Path]) -> None:
    """A clear error for the first path that does not exist."""
    for path in paths:
        if not path.exists():
            raise CliError(f"{path}: no such file or folder")


def read_rules(path: Path | None) -> FilterList | None:
    """The filter list given with --peer (None without it); a clear error when it cannot be used."""
    if path is None:
        return None
    from model.filterlist import PeerUnavailable, read

    try:
        rules = read(path)
    except OSError as err:
        raise CliError(f"{path}: cannot read the filter list: {err.strerror or err}") from None
    except PeerUnavailable as err:
        raise CliError(f"--peer: {err}") from None
    if not rules.hiding:
        raise CliError(f"{path}: no cosmetic hiding rule in it (lines such as example.org##.donate-box)")
    return rules


def rules_text(path: Path, rules: FilterList) -> str:
    skipped = ", ".join(f"{n} × {why}" for why, n in sorted(rules.skipped.items(), key=lambda kv: -kv[1]))
    return f"{path.name}: {rules.hiding} hiding rules" + (f"; not applied: {skipped}" if skipped else "")


def run_evaluate(args: argparse.Namespace) -> int:
    from model.evaluate import evaluate
    from model.labelled import NOT_LABELLED, is_labelled, label_warnings, load_pages

    require_existing(args.pages)
    model = _model(args.model)
    rules = read_rules(args.peer)
    try:
        pages, problems = load_pages(args.pages, strict=args.strict, stamped=True)
    except PageError as err:
        raise CliError(f"{err} (--strict)") from None
    for problem in problems:
        print(f"hush evaluate: skipped {problem} (not scored)", file=sys.stderr)
    if not pages:
        raise CliError("no HTML pages to evaluate" + (" that could be read" if problems else ""))
    for line in label_warnings(pages):
        print(f"hush evaluate: warning: {line}", file=sys.stderr)
    (pages,) = without_copies("hush evaluate", pages)
    for page in pages:
        if not is_labelled(page):
            print(f"hush evaluate: warning: {page.path}: {NOT_LABELLED}: scored as content", file=sys.stderr)
    results, total = evaluate(model, pages)
    if not total["appeal_chars"]:
        print(
            'hush evaluate: warning: no page labels an appeal (data-hush-label="appeal"), so recall is 1 by '
            "default and precision only says whether content was hidden",
            file=sys.stderr,
        )
    peer, peer_total = [], {}
    if rules is not None:
        from model.peer import evaluate_peer

        peer, peer_total = evaluate_peer(rules, pages)
    if args.json:
        rows = [
            {
                "page": r.name,
                "appeal_chars": r.counts.appeal,
                "content_chars": r.counts.content,
                "hidden_appeal": r.counts.hidden_appeal,
                "hidden_content": r.counts.hidden_content,
                "precision": round(r.counts.precision, 4),
                "recall": round(r.counts.recall, 4),
            }
            for r in results
        ]
        for row, q in zip(rows, peer, strict=False):
            row["peer"] = {"hidden_appeal": q.counts.hidden_appeal, "hidden_content": q.counts.hidden_content}
        out = {"model": model.version, "summary": total, "pages": rows, "skipped": problems}
        if rules is not None:
            out["peer"] = {
                "rules": str(args.peer),
                "hiding_rules": rules.hiding,
                "not_applied": rules.skipped,
                "summary": peer_total,
            }
        print(json.dumps(out, indent=1))
        return 0
    width = min(60, max(len(Path(r.name).name) for r in results))
    head = f"{'page':{width}}  {'appeal':>7} {'hidden':>7} {'content':>8} {'hidden':>7}  {'P':>5} {'R':>5}"
    print(head + ("   peer: hidden appeal, content" if peer else ""))
    for i, r in enumerate(results):
        c = r.counts
        line = (
            f"{Path(r.name).name[:width]:{width}}  {c.appeal:7d} {c.hidden_appeal:7d} {c.content:8d} "
            f"{c.hidden_content:7d}  {c.precision:5.2f} {c.recall:5.2f}"
        )
        if peer:
            line += f"   {peer[i].counts.hidden_appeal:7d} {peer[i].counts.hidden_content:7d}"
        print(line)
    skipped = f" ({len(problems)} skipped: not readable)" if problems else ""
    print(f"\n{total['pages']} pages{skipped} · {model.version}: {_summary_text(total)}")
    if rules is not None:
        print(f"filter list {rules_text(args.peer, rules)}")
        print(f"  on the same pages: {_summary_text(peer_total)}")
    return 0


def _summary_text(total: dict) -> str:
    return (
        f"precision {total['precision']:.3f} · recall {total['recall']:.3f} · f1 {total['f1']:.3f} · "
        f"pages with content hidden: {total['pages_with_content_hidden']}"
    )


def run_classify(args: argparse.Namespace) -> int:
    from model.labelled import stamp_all
    from model.parse import parse, read_page

    model = _model(args.model)
    try:
        html = read_page(args.page)
    except PageError as err:
        raise CliError(str(err)) from None
    try:
        root = parse(html)
        if root is None:
            raise CliError(f"{args.page}: no HTML in the file")
        stamp_all(root)
        scored = model.classify_tree(root)
    except PageError as err:
        raise CliError(f"{args.page}: {err}") from None
    shown = 0
    best = scored.best()
    for i, block in enumerate(scored.page.blocks):
        if scored.appeal[i]:
            shown += 1
            print(f"{best[i]:.2f}  <{block.tag}>  {block.text[:150]}")
    print(f"{shown} of {len(scored.page.blocks)} blocks would be hidden ({model.version})")
    return 0


def without_copies(command: str, *groups: list) -> list[list]:
    """Each group of pages less byte-for-byte copies of a page read before, in it or an earlier group (a
    correction unzipped twice, a page saved into two folders), each named: a copy would count as one more
    page (at its weight, in training)."""
    from model.labelled import file_digest

    seen: dict[bytes, Path] = {}
    kept: list[list] = []
    for group in groups:
        kept.append([])
        for p in group:
            digest = file_digest(p.path)
            if digest in seen:
                print(f"{command}: skipped {p.path}: the same page as {seen[digest]}", file=sys.stderr)
                continue
            seen[digest] = p.path
            kept[-1].append(p)
    return kept


def run_corpus_stats(args: argparse.Namespace) -> int:
    from model.corpus_stats import stats, table
    from model.labelled import label_warnings, load_pages

    require_existing(args.folders)
    pages, problems = load_pages(args.folders)
    for problem in problems:
        print(f"hush corpus stats: skipped {problem}", file=sys.stderr)
    for line in label_warnings(pages):
        print(f"hush corpus stats: warning: {line}", file=sys.stderr)
    (pages,) = without_copies("hush corpus stats", pages)
    if not pages:
        raise CliError("no HTML pages in " + ", ".join(map(str, args.folders)))
    result = stats(pages)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print("\n\n".join(table(group, rows) for group, rows in result.items()))
    return 0
