"""Task drivers: the ``Driver`` protocol (protocol.py), optional abilities (abilities.py), the
simulated runtimes (sim/), the real ones (oci/ = runc/crun, qemu/ over QMP; real.py builds them
for ``--real``) and a scriptable fake for tests; ``DRIVERS`` maps each simulated ``--driver`` name
to a factory.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.drivers.protocol import Driver
from agent.drivers.sim.base import SimSettings
from agent.drivers.sim.hypervisor import SimHypervisorDriver
from agent.drivers.sim.linux import SimLinuxDriver
from agent.drivers.sim.windows import SimWindowsDriver
from atoll.clock import Clock

Factory = Callable[[SimSettings, Clock], Driver]

DRIVERS: dict[str, Factory] = {
    SimLinuxDriver.name: lambda settings, clock: SimLinuxDriver(settings, clock),
    SimWindowsDriver.name: lambda settings, clock: SimWindowsDriver(None, settings, clock),
    SimHypervisorDriver.name: lambda settings, clock: SimHypervisorDriver(None, settings, clock),
}


class UnknownDriverError(ValueError):
    """A ``--driver`` name that is not registered; the message lists the known ones."""


def build_driver(name: str, settings: SimSettings, clock: Clock) -> Driver:
    """The driver named ``name``; UnknownDriverError for names not in DRIVERS."""
    factory = DRIVERS.get(name)
    if factory is None:
        raise UnknownDriverError(f"unknown driver {name!r}; known drivers: {', '.join(sorted(DRIVERS))}")
    return factory(settings, clock)
