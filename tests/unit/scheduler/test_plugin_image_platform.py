"""ImagePlatform: nodes run at least one platform of every resolved image (os, architecture,
variant, and Microsoft's Windows build rules per isolation mode), and refusals say what the nodes
have and what the image offers. Resolution itself is scheduler/image_resolution.py's."""

from __future__ import annotations

import dataclasses

import pytest

from atoll.image_platforms import Platform
from atoll.image_resolver import ResolvedImage
from scheduler.workload import WorkloadInfo
from tests.unit.scheduler.builders import NodeBuilder, PodBuilder, make_node, make_pod
from tests.unit.scheduler.harness import Harness

DIGEST = "sha256:" + "ab" * 32
AMD64 = Platform("linux", "amd64")
ARM64 = Platform("linux", "arm64", "v8")
ARM_V7 = Platform("linux", "arm", "v7")
WIN_2019 = Platform("windows", "amd64", os_version="10.0.17763.5458")
WIN_2022 = Platform("windows", "amd64", os_version="10.0.20348.2113")
WIN_NO_VERSION = Platform("windows", "amd64")
LINUX_AMD64 = make_node("amd")
LINUX_ARM64 = make_node("arm").arch("arm64")
LINUX_ARM64_V9 = make_node("arm9").arch("arm64", "v9")
LINUX_ARM_V6 = make_node("pi").arch("arm", "v6")


def windows_node(build: str, name: str = "") -> NodeBuilder:
    return make_node(name or f"win-{build.split('.')[2]}").windows(build).isolation("process", "hyperv")


def resolved(pod: PodBuilder, *platforms: Platform, reference: str = "r.local/app:1") -> WorkloadInfo:
    info = pod.info()
    build = None if info.image_build_from_tag else info.image_build
    return dataclasses.replace(
        info, image_platforms=(ResolvedImage(reference, DIGEST, platforms),), image_build=build,
        image_build_from_tag=False,
    )


@pytest.mark.parametrize(
    ("node", "platforms", "placed", "message"),
    [
        pytest.param(LINUX_AMD64, (AMD64, ARM64), True, "", id="a multi-arch image runs on amd64"),
        pytest.param(LINUX_ARM64, (AMD64, ARM64), True, "", id="a multi-arch image runs on arm64"),
        pytest.param(
            LINUX_AMD64, (ARM64,), False, "1 node(s) had architecture amd64 (image r.local/app:1 offers arm64/v8)",
            id="an arm64-only image is refused on amd64 with the explanation",
        ),
        pytest.param(LINUX_ARM64, (Platform("linux", "arm64"),), True, "", id="an image without variant runs"),
        pytest.param(
            LINUX_ARM64_V9, (ARM64,), False, "1 node(s) had architecture arm64 (image r.local/app:1 offers arm64/v8)",
            id="a node of another variant does not run it",
        ),
        pytest.param(
            LINUX_ARM_V6, (ARM_V7,), False, "1 node(s) had architecture arm (image r.local/app:1 offers arm/v7)",
            id="arm v7 images do not run on arm v6",
        ),
        pytest.param(
            LINUX_AMD64, (WIN_2022,), False, "1 node(s) had an os the image r.local/app:1 does not offer (windows)",
            id="a Windows-only image never lands on linux",
        ),
    ],
)
def test_linux_platforms(node: NodeBuilder, platforms: tuple[Platform, ...], placed: bool, message: str) -> None:
    decision = Harness(node).decide(resolved(make_pod(), *platforms))
    assert decision.placed is placed
    if not placed:
        assert decision.explanation is not None
        assert decision.explanation.message() == f"0/1 nodes are available: {message}."


# Hosts: Server 2016, 2019, 2022, 2025. Image index: 2019 + 2022 entries.
HOSTS = ("10.0.14393.6897", "10.0.17763.5458", "10.0.20348.2113", "10.0.26100.1742")


@pytest.mark.parametrize(
    ("isolation", "runs_on"),
    [
        pytest.param("process", {"10.0.17763.5458", "10.0.20348.2113", "10.0.26100.1742"},
                     id="process: the same build, and 2022 images on 2025 hosts"),
        pytest.param("hyperv", {"10.0.17763.5458", "10.0.20348.2113", "10.0.26100.1742"},
                     id="hyperv: any host at least as new as one entry"),
    ],
)
def test_windows_index_per_isolation(isolation: str, runs_on: set[str]) -> None:
    for host in HOSTS:
        pod = make_pod().windows(isolation, image="r.local/iis:1")
        assert Harness(windows_node(host)).decide(resolved(pod, WIN_2019, WIN_2022)).placed is (host in runs_on), host


