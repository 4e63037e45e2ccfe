"""Everything atoll writes is private to the user who runs it: directories 0700, files 0600.

Certificates' keys, tokens, the store (sqlite and its WAL/SHM files), the audit log, agents'
task records and workloads' logs all say something about the cluster that other users of the host
have no business reading. Long-running commands that write state (``atoll up``, ``atoll-agent``)
call ``make_process_private`` first, so that every file they create, and every file that a
library or child process creates for them (sqlite, runc, QEMU), starts private; short ones
(``atoll image import``) write under ``private_umask``;
``write_atomic`` writes 0600 unless told otherwise; ``private_directory`` also tightens a
directory that an older atoll left readable.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

PRIVATE_UMASK = 0o077
PRIVATE_DIRECTORY_MODE = 0o700
PRIVATE_FILE_MODE = 0o600


def make_process_private() -> None:
    """Sets this process's umask to 077: what it (and its children) create is its user's alone."""
    os.umask(PRIVATE_UMASK)


@contextlib.contextmanager
def private_umask() -> Iterator[None]:
    """The private umask for what the block writes (a short command such as ``atoll image import``),
    then the one before."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def private_directory(path: Path) -> Path:
    """Creates ``path`` (and missing parents) as 0700, or makes an existing one 0700 and takes the
    group and other bits off the files directly inside it (what an older atoll wrote 0644 there).
    Returns ``path``."""
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIRECTORY_MODE)
    path.chmod(PRIVATE_DIRECTORY_MODE)
    for entry in path.iterdir():
        info = entry.lstat()
        if stat.S_ISREG(info.st_mode) and info.st_mode & PRIVATE_UMASK:
            entry.chmod(stat.S_IMODE(info.st_mode) & ~PRIVATE_UMASK)
    return path
