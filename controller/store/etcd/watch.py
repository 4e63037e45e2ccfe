"""One etcd watch stream turned into Store.watch events, with liveness checks.

The stream starts AT ``after_revision`` (not after it) so that etcd itself reports a compaction
exactly when ``after_revision`` is below the compaction point, as the protocol requires; the event
at ``after_revision`` itself is skipped. Each call opens its own gRPC stream.

A stream that goes quiet can mean "no writes" or "this member is gone"; two checks tell them apart
without waiting for a write:

- require-leader (the ``hasleader`` metadata, etcd's ``WithRequireLeader``): a member that loses
  its leader (cut off from the quorum) cancels the stream, within a few election timeouts;
- progress requests: every ``progress_interval`` seconds the stream asks for a progress
  notification; when nothing at all arrives for ``progress_interval + progress_timeout`` seconds
  the member (or the path to it) is taken for dead.

Either ends the stream with StoreUnavailableError; EtcdStore.watch then resumes on another member.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import grpc

from controller.store.etcd.rpc import key_range, rpc
from controller.store.keys import decode_key
from controller.store.protocol import (
    CompactedError,
    EventType,
    KeyValue,
    StoreUnavailableError,
    WatchEvent,
)

PROGRESS_INTERVAL_SECONDS = 5.0
PROGRESS_TIMEOUT_SECONDS = 5.0
REQUIRE_LEADER = ("hasleader", "true")


def require_leader(metadata: Any) -> tuple[tuple[str, str], ...]:
    """``metadata`` (aetcd's, None without auth) plus etcd's require-leader marker."""
    return (*(metadata or ()), REQUIRE_LEADER)


async def watch_prefix(
    channel: Any,
    metadata: Any,
    prefix: str,
    after_revision: int,
    *,
    progress_interval: float = PROGRESS_INTERVAL_SECONDS,
    progress_timeout: float = PROGRESS_TIMEOUT_SECONDS,
) -> AsyncGenerator[WatchEvent, None]:
    """Every event on ``prefix`` with revision > ``after_revision``, then live ones.

    Raises CompactedError when ``after_revision`` is compacted, StoreUnavailableError when the
    stream fails, is cancelled by etcd (no leader), or hears nothing within the liveness window.
    """
    key, range_end = key_range(prefix)
    create = rpc.WatchCreateRequest(
        key=key, range_end=range_end, start_revision=max(after_revision, 1), prev_kv=True
    )

    finished = asyncio.Event()

    async def requests() -> AsyncIterator[Any]:
        """The create, then a progress request every interval, until this watch ends (then the
        iterator ends too: no task of gRPC's outlives the call waiting on it)."""
        yield rpc.WatchRequest(create_request=create)
        while not finished.is_set():
            try:
                async with asyncio.timeout(progress_interval):
                    await finished.wait()
            except TimeoutError:
                yield rpc.WatchRequest(progress_request=rpc.WatchProgressRequest())

    call = rpc.WatchStub(channel).Watch(requests(), metadata=require_leader(metadata))
    silence_limit = progress_interval + progress_timeout
    try:
        while True:
            try:  # asyncio.timeout, not wait_for: 3.11's wait_for can swallow our own cancellation
                async with asyncio.timeout(silence_limit):
                    response = await call.read()
            except TimeoutError:
                raise StoreUnavailableError(
                    f"etcd watch on {prefix!r}: no answer to progress requests for {silence_limit:g} s"
                ) from None
            if response is grpc.aio.EOF:
                raise StoreUnavailableError(f"etcd ended the watch stream on {prefix!r}")
            if response.compact_revision:
                raise CompactedError(after_revision, int(response.compact_revision))
            if response.canceled:
                reason = response.cancel_reason or "no reason given"
                raise StoreUnavailableError(f"etcd cancelled the watch on {prefix!r}: {reason}")
            for event in response.events:
                if event.kv.mod_revision > after_revision:
                    yield _to_watch_event(event)
    except grpc.aio.AioRpcError as error:
        raise StoreUnavailableError(f"etcd watch on {prefix!r} failed: {error.details()}") from None
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # our caller is being cancelled
        # The channel was closed under us (store closed or connection replaced).
        raise StoreUnavailableError(f"etcd watch on {prefix!r} ended: connection closed") from None
    finally:
        finished.set()
        call.cancel()


def _to_watch_event(event: Any) -> WatchEvent:
    key = decode_key(event.kv.key)
    has_prev = event.HasField("prev_kv")
    if event.type == rpc.Event.DELETE:
        # etcd's delete event carries only the key and revision; the value comes from prev_kv.
        deleted = bytes(event.prev_kv.value) if has_prev else b""
        create_revision = int(event.prev_kv.create_revision) if has_prev else 0
        kv = KeyValue(key, deleted, create_revision, int(event.kv.mod_revision))
        return WatchEvent(EventType.DELETE, kv, deleted)
    kv = KeyValue(key, bytes(event.kv.value), int(event.kv.create_revision), int(event.kv.mod_revision))
    return WatchEvent(EventType.PUT, kv, bytes(event.prev_kv.value) if has_prev else None)
