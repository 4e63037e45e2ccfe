"""The result of a CNI ADD (spec 1.0.0, "Success"): interfaces, IP configs, routes (pure parsing).

``raw`` keeps the plugin's JSON as it was, because the spec hands it on unchanged: as
``prevResult`` to the next plugin of a list, and to DEL and CHECK later.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from agent.network.cni.errors import CniResultError


@dataclass(frozen=True)
class CniInterface:
    name: str
    mac: str = ""
    sandbox: str = ""


@dataclass(frozen=True)
class CniIpConfig:
    """``address`` in CIDR form (10.244.1.5/24); ``interface``: index into the result's
    interfaces, or None when the plugin (IPAM) named none."""

    address: str
    gateway: str = ""
    interface: int | None = None

    @property
    def ip(self) -> str:
        """The address without its prefix length."""
        return str(ipaddress.ip_interface(self.address).ip)


@dataclass(frozen=True)
class CniResult:
    cni_version: str
    interfaces: tuple[CniInterface, ...] = ()
    ips: tuple[CniIpConfig, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def ip_in_sandbox(self) -> str:
        """The first IPv4 address on an interface inside the sandbox (the pod IP), else the
        first address at all (an IPAM-only result names no interface), else ''."""
        for config in self.ips:
            index = config.interface
            if index is not None and 0 <= index < len(self.interfaces) and self.interfaces[index].sandbox:
                return config.ip
        return self.ips[0].ip if self.ips else ""


def parse_result(raw: Any, plugin: str) -> CniResult:
    """A CniResult from the JSON a plugin printed; CniResultError naming ``plugin`` when it is not
    a result object."""
    if not isinstance(raw, dict):
        raise CniResultError(f"CNI plugin {plugin} printed no result object")
    try:
        interfaces = tuple(
            CniInterface(str(entry["name"]), str(entry.get("mac", "")), str(entry.get("sandbox", "")))
            for entry in raw.get("interfaces") or ()
        )
        ips = tuple(_ip_config(entry) for entry in raw.get("ips") or ())
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise CniResultError(f"CNI plugin {plugin} printed a malformed result: {err}") from None
    return CniResult(str(raw.get("cniVersion", "")), interfaces, ips, raw)


def _ip_config(entry: dict[str, Any]) -> CniIpConfig:
    address = str(entry["address"])
    ipaddress.ip_interface(address)  # ValueError when it is not an address/prefix
    index = entry.get("interface")
    return CniIpConfig(address, str(entry.get("gateway", "")), int(index) if index is not None else None)
