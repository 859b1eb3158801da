"""``hush train``, ``hush evaluate``, ``hush classify`` and ``hush corpus stats``: the model's commands."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from model import ModelError, load_model
from model.errors import PageError
from model.predict import HushModel, threshold_text
from server.errors import CliError

if TYPE_CHECKING:
    from model.filterlist import FilterList
    from model.report import Peer
    from model.train import TrainResult

DEFAULT_OUT = Path("hush-model.skops")
PEER_HELP = (
    "a filter list to score beside the model (cosmetic rules, one per line, or a table whose first column "
    "is the rule, such as the appeal rules taken from annoyance lists)"
)
# model.train.OWN_WEIGHT, repeated: this module loads with every command, and serving never imports training.
OWN_WEIGHT = 10.0


def register(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser(
        "train",
        help="train a model from folders of labelled pages",
        description="Train a model from folders of labelled pages (one site in ten is held out), plus "
        "your own labelled pages (--with). Before replacing a model, compare the two on the held-out "
        "pages and on your pages, and refuse when held-out precision drops by more than 0.01.",
    )
    train.add_argument("folders", nargs="+", type=Path, metavar="CORPUS_DIR")
    train.add_argument(
        "--with",
        dest="own",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="your own labelled pages (hush label saves them); may be given more than once",
    )
    train.add_argument(
        "--weight",
        type=float,
        default=OWN_WEIGHT,
        help=f"how many corpus pages one of your pages counts as ({OWN_WEIGHT:g})",
    )
    train.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help=f"where to write the model ({DEFAULT_OUT})"
    )
    train.add_argument(
        "--force", action="store_true", help="replace the model even if the new one does worse"
    )
    train.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="processes fitting models at once (the number of CPUs); the model is the same for any number",
    )
    train.add_argument("--strict", action="store_true", help="fail on a page that cannot be read")
    train.add_argument("--report", type=Path, help="write the cross-validation report as Markdown here")
    train.add_argument("--peer", type=Path, metavar="RULES", help=PEER_HELP + " in the report")
    train.add_argument(
        "--halvings",
        type=int,
        default=0,
        metavar="N",
        help="for the report, halve the sites N times and train on each half, the model written scoring "
        "the other half (two trainings a halving; 0, the default, skips it)",
    )
    train.set_defaults(handler=run_train)

    evaluate = sub.add_parser("evaluate", help="character-level scores of a model on labelled pages")
    evaluate.add_argument("pages", nargs="+", type=Path, metavar="PAGE", help="labelled pages or folders")
    evaluate.add_argument("--model", type=Path, default=None, help="model file (the shipped model)")
    evaluate.add_argument("--json", action="store_true", help="print JSON for machines")
    evaluate.add_argument("--peer", type=Path, metavar="RULES", help=PEER_HELP)
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


def _check_folders(folders: list[Path]) -> None:
    from model.labelled import has_labels, page_files

    for folder in folders:
        if not folder.exists():
            raise CliError(f"{folder}: no such file or folder")
        files = page_files([folder])
        if not files:
            raise CliError(f"{folder}: no HTML pages in it")
        if not any(has_labels(path) for _, path in files):
            raise CliError(f"{folder}: no labelled pages (no element carries data-hush-label)")


def run_train(args: argparse.Namespace) -> int:
    from model.train import TrainingError, relative_folders, train
    from server.progress import ProgressBar
    from server.train_summary import comparison_lines, cv_lines

    if not args.weight > 0:
        raise CliError("--weight must be a positive number")
    if args.jobs < 1:
        raise CliError("--jobs must be 1 or more")
    _check_folders([*args.folders, *args.own])
    if args.peer is not None and not args.report:
        raise CliError("--peer goes with --report: the filter list is scored in the report")
    if args.halvings < 0:
        raise CliError("--halvings must be 0 or more")
    if args.halvings and not args.report:
        raise CliError("--halvings goes with --report: the other halves are scored in the report")
    rules = _rules(args.peer)
    bar = ProgressBar()
    pages, own = _load(args.folders, args.strict, bar), _load(args.own, args.strict, bar)
    current = _current_model(args)
    try:
        result = train(
            pages,
            relative_folders(args.folders),
            bar,
            own=own,
            own_folders=relative_folders(args.own),
            own_weight=args.weight,
            workers=args.jobs,
            check_thresholds=bool(args.report),
        )
    except TrainingError as err:
        raise CliError(str(err)) from None
    finally:
        bar.finish()
    model, meta = result.model, result.model.metadata
    print(
        f"trained {model.version} on {meta['pages']} pages ({len(own)} of yours) in "
        f"{meta['training_seconds']:.0f} s; {len(result.held_out)} held-out pages never trained on"
    )
    print("\n".join(cv_lines(result.report)))
    out = args.out
    if current is not None:
        from model.compare import MAX_PRECISION_DROP, compare

        comparison = compare(current, model, result.held_out, own)
        print("\n".join(comparison_lines(comparison, str(current.path))))
        if not comparison.acceptable and not args.force:
            aside = out.with_name(f"{out.stem}.candidate{out.suffix or '.skops'}")
            _save(model, aside)
            print(
                f"not replaced: held-out precision would drop by {comparison.precision_drop:.3f} (more "
                f"than {MAX_PRECISION_DROP}). {out} is unchanged; the new model is in {aside} "
                "(--force replaces anyway)."
            )
            return 1
    _save(model, out)
    if args.report and result.report:
        from model.report import markdown

        command = " ".join(["hush train", *meta["folders"], "--out", str(out), "--report", str(args.report)])
        peer = None
        if rules is not None:
            command += f" --peer {args.peer}"
            peer = _peer_report(rules, args.peer, result)
        halves = {}
        if args.halvings:
            from model.halves import whole_runs

            command += f" --halvings {args.halvings}"
            halves = whole_runs(pages, meta["folders"], args.halvings, workers=args.jobs, progress=bar)
            bar.finish()
        text = markdown(
            result.report,
            result.per_page,
            meta,
            command,
            result.page_info,
            peer,
            unseen=result.unseen,
            ranked=result.ranking,
            halves=halves,
        )
        args.report.write_text(text, encoding="utf-8")
    print(
        f"wrote {out} ({model.version}, thresholds: {threshold_text(model.threshold)}); "
        f"serve it with: hush serve --model {out}"
    )
    return 0


def _peer_report(rules: FilterList, path: Path, result: TrainResult) -> Peer:
    """The filter list's counts on the cross-validated and the held-out pages, for the report."""
    from model.labelled import origin
    from model.peer import peer_counts
    from model.report import Peer

    origins = {name: info["origin"] for name, info in result.page_info.items()}
    origins.update({str(p.path): origin(p) for p in result.held_out})
    held = [str(p.path) for p in result.held_out]
    cross_validated = peer_counts(rules, list(result.per_page))
    return Peer(_rules_text(path, rules), cross_validated, peer_counts(rules, held), origins)


