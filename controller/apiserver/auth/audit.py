"""The audit log: one JSON line per denied or mutating call, rotated by size.

Each line: ``time`` (RFC 3339, UTC), ``user``, ``groups``, ``verb``, ``kind``, ``namespace``,
``name``, ``result`` (the gRPC status name: OK, PERMISSION_DENIED, UNAUTHENTICATED, ...) and
``message`` for failures. When the file reaches ``max_bytes`` it becomes ``PATH.1`` (``PATH.1``
becomes ``PATH.2``, ...), keeping ``backups`` old files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO


def _utc_now() -> datetime:
    return datetime.now(UTC)


class AuditLog:
    def __init__(self, path: Path, *, max_bytes: int, backups: int, clock: Callable[[], datetime] = _utc_now) -> None:
        self._path = path
        self._max_bytes = max_bytes
        self._backups = backups
        self._clock = clock
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
    ) -> None:
        """Appends one line (flushed at once); rotates first when the file is full."""
        entry = {
            "time": self._clock().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "user": user,
            "groups": sorted(groups),
            "verb": verb,
            "kind": kind,
            "namespace": namespace,
            "name": name,
            "result": result,
        }
        if message:
            entry["message"] = message
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
