"""What the repository tracks: only its own files.

A worktree's ``.venv`` linked to another checkout's venv was once committed (the ignore pattern
``.venv/`` matches a directory, not a link); every clone then carried a link leaving the
repository and ``scripts/test`` could not create its venv. These checks catch the class: a
tracked link that points outside the repository, and a tracked path that ``.gitignore`` ignores.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _git(*args: str) -> list[str]:
    """Runs git in the repository root and returns its NUL-separated output as paths."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: nothing tracked to check")
    out = subprocess.run(
        ["git", "-C", str(ROOT), *args, "-z"], check=True, capture_output=True
    ).stdout.decode()
    return [p for p in out.split("\0") if p]


def test_no_tracked_link_leaves_the_repository() -> None:
    leaving = []
    for path in _git("ls-files"):
        full = ROOT / path
        if full.is_symlink():
            target = Path(os.path.normpath(full.parent / os.readlink(full)))
            if target != ROOT and ROOT not in target.parents:
                leaving.append(f"{path} -> {os.readlink(full)}")
    assert leaving == []


def test_nothing_tracked_is_ignored() -> None:
    assert _git("ls-files", "--cached", "--ignored", "--exclude-standard") == []
