"""A VM's network interface, as data (pure): its tap's name, its MAC, its address, the QEMU
arguments and the kernel ``ip=`` argument that hand it to the guest.

Names are derived from the task id and the MAC from the VM's UID, so the same VM always gets the
same ones: a restarted VM keeps its MAC (a DHCP-booting guest sees the same hardware), and a
later agent process finds the tap of a VM it adopts by name alone.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass

TAP_PREFIX = "atv"  # atoll VM taps; the rest of the 15 bytes Linux allows is a hash of the task id
GUEST_INTERFACE = "eth0"


def tap_name(task_id: str) -> str:
    """``atv`` + 12 hex digits of the task id's hash: 15 characters, the most IFNAMSIZ allows."""
    return TAP_PREFIX + hashlib.sha256(task_id.encode()).hexdigest()[:12]


def mac_for(workload_uid: str) -> str:
    """A locally administered unicast MAC (first byte 0x02) from the VM's UID."""
    digest = hashlib.sha256(workload_uid.encode()).digest()
    return ":".join(f"{byte:02x}" for byte in (0x02, *digest[:5]))


@dataclass(frozen=True)
class Nic:
    """One VM's interface: ``address`` is ``IP/prefix`` from IPAM, ``gateway`` the bridge's address;
    both empty until IPAM answered. ``container_id``: the CNI container id IPAM keeps the address
    under, the VM's UID (as a pod's is its UID: the node's sweep of addresses of workloads no
    longer on the node reads it so)."""

    tap: str
    mac: str
    container_id: str
    bridge: str
    subnet: str  # the node's pod CIDR the address came from (IPAM releases it there)
    hostname: str = ""  # what the guest is told to call itself (ip=, DHCP)
    address: str = ""
    gateway: str = ""

    @property
    def ip(self) -> str:
        return self.address.partition("/")[0]

    def qemu_args(self) -> list[str]:
        """A virtio-net device on the (already created) tap; QEMU neither runs scripts nor owns it."""
        return [
            "-netdev", f"tap,id=net0,ifname={self.tap},script=no,downscript=no",
            "-device", f"virtio-net-pci,netdev=net0,mac={self.mac}",
        ]

    def kernel_ip_arg(self) -> str:
        """The kernel's static ``ip=client::gateway:netmask:hostname:device:off`` argument
        (Documentation/admin-guide/nfs/nfsroot.rst); empty without an address."""
        if not self.address:
            return ""
        netmask = ipaddress.IPv4Interface(self.address).network.netmask
        return f"ip={self.ip}::{self.gateway}:{netmask}:{self.hostname}:{GUEST_INTERFACE}:off"


def guest_hostname(name: str) -> str:
    """``name`` as a host name the ``ip=`` syntax can carry: lower-case letters, digits and '-',
    at most 63 characters (a ':' would end the field)."""
    return re.sub(r"[^a-z0-9-]", "-", name.lower())[:63].strip("-")
