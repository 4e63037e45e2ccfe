"""ApiPort: the part of the API the scheduler's scheduling loop uses; ``atoll.client.Client`` fits it,
and tests pass ``tests/support/fake_api.FakeApi``. Contracts are those of the Objects service
(api.proto); the verbs shared with other components are the small ports of ``atoll.ports``:
``list_then_watch`` (Watcher), ``update_status`` (StatusUpdater), ``batch_create`` (BatchCreator,
the scheduler's Events through an EventSink) and ``delete`` (Deleter, for preemption victims)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from atoll.ports import BatchCreator, Deleter, StatusUpdater, Watcher
from atoll.v1 import api_pb2


class ApiPort(Watcher, StatusUpdater, BatchCreator, Deleter, Protocol):
    async def bind(self, bindings: Sequence[api_pb2.Binding]) -> api_pb2.BindResponse:
        """One BindResult per binding, same order; each succeeds or fails on its own."""
        ...
