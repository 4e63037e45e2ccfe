"""ServiceIPAllocator: one cluster IP per Service from the service CIDR, as kube-apiserver's
allocator hands them out.

Contracts:
- ``reserve`` creates the address's key (records.py) before the Service is written; the store's
  create-if-absent is the only arbiter, so two Services never hold one address, whichever API
  server (on one store) or task asks. A requested address is honoured if it is inside the range
  and free; otherwise one line says why (InvalidError). No free address: ForbiddenStateError.
- The caller ``cancel``s a reservation whose Service was not written. A reservation left behind
  by a crash in between is an orphan that repair.py frees.
- ``release`` deletes an address's key only while it still names the given owner (uid) and at
  the revision read, so a late release never frees an address someone else took meanwhile.
- What is taken in memory (``_taken``) is a hint for picking candidates: a stale entry costs a
  refresh from the store when the range looks full, a missing one a failed create and a retry.
- The network and broadcast addresses of the range are never handed out.
"""

from __future__ import annotations

import ipaddress
import random

from atoll.clock import Clock
from controller.apiserver.errors import ForbiddenStateError, InvalidError
from controller.apiserver.service_ips.records import KEY_PREFIX, IPRecord, Owner, ip_key, ip_of_key
from controller.store.protocol import ConflictError, KeyExistsError, KeyNotFoundError, Store

# Random candidates tried before a scan of the range for a free one.
_RANDOM_TRIES = 32
_LOAD_PAGE = 1000


class ServiceIPAllocator:
    """Hands out addresses of ``network`` (an IPv4 range of at least 4 addresses)."""

    def __init__(self, store: Store, network: ipaddress.IPv4Network, clock: Clock, *, seed: int | None = None) -> None:
        if network.num_addresses < 4:
            raise ValueError(f"service CIDR {network} is too small: it needs at least 4 addresses")
        self._store = store
        self.network = network
        self._clock = clock
        self._first = int(network.network_address) + 1
        self._size = network.num_addresses - 2
        self._taken: set[int] = set()  # offsets from _first
        self._random = random.Random(seed)

    @property
    def size(self) -> int:
        """How many addresses the range hands out."""
        return self._size

    def contains(self, ip: str) -> bool:
        """Whether ``ip`` is an address this range hands out."""
        return self._offset(ip) is not None

    async def load(self) -> int:
        """Learns every address taken in the store; returns how many."""
        taken: set[int] = set()
        start_after: str | None = None
        revision: int | None = None
        while True:
            page = await self._store.range(KEY_PREFIX, start_after=start_after, limit=_LOAD_PAGE, revision=revision)
            revision = page.revision
            for kv in page.items:
                offset = self._offset(ip_of_key(kv.key))
                if offset is not None:
                    taken.add(offset)
            if not page.more:
                break
            start_after = page.items[-1].key
        self._taken = taken
        return len(taken)

    async def reserve(self, owner: Owner, requested: str = "") -> str:
        """Takes ``requested`` (an IPv4 address) or, when empty, a free address for ``owner``;
        returns it."""
        if requested:
            return await self._reserve_requested(owner, requested)
        refreshed = False
        while True:
            offset = self._free_offset()
            if offset is None:
                if refreshed:
                    raise ForbiddenStateError(
                        f"spec.clusterIP: no address left in the service CIDR {self.network} "
                        f"({self._size} addresses, all allocated); delete Services or use a larger --service-cidr"
                    )
                await self.load()  # addresses other API servers freed are only seen in the store
                refreshed = True
                continue
            ip = str(ipaddress.IPv4Address(self._first + offset))
            if await self._create(ip, offset, owner):
                return ip

    async def cancel(self, ip: str, owner: Owner) -> None:
        """Gives back an address ``reserve`` took for a Service that was not written."""
        await self.release(ip, owner.uid)

    async def release(self, ip: str, uid: str) -> bool:
        """Frees ``ip`` if it is still held by the Service with ``uid``; returns whether it did."""
        key = ip_key(ip)
        kv = await self._store.get(key)
        if kv is None:
            self._forget(ip)
            return False
        record = IPRecord.decode(kv.value)
        if record is not None and record.owner.uid != uid:
            return False
        try:
            await self._store.delete(key, expected_revision=kv.mod_revision)
        except (ConflictError, KeyNotFoundError):
            return False
        self._forget(ip)
        return True

    async def _reserve_requested(self, owner: Owner, requested: str) -> str:
        offset = self._offset(requested)
        if offset is None:
            raise InvalidError(
                f"spec.clusterIP: {requested} is not an address of the service CIDR {self.network} "
                "(--service-cidr; its network and broadcast addresses are not used); leave it empty to get one"
            )
        ip = str(ipaddress.IPv4Address(self._first + offset))
        if await self._create(ip, offset, owner):
            return ip
        holder = await self._holder(ip)
        held_by = f" by {holder}" if holder else ""
        raise InvalidError(f"spec.clusterIP: {ip} is already allocated{held_by}; leave it empty to get a free one")

    async def _create(self, ip: str, offset: int, owner: Owner) -> bool:
        """Creates the address's key; False when it exists (then it is known taken)."""
        self._taken.add(offset)
        record = IPRecord(owner, self._clock.now())
        try:
            await self._store.create(ip_key(ip), record.encode())
        except KeyExistsError:
            return False
        except BaseException:
            self._taken.discard(offset)
            raise
        return True

    async def _holder(self, ip: str) -> str:
        kv = await self._store.get(ip_key(ip))
        record = IPRecord.decode(kv.value) if kv is not None else None
        return str(record.owner) if record is not None else ""

    def _free_offset(self) -> int | None:
        """An offset not known taken: random ones first, then a scan from a random start."""
        if len(self._taken) >= self._size:
            return None
        for _ in range(_RANDOM_TRIES):
            offset = self._random.randrange(self._size)
            if offset not in self._taken:
                return offset
        start = self._random.randrange(self._size)
        for step in range(self._size):
            offset = (start + step) % self._size
            if offset not in self._taken:
                return offset
        return None

    def _offset(self, ip: str) -> int | None:
        try:
            address = ipaddress.IPv4Address(ip)
        except ValueError:
            return None
        offset = int(address) - self._first
        return offset if 0 <= offset < self._size else None

    def _forget(self, ip: str) -> None:
        offset = self._offset(ip)
        if offset is not None:
            self._taken.discard(offset)
