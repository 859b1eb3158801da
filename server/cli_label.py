"""``hush label``: label a saved page in the browser — its blocks outlined with the model's scores, click
to mark appeals, save a copy that differs from the original only by ``data-hush-label`` attributes (or, with
no appeal marked, by a note saying so)."""

from __future__ import annotations

import argparse
import logging
import sys
import webbrowser
from pathlib import Path
from typing import Any

from model import ModelError
from model.errors import PageError
from model.files import READ_ONLY, is_read_only
from model.parse import no_such_page
from model.relabel import load_source
from server.cli_serve import _port
from server.config import ConfigError
from server.errors import CliError
from server.listen import listening
from server.paths import check_can_write_in

HOST = "127.0.0.1"  # loopback only: the pages can write files
DEFAULT_PORT = 8788
DEFAULT_OUT = Path("hush-labelled")
PAGE_SUFFIXES = (".html", ".htm")


def register(subparsers: Any) -> None:
    """Add ``label`` to the ``hush`` command line."""
    parser = subparsers.add_parser(
        "label",
        help="label a saved page in the browser",
        description=(
            "Show a saved page (or a correction the extension exported) on 127.0.0.1 with its blocks "
            "outlined and scored; click blocks to mark appeals and save a labelled copy into DIR. "
            "The copy keeps the page's markup byte for byte: only data-hush-label attributes change "
            "(saved with no appeal marked, it gets a <meta> note saying so, which training reads)."
        ),
    )
    parser.add_argument("page", type=Path, metavar="PAGE.html")
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        metavar="DIR",
        help="folder for the labelled page (%(default)s)",
    )
    parser.add_argument("--port", type=_port, default=DEFAULT_PORT, help="port on 127.0.0.1 (%(default)s)")
    parser.add_argument("--model", metavar="PATH", help="model whose scores are shown (default: the shipped)")
    parser.add_argument("--open", action="store_true", help="open the labelling page in a web browser")
    parser.set_defaults(handler=run_label)


def check_page(page: Path) -> None:
    if not page.exists():
        raise CliError(no_such_page(page))
    if not page.is_file():
        raise CliError(f"{page}: not a file")
    if page.suffix.lower() not in PAGE_SUFFIXES:
        raise CliError(f"{page}: not an HTML page (expected a .html or .htm file)")


def check_out_dir(out: Path, page: Path) -> None:
    """The folder can be written (or made), and saving there cannot overwrite the page itself or a
    copy made read-only."""
    if (out / page.name).resolve() == page.resolve():
        raise CliError(f"{out}: saving there would overwrite {page}; choose another folder with --out")
    if is_read_only(out / page.name):
        raise CliError(f"{out / page.name}: {READ_ONLY}")
    check_can_write_in(out)


def run_label(args: argparse.Namespace) -> int:
    from werkzeug.serving import make_server

    from server.label import create_label_app

    check_page(args.page)
    check_out_dir(args.out, args.page)
    try:
        load_source(args.page)  # fail before the model loads: unreadable, binary, not round-tripping
    except PageError as err:
        raise CliError(str(err)) from None
    sock = listening(HOST, args.port, "choose another --port")  # werkzeug would exit, not raise
    try:
        app = create_label_app(args.page, args.out, {"MODEL_PATH": args.model} if args.model else None)
        server = make_server(HOST, args.port, app, threaded=True, fd=sock.fileno())  # on a copy of it
    except (ModelError, ConfigError, PageError) as err:
        raise CliError(str(err)) from None
    finally:
        sock.close()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the app logs one line per request
    session = app.extensions["hush_label"]
    url = f"http://{HOST}:{server.port}/label/"
    blocks = session.labelling.blocks
    if session.labelling.source.path != args.page:
        print(f"going on from {session.out_path}, saved before: its labels are shown, not {args.page}'s")
    print(
        f"{args.page}: {len(blocks)} blocks, {sum(b.marked for b in blocks)} labelled appeal; "
        f"saving writes {session.out_path}"
    )
    print(f"open {url}  (Ctrl+C to stop)", flush=True)
    if args.open:
        webbrowser.open(url)
    server.serve_forever()  # until Ctrl+C, which werkzeug's server takes as the end
    print("stopped", file=sys.stderr)
    return 0
