"""host-gw routes: this node reaches every other node's pod CIDR through that node's address
(flannel's host-gw backend), one kernel route per node, from the Node objects it watches.

Contracts:
- ``desired_routes`` is pure: Nodes in, the exact route set out. A node contributes a route when
  it is not this node and has a pod CIDR and an InternalIP address that parse as IPv4; a CIDR
  two nodes claim goes to the first by name (IPAM never allows it; a transient state must not
  flap the route); a CIDR that overlaps this node's own is never routed away.
- Every route atoll writes carries the routing protocol number ``ROUTE_PROTOCOL`` (``ip route
  show proto 212``): that is how it tells its routes from everyone else's, and it never deletes
  a route without it.
- ``RouteSyncer.sync`` converges the kernel to ``desired_routes``: ours that are not wanted
  (a node that went, a changed address) are deleted, wanted ones are written with ``ip route
  replace``. Run after a restart it finds the previous process's routes by their protocol and
  keeps exactly the wanted set. host-gw needs one L2 segment: a node whose address is not on a
  network this host is directly connected to (or is one of this host's own addresses, as a
  hollow fleet's nodes are) gets no route, with one log line, never a kernel call per sync. A
  route the kernel refuses is logged once per distinct error and counted, the others are still
  written, and the sync loop's periodic resync tries again.
- Nothing is written before ``mark_synced`` (the Node list is complete), so a restart never
  deletes a route only because its Node has not been seen yet.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network

from agent import metrics
from agent.drivers.proc import run_command
from agent.network.sync_loop import WatchedInputs
from atoll.user_text import bounded
from atoll.v1 import node_pb2

log = logging.getLogger(__name__)

ROUTE_PROTOCOL = 212  # unassigned in iproute2's rt_protos
IP_TIMEOUT = 10.0


@dataclass(frozen=True, order=True)
class Route:
    destination: IPv4Network
    via: IPv4Address

    def __str__(self) -> str:
        return f"{self.destination} via {self.via}"


def pod_cidr_of(node: node_pb2.Node) -> IPv4Network | None:
    """The node's pod CIDR as an IPv4 network, None when it has none (or not an IPv4 one)."""
    try:
        network = ipaddress.ip_network(node.spec.pod_cidr)
    except ValueError:
        return None
    return network if isinstance(network, IPv4Network) else None


def internal_address(node: node_pb2.Node) -> IPv4Address | None:
    """The node's first InternalIP that is an IPv4 address (the address other nodes route to)."""
    for address in node.status.addresses:
        if address.type == "InternalIP":
            try:
                parsed = ipaddress.ip_address(address.address)
            except ValueError:
                continue
            if isinstance(parsed, IPv4Address):
                return parsed
    return None


def desired_routes(nodes: Iterable[node_pb2.Node], own_name: str) -> set[Route]:
    """The routes this node should hold (see the module docstring)."""
    own_cidr: IPv4Network | None = None
    candidates: list[tuple[str, IPv4Network, IPv4Address]] = []
    for node in nodes:
        cidr = pod_cidr_of(node)
        if node.metadata.name == own_name:
            own_cidr = cidr
            continue
        via = internal_address(node)
        if cidr is not None and via is not None:
            candidates.append((node.metadata.name, cidr, via))
    routes: dict[IPv4Network, Route] = {}
    for _, cidr, via in sorted(candidates):
        if own_cidr is not None and cidr.overlaps(own_cidr):
            continue
        routes.setdefault(cidr, Route(cidr, via))
    return set(routes.values())


@dataclass(frozen=True)
class Links:
    """This host's IPv4 addresses and the networks they are on (``ip addr``)."""

    addresses: frozenset[IPv4Address]
    networks: frozenset[IPv4Network]

    def reaches(self, via: IPv4Address) -> bool:
        """True when ``via`` is another host on a directly connected network."""
        return via not in self.addresses and any(via in network for network in self.networks)


class RouteError(RuntimeError):
    """``ip`` could not be run or refused a change; the message is its own error line."""


