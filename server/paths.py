"""Checks, made before any long work, that a command can write the files it will write."""

from __future__ import annotations

import tempfile
from pathlib import Path

from model.files import READ_ONLY, is_read_only
from server.errors import CliError


def check_can_write_in(folder: Path) -> None:
    """CliError unless files can be written in ``folder`` (made, with its parents, when missing)."""
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not probe.is_dir():
        raise CliError(f"{probe}: not a folder, cannot write into {folder}")
    try:
        with tempfile.TemporaryFile(dir=probe):
            pass
    except OSError as err:
        raise CliError(f"{folder}: cannot write there ({err.strerror or err})") from None


def check_can_write(path: Path, option: str) -> None:
    """CliError unless the file at ``path``, given with ``option``, can be written or replaced."""
    if path.is_dir():
        raise CliError(f"{option} {path}: that is a folder; give a file name")
    if is_read_only(path):
        raise CliError(f"{option} {path}: {READ_ONLY}")
    check_can_write_in(path.parent)