def _load(folders: list[Path], strict: bool, bar: Callable[[str, int, int], None]) -> list:
    from model.labelled import load_pages

    if not folders:
        return []
    try:
        pages, problems = load_pages(
            folders, strict=strict, progress=lambda i, n, name: bar("reading pages", i, n)
        )
    except PageError as err:
        raise CliError(f"{err} (--strict)") from None
    finally:
        bar.finish()
    for problem in problems:
        print(f"hush train: skipped {problem}", file=sys.stderr)
    return pages


def _current_model(args: argparse.Namespace) -> HushModel | None:
    """The model a new one would replace: the file at --out, else (when training with your pages) the
    shipped model; None when there is nothing to compare with or --force skips the comparison."""
    if args.out.exists():
        path: Path | None = args.out
    elif args.own:
        path = None
    else:
        return None
    try:
        return load_model(path)
    except ModelError as err:
        if args.force:
            return None
        raise CliError(
            f"cannot compare with the current model: {err}; --force replaces it without comparing"
        ) from None


def _save(model: HushModel, path: Path) -> None:
    from model.persist import save

    try:
        save(model, path)
    except OSError as err:
        raise CliError(f"cannot write {path}: {err.strerror or err}") from None


def _rules(path: Path | None) -> FilterList | None:
    """The filter list given with --peer (None without it); a clear error when it cannot be used."""
    if path is None:
        return None
    from model.filterlist import read

    try:
        rules = read(path)
    except OSError as err:
        raise CliError(f"{path}: cannot read the filter list: {err.strerror or err}") from None
    if not rules.hiding:
        raise CliError(f"{path}: no cosmetic hiding rule in it (lines such as example.org##.donate-box)")
    return rules


def _rules_text(path: Path, rules: FilterList) -> str:
    skipped = ", ".join(f"{n} × {why}" for why, n in sorted(rules.skipped.items(), key=lambda kv: -kv[1]))
    return f"{path.name}: {rules.hiding} hiding rules" + (f"; not applied: {skipped}" if skipped else "")


def run_evaluate(args: argparse.Namespace) -> int:
    from model.evaluate import evaluate
    from model.labelled import load_pages

    for path in args.pages:
        if not path.exists():
            raise CliError(f"{path}: no such file or folder")
    model = _model(args.model)
    rules = _rules(args.peer)
    try:
        pages, problems = load_pages(args.pages, strict=True, stamped=True)
    except PageError as err:
        raise CliError(str(err)) from None
    if not pages:
        raise CliError("no HTML pages to evaluate")
    results, total = evaluate(model, pages)
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
        out = {"model": model.version, "summary": total, "pages": rows}
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
    print(f"\n{total['pages']} pages · {model.version}: {_summary_text(total)}")
    if rules is not None:
        print(f"filter list {_rules_text(args.peer, rules)}")
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
    root = parse(html)
    if root is None:
        raise CliError(f"{args.page}: no HTML in the file")
    stamp_all(root)
    scored = model.classify_tree(root)
    shown = 0
    best = scored.best()
    for i, block in enumerate(scored.page.blocks):
        if scored.appeal[i]:
            shown += 1
            print(f"{best[i]:.2f}  <{block.tag}>  {block.text[:150]}")
    print(f"{shown} of {len(scored.page.blocks)} blocks would be hidden ({model.version})")
    return 0


def run_corpus_stats(args: argparse.Namespace) -> int:
    from model.corpus_stats import stats, table
    from model.labelled import load_pages

    for folder in args.folders:
        if not folder.exists():
            raise CliError(f"{folder}: no such file or folder")
    pages, problems = load_pages(args.folders)
    for problem in problems:
        print(f"hush corpus stats: skipped {problem}", file=sys.stderr)
    if not pages:
        raise CliError("no HTML pages in " + ", ".join(map(str, args.folders)))
    result = stats(pages)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        print("\n\n".join(table(group, rows) for group, rows in result.items()))
    return 0
