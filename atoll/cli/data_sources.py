"""The data of ``atoll create configmap|secret``, read as kubectl reads it:

- ``--from-literal=KEY=VALUE``;
- ``--from-file=[KEY=]PATH``: a file (key: its base name unless KEY is given), or a directory,
  whose regular files with a valid key as name are each one entry (anything else in it, including
  links and subdirectories, is skipped, as kubectl skips it);
- ``--from-env-file=PATH``: ``KEY=VALUE`` lines; blank lines and ``#`` comments skipped; a line
  that is only ``KEY`` takes the value of that variable in this environment (skipped when unset).

Files named by users are hostile. A named path must be a regular file (a directory only for
``--from-file`` without KEY): it is opened without blocking (a FIFO does not hang the command) and
checked on the open descriptor. Nothing is read beyond what the object can hold: the server's
limits (atoll/validation/config.py: 1 MiB of keys and values in all; atoll/validation/bounds.py:
entries per object) are checked here as the data comes in, so a huge file or a device like
/dev/zero is refused in one line without being read whole. Keys follow the one rule for them
(``key_problem``); a key given twice is refused, as kubectl refuses it.
"""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

from atoll.cli.common import CliError
from atoll.user_text import bounded, bounded_repr
from atoll.validation.bounds import ITEMS
from atoll.validation.config import MAX_DATA_BYTES, key_problem

MAX_ENTRIES = ITEMS["atoll.v1.ConfigMap.data"]
_SHOWN_PATH = 200


@dataclass
class Entries:
    """Keys and values gathered so far, within the bounds of one ConfigMap or Secret."""

    values: dict[str, bytes] = field(default_factory=dict)
    size: int = 0

    def add(self, key: str, value: bytes, source: str) -> None:
        """Add one entry; CliError naming ``source`` for an invalid or repeated key or a bound passed."""
        problem = key_problem(key)
        if problem:
            raise CliError(f"{source}: {problem}")
        if key in self.values:
            raise CliError(f"{source}: the key {bounded_repr(key)} is given twice")
        if len(self.values) >= MAX_ENTRIES:
            raise CliError(f"{source}: more than {MAX_ENTRIES} keys, the most one object holds")
        self.size += len(key.encode()) + len(value)
        if self.size > MAX_DATA_BYTES:
            raise CliError(f"{source}: keys and values total more than {MAX_DATA_BYTES} bytes (1 MiB), the limit")
        self.values[key] = value

    @property
    def room(self) -> int:
        """Bytes of value that may still come in."""
        return MAX_DATA_BYTES - self.size


def add_data_flags(parser: argparse.ArgumentParser, what: str) -> None:
    """NAME and the three kinds of source (dests ``from_literal``, ``from_file``, ``from_env_file``)."""
    parser.add_argument("name", metavar="NAME")
    parser.add_argument(
        "--from-literal", action="append", default=[], metavar="KEY=VALUE", help=f"one {what} entry (repeatable)"
    )
    parser.add_argument(
        "--from-file",
        action="append",
        default=[],
        metavar="[KEY=]PATH",
        help="a file (key: its name, or KEY), or a directory's regular files (repeatable)",
    )
    parser.add_argument(
        "--from-env-file", action="append", default=[], metavar="PATH", help="a file of KEY=VALUE lines (repeatable)"
    )


def gather(
    literals: Sequence[str],
    files: Sequence[str],
    env_files: Sequence[str],
    environ: Mapping[str, str] | None = None,
) -> dict[str, bytes]:
    """Every entry the three kinds of source give, in the order given; CliError (one line) for the
    first mistake. ``environ``: what bare ``KEY`` lines of env files read (default os.environ)."""
    entries = Entries()
    for literal in literals:
        key, equals, value = literal.partition("=")
        if not equals:
            raise CliError(f"--from-literal {bounded_repr(literal)}: expected KEY=VALUE")
        entries.add(key, value.encode(), f"--from-literal {bounded_repr(literal)}")
    for source in files:
        _add_file_source(source, entries)
    for path in env_files:
        _add_env_file(path, entries, os.environ if environ is None else environ)
    if not entries.values:
        raise CliError("give the data: --from-literal=KEY=VALUE, --from-file=[KEY=]PATH or --from-env-file=PATH")
    return entries.values


def _add_file_source(source: str, entries: Entries) -> None:
    key, equals, path = source.partition("=")
    if not equals:
        key, path = "", source
    if not path:
        raise CliError(f"--from-file {bounded_repr(source)}: expected [KEY=]PATH")
    shown = f"--from-file {bounded(path, _SHOWN_PATH)}"
    if not key and os.path.isdir(path):
        _add_directory(path, entries, shown)
        return
    entries.add(key or os.path.basename(path.rstrip("/")), read_bounded(path, entries.room, shown), shown)


def _add_directory(path: str, entries: Entries, shown: str) -> None:
    try:
        with os.scandir(path) as listing:
            names = []
            for entry in listing:
                if entry.is_file(follow_symlinks=False) and key_problem(entry.name) is None:
                    names.append(entry.name)
                    if len(names) > MAX_ENTRIES:
                        raise CliError(f"{shown}: more than {MAX_ENTRIES} files, the most one object holds")
    except OSError as err:
        raise CliError(f"{shown}: {err.strerror}") from None
    for name in sorted(names):
        file_path = os.path.join(path, name)
        entries.add(name, read_bounded(file_path, entries.room, shown), f"{shown}: {bounded(name, _SHOWN_PATH)}")


def read_bounded(path: str, limit: int, shown: str) -> bytes:
    """The bytes of the regular file at ``path``; CliError when it is missing, not a regular file
    (a directory, FIFO, device, socket) or holds more than ``limit`` bytes (read no further)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as err:
        raise CliError(f"{shown}: {err.strerror}") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            what = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
            raise CliError(f"{shown}: {what}; give a regular file")
        with os.fdopen(fd, "rb", buffering=0, closefd=False) as handle:
            data = _read_up_to(handle, limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise CliError(f"{shown}: too large: keys and values may total {MAX_DATA_BYTES} bytes (1 MiB) in one object")
    return data


def _read_up_to(handle: BinaryIO, size: int) -> bytes:
    chunks, left = [], size
    while left > 0:
        chunk = handle.read(min(left, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _add_env_file(path: str, entries: Entries, environ: Mapping[str, str]) -> None:
    shown = f"--from-env-file {bounded(path, _SHOWN_PATH)}"
    raw = read_bounded(path, MAX_DATA_BYTES, shown)
    try:
        text = raw.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as err:
        raise CliError(f"{shown}: not UTF-8 text (byte {err.start})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.lstrip()
        if not line or line.startswith("#"):
            continue
        key, equals, value = line.partition("=")
        if not equals:
            if key not in environ:
                continue
            value = environ[key]
        entries.add(key, value.encode(), f"{shown} line {number}")
