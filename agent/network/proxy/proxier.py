"""The proxier: keeps atoll's nftables table equal to what the Service and Endpoints objects say.

Contracts:
- Inputs are level-based: ``update(namespace, name, ports)`` replaces everything known about one
  Service (its ports with their endpoints; an empty tuple or ``remove`` forgets it);
  ``set_pod_cidr`` tells it this node's pod CIDR. Each input only requests a sync
  (``agent.network.sync_loop``: bursts coalesce into few transactions).
- Nothing is programmed before ``mark_synced`` (both watches listed once): a restarted agent never
  programs a partial table that would cut traffic to Services it has not seen yet.
- ``sync`` renders the whole table (``ruleset.render``) and applies it in one ``nft -f``
  transaction when the text differs from the last one applied by this process, when no
  transaction succeeded yet (a new process always applies once: that removes whatever stale
  rules an earlier process left), or when the last one is ``resync_interval`` old (that repairs a
  table someone else changed or deleted behind the agent's back). A failed transaction raises
  NftError and changes nothing in the kernel; the sync loop retries it.
"""

from __future__ import annotations

import logging
import time
from ipaddress import IPv4Network

from agent import metrics
from agent.network.proxy.model import ServicePort
from agent.network.proxy.nft import Nft
from agent.network.proxy.ruleset import render
from agent.network.sync_loop import WatchedInputs
from atoll.clock import Clock

log = logging.getLogger(__name__)

ServiceName = tuple[str, str]  # namespace, name
RESYNC_INTERVAL = 300.0  # seconds between re-applications of an unchanged table


class Proxier(WatchedInputs):
    def __init__(self, nft: Nft, clock: Clock, *, resync_interval: float = RESYNC_INTERVAL) -> None:
        super().__init__()
        self.nft = nft
        self._clock = clock
        self.resync_interval = resync_interval
        self._applied_at = 0.0
        self._ports: dict[ServiceName, tuple[ServicePort, ...]] = {}
        self._pod_cidr: IPv4Network | None = None
        self._applied: str | None = None
        self.transactions = 0  # successful nft transactions of this process

    def update(self, namespace: str, name: str, ports: tuple[ServicePort, ...]) -> None:
        """What Service ``namespace/name`` now asks for (empty: nothing)."""
        key = (namespace, name)
        if ports:
            self._ports[key] = ports
        elif self._ports.pop(key, None) is None:
            return
        self.on_change()

    def remove(self, namespace: str, name: str) -> None:
        self.update(namespace, name, ())

    def set_pod_cidr(self, cidr: IPv4Network | None) -> None:
        if cidr != self._pod_cidr:
            self._pod_cidr = cidr
            self.on_change()

    @property
    def pod_cidr(self) -> IPv4Network | None:
        return self._pod_cidr

    def ruleset(self) -> str:
        """The transaction the current inputs render to."""
        return render((port for ports in self._ports.values() for port in ports), self._pod_cidr)

    async def sync(self) -> None:
        """Apply the current inputs if they differ from what this process last applied (see module)."""
        if not self.synced:
            return
        text = self.ruleset()
        if text == self._applied and self._clock.now() - self._applied_at < self.resync_interval:
            return
        started = time.perf_counter()
        try:
            await self.nft.apply(text)
        except Exception:
            metrics.PROXY_SYNC_FAILURES.inc()
            raise
        metrics.PROXY_SYNC_DURATION.observe(time.perf_counter() - started)
        self._applied, self._applied_at = text, self._clock.now()
        self.transactions += 1
        ports = [port for ports in self._ports.values() for port in ports]
        log.info("Service table programmed: %d service ports, %d endpoints, %.0f ms", len(ports),
                 sum(len(port.endpoints) for port in ports), (time.perf_counter() - started) * 1000)
