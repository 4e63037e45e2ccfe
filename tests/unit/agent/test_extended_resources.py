"""Extended resources an agent reports: discovered from device files, configured with
``--extended-resource``, declared per group in fleet files; all land in the Node's capacity and
allocatable alike. Admission refuses a pod needing more units than the node has."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.hollow.fleet import FleetError, parse_fleet
from agent.hollow.hollow_fleet import group_profile
from agent.host.devices import ExtendedResourceFlagError, discover, host_extended_resources, parse_flags
from agent.registration import NodeProfile, node_status
from agent.workloads.admission import extended_resources_refusal
from atoll.v1 import pod_pb2

GPU = "nvidia.com/gpu"


def dev_with(tmp_path: Path, *names: str) -> Path:
    for name in names:
        (tmp_path / name).touch()
    return tmp_path


def test_discovery_counts_one_unit_per_numbered_nvidia_device(tmp_path: Path) -> None:
    dev = dev_with(tmp_path, "nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm", "nvidia-modeset", "null")
    assert discover(dev) == {GPU: 2}


def test_discovery_finds_nothing_without_devices_or_without_dev(tmp_path: Path) -> None:
    assert discover(dev_with(tmp_path, "null", "nvidiactl")) == {}
    assert discover(tmp_path / "absent") == {}


def test_configured_units_replace_discovered_ones_and_zero_hides_them(tmp_path: Path) -> None:
    dev = dev_with(tmp_path, "nvidia0", "nvidia1")
    assert host_extended_resources({}, dev) == {GPU: "2"}
    assert host_extended_resources({GPU: 1, "example.com/dongle": 3}, dev) == {GPU: "1", "example.com/dongle": "3"}
    assert host_extended_resources({GPU: 0}, dev) == {}


@pytest.mark.parametrize(
    ("flag", "message"),
    [
        pytest.param("nvidia.com/gpu", "expected NAME=COUNT", id="a flag without a count is refused"),
        pytest.param("=2", "expected NAME=COUNT", id="a flag without a name is refused"),
        pytest.param("cpu=2", "cpu is a standard resource", id="a standard resource is refused"),
        pytest.param("nvidia.com/gpu=1.5", "must be a whole number", id="a fraction is refused"),
        pytest.param("nvidia.com/gpu=-1", "must be a whole number", id="a negative count is refused"),
    ],
)
def test_bad_flags_are_one_line_naming_the_flag(flag: str, message: str) -> None:
    with pytest.raises(ExtendedResourceFlagError) as err:
        parse_flags([flag])
    assert str(err.value).startswith(f"--extended-resource {flag!r}: ")
    assert message in str(err.value)


def test_flags_parse_to_units() -> None:
    assert parse_flags(["nvidia.com/gpu=2", "example.com/dongle=1k"]) == {GPU: 2, "example.com/dongle": 1000}


def test_a_node_reports_extended_resources_as_capacity_and_allocatable() -> None:
    status = node_status(NodeProfile(name="n", extended_resources={GPU: "4"}), [])
    assert status.capacity[GPU] == "4"
    assert status.allocatable[GPU] == "4"
    assert status.allocatable["cpu"] == "3900m", "cpu is still reserved for the system"


def test_a_fleet_group_declares_extended_resources_for_each_of_its_nodes() -> None:
    spec = parse_fleet({"nodes": [{"count": 2, "namePrefix": "gpu-", "extendedResources": {GPU: 4}}]})
    profile = group_profile(spec.groups[0], "gpu-0001", 1, "")
    assert profile.extended_resources == {GPU: "4", "storage.atoll.dev/local": str(100 * 2**30)}


def test_a_fleet_group_declares_its_room_for_local_volumes_or_none() -> None:
    spec = parse_fleet({"nodes": [{"count": 1, "namePrefix": "a-", "localStorage": "2Ti"},
                                  {"count": 1, "namePrefix": "b-", "localStorage": "0"}]})
    assert group_profile(spec.groups[0], "a-0000", 0, "").extended_resources == {
        "storage.atoll.dev/local": str(2 * 2**40)
    }
    assert group_profile(spec.groups[1], "b-0000", 1, "").extended_resources == {}


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        pytest.param({GPU: 0.5}, "nodes[0].extendedResources[nvidia.com/gpu]: must be a whole number",
                     id="a fraction is refused"),
        pytest.param({"memory": 2}, "'memory' is not an extended resource name", id="a standard resource is refused"),
        pytest.param({"GPU!": 1}, "invalid resource name 'GPU!'", id="an invalid name is refused"),
        pytest.param([GPU], "expected a mapping", id="a list is refused"),
    ],
)
def test_bad_fleet_extended_resources_are_one_line_naming_the_field(resources: object, message: str) -> None:
    with pytest.raises(FleetError) as err:
        parse_fleet({"nodes": [{"count": 1, "namePrefix": "g-", "extendedResources": resources}]}, "f.yaml")
    assert str(err.value).startswith("f.yaml: nodes[0].extendedResources")
    assert message in str(err.value)


def _gpu_pod(*per_container: str, limit_only: bool = False) -> pod_pb2.PodSpec:
    spec = pod_pb2.PodSpec()
    for index, units in enumerate(per_container):
        container = spec.containers.add(name=f"c{index}", image="busybox")
        (container.resources.limits if limit_only else container.resources.requests)[GPU] = units
    return spec


@pytest.mark.parametrize(
    ("spec", "offered", "refusal"),
    [
        pytest.param(_gpu_pod("1"), {GPU: 1}, None, id="a pod within the node's units is admitted"),
        pytest.param(pod_pb2.PodSpec(), {}, None, id="a pod asking for none is admitted anywhere"),
        pytest.param(_gpu_pod("1"), {}, "OutOfnvidia.com/gpu: the pod needs 1 nvidia.com/gpu; this node offers 0",
                     id="a pod forced onto a node without the resource is refused"),
        pytest.param(_gpu_pod("1", "1"), {GPU: 1}, "OutOfnvidia.com/gpu: the pod needs 2 nvidia.com/gpu; "
                     "this node offers 1", id="the containers' units add up"),
        pytest.param(_gpu_pod("2", limit_only=True), {GPU: 1}, "OutOfnvidia.com/gpu: the pod needs 2 nvidia.com/gpu; "
                     "this node offers 1", id="a limit alone counts as the request"),
    ],
)
def test_admission_refuses_a_pod_needing_more_units_than_the_node_has(
    spec: pod_pb2.PodSpec, offered: dict[str, int], refusal: str | None
) -> None:
    got = extended_resources_refusal(spec, offered)
    assert (None if got is None else f"{got.reason}: {got.message}") == refusal


def test_a_profile_offers_its_whole_units_to_admission() -> None:
    assert NodeProfile(name="n", extended_resources={GPU: "2", "bad.example/x": "0.5"}).extended_units() == {GPU: 2}


def test_a_fleet_group_declares_room_per_storage_class() -> None:
    spec = parse_fleet({"nodes": [{"count": 1, "namePrefix": "a-", "localStorage": "1Ti",
                                   "storageClasses": {"fast": "20Gi", "bulk.disks": "5Ti"}}]})
    assert group_profile(spec.groups[0], "a-0000", 0, "").extended_resources == {
        "storage.atoll.dev/local": str(2**40),
        "class.storage.atoll.dev/fast": str(20 * 2**30),
        "class.storage.atoll.dev/bulk.disks": str(5 * 2**40),
    }


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        pytest.param({"fast": "20 GB"}, "f.yaml: nodes[0].storageClasses.fast: invalid quantity", id="a bad size"),
        pytest.param({"Fast!": "1Gi"}, "f.yaml: nodes[0].storageClasses: 'Fast!' cannot name a storage class's room",
                     id="a name no resource can carry"),
        pytest.param(["fast"], "f.yaml: nodes[0].storageClasses: expected a map of storage class name to quantity",
                     id="a list"),
    ],
)
def test_bad_fleet_storage_classes_are_one_line_naming_the_field(classes: object, message: str) -> None:
    with pytest.raises(FleetError) as err:
        parse_fleet({"nodes": [{"count": 1, "namePrefix": "g-", "storageClasses": classes}]}, "f.yaml")
    assert str(err.value).startswith(message), str(err.value)
