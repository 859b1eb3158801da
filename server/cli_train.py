"""``hush train``: a model from folders of labelled pages, compared with the one it would replace."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model import ModelError, load_model
from model.errors import PageError
from model.files import replaced_atomically
from model.predict import HushModel, threshold_text
from server.cli_model import PEER_HELP, read_rules, require_existing, rules_text, without_copies
from server.errors import CliError
from server.paths import check_can_write

if TYPE_CHECKING:
    from model.filterlist import FilterList
    from model.report import Peer
    from model.train import TrainResult
    from server.progress import ProgressBar

DEFAULT_OUT = Path("hush-model.skops")
# model.train.OWN_WEIGHT, repeated: this module loads with every command, and serving never imports training.
OWN_WEIGHT = 10.0


def register(sub: argparse._SubParsersAction) -> None:
    train = sub.add_parser(
        "train",
        help="train a model from folders of labelled pages",
        description="Train a model from folders of labelled pages (one site in ten is held out), plus "
        "your own labelled pages (--with). Before replacing a model, compare the two on the held-out "
        "pages and on your pages, and refuse when held-out precision drops by more than 0.01 (writing a "
        "new file, by more than 0.01 because of your pages, when the shipped model had other folders).",
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


MAX_WEIGHT = 1000  # one of your pages counting as more than this many corpus pages drowns out the rest


def _check_folders(folders: list[Path]) -> None:
    from model.labelled import has_labels, page_files

    for folder in folders:
        require_existing([folder])
        files = page_files([folder])
        if not files:
            raise CliError(f"{folder}: no HTML pages in it")
        if not any(has_labels(path) for _, path in files):
            raise CliError(f"{folder}: no labelled pages (no element carries data-hush-label)")


def _check_distinct(folders: list[Path]) -> None:
    """CliError when a folder is given twice, or inside another one given: its pages would count twice."""
    seen: list[tuple[Path, Path]] = []
    for folder in folders:
        where = folder.resolve()
        for other, other_where in seen:
            if where.is_relative_to(other_where) or other_where.is_relative_to(where):
                raise CliError(f"{folder} and {other} hold the same pages: give each folder once")
        seen.append((folder, where))


def _check_not_inputs(args: argparse.Namespace) -> None:
    """CliError when --out and --report name one file, or when either would replace a page training reads
    (or its sidecar), or write a file that the next training would read as a page."""
    from model.labelled import page_files

    if args.report and args.out.resolve() == args.report.resolve():
        raise CliError(f"--out and --report both name {args.out}: give the report another name")
    folders = [*args.folders, *args.own]
    pages = {path.resolve() for _, path in page_files(folders)}
    read = pages | {page.with_suffix(".json") for page in pages}
    roots = [folder.resolve() for folder in folders if folder.is_dir()]
    for option, target in (("--out", args.out), ("--report", args.report)):
        if not target:
            continue
        where = target.resolve()
        inside = any(where.is_relative_to(root) for root in roots)
        if where in read or (inside and where.suffix.lower() in (".html", ".htm")):
            raise CliError(f"{option} {target}: that is, or would become, a page training reads")


def run_train(args: argparse.Namespace) -> int:
    from model.labelled import digest_if_any
    from model.train import relative_folders
    from server.progress import ProgressBar
    from server.train_summary import comparison_lines, cv_lines

    if not 0 < args.weight <= MAX_WEIGHT:  # NaN and infinity fail this too
        raise CliError(f"--weight must be a number above 0 and at most {MAX_WEIGHT}")
    if args.jobs < 1:
        raise CliError("--jobs must be 1 or more")
    _check_folders([*args.folders, *args.own])
    _check_distinct([*args.folders, *args.own])
    if args.peer is not None and not args.report:
        raise CliError("--peer goes with --report: the filter list is scored in the report")
    if args.halvings < 0:
        raise CliError("--halvings must be 0 or more")
    if args.halvings and not args.report:
        raise CliError("--halvings goes with --report: the other halves are scored in the report")
    rules = read_rules(args.peer)
    check_can_write(args.out, "--out")  # before minutes of training, not after
    if args.report:
        check_can_write(args.report, "--report")
    _check_not_inputs(args)
    bar = ProgressBar()
    pages, own = _load(args.folders, args.strict, bar), _load(args.own, args.strict, bar, own=True)
    pages, own = without_copies("hush train", pages, own)
    on_disk = digest_if_any(args.out)  # another run writing there meanwhile is not replaced unseen
    current = _current_model(args)
    result = _trained(
        pages,
        relative_folders(args.folders),
        bar,
        own=own,
        own_folders=relative_folders(args.own),
        own_weight=args.weight,
        workers=args.jobs,
        check_thresholds=bool(args.report),
    )
    model, meta = result.model, result.model.metadata
    print(
        f"trained {model.version} on {meta['pages']} pages ({len(own)} of yours) in "
        f"{meta['training_seconds']:.0f} s; {len(result.held_out)} held-out pages never trained on"
    )
    print("\n".join(cv_lines(result.report)))
    _warn_if_few_sites([*pages, *own])
    out = args.out
    refused = None  # the comparison, when it keeps the model from replacing the current one
    if current is not None:
        from model.compare import compare, scores, trained_elsewhere

        comparison = compare(current, model, result.held_out, own)
        elsewhere = trained_elsewhere(current, model)
        if elsewhere and out.exists():
            print(
                f"note: the model at {out} also trained on {', '.join(elsewhere)}, which this run does not "
                "have: a model that replaces it has not learnt from them"
            )
        if not comparison.acceptable and not args.force and not out.exists() and elsewhere:
            # Nothing is replaced: judge what the user's pages change, not what the shipped model's
            # other folders bring.
            print(
                f"the current model also trained on {', '.join(elsewhere)}: training again without your "
                "pages, to see what they change"
            )
            reference = _trained(pages, relative_folders(args.folders), bar, workers=args.jobs).model
            comparison.reference = scores(reference, result.held_out)
        print("\n".join(comparison_lines(comparison, str(current.path))))
        if not comparison.acceptable and not args.force:
            refused = comparison
    # The report and its halvings (minutes more) come first: a run stopped or failing before the end leaves
    # the file at --out as it was. The two files are then written together, a stop held off meanwhile, so
    # that the report never names a model the file does not hold.
    text = _report(args, result, pages, own, rules, bar) if args.report and result.report else None
    moved = digest_if_any(out) != on_disk  # written by another run since this one compared with it
    target = out.with_name(f"{out.stem}.candidate{out.suffix or '.skops'}") if refused or moved else out
    _write(model, target, text, args.report)
    if moved:
        print(
            f"not replaced: {out} changed while this run trained (another hush train writing there?), so it "
            f"was not compared with the new model, which is in {target}; run again to compare the two"
            f"{'; the report describes it' if text else ''}."
        )
        return 1
    if refused:
        from model.compare import MAX_PRECISION_DROP

        by = (
            "your pages would lower held-out precision"
            if refused.reference is not None
            else "held-out precision would drop"
        )
        print(
            f"not replaced: {by} by {refused.precision_drop:.3f} (more than {MAX_PRECISION_DROP}). "
            f"{out} {'is unchanged' if out.exists() else 'is not written'}; the new model is in {target} "
            f"(--force writes it anyway){'; the report describes it' if text else ''}."
        )
        return 1
    print(
        f"wrote {out} ({model.version}, thresholds: {threshold_text(model.threshold)}); "
        f"serve it with: hush serve --model {out}"
    )
    return 0


def _write(model: HushModel, target: Path, text: str | None, report: Path | None) -> None:
    """Write the model (and the report, when there is one) whole or not at all: each into a temporary file
    beside it, then both moved into place together, Ctrl-C and SIGTERM held off for those two moves alone.
    A stop while they are written leaves both files as they were; it never leaves a report naming a
    model that the file does not hold."""
    from model.persist import dump

    writing = target
    try:
        with _SignalsHeld() as held, contextlib.ExitStack() as files:
            if text is not None and report is not None:
                writing = report
                report.parent.mkdir(parents=True, exist_ok=True)
                files.enter_context(replaced_atomically(report)).write_text(text, encoding="utf-8")
            writing = target
            target.parent.mkdir(parents=True, exist_ok=True)
            dump(model, files.enter_context(replaced_atomically(target)))
            held.hold()  # the files' moves into place, as the block ends
    except OSError as err:
        what = "the report " if writing == report else ""
        raise CliError(f"cannot write {what}{writing}: {err.strerror or err}") from None


class _SignalsHeld(contextlib.AbstractContextManager):
    """From :meth:`hold` to the end of the block, Ctrl-C and SIGTERM wait; they take effect after it. Their
    handlers are set aside meanwhile (a blocked signal mask is one thread's, and the kernel hands a signal to
    any thread of the process that does not block it: BLAS's, the worker pool's)."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.previous: dict[int, Any] = {}
        self.pending: list[int] = []

    def hold(self) -> None:
        for signum in self.SIGNALS:
            self.previous[signum] = signal.signal(signum, lambda signum, frame: self.pending.append(signum))

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(self.pending):
            signal.raise_signal(signum)


