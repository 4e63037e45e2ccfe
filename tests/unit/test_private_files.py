"""atoll.private_files: what atoll writes is its user's alone, whatever the caller's umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from atoll.atomic_file import write_atomic
from atoll.config import write_client_config
from atoll.private_files import private_directory, private_umask


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_atomic_is_private_by_default_under_a_permissive_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        write_atomic(tmp_path / "state" / "record.json", b"{}")
    finally:
        os.umask(previous)
    assert _mode(tmp_path / "state") == 0o700
    assert _mode(tmp_path / "state" / "record.json") == 0o600


def test_the_client_config_and_its_directory_are_private(tmp_path: Path) -> None:
    path = write_client_config("127.0.0.1:7443", tmp_path / "atoll" / "config.yaml", token="secret")
    assert (_mode(path.parent), _mode(path)) == (0o700, 0o600)


def test_private_directory_tightens_what_an_older_atoll_left(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    (data_dir / "atoll.db").write_bytes(b"")
    (data_dir / "atoll.db").chmod(0o644)
    (data_dir / "run.sh").write_bytes(b"")
    (data_dir / "run.sh").chmod(0o755)
    assert private_directory(data_dir) == data_dir
    assert _mode(data_dir) == 0o700
    assert _mode(data_dir / "atoll.db") == 0o600
    assert _mode(data_dir / "run.sh") == 0o700, "the owner's bits are kept"
    fresh = private_directory(tmp_path / "new" / "data")
    assert _mode(fresh) == 0o700


def test_private_umask_applies_inside_the_block_only(tmp_path: Path) -> None:
    previous = os.umask(0o022)
    try:
        with private_umask():
            (tmp_path / "inside").mkdir()
        (tmp_path / "outside").mkdir()
    finally:
        os.umask(previous)
    assert (_mode(tmp_path / "inside"), _mode(tmp_path / "outside")) == (0o700, 0o755)
