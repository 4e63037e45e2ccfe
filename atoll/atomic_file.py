"""Replacing a file atomically: readers see the old content or the new, never a torn write."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from atoll.private_files import PRIVATE_DIRECTORY_MODE, PRIVATE_FILE_MODE


def write_atomic(path: Path, data: bytes, mode: int = PRIVATE_FILE_MODE) -> None:
    """Write ``data`` to ``path`` (a missing parent directory created 0700) through a temporary file
    in the same directory, renamed over it with permissions ``mode`` (private unless told otherwise:
    atoll.private_files); on failure ``path`` is untouched and no temporary file is left behind."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIRECTORY_MODE)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
