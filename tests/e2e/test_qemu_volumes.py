"""Real QEMU VMs on persistent volumes: what a guest writes to a disk from a claim is there after
the VM is restarted, stopped and started (each a new run, placed again by the scheduler, which
keeps it on its local volume's node) and after its VirtualMachine is replaced, and (shared class)
when the next VM runs on another real node. The guest (``atoll.disk``) prints what its first
virtio disk holds, then writes its own boot id there."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from agent.registration import NodeProfile
from agent.run import RunningNode, start_node
from agent.volumes.claims import VolumeDirs
from atoll import kinds, storage
from atoll.cli.modify import modify
from atoll.cli.vm import change_for
from atoll.client import Client
from atoll.clock import SystemClock
from tests.e2e import artifacts
from tests.e2e.conftest import QemuFactory
from tests.e2e.test_qemu_agent import BOOT_TIMEOUT, guest, phase_is
from tests.integration.agent_harness import eventually
from tests.support.objects import make_claim
from tests.support.volume_cluster import volume_cluster

BOOT_ID = re.compile(rf"{artifacts.MARKER} (\S+)")
HOLDS = re.compile(rf"{re.escape(artifacts.DISK_HOLDS)} \[(.*)\]")


@contextlib.asynccontextmanager
async def real_node(client: Client, qemu: QemuFactory, name: str, dirs: VolumeDirs) -> AsyncIterator[RunningNode]:
    room = {storage.LOCAL_CAPACITY_RESOURCE: "10Gi"}
    profile = NodeProfile(name=name, cpu="2", memory="8Gi", extended_resources=room)
    running = await start_node(client, profile, [qemu()], clock=SystemClock(), config=AgentConfig(volume_dirs=dirs))
    try:
        yield running
    finally:
        await running.close()


def disk_vm(name: str, node: str, claim_name: str, kernel: artifacts.Kernel, initramfs: Path) -> Any:
    vm = guest(name, kernel, initramfs, "atoll.disk", run_strategy="Manual")
    vm.virtual_machine.spec.node_name = node
    vm.virtual_machine.spec.disks.add(name="data", persistent_volume_claim=claim_name)
    return vm


async def boot(state: Path, client: Client, name: str, seen: set[str]) -> tuple[str, str]:
    """Waits for the VM to run and a console to show a boot not ``seen`` before: (what the disk
    held, boot id)."""
    await eventually(client, "vm", name, phase_is("Running"), timeout=BOOT_TIMEOUT)
    deadline = asyncio.get_running_loop().time() + BOOT_TIMEOUT
    while asyncio.get_running_loop().time() < deadline:
        for console in state.rglob("console.log"):
            text = console.read_text(errors="replace")
            held, booted = HOLDS.search(text), BOOT_ID.search(text)
            if held and booted and booted.group(1) not in seen:
                seen.add(booted.group(1))
                return held.group(1), booted.group(1)
        await asyncio.sleep(0.2)
    tails = {str(c.relative_to(state)): c.read_text(errors="replace")[-600:] for c in state.rglob("console.log")}
    raise AssertionError(f"vm {name}: no new console with the disk line and the marker; consoles: {tails}")


async def vm_action(client: Client, name: str, action: str) -> None:
    """What `atoll vm ACTION NAME` writes, as it writes it: read, change, write, and again on a
    fresh read when the agent or a controller wrote the VM in between (a conflict, not a failure)."""
    await modify(client, kinds.by_name("VirtualMachine"), "default", name, change_for(action, name))


async def test_a_local_volume_keeps_what_the_guest_wrote_across_restart_stop_start_and_a_new_vm_object(
    qemu: QemuFactory, kernel: artifacts.Kernel, initramfs: Path, tmp_path: Path
) -> None:
    dirs = VolumeDirs(tmp_path / "local", tmp_path / "shared")
    seen: set[str] = set()
    async with volume_cluster("virtualmachine") as c, real_node(c.client, qemu, "real-1", dirs):
        await c.client.create(make_claim("data", "64Mi", storage.LOCAL_CLASS))
        await c.client.create(disk_vm("db", "", "data", kernel, initramfs))  # placed by the scheduler
        held, first = await boot(tmp_path, c.client, "db", seen)
        assert held == ""  # a new volume
        bound = (await c.client.get("pvc", "data")).persistent_volume_claim
        assert bound.status.phase == "Bound"
        assert bound.metadata.annotations[storage.SELECTED_NODE_ANNOTATION] == "real-1"
        assert (tmp_path / "local" / bound.spec.volume_name / storage.VM_DISK_FILE).is_file()
        await vm_action(c.client, "db", "restart")
        held, second = await boot(tmp_path, c.client, "db", seen)
        assert held == f"written-by {first}"
        await vm_action(c.client, "db", "stop")
        await eventually(c.client, "vm", "db", phase_is("Stopped"), timeout=BOOT_TIMEOUT)
        await vm_action(c.client, "db", "start")
        held, third = await boot(tmp_path, c.client, "db", seen)
        assert held == f"written-by {second}"
        await c.client.delete("vm", "db")
        await eventually(c.client, "vm", "db", lambda vm: vm is None, timeout=60)
        await c.client.create(disk_vm("db", "", "data", kernel, initramfs))
        held, _ = await boot(tmp_path, c.client, "db", seen)
        assert held == f"written-by {third}"


async def test_a_shared_volume_follows_the_vm_to_another_node(
    qemu: QemuFactory, kernel: artifacts.Kernel, initramfs: Path, tmp_path: Path
) -> None:
    shared = tmp_path / "shared"
    seen: set[str] = set()
    async with (
        volume_cluster("virtualmachine") as c,
        real_node(c.client, qemu, "real-1", VolumeDirs(tmp_path / "local-1", shared)),
        real_node(c.client, qemu, "real-2", VolumeDirs(tmp_path / "local-2", shared)),
    ):
        await c.client.create(make_claim("moving", "64Mi", storage.SHARED_CLASS))
        await c.client.create(disk_vm("mover", "real-1", "moving", kernel, initramfs))
        held, first = await boot(tmp_path, c.client, "mover", seen)
        assert held == ""
        await vm_action(c.client, "mover", "stop")
        await eventually(c.client, "vm", "mover", phase_is("Stopped"), timeout=BOOT_TIMEOUT)
        await c.client.delete("vm", "mover")
        await eventually(c.client, "vm", "mover", lambda vm: vm is None, timeout=60)
        await c.client.create(disk_vm("mover", "real-2", "moving", kernel, initramfs))
        held, _ = await boot(tmp_path, c.client, "mover", seen)
        assert held == f"written-by {first}"
        volume = (await c.client.get("pvc", "moving")).persistent_volume_claim.spec.volume_name
        assert (shared / volume / storage.VM_DISK_FILE).is_file()
