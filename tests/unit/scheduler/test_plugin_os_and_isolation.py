"""OS and WindowsIsolation: OS match, isolation support, HostProcess rules, build inference."""

from __future__ import annotations

import pytest

from scheduler.plugins.windows_isolation import UNKNOWN_BUILD
from tests.unit.scheduler.builders import NodeBuilder, PodBuilder, VmBuilder, make_node, make_pod, make_vm
from tests.unit.scheduler.harness import Harness, assert_single_node_decision

LINUX = make_node("linux")
WIN2022 = make_node("win").windows("10.0.20348").isolation("process", "hyperv", "hostprocess")
WIN_PROCESS_ONLY = make_node("win").windows("10.0.20348").isolation("process")


@pytest.mark.parametrize(
    ("node", "workload", "placed", "message"),
    [
        pytest.param(LINUX, make_pod(), True, "", id="a linux pod lands on a linux node"),
        pytest.param(WIN2022, make_pod(), False, "1 os mismatch", id="a linux pod never lands on windows"),
        pytest.param(
            LINUX,
            make_pod().windows("process", "10.0.20348"),
            False,
            "1 os mismatch",
            id="a windows pod never lands on linux",
        ),
        pytest.param(
            LINUX.hypervisor("type1"),
            make_vm().guest("windows"),
            True,
            "",
            id="a windows VM may run on a linux hypervisor host",
        ),
        pytest.param(
            WIN_PROCESS_ONLY,
            make_pod().windows("hyperv", "10.0.20348"),
            False,
            "1 node(s) didn't support hyperv isolation",
            id="the node must offer the isolation mode",
        ),
        pytest.param(
            WIN2022,
            make_pod().windows("hostprocess"),
            True,
            "",
            id="a hostprocess pod with hostNetwork runs on a node offering hostprocess",
        ),
        pytest.param(
            WIN2022,
            make_pod().windows("hostprocess").host_network(False),
            False,
            "1 hostprocess pods need hostNetwork: true and every container host_process",
            id="a hostprocess pod without hostNetwork fits nowhere",
        ),
        pytest.param(
            WIN2022,
            make_pod().windows("process", image="mcr.microsoft.com/windows/servercore:ltsc2019"),
            False,
            "1 node(s) had a Windows build that can't run image build 10.0.17763 (process)",
            id="the image build is inferred from a Microsoft tag",
        ),
        pytest.param(
            WIN2022,
            make_pod().windows("process", image="registry.local/app:v1"),
            False,
            f"1 {UNKNOWN_BUILD}",
            id="a process-isolated image of unknown build waits, never placed on a guess",
        ),
        pytest.param(
            WIN2022,
            make_pod().windows("hyperv", image="registry.local/app:v1"),
            True,
            "",
            id="a hyperv image of unknown build gets no build rule",
        ),
    ],
)
def test_os_and_isolation(node: NodeBuilder, workload: PodBuilder | VmBuilder, placed: bool, message: str) -> None:
    assert_single_node_decision(node, workload, placed, message)


def test_users_never_add_build_labels_in_a_mixed_windows_fleet() -> None:
    harness = Harness(
        make_node("w2019").windows("10.0.17763"),
        make_node("w2022").windows("10.0.20348"),
        make_node("w2025").windows("10.0.26100"),
    )
    pod = make_pod().windows("process", image="mcr.microsoft.com/windows/servercore:ltsc2019")
    assert harness.decide(pod).node == "w2019"
