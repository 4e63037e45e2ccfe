"""``real_drivers``: the drivers ``atoll up --real`` adds for the local host, each fingerprinting
itself; on a host with the packages installed every one is healthy."""

from __future__ import annotations

from pathlib import Path

from agent.drivers.protocol import Driver
from agent.drivers.real import real_drivers
from tests.e2e.conftest import _require_root
from tests.support.system import require_binary


async def test_the_real_drivers_of_a_host_fingerprint_healthy(tmp_path: Path) -> None:
    for binary, package in (("runc", "runc"), ("crun", "crun"), ("qemu-system-x86_64", "qemu-system-x86")):
        require_binary(binary, package)
    _require_root()
    drivers = real_drivers(tmp_path)
    assert [driver.name for driver in drivers] == ["oci", "crun", "qemu"]
    assert all(isinstance(driver, Driver) for driver in drivers)
    fingerprints = [await driver.fingerprint() for driver in drivers]
    assert all(fingerprint.healthy for fingerprint in fingerprints), [f.reason for f in fingerprints]
    kinds = [sorted(driver.capabilities().kinds) for driver in drivers]
    assert kinds == [["container"], ["container"], ["vm"]]
    assert fingerprints[2].hypervisor is not None
    assert drivers[2].capabilities().hypervisor_type == fingerprints[2].hypervisor.type
