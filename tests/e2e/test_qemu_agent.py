"""Real VMs through the node agent: a VirtualMachine bound to a host node running the qemu
driver boots to Running (marker in the console), follows powerState, and with run strategy
Always is started again after its guest powers off."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from agent.config import AgentConfig
from agent.registration import NodeProfile
from agent.run import RunningNode, start_node
from agent.workloads.backoff import RestartBackoff
from atoll import kinds
from atoll.cli.modify import modify
from atoll.client import Client
from atoll.clock import SystemClock
from tests.e2e import artifacts
from tests.e2e.conftest import BASE_CMDLINE, QemuFactory
from tests.integration.agent_harness import bound_vm, cluster, eventually

NODE = NodeProfile(name="real-1", cpu="2", memory="8Gi")
QUICK_RESTARTS = AgentConfig(backoff=RestartBackoff(initial=0.2, maximum=1.0))
BOOT_TIMEOUT = 90.0


@contextlib.asynccontextmanager
async def real_node(client: Client, qemu: QemuFactory) -> AsyncIterator[RunningNode]:
    running = await start_node(client, NODE, [qemu()], clock=SystemClock(), config=QUICK_RESTARTS)
    try:
        yield running
    finally:
        await running.close()


def guest(name: str, kernel: artifacts.Kernel, initramfs: Path, *flags: str, **spec: Any) -> Any:
    vm = bound_vm(name, NODE.name, **spec)
    vm.virtual_machine.spec.memory = "256Mi"
    boot = vm.virtual_machine.spec.boot
    boot.kernel, boot.initrd, boot.cmdline = str(kernel.image), str(initramfs), " ".join((BASE_CMDLINE, *flags))
    vm.virtual_machine.metadata.annotations["qemu.atoll.dev/boot-marker"] = artifacts.MARKER
    return vm


async def set_power_state(client: Client, name: str, power_state: str) -> None:
    """spec.powerState = ``power_state``, on a fresh read again when the agent wrote in between."""

    def change(vm: Any) -> None:
        vm.spec.power_state = power_state

    await modify(client, kinds.by_name("VirtualMachine"), "default", name, change)


def phase_is(phase: str) -> Any:
    return lambda vm: vm is not None and vm.status.phase == phase


async def test_a_vm_applied_to_a_real_node_runs_pauses_and_stops(
    qemu: QemuFactory, kernel: artifacts.Kernel, initramfs: Path
) -> None:
    async with cluster() as c, real_node(c.client, qemu):
        node = (await c.client.get("node", NODE.name)).node
        assert node.status.hypervisor.name in ("qemu-kvm", "qemu-tcg")
        await c.client.create(guest("web", kernel, initramfs, run_strategy="Manual"))
        running = await eventually(c.client, "vm", "web", phase_is("Running"), timeout=BOOT_TIMEOUT)
        assert running.status.guest_booted
        assert running.status.hypervisor == node.status.hypervisor.name
        for power_state, phase in (("Paused", "Paused"), ("Running", "Running"), ("Stopped", "Stopped")):
            await set_power_state(c.client, "web", power_state)
            await eventually(c.client, "vm", "web", phase_is(phase), timeout=60)


async def test_run_strategy_always_starts_a_vm_again_after_its_guest_powers_off(
    qemu: QemuFactory, kernel: artifacts.Kernel, initramfs: Path
) -> None:
    async with cluster() as c, real_node(c.client, qemu):
        await c.client.create(guest("loop", kernel, initramfs, "atoll.poweroff", run_strategy="Always"))
        await eventually(c.client, "vm", "loop", lambda vm: vm is not None and vm.status.restart_count >= 1,
                         timeout=2 * BOOT_TIMEOUT)
