"""StatusBatcher: the status writes of every workload an agent runs, in few calls.

Each runner awaits its own write (``write``), as it would a single UpdateStatus; the batcher
sends whatever is waiting in one BatchUpdateStatus call, with at most ``senders`` calls in flight:
at a low rate a status goes out alone at once, under load one round trip carries hundreds (a
hollow fleet starting 1,000 pods a second, or one node starting many pods together). Each
object still succeeds or fails on its own and its writer hears its own outcome.

Against an API server without BatchUpdateStatus (UNIMPLEMENTED: an older version during an
upgrade) it falls back to one UpdateStatus per object, for good.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol

import grpc

from atoll import kinds
from atoll.client import ApiError
from atoll.ports import Writable
from atoll.queues import next_batch
from atoll.tasks import cancel_and_wait
from atoll.v1 import api_pb2, object_pb2

DEFAULT_SENDERS = 2
DEFAULT_BATCH = 500


class StatusApi(Protocol):
    async def batch_update_status(self, objects: Sequence[Writable]) -> api_pb2.BatchUpdateStatusResponse: ...

    async def update_status(self, obj: Writable) -> object_pb2.Object: ...


_Pending = tuple[Writable, "asyncio.Future[Any | None]"]


class StatusBatcher:
    def __init__(self, api: StatusApi, *, senders: int = DEFAULT_SENDERS, batch: int = DEFAULT_BATCH) -> None:
        self._api = api
        self._senders = senders
        self._batch = batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self._unbatched = False
        self.calls = 0  # BatchUpdateStatus calls made (for tests and benchmarks)

    async def write(self, obj: Writable) -> Any | None:
        """Writes the status of the workload ``obj`` (an Object or a kind message) as UpdateStatus
        would (unconditional when its resource_version is 0); returns the message as stored, None
        when it no longer exists. Raises ApiError with this object's own failure."""
        future: asyncio.Future[Any | None] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((obj, future))
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._send(), name="status-sender") for _ in range(self._senders)]
        return await future

    async def close(self) -> None:
        """Stops the senders; every write still waiting or in flight fails with UNAVAILABLE."""
        await cancel_and_wait(self._tasks)
        self._tasks = []
        while not self._queue.empty():
            _, future = self._queue.get_nowait()
            _settle(future, error=_stopping())

    async def _send(self) -> None:
        while True:
            batch = await next_batch(self._queue, self._batch)
            waiting = [(obj, future) for obj, future in batch if not future.done()]  # a cancelled writer left
            try:
                if waiting:
                    await self._write(waiting)
            except asyncio.CancelledError:  # closing: the writers of this call hear it too
                for _, future in waiting:
                    _settle(future, error=_stopping())
                raise

    async def _write(self, batch: list[_Pending]) -> None:
        if self._unbatched:
            await asyncio.gather(*(self._write_one(obj, future) for obj, future in batch))
            return
        try:
            self.calls += 1
            response = await self._api.batch_update_status([obj for obj, _ in batch])
        except ApiError as err:
            if err.code != grpc.StatusCode.UNIMPLEMENTED:
                for _, future in batch:
                    _settle(future, error=err)
                return
            self._unbatched = True
            await self._write(batch)
            return
        except Exception as exc:  # a sender must outlive any one failure; each writer hears it
            for _, future in batch:
                _settle(future, error=exc)
            return
        for (_, future), result in zip(batch, response.results, strict=True):
            if result.code == "OK":
                _settle(future, kinds.unwrap(result.object))
            elif result.code == "NOT_FOUND":
                _settle(future, None)
            else:
                _settle(future, error=ApiError(_status_code(result.code), result.message))

    async def _write_one(self, obj: Writable, future: asyncio.Future[Any | None]) -> None:
        try:
            _settle(future, kinds.unwrap(await self._api.update_status(obj)))
        except ApiError as err:
            if err.code == grpc.StatusCode.NOT_FOUND:
                _settle(future, None)
            else:
                _settle(future, error=err)
        except Exception as exc:
            _settle(future, error=exc)


def _stopping() -> ApiError:
    return ApiError(grpc.StatusCode.UNAVAILABLE, "the agent is stopping")


def _status_code(name: str) -> grpc.StatusCode:
    """The status code a result names (UNKNOWN for a name this client does not know)."""
    return grpc.StatusCode.__members__.get(name, grpc.StatusCode.UNKNOWN)


def _settle(
    future: asyncio.Future[Any | None], value: Any | None = None, *, error: BaseException | None = None
) -> None:
    if future.done():
        return  # its writer was cancelled meanwhile
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(value)
