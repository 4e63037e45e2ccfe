"""Keeps test sessions and benchmarks hermetic from the developer's own atoll setup.

A developer who ran the quick start has ``~/.config/atoll/config.yaml`` pointing at their own
cluster with its TLS files, maybe ``$ATOLL_SERVER`` and ``$ATOLL_DATA_DIR`` set. Every component
a test or benchmark starts (agents, schedulers, controllers, ``atoll up``) would read them and
dial its own plaintext server with that TLS, or die on certificates that are gone.
``isolate_environment`` gives this process, and so every child it starts, an empty home of its
own: HOME and XDG_CONFIG_HOME/XDG_DATA_HOME inside it, ``$ATOLL_CONFIG`` naming a file that does
not exist there, the data dir inside it and no ``$ATOLL_SERVER``. Caches (the e2e kernel) stay
where they were. Anything that needs a client config writes one and names it explicitly.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from atoll.cli.datadir import DATA_DIR_ENV
from atoll.config import CONFIG_ENV, SERVER_ENV


def isolate_environment(prefix: str = "atoll-hermetic-") -> Path:
    """Point this process's environment at a fresh empty home; returns it. Idempotent enough to call
    once per process (a second call makes another home)."""
    home = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ.setdefault("XDG_CACHE_HOME", str(Path.home() / ".cache"))  # keep downloaded artifacts
    os.environ["HOME"] = str(home)
    os.environ["XDG_CONFIG_HOME"] = str(home / ".config")
    os.environ["XDG_DATA_HOME"] = str(home / ".local" / "share")
    os.environ[CONFIG_ENV] = str(home / "config.yaml")  # absent until someone writes it
    os.environ.pop(SERVER_ENV, None)
    os.environ[DATA_DIR_ENV] = str(home / "data")
    return home
