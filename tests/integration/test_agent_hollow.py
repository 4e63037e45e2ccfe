"""A hollow fleet in-process: every node registers with its profile and a Lease, workloads bound to
any of them run, and the whole fleet uses one watch per kind."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agent.config import LEASE_NAMESPACE, AgentConfig
from agent.drivers.sim.base import SimDriver
from agent.hollow.fleet import FleetError, default_fleet, load_fleet
from agent.hollow.hollow_fleet import HollowFleet, group_drivers
from atoll import kinds
from atoll.clock import ManualClock
from controller.apiserver import metrics
from tests.integration.agent_harness import bound_pod, bound_vm, cluster, eventually, node_ipam
from tests.support.objects import make_node

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "fleets" / "default.yaml"


async def test_a_default_fleet_registers_mixed_nodes_and_runs_what_is_bound_to_them() -> None:
    async with cluster() as c, node_ipam(c.api.address):
        await c.client.create(make_node("probe"))  # the controller is up and settled once it has a range
        await eventually(c.client, "node", "probe", lambda n: n is not None and bool(n.spec.pod_cidr), namespace="")
        await c.client.delete("node", "probe", "")
        fleet = HollowFleet(c.client, default_fleet(10), config=AgentConfig(lease_interval=0.5))
        watches_before = len(asyncio.all_tasks())
        await fleet.start()
        try:
            assert len(asyncio.all_tasks()) - watches_before < 20, "tasks do not grow with the node count"
            nodes, _ = await c.client.list_all("nodes")
            by_os = sorted(kinds.unwrap(n).status.node_info.os for n in nodes)
            assert by_os.count("windows") == 2 and by_os.count("linux") == 8
            kvm = [kinds.unwrap(n) for n in nodes if kinds.unwrap(n).status.hypervisor.type == "type1"]
            assert [n.metadata.name for n in kvm] == ["sim-kvm-0000", "sim-kvm-0001"]
            leases, _ = await c.client.list_all("leases", LEASE_NAMESPACE)
            assert len(leases) == 10
            await c.client.create(bound_pod("a", "sim-lnx-0003"))
            await c.client.create(bound_vm("v", "sim-kvm-0000"))
            await eventually(c.client, "pod", "a", lambda p: p is not None and p.status.phase == "Running")
            await eventually(c.client, "vm", "v", lambda v: v is not None and v.status.phase == "Running", timeout=10)
            assert fleet.unknown_node_events == 0
        finally:
            await fleet.close()


async def test_the_fleet_writes_its_workloads_statuses_in_shared_batch_calls() -> None:
    def answered(method: str, kind: str = "") -> float:
        labels = {"method": method, "kind": kind, "code": "OK"}
        return metrics.REGISTRY.get_sample_value("atoll_apiserver_requests_total", labels) or 0.0

    async with cluster() as c, node_ipam(c.api.address):
        fleet = HollowFleet(c.client, default_fleet(10), config=AgentConfig(lease_interval=0.5))
        await fleet.start()
        try:
            for index in range(6):
                await eventually(c.client, "node", f"sim-lnx-000{index}", lambda n: bool(n.spec.pod_cidr), namespace="")
            batches, singles = answered("BatchUpdateStatus"), answered("UpdateStatus", "Pod")
            names = [f"p{i}" for i in range(12)]
            pods = [bound_pod(name, f"sim-lnx-000{i % 6}") for i, name in enumerate(names)]
            response = await c.client.batch_create(pods)
            assert [result.code for result in response.results] == ["OK"] * len(names)
            for name in names:
                await eventually(c.client, "pod", name, lambda p: p is not None and p.status.phase == "Running")
            assert answered("UpdateStatus", "Pod") == singles, "no pod status goes out alone as UpdateStatus"
            assert 0 < fleet.statuses.calls == answered("BatchUpdateStatus") - batches
        finally:
            await fleet.close()


def test_the_example_fleet_file_loads_with_every_group() -> None:
    spec = load_fleet(EXAMPLE)
    assert [g.name_prefix for g in spec.groups] == ["lnx-", "w22-", "kvm-"]
    assert spec.total == 2600
    assert spec.groups[1].isolation == ("process", "hyperv")
    assert spec.groups[2].taints == (("dedicated", "vms", "NoSchedule"),)


def test_the_gpu_fleet_file_declares_gpus_on_its_gpu_group_only() -> None:
    spec = load_fleet(EXAMPLE.with_name("gpu.yaml"))
    assert [dict(g.extended_resources) for g in spec.groups] == [{}, {"nvidia.com/gpu": "4"}]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("nodes: [{count: -1, namePrefix: a-}]", "nodes[0].count", id="a negative count is refused"),
        pytest.param("nodes: [{count: 1}]", "nodes[0].namePrefix: required", id="a missing prefix is refused"),
        pytest.param("nodes: [{count: 1, namePrefix: a-, os: beos}]", "nodes[0].os", id="an unknown os is refused"),
        pytest.param("nodes: [{count: 1, namePrefix: a-, cpu: lots}]", "nodes[0].cpu", id="a bad quantity is refused"),
        pytest.param("nodes: [{count: 1, namePrefix: a-, colour: red}]", "unknown field 'colour'",
                     id="an unknown field is refused"),
        pytest.param("nodes: [{count: 1, namePrefix: a-, hypervisor: {type: type3}}]", "hypervisor.type",
                     id="an unknown hypervisor type is refused"),
        pytest.param("nodes: [{count: 1, namePrefix: a-, hypervisor: {migrationBandwidth: fast}}]",
                     "nodes[0].hypervisor.migrationBandwidth: expected a quantity of bytes per second",
                     id="a migration bandwidth that is not a quantity is refused"),
        pytest.param("nodes: [{count: 1, namePrefix: a-, labels: {node-role.kubernetes.io/master: ''}}]",
                     "nodes[0].labels: 'node-role.kubernetes.io/master': a node may not set",
                     id="a label only operators may set is refused"),
        pytest.param("nodes: [{count: 1, namePrefix: a-, failProbes: 'liveness:x'}]",
                     "nodes[0].failProbes: sim.atoll.dev/fail-probes: 'liveness:x': after the ':' goes a number",
                     id="a failProbes value that does not parse is refused"),
    ],
)
def test_a_bad_fleet_file_is_one_line_naming_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text(text)
    with pytest.raises(FleetError) as err:
        load_fleet(path)
    assert message in str(err.value)
    assert str(err.value).startswith(str(path))
    assert "\n" not in str(err.value)


def test_fail_probes_of_a_fleet_group_reach_its_simulated_runtimes(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("nodes: [{count: 1, namePrefix: sick-, failProbes: 'readiness, liveness:60'}]")
    (group,) = load_fleet(path).groups
    (driver,) = group_drivers(group, 0, ManualClock())
    assert isinstance(driver, SimDriver) and driver.settings.fail_probes == "readiness, liveness:60"


def test_a_fleet_group_sets_the_migration_bandwidth_of_its_simulated_hypervisors(tmp_path: Path) -> None:
    path = tmp_path / "fleet.yaml"
    path.write_text("nodes: [{count: 1, namePrefix: hv-, hypervisor: {type: type1, migrationBandwidth: 256Mi}}]")
    (group,) = load_fleet(path).groups
    assert group.hypervisor is not None and group.hypervisor.migration_bandwidth == 256 * 1024 * 1024
