"""What a VM's task directory keeps for a later agent process: the launch record (task.json),
its network interface (network.json: written before the tap or the address exists, so that
whatever a crash leaves half made is found and released) and, once the driver has seen the VM
end, its exit (exit.json)."""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TypeVar

from agent.drivers.protocol import ExitResult
from agent.drivers.qemu.nic import Nic
from atoll.atomic_file import write_atomic

RECORD = "task.json"
EXIT = "exit.json"
NIC = "network.json"
MAX_SOCKET_PATH = 100
T = TypeVar("T")  # sun_path holds 108 bytes


@dataclass(frozen=True)
class VmRecord:
    task_id: str
    started_at: float
    pid: int
    qmp: str
    accel: str
    boot_marker: str


def qmp_socket_path(task_dir: Path) -> Path:
    """``task_dir/qmp.sock``, or a short path in the temp dir when that would not fit sun_path."""
    return socket_path(task_dir, "qmp")


def socket_path(task_dir: Path, name: str) -> Path:
    """``task_dir/NAME.sock``, or ``atoll-NAME-DIGEST.sock`` in the temp dir when that would not
    fit sun_path; the same for the same dir, so a restarted agent finds it again."""
    path = task_dir / f"{name}.sock"
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha1(str(task_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"atoll-{name}-{digest}.sock"


def _write(path: Path, data: object) -> None:
    write_atomic(path, json.dumps(data).encode())


def _read(path: Path, kind: Callable[..., T]) -> T | None:
    """``kind(**fields)`` from the JSON object at ``path``; None when it is missing or damaged."""
    try:
        return kind(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def save_record(task_dir: Path, record: VmRecord) -> None:
    _write(task_dir / RECORD, asdict(record))


def load_record(task_dir: Path) -> VmRecord | None:
    return _read(task_dir / RECORD, VmRecord)


def save_exit(task_dir: Path, result: ExitResult) -> None:
    _write(task_dir / EXIT, asdict(result))


def load_exit(task_dir: Path) -> ExitResult | None:
    return _read(task_dir / EXIT, ExitResult)


def save_nic(task_dir: Path, nic: Nic) -> None:
    _write(task_dir / NIC, asdict(nic))


def load_nic(task_dir: Path) -> Nic | None:
    return _read(task_dir / NIC, Nic)


def forget_nic(task_dir: Path) -> None:
    (task_dir / NIC).unlink(missing_ok=True)
