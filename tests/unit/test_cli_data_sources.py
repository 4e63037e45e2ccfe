"""ConfigMap and Secret data from literals, files, directories and env files (atoll/cli/data_sources.py):
kubectl's rules for keys and directories, and hostile files refused in one line without being
read whole or hanging the command."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from atoll.cli.common import CliError
from atoll.cli.data_sources import MAX_ENTRIES, gather
from atoll.validation.config import MAX_DATA_BYTES


def test_a_file_is_keyed_by_its_name_or_the_key_given(tmp_path: Path) -> None:
    (tmp_path / "app.ini").write_bytes(b"a=1\n")
    entries = gather([], [str(tmp_path / "app.ini"), f"main={tmp_path / 'app.ini'}"], [])
    assert entries == {"app.ini": b"a=1\n", "main": b"a=1\n"}


def test_a_directory_gives_its_regular_files_with_valid_names_only(tmp_path: Path) -> None:
    (tmp_path / "b.conf").write_bytes(b"b")
    (tmp_path / "a.conf").write_bytes(b"a")
    (tmp_path / "bad name").write_bytes(b"skipped: not a valid key")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep").write_bytes(b"skipped: below")
    (tmp_path / "link").symlink_to(tmp_path / "a.conf")
    os.mkfifo(tmp_path / "fifo")
    assert gather([], [str(tmp_path)], []) == {"a.conf": b"a", "b.conf": b"b"}


def test_an_env_file_as_kubectl_reads_it(tmp_path: Path) -> None:
    env_file = tmp_path / "app.env"
    env_file.write_text("\ufeff# comment\n\n  MODE=prod\nURL=http://x/?a=b\nFROM_ENV\nUNSET_HERE\nEMPTY=\n")
    entries = gather([], [], [str(env_file)], environ={"FROM_ENV": "inherited"})
    assert entries == {"MODE": b"prod", "URL": b"http://x/?a=b", "FROM_ENV": b"inherited", "EMPTY": b""}


def test_sources_combine_in_order_and_a_key_twice_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mode").write_bytes(b"file")
    with pytest.raises(CliError, match="the key 'mode' is given twice"):
        gather(["mode=literal"], [str(tmp_path / "mode")], [])


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda d: str(d / "missing"), "No such file or directory"),
        (lambda d: f"k={d}", "a directory; give a regular file"),
        (lambda d: "/dev/zero", "not a regular file"),
        (lambda d: _fifo(d), "not a regular file"),
        (lambda d: _socket(d), "No such device or address"),
        (lambda d: _file(d, "big", MAX_DATA_BYTES + 1), "too large"),
        (lambda d: f"../up={_file(d, 'f', 1)}", "invalid key"),
        (lambda d: f"..={_file(d, 'f', 1)}", "may not be"),
        (lambda d: "", r"expected \[KEY=\]PATH"),
    ],
    ids=[
        "a missing file",
        "a directory under a key",
        "a device",
        "a FIFO (without hanging)",
        "a socket",
        "a file over 1 MiB",
        "a key with a slash",
        "the key ..",
        "nothing",
    ],
)
def test_hostile_files_are_refused_in_one_line(tmp_path: Path, make: object, expected: str) -> None:
    source = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(CliError, match=expected) as refused:
        gather([], [source], [])
    assert "\n" not in str(refused.value)


def test_the_total_is_bounded_across_sources(tmp_path: Path) -> None:
    half = MAX_DATA_BYTES // 2
    first, second = _file(tmp_path, "one", half), _file(tmp_path, "two", half)
    with pytest.raises(CliError, match="too large"):
        gather([], [first, second], [])


def test_the_number_of_keys_is_bounded(tmp_path: Path) -> None:
    literals = [f"k{index}=" for index in range(MAX_ENTRIES + 1)]
    with pytest.raises(CliError, match=f"more than {MAX_ENTRIES} keys"):
        gather(literals, [], [])


def test_an_env_file_that_is_not_text_or_has_a_bad_key(tmp_path: Path) -> None:
    binary = tmp_path / "bin.env"
    binary.write_bytes(b"A=\xff\n")
    with pytest.raises(CliError, match="not UTF-8 text"):
        gather([], [], [str(binary)])
    bad = tmp_path / "bad.env"
    bad.write_text("OK=1\nNOT OK=2\n")
    with pytest.raises(CliError, match=r"bad\.env line 2: invalid key"):
        gather([], [], [str(bad)])


def test_long_paths_and_keys_are_bounded_in_messages(tmp_path: Path) -> None:
    with pytest.raises(CliError) as refused:
        gather(["x" * 100_000 + "=1"], [], [])
    assert len(str(refused.value)) < 1000


def _file(directory: Path, name: str, size: int) -> str:
    path = directory / name
    path.write_bytes(b"x" * size)
    return str(path)


def _fifo(directory: Path) -> str:
    path = directory / "fifo"
    os.mkfifo(path)
    return str(path)


def _socket(directory: Path) -> str:
    path = directory / "sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))  # the socket file stays after close
    return str(path)
