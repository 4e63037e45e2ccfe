"""Where `atoll up` keeps its state by default; verbs that manage that state (certs, token) share it."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "ATOLL_DATA_DIR"


def default_data_dir() -> Path:
    """``$ATOLL_DATA_DIR`` when set, else ``~/.local/share/atoll``."""
    explicit = os.environ.get(DATA_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return Path.home() / ".local" / "share" / "atoll"
