"""The Store on a real etcd cluster (etcd v3 API through aetcd), for users who outgrow one machine.

Mapping (revisions are etcd's own, so they match the protocol: a fresh etcd is at revision 1):
  create  txn  if create_revision(key) == 0 then put
  update  txn  if key exists [and mod_revision(key) == expected] then put   else get (why it failed)
  delete  txn  same compare, then delete
  range   Range sorted ascending by key, with limit, revision, start key start_after + "\\0"
  watch   one Watch stream at a time per call, prev_kv, require-leader, progress checks (watch.py);
          a stream that fails moves to the next endpoint and resumes after the last event it gave
  compact Compact(physical)

Endpoints are tried in order; the first that answers is used. When a call finds the endpoint
unavailable it raises StoreUnavailableError and the next call reconnects, trying the following
endpoints first. A watch does not surface a lost member: it reconnects the same way and resumes
from the revision of the last event it yielded (no event lost or repeated), and raises
StoreUnavailableError only when no endpoint takes the watch (CompactedError when the resume point
was compacted meanwhile: the caller relists). Use a store from the event loop that connected it
(gRPC channels are bound to it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

import grpc

from controller.store.etcd import rpc as ops
from controller.store.etcd.rpc import aetcd, rpc
from controller.store.etcd.watch import PROGRESS_INTERVAL_SECONDS, watch_prefix
from controller.store.keys import decode_key, encode_key, range_start, validate_limit
from controller.store.protocol import (
    CompactedError,
    ConflictError,
    KeyExistsError,
    KeyNotFoundError,
    KeyValue,
    RangeResult,
    StoreError,
    StoreUnavailableError,
    WatchEvent,
)
from controller.store.revisions import FutureRevisionError, validate_read_revision

log = logging.getLogger(__name__)

CALL_TIMEOUT_SECONDS = 10.0
PROBE_TIMEOUT_SECONDS = 3.0
_COMPACTED = "required revision has been compacted"
_FUTURE = "required revision is a future revision"
# Keepalive pings find a member that vanished without closing the connection (host down, cable cut).
CHANNEL_OPTIONS = {"grpc.keepalive_time_ms": 10_000, "grpc.keepalive_timeout_ms": 5_000}


@dataclass
class _Connection:
    endpoint: str
    client: Any  # aetcd.Client

    @property
    def kv(self) -> Any:
        return self.client.kvstub

    @property
    def metadata(self) -> Any:
        return self.client.metadata


class EtcdStore:
    """Store protocol implementation on etcd (see controller.store.protocol).

    ``endpoints`` are "host:port" strings. Call ``await connect()`` (open_store does) to fail fast
    when no endpoint answers; otherwise the first call connects.
    """

    def __init__(
        self,
        endpoints: Sequence[str],
        *,
        call_timeout: float = CALL_TIMEOUT_SECONDS,
        progress_interval: float = PROGRESS_INTERVAL_SECONDS,
    ) -> None:
        """``progress_interval``: how often a quiet watch asks its member for progress; a member
        that does not answer within about twice that is abandoned for the next one."""
        if not endpoints:
            raise ValueError("EtcdStore needs at least one endpoint")
        self.endpoints = list(endpoints)
        self._call_timeout = call_timeout
        self._progress_interval = progress_interval
        self._connection: _Connection | None = None
        self._next_endpoint = 0
        self._closed = False

    async def connect(self) -> None:
        """Connects to the first endpoint that answers; StoreUnavailableError if none does."""
        await self._connected()

    async def create(self, key: str, value: bytes) -> int:
        raw = encode_key(key)
        reply = await self._kv(
            "Txn", rpc.TxnRequest(compare=[ops.key_absent(raw)], success=[ops.put_op(raw, value)])
        )
        if not reply.succeeded:
            raise KeyExistsError(f"key {key!r} already exists")
        return int(reply.header.revision)

    async def update(self, key: str, value: bytes, expected_revision: int | None = None) -> int:
        raw = encode_key(key)
        return await self._conditional_write(key, ops.put_op(raw, value), expected_revision)

    async def delete(self, key: str, expected_revision: int | None = None) -> int:
        return await self._conditional_write(key, ops.delete_op(encode_key(key)), expected_revision)

    async def get(self, key: str) -> KeyValue | None:
        reply = await self._kv("Range", rpc.RangeRequest(key=encode_key(key)))
        return _to_key_value(reply.kvs[0]) if reply.kvs else None

    async def range(
        self,
        prefix: str,
        *,
        start_after: str | None = None,
        limit: int | None = None,
        revision: int | None = None,
    ) -> RangeResult:
        validate_limit(limit)
        validate_read_revision(revision)
        _, range_end = ops.key_range(prefix)
        request = rpc.RangeRequest(
            key=encode_key(range_start(prefix, start_after)) or b"\0",
            range_end=range_end,
            limit=limit or 0,
            revision=revision or 0,
            sort_order=rpc.RangeRequest.ASCEND,
            sort_target=rpc.RangeRequest.KEY,
        )
        try:
            reply = await self._kv("Range", request)
        except grpc.aio.AioRpcError as error:
            raise await self._revision_error(error, revision or 0) from None
        items = [_to_key_value(kv) for kv in reply.kvs]
        at = revision if revision is not None else int(reply.header.revision)
        return RangeResult(items, at, bool(reply.more))

    async def watch(self, prefix: str, after_revision: int) -> AsyncIterator[WatchEvent]:
        last = after_revision
        failures = 0
        while True:
            connection = await self._connected()
            events = watch_prefix(
                connection.client.channel,
                connection.metadata,
                prefix,
                last,
                progress_interval=self._progress_interval,
                progress_timeout=self._progress_interval,
            )
            try:
                async with contextlib.aclosing(events):
                    async for event in events:
                        failures = 0
                        last = event.kv.mod_revision
                        yield event
            except StoreUnavailableError as error:
                failures += 1
                if failures >= len(self.endpoints):
                    raise
                log.warning(
                    "etcd watch on %s lost (%s); resuming after revision %d elsewhere", connection.endpoint, error, last
                )
                await self._abandon(connection)

    async def current_revision(self) -> int:
        reply = await self._kv("Range", rpc.RangeRequest(key=b"\0", count_only=True))
        return int(reply.header.revision)

    async def compact(self, revision: int) -> None:
        try:
            await self._kv("Compact", rpc.CompactionRequest(revision=revision, physical=True))
        except grpc.aio.AioRpcError as error:
            translated = await self._revision_error(error, revision)
            if isinstance(translated, CompactedError):
                return  # already compacted at or past ``revision``: nothing to do
            raise translated from None

    async def snapshot(self, out: BinaryIO) -> int:
        """Streams etcd's own snapshot of the member this store is connected to into ``out``
        (Maintenance.Snapshot: a bbolt file with etcd's checksum at its end; ``etcdctl snapshot
        restore`` reads it); returns the bytes written. StoreUnavailableError when it breaks off."""
        connection = await self._connected()
        written = 0
        try:
            stream = connection.client.maintenancestub.Snapshot(rpc.SnapshotRequest(), metadata=connection.metadata)
            async for chunk in stream:
                out.write(chunk.blob)
                written += len(chunk.blob)
        except grpc.aio.AioRpcError as error:
            raise StoreUnavailableError(f"etcd snapshot from {connection.endpoint} failed: {error.details()}") from None
        return written

    async def close(self) -> None:
        self._closed = True
        await self._disconnect()

    async def _conditional_write(self, key: str, operation: Any, expected_revision: int | None) -> int:
        raw = encode_key(key)
        compare = [ops.key_exists(raw)]
        if expected_revision is not None:
            compare.append(ops.mod_revision_is(raw, expected_revision))
        request = rpc.TxnRequest(compare=compare, success=[operation], failure=[ops.get_op(raw)])
        reply = await self._kv("Txn", request)
        if reply.succeeded:
            return int(reply.header.revision)
        found = reply.responses[0].response_range.kvs
        if not found:
            raise KeyNotFoundError(f"key {key!r} not found")
        raise ConflictError(
            f"key {key!r} is at revision {found[0].mod_revision}, expected {expected_revision}"
        )

    async def _kv(self, method: str, request: Any) -> Any:
        """One unary KV call. UNAVAILABLE/DEADLINE become StoreUnavailableError (and a reconnect on
        the next call); OUT_OF_RANGE (revision errors) is re-raised for the caller to translate;
        anything else becomes a StoreError carrying etcd's message."""
        connection = await self._connected()
        try:
            return await getattr(connection.kv, method)(
                request, timeout=self._call_timeout, metadata=connection.metadata
            )
        except grpc.aio.AioRpcError as error:
            if error.code() == grpc.StatusCode.OUT_OF_RANGE:
                raise
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                await self._abandon(connection)
                message = f"etcd at {connection.endpoint} is unavailable: {error.details()}"
                raise StoreUnavailableError(message) from None
            raise StoreError(f"etcd at {connection.endpoint} refused {method}: {error.details()}") from None

    async def _revision_error(self, error: grpc.aio.AioRpcError, requested: int) -> Exception:
        details = error.details() or ""
        if _COMPACTED in details:
            return CompactedError(requested, await self._compaction_point(requested))
        if _FUTURE in details:
            return FutureRevisionError(requested, await self.current_revision())
        return StoreError(f"etcd refused the request: {details}")

    async def _compaction_point(self, requested: int) -> int:
        """etcd has no call that reports the compaction point, but refuses a watch from revision 1
        on a compacted store with it. Falls back to ``requested + 1`` if that does not happen."""
        connection = await self._connected()
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_SECONDS):
                events = watch_prefix(connection.client.channel, connection.metadata, "", 0)
                async with contextlib.aclosing(events):
                    async for _ in events:
                        break
        except CompactedError as error:
            return error.compacted
        except (TimeoutError, StoreUnavailableError):
            pass
        return requested + 1

    async def _connected(self) -> _Connection:
        if self._closed:
            raise StoreUnavailableError("etcd store is closed")
        if self._connection is not None:
            return self._connection
        failures: list[str] = []
        for offset in range(len(self.endpoints)):
            index = (self._next_endpoint + offset) % len(self.endpoints)
            endpoint = self.endpoints[index]
            host, _, port = endpoint.rpartition(":")
            client = aetcd.Client(
                host=host, port=int(port), timeout=int(CALL_TIMEOUT_SECONDS), options=CHANNEL_OPTIONS
            )
            try:
                await client.connect()
                await client.kvstub.Range(
                    rpc.RangeRequest(key=b"\0", count_only=True), timeout=PROBE_TIMEOUT_SECONDS
                )
            except (grpc.aio.AioRpcError, aetcd.ClientError) as error:
                await client.close()
                details = error.details() if isinstance(error, grpc.aio.AioRpcError) else str(error)
                failures.append(f"{endpoint} ({details})")
                continue
            self._connection = _Connection(endpoint, client)
            self._next_endpoint = (index + 1) % len(self.endpoints)
            return self._connection
        raise StoreUnavailableError(f"no etcd endpoint answered: {'; '.join(failures)}")

    async def _abandon(self, connection: _Connection) -> None:
        """Drops ``connection`` if it is still the current one (another call may have replaced it)."""
        if self._connection is connection:
            await self._disconnect()

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.client.close()


def _to_key_value(kv: Any) -> KeyValue:
    return KeyValue(decode_key(kv.key), bytes(kv.value), int(kv.create_revision), int(kv.mod_revision))
