"""The real drivers of a host node (``atoll up --real``, ``atoll-agent --real``): ``oci`` (runc),
``crun`` when crun is installed, and ``qemu``. Every driver is returned even when its runtime is
missing: its fingerprint then says why it is unhealthy, which the node reports.

State layout under ``state_dir`` (see ``node_state_dir`` for atoll's data dir):
``oci/`` (containers), ``crun/`` (containers run by crun), ``qemu/`` (VMs), ``images/`` (shared
image store; ``atoll image import`` and pulls write here, pulls' blob cache in ``images/.blobs``),
``network/`` (the node's CNI network: config
list, host-local's reservations in ``ipam/``, pod sandbox records in ``sandboxes/``, pinned pod
network namespaces in ``netns/``). Everything is per node, so two agents share one host.
"""

from __future__ import annotations

import platform
import shutil
from pathlib import Path

from agent.drivers.oci import OciDriver, OciSettings
from agent.drivers.protocol import Driver
from agent.drivers.qemu import QemuDriver, QemuSettings
from agent.drivers.qemu.network import VmNetworkSettings
from agent.drivers.task_names import host_name_for
from agent.images.node_images import NodeImages
from agent.network.cni import DEFAULT_BIN_DIR, CniInvoker, NodeCniNetwork, NodeNetworkSettings
from agent.network.cni.conflist import DEFAULT_BRIDGE
from agent.network.sandboxes import NodeSandboxes
from atoll.image_platforms import Platform, normalize_architecture
from atoll.image_registry import RegistryConfig
from atoll.images import ImageStore, default_image_dir


def node_sandboxes(state_dir: Path, node_name: str = "", cni_bin_dir: Path = DEFAULT_BIN_DIR,
                   bridge: str = DEFAULT_BRIDGE, node_netns: Path | None = None) -> NodeSandboxes:
    """The node's pod network (its CNI network and sandboxes), kept under ``state_dir/network``;
    ``node_netns``: the namespace its bridge lives in, when not the agent's own."""
    root = state_dir / "network"
    network = NodeCniNetwork(CniInvoker((cni_bin_dir,), node_netns=node_netns),
                             NodeNetworkSettings(ipam_dir=root / "ipam", bridge=bridge), root, node_name)
    return NodeSandboxes(network, root / "sandboxes", root / "netns")


def host_platform() -> Platform:
    """The OCI platform of the containers this host runs (its kernel's architecture)."""
    return Platform("linux", normalize_architecture(platform.machine()))


def real_drivers(
    state_dir: Path, *, host_ip: str = "", qemu_accel: str = "auto", vm_image_dirs: tuple[Path, ...] = (),
    node_name: str = "", cni_bin_dir: Path = DEFAULT_BIN_DIR, bridge: str = DEFAULT_BRIDGE,
    node_netns: Path | None = None, registry: RegistryConfig | None = None,
) -> list[Driver]:
    """``[oci, (crun), qemu]`` keeping their state under ``state_dir``; ``qemu_accel``: auto, kvm, tcg.
    VMs may use files from the node's image store and ``vm_image_dirs`` (atoll/vm_host_paths.py).
    Pods get one network namespace each on the node's CNI network (plugins in ``cni_bin_dir``,
    bridge ``bridge``, in the namespace ``node_netns`` when given); containers' cgroups go under
    ``atoll/NODE_NAME``. VMs are on the same network: a tap on that bridge, an address from
    the same host-local pool. Images are pulled for this host's platform (``registry``: insecure
    registries and credentials of the node) into the one store both OCI drivers read."""
    images = default_image_dir(state_dir)
    pulls = NodeImages(ImageStore(images), host_platform(), registry)
    sandboxes = node_sandboxes(state_dir, node_name, cni_bin_dir, bridge, node_netns)
    cgroup_parent = f"atoll/{host_name_for(node_name)}" if node_name else "atoll"
    drivers: list[Driver] = [
        OciDriver(OciSettings(state_dir=state_dir / "oci", runtime="runc", image_dir=images, host_ip=host_ip,
                              sandboxes=sandboxes, cgroup_parent=cgroup_parent, pulls=pulls)),
    ]
    if shutil.which("crun"):
        drivers.append(OciDriver(OciSettings(state_dir=state_dir / "crun", runtime="crun", name="crun",
                                             image_dir=images, host_ip=host_ip, sandboxes=sandboxes,
                                             cgroup_parent=cgroup_parent, pulls=pulls)))
    drivers.append(QemuDriver(QemuSettings(state_dir=state_dir / "qemu", accel=qemu_accel,
                                           vm_image_dirs=(images, *vm_image_dirs),
                                           network=VmNetworkSettings(ipam_data_dir=state_dir / "network" / "ipam",
                                                                     bridge=bridge, plugin_dirs=(cni_bin_dir,),
                                                                     node_netns=node_netns))))
    return drivers
