"""ServiceIPRepair: keeps the address keys (records.py) equal to what the stored Services hold, so
the allocation is derived from the Services whatever happened (Kubernetes' ClusterIP repair loop).

- A Service's deletion (by any path: delete, the last finalizer removed, its namespace deleted,
  another API server) frees its address: the repair follows Service deletions through the
  watch cache and releases the address while it still names that Service's uid.
- When it starts and every ``interval`` seconds it compares both sides at one store revision:
  a stored Service whose address has no key gets it back (a store restored from a snapshot, a
  release that raced); a key whose Service is gone is deleted once it is older than ``grace``
  (younger ones may be creates in flight on another API server), at the revision read.
- Several API servers may run it at once: every write is conditional, so they agree.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

from atoll import kinds
from atoll.cidrs import is_ip
from atoll.clock import Clock
from atoll.v1 import service_pb2
from controller.apiserver import codec
from controller.apiserver.service_ips.allocator import ServiceIPAllocator
from controller.apiserver.service_ips.records import KEY_PREFIX, IPRecord, Owner, ip_key, ip_of_key
from controller.apiserver.watch_cache import WatchCache
from controller.store.protocol import ConflictError, KeyExistsError, KeyNotFoundError, KeyValue, Store

log = logging.getLogger(__name__)

SERVICE = kinds.by_name("Service")
DEFAULT_REPAIR_INTERVAL = 180.0
DEFAULT_ORPHAN_GRACE = 60.0
_PAGE = 1000


@dataclass
class RepairOutcome:
    """What one repair pass found and did, at store revision ``revision``."""

    revision: int
    restored: int = 0
    freed: int = 0
    # Addresses two stored Services claim: only possible with data written around the API server.
    conflicts: int = 0


class ServiceIPRepair:
    """Call ``run()`` as a task; ``repair`` and ``release_deleted`` are its steps (tests drive them)."""

    def __init__(
        self,
        store: Store,
        cache: WatchCache,
        allocator: ServiceIPAllocator,
        clock: Clock,
        *,
        interval: float = DEFAULT_REPAIR_INTERVAL,
        grace: float = DEFAULT_ORPHAN_GRACE,
    ) -> None:
        self._store = store
        self._cache = cache
        self._allocator = allocator
        self._clock = clock
        self._interval = interval
        self._grace = grace

    async def run(self) -> None:
        """Repairs, then follows Service deletions and repairs every interval, until cancelled.
        A lost watch (the cache restarted, the store failed) starts it over."""
        while True:
            try:
                await self._follow()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("cluster IP repair lost its watch; starting over")
                await asyncio.sleep(1.0)

    async def _follow(self) -> None:
        revision = (await self.repair()).revision
        due = self._clock.now() + self._interval
        async with self._cache.subscribe(SERVICE, SERVICE.prefix(""), revision) as subscription:
            while True:
                batch = await subscription.next_batch(max(0.0, due - self._clock.now()))
                for event in batch:
                    if event.deleted:
                        await self.release_deleted(event.new)
                if self._clock.now() >= due:
                    await self.repair()
                    due = self._clock.now() + self._interval

    async def release_deleted(self, service: service_pb2.Service) -> bool:
        """Frees the address of a deleted Service; returns whether a key was deleted."""
        ip, uid = service.spec.cluster_ip, service.metadata.uid
        if not is_ip(ip, v4_only=True):
            return False
        return await self._allocator.release(ip, uid)

    async def repair(self) -> RepairOutcome:
        """One comparison of Services and address keys at one revision (see the module docstring)."""
        revision = await self._store.current_revision()
        holders: dict[str, Owner] = {}
        result = RepairOutcome(revision)
        async for kv in self._pages(SERVICE.prefix(""), revision):
            service = codec.decode(SERVICE, kv.value, kv.mod_revision)
            ip = service.spec.cluster_ip
            if not is_ip(ip, v4_only=True):
                continue
            owner = Owner(service.metadata.namespace, service.metadata.name, service.metadata.uid)
            if ip in holders:
                result.conflicts += 1
                log.warning("cluster IP %s is held by both %s and %s", ip, holders[ip], owner)
                continue
            holders[ip] = owner
        records: dict[str, tuple[IPRecord | None, int]] = {}
        async for kv in self._pages(KEY_PREFIX, revision):
            records[ip_of_key(kv.key)] = (IPRecord.decode(kv.value), kv.mod_revision)
        now = self._clock.now()
        for ip, owner in holders.items():
            if ip not in records:
                result.restored += await self._restore(ip, owner, now)
        for ip, (record, key_revision) in records.items():
            if ip in holders:
                continue
            if record is not None and now - record.reserved_at < self._grace:
                continue  # maybe a create in flight elsewhere: judged at a later pass
            result.freed += await self._free(ip, key_revision)
        await self._allocator.load()
        if result.restored or result.freed:
            log.info("cluster IP repair: %d restored, %d freed", result.restored, result.freed)
        return result

    async def _restore(self, ip: str, owner: Owner, now: float) -> int:
        try:
            await self._store.create(ip_key(ip), IPRecord(owner, now).encode())
        except KeyExistsError:
            return 0  # taken meanwhile (by its owner's own release-and-recreate race or a peer's repair)
        return 1

    async def _free(self, ip: str, key_revision: int) -> int:
        try:
            await self._store.delete(ip_key(ip), expected_revision=key_revision)
        except (ConflictError, KeyNotFoundError):
            return 0
        return 1

    async def _pages(self, prefix: str, revision: int) -> AsyncIterator[KeyValue]:
        start_after: str | None = None
        while True:
            page = await self._store.range(prefix, start_after=start_after, limit=_PAGE, revision=revision)
            for kv in page.items:
                yield kv
            if not page.more:
                return
            start_after = page.items[-1].key
