"""The real drivers of a host node (``atoll up --real``, ``atoll-agent --real``): ``oci`` (runc),
``crun`` when crun is installed, and ``qemu``. Every driver is returned even when its runtime is
missing: its fingerprint then says why it is unhealthy, which the node reports.

State layout under ``state_dir`` (see ``node_state_dir`` for atoll's data dir):
``oci/`` (containers), ``crun/`` (containers run by crun), ``qemu/`` (VMs), ``images/`` (shared
image store; ``atoll image import`` writes here).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from agent.drivers.oci import OciDriver, OciSettings
from agent.drivers.protocol import Driver
from agent.drivers.qemu import QemuDriver, QemuSettings
from atoll.images import default_image_dir


def real_drivers(
    state_dir: Path, *, host_ip: str = "", qemu_accel: str = "auto", vm_image_dirs: tuple[Path, ...] = ()
) -> list[Driver]:
    """``[oci, (crun), qemu]`` keeping their state under ``state_dir``; ``qemu_accel``: auto, kvm, tcg.
    VMs may use files from the node's image store and ``vm_image_dirs`` (atoll/vm_host_paths.py)."""
    images = default_image_dir(state_dir)
    drivers: list[Driver] = [
        OciDriver(OciSettings(state_dir=state_dir / "oci", runtime="runc", image_dir=images, host_ip=host_ip)),
    ]
    if shutil.which("crun"):
        drivers.append(OciDriver(OciSettings(state_dir=state_dir / "crun", runtime="crun", name="crun",
                                             image_dir=images, host_ip=host_ip)))
    drivers.append(QemuDriver(QemuSettings(state_dir=state_dir / "qemu", accel=qemu_accel,
                                           vm_image_dirs=(images, *vm_image_dirs))))
    return drivers
