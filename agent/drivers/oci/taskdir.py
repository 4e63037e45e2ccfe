"""One container's directory on the node, and the record that lets a later agent adopt it.

    STATE_DIR/tasks/CONTAINER_ID/
        task.json        TaskRecord (written by the driver)
        bundle/          config.json + rootfs (the overlay mount point)
        upper/ work/     the overlay's writable layer
        container.log    stdout and stderr, stamped per line (written by the shim)
        stdin            the container's stdin FIFO, for stdin: true (held open by the container,
                         or by the shim, which types it into the terminal, for tty: true)
        attach.sock      the terminal's output and resizes, for tty: true (served by the shim)
        container.pid    the container's init pid (written by the runtime)
        exit.json        how it ended (written by the shim)
        shim.log         the shim's own errors, if any
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agent.drivers.oci.shim import ATTACH_SOCKET, BUNDLE, EXIT_FILE, LOG, STDIN_FIFO
from agent.drivers.task_names import host_name_for
from atoll.atomic_file import write_atomic

RECORD = "task.json"


def container_id_for(task_id: str) -> str:
    """A runtime container id for ``task_id``, also its task directory's name."""
    return host_name_for(task_id)


@dataclass(frozen=True)
class TaskRecord:
    task_id: str
    container_id: str
    started_at: float
    cgroups_path: str
    host_network: bool = False
    overlay: bool = True
    container_pid: int = 0
    shim_pid: int = 0
    # The image store reference it runs from ("" in records of agents before image pulls): image
    # garbage collection keeps what any task dir names (agent/images/node_images.py).
    image: str = ""
    tty: bool = False  # its stdio is a terminal the shim holds (attach.sock)


@dataclass(frozen=True)
class ExitRecord:
    exit_code: int
    signal: int
    finished_at: float


class TaskDir:
    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def bundle(self) -> Path:
        return self.path / BUNDLE

    @property
    def rootfs(self) -> Path:
        return self.bundle / "rootfs"

    @property
    def upper(self) -> Path:
        return self.path / "upper"

    @property
    def work(self) -> Path:
        return self.path / "work"

    @property
    def log(self) -> Path:
        return self.path / LOG

    @property
    def stdin(self) -> Path:
        """The container's stdin FIFO (only for ``stdin: true``)."""
        return self.path / STDIN_FIFO

    @property
    def attach_socket(self) -> Path:
        """The shim's socket for the container's terminal (only for ``tty: true``)."""
        return self.path / ATTACH_SOCKET

    @property
    def shim_log(self) -> Path:
        return self.path / "shim.log"

    def write_spec(self, spec: dict[str, Any]) -> None:
        self.bundle.mkdir(parents=True, exist_ok=True)
        (self.bundle / "config.json").write_text(json.dumps(spec))

    def save(self, record: TaskRecord) -> None:
        write_atomic(self.path / RECORD, json.dumps(asdict(record)).encode())

    def load(self) -> TaskRecord | None:
        try:
            return TaskRecord(**json.loads((self.path / RECORD).read_text()))
        except (OSError, ValueError, TypeError):
            return None

    def exit_record(self) -> ExitRecord | None:
        try:
            data = json.loads((self.path / EXIT_FILE).read_text())
            return ExitRecord(int(data["exit_code"]), int(data["signal"]), float(data["finished_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None
