"""The ``hush`` command line: one subcommand module per concern, errors as one line."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from types import ModuleType

from server.errors import CliError


def command_modules() -> list[ModuleType]:
    """The modules that add the subcommands, each with ``register(subparsers)``; handlers raise
    CliError. Imported when ``hush`` runs, not with this module: they bring in scikit-learn, Flask and
    gunicorn, which take a second, and a Ctrl-C meanwhile must end ``hush`` as quietly as later."""
    from server import cli_extension, cli_label, cli_model, cli_serve, cli_train

    return [cli_train, cli_model, cli_serve, cli_label, cli_extension]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hush", description="Hide donation and support appeals on web pages."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in command_modules():
        module.register(sub)
    return parser


class Terminated(Exception):
    """SIGTERM arrived: raised where the command is, so that its clean-up (temporary files) runs."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser()
    except KeyboardInterrupt:
        print("hush: interrupted", file=sys.stderr)
        return 130
    args = parser.parse_args(argv)
    # `hush serve` leaves signals to gunicorn, which stops its workers gracefully on SIGTERM.
    previous = signal.signal(signal.SIGTERM, _terminated) if args.command != "serve" else None
    try:
        code = int(args.handler(args) or 0)
        sys.stdout.flush()  # a reader that went away shows here, not as a traceback at exit
        return code
    except BrokenPipeError:
        # `hush classify page.html | head -1`: stop quietly, as Unix tools do when SIGPIPE ends them.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except CliError as err:
        print(f"hush {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hush {args.command}: interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print(f"hush {args.command}: stopped (SIGTERM)", file=sys.stderr)
        return 143
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
