"""A real node's kernel programming from watched objects: host-gw routes to every other node's
pod CIDR (``routes``) and the Service table (``proxy``), each through a coalescing sync loop.

Only real agents run it (``atoll-agent --real``, ``atoll up --real``): simulated and hollow nodes
have no kernel objects. It watches every Node, Service and Endpoints (the node authorizer lets
a node read them, as Kubernetes' lets kubelet and kube-proxy) besides the agent's own watches;
nothing is written before each watch has listed once, so a restart converges to the same routes
and rules without a gap.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from agent.informer import follow
from agent.network.cni.conflist import DEFAULT_BRIDGE
from agent.network.proxy.nft import Nft
from agent.network.proxy.objects import service_ports
from agent.network.proxy.proxier import RESYNC_INTERVAL, Proxier
from agent.network.routes import RouteSyncer, RouteTable, pod_cidr_of
from agent.network.sync_loop import CoalescingSync
from atoll import kinds
from atoll.client import Client
from atoll.clock import Clock
from atoll.v1 import api_pb2, service_pb2
from atoll.watch_events import DELETED

# The kinds whose first complete list the Service table waits for.
PROXY_KINDS = frozenset({"Node", "Service", "Endpoints"})


@dataclass(frozen=True)
class NodeNetworkConfig:
    """``nft`` and ``ip``: command prefixes (tests prefix ``ip netns exec NS``).
    ``proxy_min_interval``: seconds between the starts of two Service table transactions (bursts
    of changes in between coalesce into one). ``route_resync_interval`` and
    ``proxy_resync_interval``: seconds between convergence passes without any change.
    ``remove_on_stop``: when the agent stops, remove the table, the routes and the node bridge
    ``bridge`` if unused (agent/network/teardown.py; ``atoll up --real``, whose node goes away
    with its cluster); False keeps them, as a restarting ``atoll-agent`` wants."""

    nft: Sequence[str] = ("nft",)
    ip: Sequence[str] = ("ip",)
    remove_on_stop: bool = False
    bridge: str = DEFAULT_BRIDGE
    proxy_min_interval: float = 0.05
    route_resync_interval: float = 30.0
    proxy_resync_interval: float = RESYNC_INTERVAL


class NodeNetwork:
    def __init__(self, client: Client, node_name: str, clock: Clock, config: NodeNetworkConfig) -> None:
        self.client = client
        self.node_name = node_name
        self.proxier = Proxier(Nft(config.nft), clock, resync_interval=config.proxy_resync_interval)
        self.routes = RouteSyncer(RouteTable(config.ip), node_name)
        self.proxy_loop = CoalescingSync("service proxy", self.proxier.sync, clock,
                                         min_interval=config.proxy_min_interval,
                                         resync_interval=config.proxy_resync_interval)
        self.route_loop = CoalescingSync("routes", self.routes.sync, clock,
                                         resync_interval=config.route_resync_interval)
        self.proxier.on_change = self.proxy_loop.request
        self.routes.on_change = self.route_loop.request
        self._listed: set[str] = set()
        self._services: dict[tuple[str, str], service_pb2.Service] = {}
        self._endpoints: dict[tuple[str, str], service_pb2.Endpoints] = {}

    def start(self) -> list[asyncio.Task[None]]:
        """The watches and the two sync loops, as tasks the caller cancels to stop (the kernel
        state stays: traffic keeps flowing while the agent restarts)."""
        return [
            *(asyncio.create_task(follow(self.client, kind, "", self.dispatch, self.synced), name=f"network-{kind}")
              for kind in sorted(PROXY_KINDS)),
            asyncio.create_task(self.route_loop.run(), name="network-routes"),
            asyncio.create_task(self.proxy_loop.run(), name="network-proxy"),
        ]

    def dispatch(self, kind: str, event: api_pb2.WatchEvent) -> None:
        message = kinds.unwrap(event.object)
        if kind == "Node":
            name = message.metadata.name
            if event.type == DELETED:
                self.routes.remove_node(name)
            else:
                self.routes.update_node(message)
            if name == self.node_name:
                self.proxier.set_pod_cidr(None if event.type == DELETED else pod_cidr_of(message))
            return
        key = (message.metadata.namespace, message.metadata.name)
        known = self._services if kind == "Service" else self._endpoints
        if event.type == DELETED:
            known.pop(key, None)
        else:
            known[key] = message
        service = self._services.get(key)
        self.proxier.update(*key, service_ports(service, self._endpoints.get(key)) if service is not None else ())

    def synced(self, kind: str) -> None:
        self._listed.add(kind)
        if kind == "Node":
            self.routes.mark_synced()
        if self._listed >= PROXY_KINDS:
            self.proxier.mark_synced()