class RouteTable:
    """The kernel's main routing table, as far as routes of ``protocol`` go, through iproute2.
    ``argv``: the command prefix (``("ip", "netns", "exec", NS, "ip")`` in tests)."""

    def __init__(self, argv: Sequence[str] = ("ip",), protocol: int = ROUTE_PROTOCOL) -> None:
        self.argv = tuple(argv)
        self.protocol = protocol

    async def current(self) -> set[Route]:
        """Every IPv4 route of our protocol with a gateway (the only kind atoll writes)."""
        listed = json.loads(await self._ip("-j", "-4", "route", "show", "proto", str(self.protocol)) or "[]")
        routes = set()
        for entry in listed:
            try:
                destination = ipaddress.ip_network(entry["dst"])
                via = ipaddress.ip_address(entry["gateway"])
            except (KeyError, ValueError):
                continue
            if isinstance(destination, IPv4Network) and isinstance(via, IPv4Address):
                routes.add(Route(destination, via))
        return routes

    async def links(self) -> Links:
        listed = json.loads(await self._ip("-j", "-4", "addr", "show") or "[]")
        interfaces = []
        for link in listed:
            for info in link.get("addr_info", ()):
                try:
                    interfaces.append(ipaddress.ip_interface(f"{info['local']}/{info['prefixlen']}"))
                except (KeyError, ValueError):
                    continue
        v4 = [interface for interface in interfaces if isinstance(interface, ipaddress.IPv4Interface)]
        return Links(frozenset(i.ip for i in v4), frozenset(i.network for i in v4 if not i.ip.is_loopback))

    async def replace(self, route: Route) -> None:
        await self._ip("route", "replace", str(route.destination), "via", str(route.via),
                       "proto", str(self.protocol))

    async def delete(self, route: Route) -> None:
        await self._ip("route", "del", str(route.destination), "via", str(route.via), "proto", str(self.protocol))

    async def _ip(self, *args: str) -> str:
        argv = (*self.argv, *args)
        try:
            done = await run_command(argv, timeout=IP_TIMEOUT)
        except (OSError, TimeoutError) as err:
            raise RouteError(f"{argv[0]}: {err}") from None
        if done.returncode != 0:
            raise RouteError(bounded(done.error_line))
        return done.stdout


class RouteSyncer(WatchedInputs):
    """Keeps the kernel's atoll routes equal to ``desired_routes`` of the Nodes it is told about."""

    def __init__(self, table: RouteTable, node_name: str) -> None:
        super().__init__()
        self.table = table
        self.node_name = node_name
        self._nodes: dict[str, node_pb2.Node] = {}
        self._reported: dict[Route, str] = {}  # the last error logged per route

    def update_node(self, node: node_pb2.Node) -> None:
        self._nodes[node.metadata.name] = node
        self.on_change()

    def remove_node(self, name: str) -> None:
        if self._nodes.pop(name, None) is not None:
            self.on_change()

    def wanted(self) -> set[Route]:
        return desired_routes(self._nodes.values(), self.node_name)

    async def sync(self) -> None:
        """Converge the kernel to ``wanted()`` (see the module docstring)."""
        if not self.synced:
            return
        links = await self.table.links()
        desired, wanted = self.wanted(), set()
        for route in desired:
            if links.reaches(route.via):
                wanted.add(route)
            else:
                self._report(route, f"{route.via} is not on a directly connected network", "add", logging.INFO)
        current = await self.table.current()
        for route in sorted(current - wanted):
            await self._change(route, self.table.delete, "delete")
        for route in sorted(wanted - current):
            await self._change(route, self.table.replace, "add")
        for route in set(self._reported) - desired:
            del self._reported[route]

    async def _change(self, route: Route, change: Callable[[Route], Awaitable[None]], verb: str) -> None:
        try:
            await change(route)
        except RouteError as err:
            metrics.ROUTE_SYNC_FAILURES.inc()
            self._report(route, str(err), verb, logging.WARNING)
            return
        self._reported.pop(route, None)
        log.info("node %s: %s route %s", self.node_name, "deleted" if verb == "delete" else "added", route)

    def _report(self, route: Route, problem: str, verb: str, level: int) -> None:
        """Log ``problem`` unless it is what was last logged for ``route``."""
        if self._reported.get(route) != problem:
            self._reported[route] = problem
            log.log(level, "node %s: cannot %s route %s: %s", self.node_name, verb, route, problem)
