"""The renderer: ServicePorts -> the text of one ``nft -f`` transaction that replaces atoll's
table whole. Pure (no I/O, no clock): equal inputs give equal text, byte for byte, which is what
makes the proxier idempotent and a restarted agent's rules identical to its predecessor's.

The transaction (kube-proxy's nftables layout, cut to ClusterIP Services)::

    table ip atoll            # create it if absent, so that the delete below cannot fail
    delete table ip atoll     # stale chains, maps and rules go with it, in the same transaction
    table ip atoll {
      map service-ips             clusterIP . proto . port : goto svc-<port chain>
      map no-endpoint-services    clusterIP . proto . port : goto reject-chain
      chain nat-prerouting        hook prerouting (traffic from pod bridges, other nodes) -> services
      chain nat-output            hook output (processes on the node itself)              -> services
      chain nat-postrouting       hook postrouting -> masquerading
      chain filter-{input,forward,output}  new connections -> endpoints-check (reject: no endpoints)
      chain services              ip daddr . meta l4proto . th dport vmap @service-ips
      chain svc-...               numgen random mod N vmap { 0 : goto ep-..., ... }
      chain ep-...                [masquerade mark] ; dnat to ENDPOINT
      chain mark-for-masquerade / masquerading
    }

Masquerade is applied only where replies would otherwise bypass the DNAT: a connection from a
pod on this node's pod CIDR to an endpoint on the same CIDR (the same bridge, including a pod
reaching itself through its Service): the endpoint's reply would go straight back over the
bridge, so the source becomes the node's bridge address. Traffic to endpoints on other nodes
keeps its source (their replies route back through this node), and nothing is masqueraded
towards any other interface. Without a known pod CIDR only the hairpin case (source is the
endpoint itself) is masqueraded.

Nothing outside ``table ip atoll`` is touched; other tables (the host firewall, Docker, CNI
portmap's) stay as they are.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from collections.abc import Iterable
from ipaddress import IPv4Network

from agent.network.proxy.model import ServicePort

TABLE = "atoll"
FAMILY = "ip"
# The mark bit of connections to masquerade (kube-proxy uses 0x4000; a different bit lets both
# coexist on one host).
MASQUERADE_MARK = "0x00008000"
# nft accepts names up to 256 bytes; the hash keeps a truncated name unique.
_NAME_MAX = 200
_UNSAFE = re.compile(r"[^A-Za-z0-9/._-]")

_BASE_CHAINS = (
    # name, type, hook, priority. -100 is "dstnat" and 100 "srcnat" (nft 1.0 accepts those names
    # only on some hooks); filters see pre-DNAT addresses, so they run just before DNAT.
    ("filter-input", "filter", "input", -110),
    ("filter-forward", "filter", "forward", -110),
    ("filter-output", "filter", "output", -110),
    ("nat-prerouting", "nat", "prerouting", -100),
    ("nat-output", "nat", "output", -100),
    ("nat-postrouting", "nat", "postrouting", 100),
)
_JUMPS = {
    "filter-input": "ct state new jump endpoints-check",
    "filter-forward": "ct state new jump endpoints-check",
    "filter-output": "ct state new jump endpoints-check",
    "nat-prerouting": "jump services",
    "nat-output": "jump services",
    "nat-postrouting": "jump masquerading",
}
_KEY_TYPE = "ipv4_addr . inet_proto . inet_service"


def render(ports: Iterable[ServicePort], pod_cidr: IPv4Network | None = None) -> str:
    """The whole transaction for ``ports`` on a node whose pod CIDR is ``pod_cidr`` (None: not known yet).

    Ports are ordered by (cluster IP, protocol, port); two ports claiming the same key (a transient
    state of two Services racing for one address) keep the first by namespace/name/port name, as a
    map cannot hold one key twice. A port without endpoints rejects new connections instead of
    letting them time out.
    """
    chosen: dict[tuple[object, ...], ServicePort] = {}
    for port in sorted(ports, key=lambda p: (p.key, p.namespace, p.service, p.port_name)):
        chosen.setdefault(port.key, port)
    served = [port for port in chosen.values() if port.endpoints]
    rejected = [port for port in chosen.values() if not port.endpoints]

    lines = [f"table {FAMILY} {TABLE}", f"delete table {FAMILY} {TABLE}", f"table {FAMILY} {TABLE} {{"]
    lines += _map("service-ips", [f"{_key(port)} : goto {service_chain(port)}" for port in served])
    lines += _map("no-endpoint-services", [f"{_key(port)} : goto reject-chain" for port in rejected])
    for name, kind, hook, priority in _BASE_CHAINS:
        lines += _chain(name, f"type {kind} hook {hook} priority {priority}; policy accept;", _JUMPS[name])
    lines += _chain("services", "ip daddr . meta l4proto . th dport vmap @service-ips")
    lines += _chain("endpoints-check", "ip daddr . meta l4proto . th dport vmap @no-endpoint-services")
    # A TCP reset is what a client reads as "connection refused"; other protocols get ICMP.
    lines += _chain("reject-chain", "meta l4proto tcp reject with tcp reset", "reject")
    lines += _chain("mark-for-masquerade", f"meta mark set meta mark or {MASQUERADE_MARK}")
    lines += _chain(
        "masquerading",
        f"meta mark and {MASQUERADE_MARK} == 0 return",
        f"meta mark set meta mark xor {MASQUERADE_MARK}",
        "masquerade fully-random",
    )
    for port in served:
        lines += _service_chains(port, pod_cidr)
    lines.append("}")
    return "\n".join(lines) + "\n"


def delete_transaction() -> str:
    """A transaction that removes atoll's table if it exists (and succeeds if it does not)."""
    return f"table {FAMILY} {TABLE}\ndelete table {FAMILY} {TABLE}\n"


