"""Task drivers: the ``Driver`` protocol (protocol.py), optional abilities (abilities.py), the
simulated runtimes and a scriptable fake; ``DRIVERS`` maps each ``--driver`` name to a factory.

Real drivers (``oci``, ``qemu``) register here too when they land; a duplicate name is an error.
"""

from __future__ import annotations

from collections.abc import Callable

from agent.clock import Clock
from agent.drivers.protocol import Driver
from agent.drivers.sim_base import SimSettings
from agent.drivers.sim_hypervisor import SimHypervisorDriver
from agent.drivers.sim_linux import SimLinuxDriver
from agent.drivers.sim_windows import SimWindowsDriver

Factory = Callable[[SimSettings, Clock], Driver]

DRIVERS: dict[str, Factory] = {
    SimLinuxDriver.name: lambda settings, clock: SimLinuxDriver(settings, clock),
    SimWindowsDriver.name: lambda settings, clock: SimWindowsDriver(None, settings, clock),
    SimHypervisorDriver.name: lambda settings, clock: SimHypervisorDriver(None, settings, clock),
}


class UnknownDriverError(ValueError):
    """A ``--driver`` name that is not registered; the message lists the known ones."""


def register(name: str, factory: Factory) -> None:
    """Add a driver factory under ``name``; ValueError when the name is taken."""
    if name in DRIVERS:
        raise ValueError(f"driver {name!r} is already registered")
    DRIVERS[name] = factory


def build_driver(name: str, settings: SimSettings, clock: Clock) -> Driver:
    """The driver named ``name``; UnknownDriverError for names not in DRIVERS."""
    factory = DRIVERS.get(name)
    if factory is None:
        raise UnknownDriverError(f"unknown driver {name!r}; known drivers: {', '.join(sorted(DRIVERS))}")
    return factory(settings, clock)
