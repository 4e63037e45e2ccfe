"""A real QEMU guest configured from a Secret (``spec.cloudInit.secretName``): while the Secret is
missing the VM waits with reason CloudInitConfigError and an Event, then its node builds the
NoCloud seed from the Secret's ``userdata`` and the guest runs that script (its output on the
console)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e import artifacts
from tests.e2e.conftest import QemuFactory
from tests.e2e.test_qemu_agent import BOOT_TIMEOUT, guest, phase_is, real_node
from tests.integration.agent_harness import cluster, event_reasons, eventually
from tests.support.config_objects import make_secret
from tests.support.system import require_binary

GREETING = "hello from the secret"


async def console_line(state: Path, text: str) -> None:
    deadline = asyncio.get_running_loop().time() + BOOT_TIMEOUT
    while asyncio.get_running_loop().time() < deadline:
        if any(text in console.read_text(errors="replace") for console in state.rglob("console.log")):
            return
        await asyncio.sleep(0.2)
    tails = [console.read_text(errors="replace")[-600:] for console in state.rglob("console.log")]
    raise AssertionError(f"no console shows {text!r}: {tails}")


async def test_user_data_from_a_secret_runs_in_a_real_guest_once_the_secret_exists(
    qemu: QemuFactory, kernel: artifacts.Kernel, initramfs: Path, tmp_path: Path
) -> None:
    require_binary("genisoimage", "genisoimage")
    async with cluster() as c, real_node(c.client, qemu):
        vm = guest("seeded", kernel, initramfs, run_strategy="Manual")
        vm.virtual_machine.spec.cloud_init.secret_name = "seed"
        await c.client.create(vm)
        waiting = await eventually(
            c.client, "vm", "seeded", lambda v: v is not None and v.status.reason == "CloudInitConfigError",
            timeout=30,
        )
        assert waiting.status.message == "cloudInit: secret 'seed' not found"
        assert "CloudInitConfigError" in await event_reasons(c.client, "seeded")
        await c.client.create(make_secret("seed", userdata=f"#!/bin/sh\necho '{GREETING}'\n".encode()))
        await eventually(c.client, "vm", "seeded", phase_is("Running"), timeout=BOOT_TIMEOUT)
        await console_line(tmp_path, f"\n{GREETING}")
