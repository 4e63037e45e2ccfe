"""Keeps the suite hermetic from the developer's own atoll setup.

A developer who ran the quick start has ~/.config/atoll/config.yaml pointing at their own
cluster with its TLS files, maybe $ATOLL_SERVER and $ATOLL_DATA_DIR set; every component the tests start as a
subprocess (agents, schedulers, controllers) would read them and dial their tests' plaintext
servers with TLS. The whole session, and every process it starts, gets its own empty config
path and data dir instead; tests that need either set one themselves.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from atoll.cli.datadir import DATA_DIR_ENV
from atoll.config import CONFIG_ENV, SERVER_ENV


def pytest_configure(config: pytest.Config) -> None:
    home = Path(tempfile.mkdtemp(prefix="atoll-tests-config-"))
    os.environ[CONFIG_ENV] = str(home / "config.yaml")  # absent until a test writes it
    os.environ.pop(SERVER_ENV, None)
    os.environ[DATA_DIR_ENV] = str(home / "data")
