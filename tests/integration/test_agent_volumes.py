"""Persistent volumes at a simulated node: a VM or pod whose claim is not bound waits
(VolumeNotReady) and starts once it is; a local volume of another node is refused (VolumeUnusable:
the VM's run fails, the pod waits); a simulated attach takes the configured latency."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from agent.drivers.sim.hypervisor import HypervisorProfile, SimHypervisorDriver
from agent.drivers.sim.linux import SimLinuxDriver
from agent.registration import NodeProfile
from atoll import storage
from atoll.client import Client
from atoll.clock import ManualClock
from atoll.v1 import pod_pb2, storage_pb2
from tests.integration.agent_harness import FAST, bound_pod, bound_vm, cluster, event_reasons, eventually, node

KVM = NodeProfile(name="kvm1", cpu="16", memory="64Gi")
BOOT = 2.0
ATTACH = 5.0


async def claim_on(client: Client, node_name: str, bound: bool = True) -> None:
    """Claim "data" and its volume, local to ``node_name``; Bound when ``bound``."""
    claim = storage_pb2.PersistentVolumeClaim()
    claim.metadata.name, claim.metadata.namespace = "data", "default"
    claim.spec.access_modes.append(storage.READ_WRITE_ONCE)
    claim.spec.resources.requests[storage.STORAGE] = "1Gi"
    stored = (await client.create(claim)).persistent_volume_claim
    if not bound:
        return
    volume = storage_pb2.PersistentVolume()
    volume.metadata.name = "pv-data"
    volume.spec.capacity[storage.STORAGE] = "1Gi"
    volume.spec.access_modes.append(storage.READ_WRITE_ONCE)
    volume.spec.local.path = "pv-data"
    storage.pin_to_node(volume, node_name)
    ref = volume.spec.claim_ref
    ref.namespace, ref.name, ref.uid = "default", "data", stored.metadata.uid
    await client.create(volume)
    stored.spec.volume_name = "pv-data"
    stored = (await client.update(stored)).persistent_volume_claim
    stored.status.phase = storage.CLAIM_BOUND
    await client.update_status(stored)


def vm_with_claim(name: str = "db") -> object:
    vm = bound_vm(name, KVM.name)
    vm.virtual_machine.spec.disks.add(name="data", persistent_volume_claim="data")
    return vm


async def test_a_vm_waits_for_its_claim_then_attaches_in_the_simulated_latency_and_runs() -> None:
    clock = ManualClock()
    config = dataclasses.replace(FAST, sim_volume_attach_seconds=ATTACH)
    driver = SimHypervisorDriver(HypervisorProfile(type="type1", boot_seconds=BOOT), clock=clock)
    async with cluster() as c, node(c.client, KVM, [driver], clock, config=config):
        await c.client.create(vm_with_claim())
        waiting = await eventually(
            c.client, "vm", "db", lambda vm: vm is not None and vm.status.reason == "VolumeNotReady"
        )
        assert "claim data not found" in waiting.status.message
        await c.client.delete("vm", "db")
        await eventually(c.client, "vm", "db", lambda vm: vm is None)
        await claim_on(c.client, KVM.name)
        await c.client.create(vm_with_claim())
        await eventually(c.client, "vm", "db", lambda vm: vm is not None and vm.status.phase == "Starting")
        clock.advance(ATTACH - 1)
        assert (await c.client.get("vm", "db")).virtual_machine.status.phase == "Starting"
        clock.advance(1)
        started = await eventually(c.client, "vm", "db", lambda vm: vm is not None and vm.status.HasField("start_time"))
        assert started.status.start_time.seconds == int(clock.now())  # attached ATTACH s after it was created
        clock.advance(BOOT)
        await eventually(c.client, "vm", "db", lambda vm: vm is not None and vm.status.phase == "Running")


async def test_a_local_volume_of_another_node_is_refused_with_the_reason() -> None:
    clock = ManualClock()
    driver = SimHypervisorDriver(HypervisorProfile(type="type1", boot_seconds=BOOT), clock=clock)
    async with cluster() as c, node(c.client, KVM, [driver], clock):
        await claim_on(c.client, "elsewhere")
        await c.client.create(vm_with_claim())
        failed = await eventually(c.client, "vm", "db", lambda vm: vm is not None and vm.status.phase == "Failed")
        assert failed.status.reason == "VolumeUnusable"
        assert "is on node elsewhere, not on kvm1" in failed.status.message


def pod_with_claim(name: str = "app", read_only: bool = False) -> object:
    pod = bound_pod(name, KVM.name)
    spec = pod.pod.spec
    spec.volumes.add(name="data").persistent_volume_claim.CopyFrom(
        pod_pb2.PersistentVolumeClaimVolumeSource(claim_name="data", read_only=read_only)
    )
    spec.containers[0].volume_mounts.add(name="data", mount_path="/data")
    return pod


def _waiting(reason: str) -> Callable[[Any], bool]:
    return lambda pod: (pod is not None and bool(pod.status.container_statuses)
                        and pod.status.container_statuses[0].state.waiting.reason == reason)


async def test_a_pod_waits_for_its_claim_then_attaches_in_the_simulated_latency_and_runs() -> None:
    clock = ManualClock()
    config = dataclasses.replace(FAST, sim_volume_attach_seconds=ATTACH)
    async with cluster() as c, node(c.client, KVM, [SimLinuxDriver(clock=clock)], clock, config=config):
        await c.client.create(pod_with_claim())
        waiting = await eventually(c.client, "pod", "app", _waiting("VolumeNotReady"))
        assert waiting.status.container_statuses[0].state.waiting.message == "claim data not found"
        assert waiting.status.container_statuses[0].restart_count == 0
        assert "VolumeNotReady" in await event_reasons(c.client, "app")
        await claim_on(c.client, KVM.name)
        clock.advance(2)  # the next retry finds it bound; the attach takes ATTACH from the first attempt
        await eventually(c.client, "pod", "app", _waiting("ContainerCreating"))
        clock.advance(ATTACH)
        await eventually(c.client, "pod", "app", lambda p: p is not None and p.status.phase == "Running")


async def test_a_pod_on_the_wrong_node_for_its_local_volume_waits_with_the_reason() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, KVM, [SimLinuxDriver(clock=clock)], clock):
        await claim_on(c.client, "elsewhere")
        await c.client.create(pod_with_claim())
        pod = await eventually(c.client, "pod", "app", _waiting("VolumeUnusable"))
        assert "is on node elsewhere, not on kvm1" in pod.status.container_statuses[0].state.waiting.message
        assert pod.status.phase == "Pending"
