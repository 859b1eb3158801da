"""Writing files so that readers see the old file or the new one, never half of one."""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path


def _new_file(target: Path) -> Path:
    """A hidden file created beside ``target`` under a fresh name, with the permissions a new file gets
    (0666 less the umask: ``tempfile.mkstemp`` would make it 0600, readable by its owner alone, so that a
    model trained by one user could not be served by another). Its name keeps the start of the target's
    only: a name near the file system's limit of 255 bytes could not take the 18 added."""
    while True:
        path = target.with_name(f".{target.name[:40]}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return path


READ_ONLY = "it is read-only: make it writable (chmod u+w) or write elsewhere"


def is_read_only(path: Path) -> bool:
    """Whether ``path`` is a file its owner may not write: one made read-only to keep it, which a move
    over it would replace all the same (root's included)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) and not mode & stat.S_IWUSR


@contextmanager
def replaced_atomically(target: Path) -> Iterator[Path]:
    """Yield a hidden temporary path beside ``target`` to write; when the block ends without an error,
    flush it to disk and move it over ``target``, which keeps the permissions of the file it replaces.
    On an error the temporary file is removed. PermissionError, before anything is written, when
    ``target`` is read-only."""
    if is_read_only(target):
        raise PermissionError(errno.EACCES, READ_ONLY, str(target))
    tmp = _new_file(target)
    try:
        yield tmp
        with tmp.open("rb+") as written:
            os.fsync(written.fileno())
        with suppress(FileNotFoundError):  # a new file keeps the mode it was created with
            os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
