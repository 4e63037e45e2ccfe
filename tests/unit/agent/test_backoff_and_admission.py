"""Pure decisions of the agent: crash-loop back-off, restart policy, and admission of workloads."""

from __future__ import annotations

import pytest

from agent.drivers.fake import FakeDriver
from agent.drivers.protocol import Capabilities, ExitResult
from agent.workloads.admission import Refusal, driver_for_pod, driver_for_vm
from agent.workloads.backoff import RestartBackoff, should_restart
from atoll.v1 import pod_pb2, virtualmachine_pb2


@pytest.mark.parametrize(
    ("restarts", "delay"),
    [(0, 0.0), (1, 10.0), (2, 20.0), (3, 40.0), (5, 160.0), (6, 300.0), (20, 300.0)],
    ids=lambda v: str(v),
)
def test_back_off_is_immediate_then_10s_doubling_to_5_minutes(restarts: int, delay: float) -> None:
    assert RestartBackoff().delay(restarts) == delay


def test_ten_minutes_of_running_resets_the_back_off_window() -> None:
    assert RestartBackoff().window_resets(600.0)
    assert not RestartBackoff().window_resets(599.0)


@pytest.mark.parametrize(
    ("policy", "code", "reason", "restart"),
    [
        ("Always", 0, "Completed", True),
        ("OnFailure", 0, "Completed", False),
        ("OnFailure", 1, "Error", True),
        ("OnFailure", 137, "OOMKilled", True),
        ("Never", 1, "Error", False),
    ],
    ids=["Always restarts success", "OnFailure keeps success", "OnFailure restarts failure",
         "OnFailure restarts OOM kills", "Never restarts nothing"],
)
def test_restart_policy(policy: str, code: int, reason: str, restart: bool) -> None:
    assert should_restart(policy, ExitResult(code, reason, 0.0)) is restart


LINUX = FakeDriver("sim-linux", Capabilities(frozenset({"container"}), os="linux"))
WINDOWS = FakeDriver("sim-windows", Capabilities(frozenset({"container"}), os="windows",
                                                 isolation=frozenset({"process"})))
TYPE1 = FakeDriver("sim-hypervisor", Capabilities(frozenset({"vm"}), hypervisor_type="type1",
                                                  guest_os=frozenset({"linux"})))


def _pod(os: str = "linux", isolation: str = "", runtime: str = "") -> pod_pb2.PodSpec:
    spec = pod_pb2.PodSpec(os=os, runtime_class_name=runtime)
    if isolation:
        spec.windows.isolation = isolation
    return spec


@pytest.mark.parametrize(
    ("spec", "node_os", "drivers", "expected"),
    [
        pytest.param(_pod(), "linux", [LINUX], "sim-linux", id="a linux pod gets the linux driver"),
        pytest.param(_pod("windows"), "linux", [LINUX], "PodOSNotSupported", id="os mismatch is refused"),
        pytest.param(_pod("windows", "hyperv"), "windows", [WINDOWS], "UnsupportedIsolation",
                     id="an isolation the node lacks is refused"),
        pytest.param(_pod(runtime="crun"), "linux", [LINUX], "RuntimeHandlerNotFound",
                     id="an unknown runtime handler is refused"),
        pytest.param(_pod(), "linux", [TYPE1], "NoContainerRuntime", id="a node without container driver refuses"),
    ],
)
def test_pod_admission(spec: pod_pb2.PodSpec, node_os: str, drivers: list[FakeDriver], expected: str) -> None:
    choice = driver_for_pod(spec, node_os, drivers)
    assert (choice.reason if isinstance(choice, Refusal) else choice.name) == expected


@pytest.mark.parametrize(
    ("requirement", "guest", "expected"),
    [
        ("any", "linux", "sim-hypervisor"),
        ("type2", "linux", "HypervisorTypeMismatch"),
        ("type1", "windows", "GuestOSNotSupported"),
    ],
    ids=["any hypervisor fits", "a type2 requirement is refused on type1", "an unsupported guest is refused"],
)
def test_vm_admission(requirement: str, guest: str, expected: str) -> None:
    spec = virtualmachine_pb2.VirtualMachineSpec()
    spec.hypervisor.type, spec.guest.os = requirement, guest
    choice = driver_for_vm(spec, [LINUX, TYPE1])
    assert (choice.reason if isinstance(choice, Refusal) else choice.name) == expected
