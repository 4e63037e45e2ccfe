"""The previous run's log of each task, for drivers whose logs are files (OCI containers, QEMU
VMs): one directory, one file per task id (its name is the task id percent-quoted, so the
workload's uid can be read back for orphan removal). Moving a finished run's log here is one
rename, so a crash leaves either the old previous log or the new one, never half of either.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote, unquote

from agent.drivers.protocol import workload_uid_of

SUFFIX = ".log"


class PreviousLogs:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, task_id: str) -> Path:
        return self.directory / (quote(task_id, safe="") + SUFFIX)

    def keep(self, task_id: str, current: Path) -> None:
        """``current`` (the ended run's log) becomes ``task_id``'s previous log; nothing changes
        when it is gone (moved by an earlier call)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.replace(current, self.path(task_id))

    def forget(self, task_id: str) -> None:
        self.path(task_id).unlink(missing_ok=True)

    def remove_orphans(self, is_live: Callable[[str], bool]) -> list[str]:
        """Remove the logs of workloads that are not live; their uids."""
        removed: set[str] = set()
        for path in self.directory.glob("*" + SUFFIX) if self.directory.is_dir() else ():
            uid = workload_uid_of(unquote(path.name[: -len(SUFFIX)]))
            if not is_live(uid):
                path.unlink(missing_ok=True)
                removed.add(uid)
        return sorted(removed)
