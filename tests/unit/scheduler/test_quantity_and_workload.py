"""Quantities and workload decoding: exact values, and errors naming object and field."""

from __future__ import annotations

import dataclasses

import pytest

from scheduler.quantity import QuantityError, amount, cpu_millis
from scheduler.workload import WorkloadError, from_pod, from_vm
from tests.unit.scheduler.builders import make_pod, make_vm


@pytest.mark.parametrize(
    ("text", "millis"),
    [("250m", 250), ("1", 1000), ("1.5", 1500), ("0.0001", 1), ("", 0), ("2k", 2_000_000)],
    ids=["millicores", "whole cores", "fractional cores", "a fraction rounds up", "empty is zero", "k suffix"],
)
def test_cpu_millis(text: str, millis: int) -> None:
    assert cpu_millis(text) == millis


@pytest.mark.parametrize(
    ("text", "value"),
    [("64Mi", 64 * 2**20), ("1Gi", 2**30), ("1G", 10**9), ("128974848", 128974848), ("1e3", 1000), ("1E", 10**18)],
    ids=["binary suffix Mi", "binary suffix Gi", "decimal suffix G", "plain bytes", "exponent", "exa suffix"],
)
def test_amount(text: str, value: int) -> None:
    assert amount(text) == value


@pytest.mark.parametrize("text", ["lots", "-1", "1Qi", "1.2.3"])
def test_bad_quantities_are_refused(text: str) -> None:
    with pytest.raises(QuantityError, match="invalid quantity"):
        amount(text)


def test_pod_requests_sum_containers_and_default_to_limits() -> None:
    pod = make_pod().build()
    extra = pod.spec.containers.add(name="side")
    extra.resources.limits.update({"cpu": "200m", "memory": "64Mi"})
    info = from_pod(pod)
    assert (info.cpu_millis, info.memory) == (300, 192 * 2**20)


def test_vm_disks_count_as_ephemeral_storage() -> None:
    info = from_vm(make_vm().disk("10Gi").disk("5Gi").build())
    assert (info.cpu_millis, info.ephemeral) == (2000, 15 * 2**30)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        pytest.param(
            lambda: make_pod("p").requests(cpu="lots").build(),
            "pod default/p: spec.containers[0].resources: invalid quantity 'lots'",
            id="a bad cpu request",
        ),
        pytest.param(
            lambda: make_pod("p").windows("sandbox").build(),
            "pod default/p: spec.windows.isolation: 'sandbox' is not process",
            id="a bad isolation mode",
        ),
        pytest.param(
            lambda: make_pod("p").windows("process", "2022").build(),
            "pod default/p: spec.windows.image_build: invalid Windows build",
            id="a bad image build",
        ),
        pytest.param(
            lambda: make_pod("p").require("zone", "Near", "a").build(),
            "pod default/p: spec.scheduling: selector key 'zone': unknown operator 'Near'",
            id="a bad affinity operator",
        ),
        pytest.param(
            lambda: make_pod("p").require("cores", "Gt", "many").build(),
            "needs exactly one integer value",
            id="a non-integer Gt",
        ),
    ],
)
def test_pod_errors_name_object_and_field(build: object, message: str) -> None:
    assert callable(build)
    with pytest.raises(WorkloadError) as err:
        from_pod(build())
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(lambda vm: vm.memory("lots"), "virtualmachine default/v: spec.memory", id="bad memory"),
        pytest.param(lambda vm: vm.hypervisor("type3"), "spec.hypervisor.type: 'type3'", id="bad hypervisor type"),
        pytest.param(lambda vm: vm.disk("huge"), "spec.disks[0].size", id="bad disk size"),
    ],
)
def test_vm_errors_name_object_and_field(change: object, message: str) -> None:
    assert callable(change)
    with pytest.raises(WorkloadError, match=message.replace("[", r"\[").replace("]", r"\]")):
        from_vm(change(make_vm("v")).build())


@pytest.mark.parametrize(
    "builder",
    [
        make_pod("web").labels(app="web").requests(cpu="250m", memory="1Gi").priority(7).tolerate("gpu")
        .spread("zone", app="web").prefer(5, "zone", "In", "a").host_port(8080).extended("nvidia.com/gpu", "1"),
        make_vm("vm").vcpus(2).memory("2Gi").guest("windows").disk("10Gi").claim("data"),
    ],
    ids=["a pod with every kind of field", "a vm with disks and claims"],
)
def test_bound_to_is_replace_with_the_node_name(builder: object) -> None:
    info = builder.info()  # type: ignore[attr-defined]
    bound = info.bound_to("node-7")
    assert bound == dataclasses.replace(info, node_name="node-7")
    assert bound.node_name == "node-7" and info.node_name == ""
