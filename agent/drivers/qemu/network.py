"""VmNetwork: each VM's virtio-net interface on the node's pod network.

    attach: network.json (intent) -> address (host-local ADD, the pods' pool) -> bridge ensured
            -> tap created on the bridge -> network.json (with the address) -> QEMU opens the tap
    detach: tap deleted -> address released (host-local DEL) -> network.json removed

Addresses come from the node's CNI network (agent/network/cni/network.py's ``allocate_address``
and ``release_address``: host-local with the pods' network name and data dir), so pods and VMs
share one pool and one way of calling the plugin.

Both are idempotent and ordered so that a crash at any point leaves a network.json naming what
exists (detach releases it). ``sweep`` deletes the VM taps on this node's bridge that no task
directory names any more (a state dir wiped by hand, a crash inside ``ip``). Until the node has a
pod CIDR, ``attach`` raises NetworkNotReadyError and the VM waits.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from agent.drivers.protocol import DriverError, NetworkNotReadyError, StartError, TaskConfig
from agent.drivers.qemu.links import IP, NodeLinks
from agent.drivers.qemu.nic import (
    GUEST_INTERFACE,
    TAP_PREFIX,
    Nic,
    guest_hostname,
    mac_for,
    tap_name,
)
from agent.drivers.qemu.record import forget_nic, load_nic, save_nic
from agent.network.cni import CniError, CniInvoker, NodeCniNetwork, NodeNetworkSettings

DEFAULT_BRIDGE = "atoll0"
DEFAULT_NETWORK = "atoll"
DEFAULT_PLUGIN_DIRS = (Path("/usr/lib/cni"), Path("/opt/cni/bin"))
HOST_LOCAL = "host-local"


@dataclass(frozen=True)
class VmNetworkSettings:
    """``bridge`` and ``network`` are the pods' (the CNI conflist's bridge and name);
    ``ipam_data_dir`` is host-local's dataDir for this node, shared with its pods; ``node_netns``:
    the namespace the node's pod network lives in when not the agent's own (taps, the bridge,
    QEMU and the DHCP socket are made there)."""

    ipam_data_dir: Path
    bridge: str = DEFAULT_BRIDGE
    network: str = DEFAULT_NETWORK
    plugin_dirs: tuple[Path, ...] = field(default=DEFAULT_PLUGIN_DIRS)
    node_netns: Path | None = None


class VmNetwork:
    def __init__(self, settings: VmNetworkSettings) -> None:
        self.settings = settings
        # The config list file goes beside host-local's data dir, where the pods' network writes
        # the same one (real_drivers: STATE_DIR/network/).
        self.addresses = NodeCniNetwork(
            CniInvoker(settings.plugin_dirs),
            NodeNetworkSettings(ipam_dir=settings.ipam_data_dir, bridge=settings.bridge, name=settings.network),
            settings.ipam_data_dir.parent)
        self.links = NodeLinks(settings.node_netns)

    @property
    def pod_cidr(self) -> str:
        return self.addresses.pod_cidr

    def missing_tools(self) -> str:
        """Why VMs cannot be networked here (iproute2 or the host-local plugin missing), else ''."""
        if shutil.which(IP) is None:
            return f"{IP} not found: install iproute2"
        if self.settings.node_netns is not None and shutil.which("nsenter") is None:
            return "nsenter not found: install util-linux"
        try:
            self.addresses.invoker.find(HOST_LOCAL)
        except CniError as err:
            return str(err)
        return ""

    def set_pod_cidr(self, cidr: str) -> bool:
        """Use ``cidr`` (the node's spec.podCIDR) for VMs started from now on; True when it changed."""
        return self.addresses.set_pod_cidr(cidr)

    async def attach(self, task_dir: Path, config: TaskConfig) -> Nic:
        """The interface of the VM ``config`` describes, made: an address, the bridge, the tap.
        NetworkNotReadyError before the node has a pod CIDR; StartError when IPAM or iproute2 fail
        (nothing is left held)."""
        if not self.pod_cidr:
            raise NetworkNotReadyError("the node has no pod CIDR yet (the node IPAM controller gives one)")
        nic = Nic(tap_name(config.task_id), mac_for(config.workload_uid), config.workload_uid,
                  self.settings.bridge, self.pod_cidr, guest_hostname(config.hostname or config.workload))
        save_nic(task_dir, nic)
        try:
            # A crashed start's address is found and kept: allocate_address returns what the VM holds.
            lease = await self.addresses.allocate_address(nic.container_id, GUEST_INTERFACE)
            gateway = await self.links.ensure_bridge(nic.bridge, nic.subnet)
            nic = replace(nic, address=lease.address, gateway=lease.gateway or gateway)
            save_nic(task_dir, nic)
            await self.links.create_tap(nic.tap, nic.bridge)
        except BaseException as err:
            with contextlib.suppress(DriverError):
                await self.detach(task_dir)
            if isinstance(err, CniError):
                raise StartError(str(err)) from None
            raise
        return nic

    async def detach(self, task_dir: Path) -> None:
        """Release the interface ``task_dir`` records (tap, address); nothing recorded: a no-op."""
        nic = load_nic(task_dir)
        if nic is None:
            return
        await self.links.delete_tap(nic.tap)
        try:
            await self.addresses.release_address(nic.container_id, GUEST_INTERFACE)
        except CniError as err:
            raise StartError(str(err)) from None
        forget_nic(task_dir)

    async def sweep(self, task_dirs: Callable[[], Iterable[Path]]) -> list[str]:
        """Delete VM taps on this bridge that no directory of ``task_dirs()`` records (called after
        listing the taps, so a VM starting meanwhile, whose network.json comes first, is seen);
        returns their names. Addresses are not swept here: a task dir that goes releases its own
        first, and the node's sweep of addresses held by workloads no longer on the node (the
        CNI network's) covers the rest."""
        taps = await self.links.taps_on(self.settings.bridge, TAP_PREFIX)
        known = {nic.tap for nic in (load_nic(path) for path in task_dirs()) if nic is not None}
        released = [tap for tap in taps if tap not in known]
        for tap in released:
            await self.links.delete_tap(tap)
        return released