def test_a_2019_only_image_under_process_isolation_is_explained_per_host_build() -> None:
    harness = Harness(*(windows_node(host) for host in HOSTS), windows_node("10.0.20348.1", "win-b"))
    decision = harness.decide(resolved(make_pod().windows("process", image="r.local/iis:1"), WIN_2019))
    assert decision.placed and decision.node == "win-17763"
    others = (windows_node(host) for host in HOSTS if "17763" not in host)
    harness = Harness(*others, windows_node("10.0.20348.1", "win-b"))
    decision = harness.decide(resolved(make_pod().windows("process", image="r.local/iis:1"), WIN_2019))
    assert decision.explanation is not None
    only_2019 = "image r.local/app:1 offers only 10.0.17763.5458 (process isolation)"
    assert decision.explanation.message() == (
        f"0/4 nodes are available: 2 node(s) run Windows build 20348, {only_2019},"
        f" 1 node(s) run Windows build 14393, {only_2019}, 1 node(s) run Windows build 26100, {only_2019}."
    )


def test_a_hyperv_pod_of_a_2022_image_does_not_run_on_older_hosts() -> None:
    pod = make_pod().windows("hyperv", image="r.local/iis:1")
    assert not Harness(windows_node(HOSTS[1])).decide(resolved(pod, WIN_2022)).placed
    assert Harness(windows_node(HOSTS[3])).decide(resolved(pod, WIN_2022)).placed


def test_a_windows_entry_without_os_version_is_not_a_guess() -> None:
    decision = Harness(windows_node(HOSTS[2])).decide(
        resolved(make_pod().windows("process", image="r.local/iis:1"), WIN_NO_VERSION)
    )
    assert decision.explanation is not None
    assert "offers only no os.version (process isolation)" in decision.explanation.message()


def test_an_explicit_image_build_wins_over_os_version() -> None:
    pod = make_pod().windows("process", image_build="10.0.20348", image="r.local/iis:1")
    assert Harness(windows_node(HOSTS[2])).decide(resolved(pod, WIN_2019)).placed
    assert not Harness(windows_node(HOSTS[1])).decide(resolved(pod, WIN_2019)).placed


def test_the_registry_answer_replaces_a_build_guessed_from_the_tag() -> None:
    pod = make_pod().windows("process", image="mcr.microsoft.com/windows/servercore:ltsc2022")
    assert pod.info().image_build_from_tag
    assert Harness(windows_node(HOSTS[1])).decide(resolved(pod, WIN_2019)).placed


def test_every_image_of_the_pod_must_be_runnable() -> None:
    info = make_pod().info()
    both = dataclasses.replace(info, image_platforms=(
        ResolvedImage("r.local/a:1", DIGEST, (AMD64, ARM64)), ResolvedImage("r.local/b:1", DIGEST, (ARM64,)),
    ))
    assert Harness(LINUX_ARM64).decide(both).placed
    decision = Harness(LINUX_AMD64).decide(both)
    assert decision.explanation is not None
    assert decision.explanation.message() == (
        "0/1 nodes are available: 1 node(s) had architecture amd64 (image r.local/b:1 offers arm64/v8)."
    )


def test_an_unresolved_image_waits_with_the_registry_answer() -> None:
    info = dataclasses.replace(make_pod().info(), image_problem="image r.local/app:1: manifest unknown")
    decision = Harness(LINUX_AMD64).decide(info)
    assert not decision.placed and decision.explanation is not None
    assert decision.explanation.message() == "0/1 nodes are available: 1 image r.local/app:1: manifest unknown."


def test_a_node_change_is_seen_by_the_next_decision() -> None:
    harness = Harness(make_node("n1"))
    arm_only = resolved(make_pod(), ARM64)
    assert not harness.decide(arm_only).placed
    harness.add_node(make_node("n1").arch("arm64"))
    assert harness.decide(arm_only).placed
    harness.add_node(make_node("n1"))
    assert not harness.decide(arm_only).placed