def _report(
    args: argparse.Namespace,
    result: TrainResult,
    pages: list,
    own: list,
    rules: FilterList | None,
    bar: ProgressBar,
) -> str:
    """The report's Markdown, with the halvings when asked for (a training on each half of the sites)."""
    from model.report import markdown

    meta = result.model.metadata
    command = " ".join(["hush train", *meta["folders"], "--out", str(args.out), "--report", str(args.report)])
    command += "".join(f" --with {folder}" for folder in meta.get("own_folders", []))
    if own and args.weight != OWN_WEIGHT:
        command += f" --weight {args.weight:g}"
    peer = None
    if rules is not None:
        command += f" --peer {args.peer}"
        peer = _peer_report(rules, args.peer, result)
    halves = {}
    if args.halvings:
        from model.halves import whole_runs

        command += f" --halvings {args.halvings}"
        halves = whole_runs(
            pages,
            meta["folders"],
            args.halvings,
            own=own,
            own_folders=meta.get("own_folders"),
            own_weight=args.weight,
            workers=args.jobs,
            progress=bar,
        )
        bar.finish()
    return markdown(
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


def _warn_if_few_sites(pages: list) -> None:
    """A model trained on pages of a few sites alone learns those sites, and its thresholds are chosen on
    a handful of pages: say so, and how to keep what the corpus teaches."""
    from model.heldout import MIN_SITES

    sites = len({p.site for p in pages})
    if sites < MIN_SITES:
        print(
            f"hush train: warning: the pages come from {sites} site{'s' * (sites != 1)}, too few to hold any "
            "out or to choose thresholds that hold elsewhere; to teach the model your pages and keep what it "
            "knows, train on the corpus with them: hush train corpus/pages --with YOUR-PAGES --out ...",
            file=sys.stderr,
        )


def _trained(pages: list, folders: list[str], bar: ProgressBar, **options: Any) -> TrainResult:
    """``model.train.train``, its TrainingError as the command's error, the progress bar closed either way."""
    from model.train import TrainingError, train

    try:
        return train(pages, folders, bar, **options)
    except TrainingError as err:
        raise CliError(str(err)) from None
    finally:
        bar.finish()


def _peer_report(rules: FilterList, path: Path, result: TrainResult) -> Peer:
    """The filter list's counts on the cross-validated and the held-out pages, for the report."""
    from model.labelled import origin
    from model.peer import peer_counts
    from model.report import Peer

    origins = {name: info["origin"] for name, info in result.page_info.items()}
    origins.update({str(p.path): origin(p) for p in result.held_out})
    held = [str(p.path) for p in result.held_out]
    cross_validated = peer_counts(rules, list(result.per_page))
    return Peer(rules_text(path, rules), cross_validated, peer_counts(rules, held), origins)


def _load(folders: list[Path], strict: bool, bar: Callable[[str, int, int], None], own: bool = False) -> list:
    """The pages below the folders, those that cannot be read named and left out. Of your own pages
    (``own``), those that nothing labels too: the original saved beside its labelled copy would be trained
    as all content, at ten times a corpus page's weight. (A corpus folder may hold pages of content with
    no label at all.)"""
    from model.labelled import NOT_LABELLED, is_labelled, label_warnings, load_pages

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
    for page in [p for p in pages if own and not is_labelled(p)]:
        if strict:
            raise CliError(f"{page.path}: {NOT_LABELLED} (--strict)")
        print(f"hush train: skipped {page.path}: {NOT_LABELLED}; label it with hush label", file=sys.stderr)
        pages.remove(page)
    for line in label_warnings(pages):
        print(f"hush train: warning: {line}", file=sys.stderr)
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
        if path is not None and path.suffix.lower() != ".skops" and not zipfile.is_zipfile(path):
            # Neither named as a model nor the container one is: a file of something else, which --force
            # should not replace (a damaged .skops file it may).
            raise CliError(f"--out {path} is not a model file: choose another --out") from None
        if args.force:
            return None
        raise CliError(
            f"cannot compare with the current model: {err}; --force replaces it without comparing"
        ) from None
