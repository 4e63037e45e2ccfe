"""Finding system binaries that some tests need (etcd, crun, qemu).

A missing binary skips the test with a one-line reason on a developer machine, and fails it
under ``CI=true``: CI images must carry every package the suite needs.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require_binary(name: str, package: str) -> str:
    """The absolute path of ``name`` on PATH; skips (or, under CI=true, fails) the test when absent."""
    path = shutil.which(name)
    if path is not None:
        return path
    reason = f"{name} not found: install the Debian package {package}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)
