"""Small typed ports onto the Objects service: one Protocol per verb, composed by each component.

``atoll.client.Client`` satisfies every port; tests pass ``tests/support/fake_api.FakeApi``. A
component states exactly the verbs it calls by composing ports, e.g.::

    class DeploymentApi(Creator, Updater, StatusUpdater, Deleter, Protocol): ...

``ApiObject`` is what every kind message (Pod, Node, Deployment, ...) has in common: protobuf
classes share no typed base with ``metadata``, so this protocol is that base. Code generic over
``TypeVar("M", bound=ApiObject)`` keeps the concrete message type (an ``Informer[Pod]`` hands out
``Pod``), so mypy checks every field a controller reads or writes.

Contracts are those of the Objects service (proto/atoll/v1/api.proto); errors are
``atoll.client.ApiError`` with the server's status code.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol, Self, TypeVar

from google.protobuf.message import Message

from atoll import kinds
from atoll.v1 import api_pb2, meta_pb2, object_pb2


class ApiObject(Protocol):
    """An API kind message: it has ``metadata`` and protobuf's ``CopyFrom``."""

    @property
    def metadata(self) -> meta_pb2.ObjectMeta: ...

    def CopyFrom(self, other_msg: Self) -> None: ...


Writable = ApiObject | Message
"""What a write accepts: a kind message (Pod, Node, ...) or its ``Object`` envelope."""

M = TypeVar("M", bound=ApiObject)
"""One concrete kind message type (Pod, Node, ...)."""


def copy_of(obj: M) -> M:
    """A deep copy of ``obj`` of the same message type (never hand out a cached object)."""
    copy = type(obj)()
    copy.CopyFrom(obj)
    return copy


def metadata_of(obj: object_pb2.Object) -> meta_pb2.ObjectMeta:
    """The metadata of the kind message in an ``Object`` envelope (UnknownKindError when empty)."""
    metadata = kinds.unwrap(obj).metadata
    if not isinstance(metadata, meta_pb2.ObjectMeta):
        raise TypeError(f"{kinds.of_object(obj).name} has no ObjectMeta")
    return metadata


class Watcher(Protocol):
    def list_then_watch(self, kind: str, namespace: str = "") -> AsyncIterator[api_pb2.WatchEvent]:
        """ADDED per existing object, SYNCED, then every change; RESYNC + relist after compaction
        (see ``Client.list_then_watch``)."""
        ...


class Getter(Protocol):
    async def get(self, kind: str, name: str, namespace: str = "default") -> object_pb2.Object:
        """One object in its envelope; NOT_FOUND when absent."""
        ...


class Creator(Protocol):
    async def create(self, obj: Writable) -> object_pb2.Object:
        """Create ``obj`` (a kind message or an Object envelope); ALREADY_EXISTS if the name is taken."""
        ...


class BatchCreator(Protocol):
    async def batch_create(self, objects: Sequence[Writable]) -> api_pb2.BatchCreateResponse:
        """Create many objects in one call; one result per object, in order, each on its own
        (``code`` "OK" or the status code's name)."""
        ...


class Updater(Protocol):
    async def update(self, obj: Writable) -> object_pb2.Object:
        """Replace spec and metadata; ABORTED unless ``metadata.resource_version`` is current (0: any)."""
        ...


class StatusUpdater(Protocol):
    async def update_status(self, obj: Writable) -> object_pb2.Object:
        """Replace status only; same revision rule as ``update``."""
        ...


class Deleter(Protocol):
    async def delete(
        self,
        kind: str,
        name: str,
        namespace: str = "default",
        precondition_resource_version: int = 0,
        propagation_policy: str = "",
    ) -> api_pb2.DeleteResponse:
        """Delete one object; ``deleted`` is False while finalizers keep it (deletion_timestamp
        set, the object in ``object``). ``precondition_resource_version`` (0: any) fails ABORTED
        when the object changed; ``propagation_policy`` is background, foreground or orphan."""
        ...
