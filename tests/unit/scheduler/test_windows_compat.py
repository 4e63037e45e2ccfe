"""Microsoft's Windows container version-compatibility matrix, row by row, in all three modes.

The expectations are written out by hand from Microsoft's tables (not derived from the rule
under test): P = runs process-isolated, H = runs Hyper-V isolated, - = neither.
"""

from __future__ import annotations

from typing import Any

import pytest

from atoll.windows import (
    BuildError,
    Isolation,
    WindowsBuild,
    build_from_image,
    can_run,
    parse_build,
)
from tests.unit.scheduler.builders import make_node, make_pod
from tests.unit.scheduler.harness import Harness

HOSTS = {
    "Windows Server 2016": "10.0.14393",
    "Windows Server 2019": "10.0.17763",
    "Windows Server 2022": "10.0.20348",
    "Windows Server 2025": "10.0.26100",
    "Windows 11 21H2": "10.0.22000",
    "Windows 11 22H2": "10.0.22621",
    "Windows 11 23H2": "10.0.22631",
    "Windows 11 24H2": "10.0.26100",
}
IMAGES = {
    "Server 2016": "10.0.14393",
    "Server 2019": "10.0.17763",
    "Server 2022": "10.0.20348",
    "Server 2025": "10.0.26100",
}
#                       image: 2016  2019  2022  2025
MATRIX = {
    "Windows Server 2016": ("PH", "--", "--", "--"),
    "Windows Server 2019": ("-H", "PH", "--", "--"),
    "Windows Server 2022": ("-H", "-H", "PH", "--"),
    "Windows Server 2025": ("-H", "-H", "PH", "PH"),
    "Windows 11 21H2": ("-H", "-H", "PH", "--"),
    "Windows 11 22H2": ("-H", "-H", "PH", "--"),
    "Windows 11 23H2": ("-H", "-H", "PH", "--"),
    "Windows 11 24H2": ("-H", "-H", "PH", "PH"),
}


def _cases() -> list[Any]:
    cases: list[Any] = []
    for host, host_build in HOSTS.items():
        for (image, image_build), cell in zip(IMAGES.items(), MATRIX[host], strict=True):
            expected = {
                Isolation.PROCESS: cell[0] == "P",
                Isolation.HYPERV: cell[1] == "H",
                Isolation.HOSTPROCESS: True,
            }
            for mode, runs in expected.items():
                verb = "runs" if runs else "does not run"
                case_id = f"{mode.value} {image} image {verb} on {host}"
                cases.append(pytest.param(host_build, image_build, mode, runs, id=case_id))
    return cases


CASES = _cases()


def test_matrix_has_every_host_image_and_mode() -> None:
    assert len(CASES) == len(HOSTS) * len(IMAGES) * 3


@pytest.mark.parametrize(("host", "image", "mode", "runs"), CASES)
def test_pure_rule_follows_microsofts_matrix(host: str, image: str, mode: Isolation, runs: bool) -> None:
    verdict = can_run(parse_build(host), parse_build(image), mode)
    assert verdict.runnable is runs
    assert bool(verdict.reason) is not runs


@pytest.mark.parametrize(("host", "image", "mode", "runs"), CASES)
def test_vectorized_filter_agrees_with_the_matrix(host: str, image: str, mode: Isolation, runs: bool) -> None:
    node = make_node("win").windows(host).isolation("process", "hyperv", "hostprocess")
    pod = make_pod().windows(mode.value, image_build=image)
    decision = Harness(node).decide(pod)
    assert decision.placed is runs


