"""Keeps the suite hermetic from the developer's own atoll setup (tests/support/hermetic.py): the
whole session, and every process it starts, gets its own empty home, client config path and data
dir; tests that need a config or a data dir set one themselves."""

from __future__ import annotations

import pytest

from tests.support.hermetic import isolate_environment


def pytest_configure(config: pytest.Config) -> None:
    isolate_environment("atoll-tests-config-")
