"""The real host's fingerprint: what a Node registered from this machine reports."""

from __future__ import annotations

import os
import platform
import socket
from dataclasses import dataclass
from pathlib import Path

_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm"}


@dataclass(frozen=True)
class HostFacts:
    hostname: str
    os: str
    os_build: str
    arch: str
    kernel: str
    cpu_millis: int
    memory_bytes: int
    address: str


def memory_bytes(meminfo: str) -> int:
    """MemTotal from the text of /proc/meminfo, in bytes (0 when absent)."""
    for line in meminfo.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def os_release(text: str) -> str:
    """``ID VERSION_ID`` from the text of /etc/os-release (``debian 12``); "" when absent."""
    values = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip('"')
    return " ".join(part for part in (values.get("ID", ""), values.get("VERSION_ID", "")) if part)


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def primary_address() -> str:
    """The address this host uses to reach the outside (no packet is sent); 127.0.0.1 offline."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))
        return str(probe.getsockname()[0])
    except OSError:
        return "127.0.0.1"
    finally:
        probe.close()


def host_facts() -> HostFacts:
    """This machine now (Linux: /proc/meminfo, /etc/os-release, uname)."""
    system = platform.system().lower()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return HostFacts(
        hostname=socket.gethostname().lower(),
        os="windows" if system == "windows" else "linux",
        os_build=os_release(_read("/etc/os-release")) if system == "linux" else platform.version(),
        arch=_ARCH.get(platform.machine(), platform.machine()),
        kernel=platform.release(),
        cpu_millis=cpus * 1000,
        memory_bytes=memory_bytes(_read("/proc/meminfo")),
        address=primary_address(),
    )
