"""The loops one API server runs for the whole cluster (compaction, Event expiry), under a Lease.

Several API servers on one etcd would each compact and expire Events: harmless but duplicated
(kube-apiserver coordinates its compaction through a key in etcd). Here every server campaigns
for the Lease ``atoll-system/atoll-apiserver-singletons`` with the leader election the scheduler
and controllers use (atoll/leaderelection.py); the holder runs the loops, the others wait, and
when the holder dies another takes over after the lease duration. ``atoll get leases -n
atoll-system`` shows which server holds it; atoll_apiserver_singleton_leader says it per server.

The elector writes its Lease through the Registry in-process (``RegistryLeases``), so the Lease
gets the same defaults, validation and revision checks as one written by a client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import cast

from google.protobuf.message import Message

from atoll import kinds, namespaces
from atoll.client import ApiError
from atoll.clock import SystemClock
from atoll.leaderelection import ElectionConfig, LeaderElector
from atoll.ports import Writable
from atoll.v1 import object_pb2
from controller.apiserver.errors import StatusError
from controller.apiserver.metrics import SINGLETON_LEADER
from controller.apiserver.registry import Registry

LEASE_NAME = "atoll-apiserver-singletons"
Loop = Callable[[], Awaitable[None]]


class RegistryLeases:
    """The LeaseApi of atoll/leaderelection.py on a Registry: what a client's get/create/update
    would do, without the network; StatusErrors become ApiErrors as a client would see them."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def get(self, kind: str, name: str, namespace: str = "default") -> object_pb2.Object:
        found = kinds.lookup(kind)
        try:
            stored = await self._registry.read(found, namespace, name)
        except StatusError as err:
            raise ApiError(err.code, err.message) from None
        return found.wrap(stored.message)

    async def create(self, obj: Writable) -> object_pb2.Object:
        return await self._write(obj, update=False)

    async def update(self, obj: Writable) -> object_pb2.Object:
        return await self._write(obj, update=True)

    async def _write(self, obj: Writable, *, update: bool) -> object_pb2.Object:
        envelope = obj if isinstance(obj, object_pb2.Object) else _wrapped(obj)
        found = kinds.lookup(envelope.WhichOneof("kind") or "")
        try:
            written = await (self._registry.update(envelope) if update else self._registry.create(envelope))
        except StatusError as err:
            raise ApiError(err.code, err.message) from None
        return found.wrap(written)


def _wrapped(message: Writable) -> object_pb2.Object:
    found = next(kind for kind in kinds.KINDS if isinstance(message, kind.message))
    return found.wrap(cast(Message, message))


async def run_singletons(registry: Registry, loops: Sequence[Loop], identity: str) -> None:
    """Forever: campaign for the Lease; while holding it run ``loops`` together (all cancelled
    when the Lease is lost). Returns only when cancelled."""
    config = ElectionConfig(LEASE_NAME, namespaces.SYSTEM, identity)

    def noted(leading: bool) -> None:
        SINGLETON_LEADER.set(1 if leading else 0)

    elector = LeaderElector(RegistryLeases(registry), config, SystemClock(), noted)

    async def lead() -> None:
        await asyncio.gather(*(loop() for loop in loops))

    await elector.run(lead)
