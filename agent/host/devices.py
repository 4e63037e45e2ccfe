"""Extended resources of the real host (atoll/extended_resources.py): what its devices offer,
found by counting device files, and what the operator configures (``--extended-resource``).

Discovery is deliberately narrow: one entry per well-known device family whose kernel driver
creates one numbered device file per unit. A GPU that no pattern matches is declared with
``--extended-resource nvidia.com/gpu=2``; a configured count replaces the discovered one for
that name (``=0`` hides a device from the scheduler).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from atoll.extended_resources import ExtendedResourceError, is_extended, whole_units
from atoll.user_text import bounded_repr

# resource name -> device file names in /dev, one per unit (the NVIDIA driver makes /dev/nvidia0,
# /dev/nvidia1, ... per GPU, beside the shared /dev/nvidiactl and /dev/nvidia-uvm).
DEVICE_PATTERNS: Mapping[str, re.Pattern[str]] = {"nvidia.com/gpu": re.compile(r"^nvidia[0-9]+$")}


class ExtendedResourceFlagError(ValueError):
    """An ``--extended-resource`` value that is not NAME=COUNT; one line naming the flag."""


def discover(dev: Path = Path("/dev")) -> dict[str, int]:
    """Units per resource name found in ``dev`` (names with none are left out)."""
    try:
        entries = [entry.name for entry in dev.iterdir()]
    except OSError:
        return {}
    found = {name: sum(1 for entry in entries if pattern.match(entry)) for name, pattern in DEVICE_PATTERNS.items()}
    return {name: count for name, count in found.items() if count}


def parse_flags(values: Iterable[str]) -> dict[str, int]:
    """``["nvidia.com/gpu=2"]`` -> ``{"nvidia.com/gpu": 2}``; ExtendedResourceFlagError otherwise."""
    parsed: dict[str, int] = {}
    for value in values:
        shown = bounded_repr(value)
        name, sep, count = value.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ExtendedResourceFlagError(
                f"--extended-resource {shown}: expected NAME=COUNT, e.g. nvidia.com/gpu=2"
            )
        if not is_extended(name):
            raise ExtendedResourceFlagError(
                f"--extended-resource {shown}: {name} is a standard resource, not an extended one"
            )
        try:
            parsed[name] = whole_units(count)
        except ExtendedResourceError as err:
            raise ExtendedResourceFlagError(f"--extended-resource {shown}: {err}") from None
    return parsed


def host_extended_resources(configured: Mapping[str, int], dev: Path = Path("/dev")) -> dict[str, str]:
    """Discovered units overridden by ``configured``, as capacity quantities (zeros left out)."""
    merged = {**discover(dev), **configured}
    return {name: str(count) for name, count in sorted(merged.items()) if count}
