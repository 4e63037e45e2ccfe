"""The audit log: one JSON line per denied or mutating call, rotated by size.

Each line: ``time`` (RFC 3339, UTC), ``user``, ``groups``, ``certificate`` (the user the
connection's client certificate names, whatever token the call presented; "" without one),
``peer`` (the network address), ``verb``, ``kind``, ``namespace``, ``name``, ``result`` (the gRPC
status name: OK, PERMISSION_DENIED, UNAUTHENTICATED, ...), ``message`` for failures and
``suppressed`` when records of this caller were left out before it (``audit_budget``). Sessions
(exec, attach, console, port-forward) add ``stage`` (started, ended), ``container`` and
``command`` (at most ``COMMAND_ARGS`` arguments, each bounded). Every
string a caller chose is bounded (atoll/user_text.py), so one line is at most about 2 KB. When the
file reaches ``max_bytes`` it becomes ``PATH.1`` (``PATH.1`` becomes ``PATH.2``, ...), keeping
``backups`` old files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from atoll.clock import Clock, SystemClock
from atoll.user_text import bounded

MESSAGE_CHARS = 1024
COMMAND_ARGS = 16
COMMAND_ARG_CHARS = 64




class AuditLog:
    def __init__(self, path: Path, *, max_bytes: int, backups: int, clock: Clock | None = None) -> None:
        self._path = path
        self._max_bytes = max_bytes
        self._backups = backups
        self._clock: Clock = clock or SystemClock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] = self._open()

    def _open(self) -> IO[str]:
        handle = open(self._path, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (kept open; closed by close())
        os.chmod(self._path, 0o600)
        return handle

    def record(
        self,
        *,
        user: str,
        groups: Iterable[str],
        verb: str,
        kind: str,
        namespace: str,
        name: str,
        result: str,
        message: str = "",
        certificate: str = "",
        peer: str = "",
        suppressed: int = 0,
        stage: str = "",
        container: str = "",
        command: Sequence[str] = (),
    ) -> None:
        """Appends one line (flushed at once); rotates first when the file is full."""
        entry: dict[str, object] = {
            "time": _iso(self._clock.now()),
            "user": bounded(user),
            "groups": sorted(bounded(group) for group in groups),
            "certificate": bounded(certificate),
            "peer": bounded(peer),
            "verb": bounded(verb),
            "kind": bounded(kind),
            "namespace": bounded(namespace),
            "name": bounded(name),
            "result": result,
        }
        if message:
            entry["message"] = bounded(message, MESSAGE_CHARS)
        if suppressed:
            entry["suppressed"] = suppressed
        if stage:
            entry["stage"] = stage
            entry["container"] = bounded(container)
            entry["command"] = [bounded(arg, COMMAND_ARG_CHARS) for arg in command[:COMMAND_ARGS]]
            if len(command) > COMMAND_ARGS:
                entry["commandArgsOmitted"] = len(command) - COMMAND_ARGS
        line = json.dumps(entry, separators=(",", ":")) + "\n"
        if self._file.tell() + len(line) > self._max_bytes and self._file.tell() > 0:
            self._rotate()
        self._file.write(line)

    def _rotate(self) -> None:
        self._file.close()
        for index in range(self._backups - 1, 0, -1):
            older = self._path.with_name(f"{self._path.name}.{index}")
            if older.exists():
                os.replace(older, self._path.with_name(f"{self._path.name}.{index + 1}"))
        if self._backups > 0:
            os.replace(self._path, self._path.with_name(f"{self._path.name}.1"))
        else:
            self._path.unlink(missing_ok=True)
        self._file = self._open()

    def close(self) -> None:
        self._file.close()


def _iso(seconds: float) -> str:
    """A Clock reading as the audit log writes it: UTC, milliseconds, ``Z``."""
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
