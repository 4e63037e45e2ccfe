"""wire.watch_event builds a WatchEvent from stored bytes without decoding them: a client must parse
exactly what encoding the decoded, stamped object gives, for every kind."""

from __future__ import annotations

import pytest

from atoll import kinds
from atoll.v1 import api_pb2, object_pb2
from controller.apiserver import codec, wire
from tests.support.objects import make_event, make_node, make_pod, make_service, make_vm


def _encoded_the_long_way(event_type: str, kind: kinds.Kind, stored: bytes, revision: int) -> bytes:
    event = api_pb2.WatchEvent(type=event_type, resource_version=revision)
    getattr(event.object, kind.field).CopyFrom(codec.decode(kind, stored, revision))
    return event.SerializeToString()


def _every_kind_minimal() -> list[tuple[kinds.Kind, bytes]]:
    """One object of each kind (name and a label only), as the store holds it."""
    stored = []
    for kind in kinds.KINDS:
        message = kind.message()
        message.metadata.name = f"x-{kind.plural}"
        message.metadata.labels["app"] = "web"
        stored.append((kind, codec.encode(message)))
    return stored


@pytest.mark.parametrize("kind,stored", _every_kind_minimal(), ids=lambda value: getattr(value, "name", ""))
@pytest.mark.parametrize("revision", [1, 127, 128, 2**35 + 7], ids=["revision 1", "127", "128", "2^35+7"])
def test_every_kind_parses_as_the_decoded_and_stamped_object(kind: kinds.Kind, stored: bytes, revision: int) -> None:
    spliced = api_pb2.WatchEvent.FromString(wire.watch_event("MODIFIED", kind, stored, revision))
    expected = api_pb2.WatchEvent.FromString(_encoded_the_long_way("MODIFIED", kind, stored, revision))
    assert spliced == expected
    assert kinds.unwrap(spliced.object).metadata.resource_version == revision


@pytest.mark.parametrize(
    "obj", [make_pod("web"), make_node("n1"), make_vm("db"), make_service(), make_event()], ids=kinds.of_object
)
def test_full_objects_keep_every_field(obj: object_pb2.Object) -> None:
    kind = kinds.of_object(obj)
    message = kinds.unwrap(obj)
    message.metadata.uid = "0f0e"
    message.metadata.generation = 3
    stored = codec.encode(message)
    spliced = api_pb2.WatchEvent.FromString(wire.watch_event("ADDED", kind, stored, 42))
    assert spliced.type == "ADDED" and spliced.resource_version == 42
    message.metadata.resource_version = 42
    assert kinds.unwrap(spliced.object) == message


def test_a_stored_value_that_carries_a_stale_revision_gets_the_event_s() -> None:
    """codec.encode never stores one; were one there, the appended metadata wins, as decode's stamp does."""
    pod = kinds.unwrap(make_pod("web"))
    pod.metadata.resource_version = 5
    stored = pod.SerializeToString()
    spliced = api_pb2.WatchEvent.FromString(wire.watch_event("ADDED", kinds.by_name("Pod"), stored, 9))
    assert spliced.object.pod.metadata.resource_version == 9
    assert spliced.object.pod.metadata.name == "web"