def service_chain(port: ServicePort) -> str:
    """The chain that picks one endpoint of ``port``."""
    return _name("svc-", f"{port.namespace}/{port.service}/{port.protocol}/{port.port_name or port.port}")


def endpoint_chain(port: ServicePort, index: int) -> str:
    """The chain that sends ``port``'s traffic to its ``index``-th endpoint."""
    endpoint = port.endpoints[index]
    base = f"{port.namespace}/{port.service}/{port.protocol}/{port.port_name or port.port}"
    return _name("ep-", f"{base}__{endpoint.ip}/{endpoint.port}")


def _service_chains(port: ServicePort, pod_cidr: IPv4Network | None) -> list[str]:
    names = [endpoint_chain(port, index) for index in range(len(port.endpoints))]
    choices = ", ".join(f"{index} : goto {name}" for index, name in enumerate(names))
    lines = _chain(service_chain(port), f"numgen random mod {len(port.endpoints)} vmap {{ {choices} }}")
    for name, endpoint in zip(names, port.endpoints, strict=True):
        if pod_cidr is not None and endpoint.ip in pod_cidr:
            source = str(pod_cidr)  # the same bridge: replies would bypass the node
        elif pod_cidr is None:
            source = str(endpoint.ip)  # at least the hairpin case
        else:
            source = ""
        rules = [f"ip saddr {source} jump mark-for-masquerade"] if source else []
        rules.append(f"meta l4proto {port.protocol} dnat to {endpoint}")
        lines += _chain(name, *rules)
    return lines


def _key(port: ServicePort) -> str:
    return f"{port.cluster_ip} . {port.protocol} . {port.port}"


def _map(name: str, elements: list[str]) -> list[str]:
    lines = [f"\tmap {name} {{", f"\t\ttype {_KEY_TYPE} : verdict"]
    if elements:
        lines.append("\t\telements = {")
        lines += [f"\t\t\t{element}," for element in elements]
        lines.append("\t\t}")
    lines.append("\t}")
    return lines


def _chain(name: str, *rules: str) -> list[str]:
    return [f"\tchain {name} {{", *(f"\t\t{rule}" for rule in rules), "\t}"]


@functools.lru_cache(maxsize=1 << 16)  # every sync renders every name again
def _name(prefix: str, readable: str) -> str:
    """kube-proxy's chain naming: a hash of the readable name (unique even when cut), then the
    readable name itself with anything nft would not accept replaced, cut to a bounded length."""
    digest = base64.b32encode(hashlib.sha256(readable.encode()).digest()[:5]).decode()  # 8 characters
    return f"{prefix}{digest}-{_UNSAFE.sub('_', readable)}"[:_NAME_MAX]