@pytest.mark.parametrize(
    ("host", "image", "mode", "runs"),
    [
        pytest.param(
            "10.0.14393.1914",
            "10.0.14393.1944",
            Isolation.PROCESS,
            False,
            id="Server 2016 process isolation refuses a different revision",
        ),
        pytest.param(
            "10.0.14393.1944",
            "10.0.14393.1944",
            Isolation.PROCESS,
            True,
            id="Server 2016 process isolation accepts the same revision",
        ),
        pytest.param(
            "10.0.14393.1914",
            "10.0.14393.1944",
            Isolation.HYPERV,
            True,
            id="Server 2016 hyperv isolation ignores revisions",
        ),
        pytest.param(
            "10.0.17763.1000",
            "10.0.17763.5000",
            Isolation.PROCESS,
            True,
            id="Server 2019 process isolation ignores revisions",
        ),
        pytest.param(
            "10.0.20348.100",
            "10.0.20348.2000",
            Isolation.PROCESS,
            True,
            id="Server 2022 process isolation ignores revisions",
        ),
    ],
)
def test_revision_rules(host: str, image: str, mode: Isolation, runs: bool) -> None:
    assert can_run(parse_build(host), parse_build(image), mode).runnable is runs
    node = make_node("win").windows(host).isolation("process", "hyperv")
    assert Harness(node).decide(make_pod().windows(mode.value, image_build=image)).placed is runs


@pytest.mark.parametrize(
    ("image", "build"),
    [
        pytest.param("mcr.microsoft.com/windows/servercore:ltsc2022", WindowsBuild(20348), id="ltsc2022 tag"),
        pytest.param(
            "mcr.microsoft.com/windows/nanoserver:ltsc2019-amd64", WindowsBuild(17763), id="ltsc2019 tag with a suffix"
        ),
        pytest.param("mcr.microsoft.com/windows/servercore:ltsc2025", WindowsBuild(26100), id="ltsc2025 tag"),
        pytest.param("mcr.microsoft.com/windows/servercore:1809", WindowsBuild(17763), id="1809 tag"),
        pytest.param(
            "mcr.microsoft.com/windows/nanoserver:10.0.17763.437", WindowsBuild(17763, 437), id="full version tag"
        ),
        pytest.param("mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-ltsc2019", WindowsBuild(17763),
                     id="an LTSC name inside a .NET Framework tag"),
        pytest.param("mcr.microsoft.com/dotnet/aspnet:8.0-nanoserver-1809", WindowsBuild(17763),
                     id="a release id inside a .NET tag"),
        pytest.param("mcr.microsoft.com/dotnet/runtime:8.0-nanoserver-ltsc2022", WindowsBuild(20348),
                     id="nanoserver-ltsc2022"),
        pytest.param("mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022", WindowsBuild(20348),
                     id="the IIS tag"),
        pytest.param("mcr.microsoft.com/powershell:lts-windowsservercore-1809", WindowsBuild(17763),
                     id="a PowerShell tag"),
        pytest.param("mcr.microsoft.com/windows/servercore:10.0.20348.2113-amd64", WindowsBuild(20348, 2113),
                     id="a full version with an architecture suffix"),
        pytest.param("mcr.microsoft.com/windows:20H2", WindowsBuild(19042), id="a release name"),
        pytest.param("mcr.microsoft.com/windows/servercore:1607", WindowsBuild(14393), id="1607"),
        pytest.param("mcr.microsoft.com/windows/servercore:ltsc2016", WindowsBuild(14393), id="ltsc2016"),
        pytest.param("mcr.microsoft.com/dotnet/framework/sdk:4.8.1-windowsservercore-ltsc2025", WindowsBuild(26100),
                     id="ltsc2025 in an SDK tag"),
        pytest.param("microsoft/iis:windowsservercore1809", WindowsBuild(17763), id="a release glued to the base name"),
        pytest.param("r.io/app:ltsc2019-ltsc2022", None, id="two builds name none"),
        pytest.param("r.io/app:v2004x", None, id="a release id inside a word is not one"),
        pytest.param("registry:5000/app:v1", None, id="a custom tag names no build"),
        pytest.param("app", None, id="no tag names no build"),
    ],
)
def test_build_from_image_tag(image: str, build: WindowsBuild | None) -> None:
    assert build_from_image(image) == build


@pytest.mark.parametrize("text", ["20348", "10.0", "10.0.x", "11.0.22000", ""])
def test_parse_build_rejects_malformed_versions(text: str) -> None:
    with pytest.raises(BuildError, match=r"expected 10\.0\.BUILD"):
        parse_build(text)
