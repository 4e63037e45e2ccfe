"""Live migration over QMP (agent/drivers/migration.py has the contract; driver.py calls these).

Target: QEMU starts with ``-incoming defer`` (same devices, disks and MAC as the source: the same
command line from the same VM spec), then ``migrate-set-capabilities`` (those both ends must agree
on) and ``migrate-incoming`` on a TCP port of this host; the guest resumes there by itself when
the stream completes (QMP event RESUME).
An agent that restarts while a migration runs ``follow``s it (QEMU streams on by itself).
Source: capabilities (auto-converge, events; postcopy-ram when asked and the target set it too),
parameters (downtime-limit, max-bandwidth), ``migrate`` to the target's address, then
``query-migrate`` twice a second into the progress until ``completed`` (the source guest stays
paused, QEMU's postmigrate state), ``failed`` or ``cancelled``; no progress (remaining bytes not
shrinking) for the progress timeout cancels it (``migrate_cancel``).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import Mapping
from typing import Any

from agent.drivers.migration import MigrationFailed, MigrationParams, MigrationProgress, Report
from agent.drivers.qemu.monitor import Monitor, MonitorError
from atoll.migrations import REASON_CANCELLED, REASON_NOT_CONVERGING, REASON_SOURCE_FAILED, REASON_TARGET_FAILED

POLL_SECONDS = 0.5
UNLIMITED_BANDWIDTH = 1 << 40  # bytes/s QEMU takes as "no limit"


def free_port(host: str) -> int:
    """A TCP port free on ``host`` now (QEMU binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


async def listen_incoming(monitor: Monitor, host: str) -> str:
    """Make the ``-incoming defer`` QEMU behind ``monitor`` listen; returns the address to send to."""
    await monitor.execute("migrate-set-capabilities", {"capabilities": [{"capability": "events", "state": True}]})
    address = f"tcp:{host}:{free_port(host)}"
    await monitor.execute("migrate-incoming", {"uri": address})
    return address


async def send(monitor: Monitor, address: str, params: MigrationParams, report: Report) -> MigrationProgress:
    """Drive one outgoing migration to its end; MigrationFailed unless it completed."""
    capabilities = [
        {"capability": "auto-converge", "state": params.auto_converge},
        {"capability": "events", "state": True},
    ]
    await monitor.execute("migrate-set-capabilities", {"capabilities": capabilities})
    await monitor.execute("migrate-set-parameters", {
        "downtime-limit": params.downtime_limit_ms,
        "max-bandwidth": params.bandwidth or UNLIMITED_BANDWIDTH,
    })
    try:
        await monitor.execute("migrate", {"uri": address})
    except MonitorError as err:
        raise MigrationFailed(REASON_TARGET_FAILED, f"migrate to {address}: {err}") from None
    return await follow(monitor, params, report)


async def follow(monitor: Monitor, params: MigrationParams, report: Report) -> MigrationProgress:
    """Poll the outgoing migration under way (``send``'s, or one an agent before a restart began)
    until it ends; MigrationFailed unless it completed, also when none ran."""
    best_remaining, since = -1, time.monotonic()
    while True:
        await asyncio.sleep(POLL_SECONDS)
        try:
            reply = await monitor.execute("query-migrate")
        except MonitorError as err:
            raise MigrationFailed(REASON_SOURCE_FAILED, f"source QEMU: {err}") from None
        info = reply if isinstance(reply, dict) else {}
        state = str(info.get("status", ""))
        progress = progress_of(info)
        report(progress)
        if state == "completed":
            return progress
        if state == "failed":
            why = str(info.get("error-desc", "")) or "the migration failed"
            raise MigrationFailed(REASON_TARGET_FAILED, f"QEMU: {why[:500]}")
        if state == "cancelled":
            raise MigrationFailed(REASON_CANCELLED, "migration cancelled")
        if state in ("", "none"):
            raise MigrationFailed(REASON_SOURCE_FAILED, "no migration under way in the source QEMU")
        remaining = progress.bytes_remaining
        if best_remaining < 0 or remaining < best_remaining * 0.95:
            best_remaining, since = remaining, time.monotonic()
        elif time.monotonic() - since >= params.progress_timeout:
            await cancel(monitor)
            raise MigrationFailed(
                REASON_NOT_CONVERGING,
                f"{remaining >> 20} MiB still to send after {params.progress_timeout:g}s without progress "
                f"(the guest dirties {progress.dirty_rate >> 20} MiB/s)",
            )


async def cancel(monitor: Monitor) -> None:
    await monitor.execute("migrate_cancel")


def progress_of(info: Mapping[str, Any]) -> MigrationProgress:
    """query-migrate's answer as progress (QEMU reports the dirty rate in pages per second)."""
    ram = info.get("ram") if isinstance(info.get("ram"), dict) else {}
    assert isinstance(ram, dict)
    page = int(ram.get("page-size", 4096) or 4096)
    completed = info.get("status") == "completed"
    return MigrationProgress(
        bytes_total=int(ram.get("total", 0)),
        bytes_transferred=int(ram.get("transferred", 0)),
        bytes_remaining=int(ram.get("remaining", 0)),
        dirty_rate=int(ram.get("dirty-pages-rate", 0)) * page,
        iterations=int(ram.get("dirty-sync-count", 0)),
        throughput=int(float(ram.get("mbps", 0.0)) * 1_000_000 / 8),
        downtime_ms=int(info.get("downtime", 0)) if completed else 0,
        completed=completed,
    )
