"""The one Event-building rule (atoll.events) that the agent, the scheduler and the controllers
share: where an Event lives, its name, its reference to the object and its timestamps."""

from __future__ import annotations

import pytest

from atoll.events import MAX_NAME, NORMAL, WARNING, new_event
from atoll.v1 import event_pb2

AT = 1_700_000_123.25


def build(namespace: str = "prod", name: str = "web", event_type: str = NORMAL, resource_version: int = 0
          ) -> event_pb2.Event:
    return new_event(
        kind="Pod", namespace=namespace, name=name, uid="u-1", reason="Started", message="started web",
        source="agent/n1", at=AT, event_type=event_type, resource_version=resource_version,
    )


def test_an_event_names_its_object_and_source() -> None:
    event = build(event_type=WARNING, resource_version=7)
    ref = event.involved_object
    assert (ref.kind, ref.namespace, ref.name, ref.uid, ref.resource_version) == ("Pod", "prod", "web", "u-1", 7)
    assert (event.reason, event.message, event.type, event.source, event.count) == (
        "Started", "started web", WARNING, "agent/n1", 1
    )
    assert event.metadata.namespace == "prod" and event.metadata.name.startswith("web.")


def test_both_timestamps_are_the_given_time() -> None:
    event = build()
    assert event.first_timestamp == event.last_timestamp
    assert (event.first_timestamp.seconds, event.first_timestamp.nanos) == (1_700_000_123, 250_000_000)


def test_an_event_about_a_cluster_scoped_object_lives_in_default() -> None:
    event = build(namespace="")
    assert event.metadata.namespace == "default" and event.involved_object.namespace == ""


def test_names_are_unique_within_a_process() -> None:
    assert len({build().metadata.name for _ in range(1000)}) == 1000


@pytest.mark.parametrize("length", [200, 253], ids=["a long object name", "the longest object name"])
def test_a_long_object_name_is_shortened_to_fit(length: int) -> None:
    names = {build(name="a" * length).metadata.name for _ in range(2)}
    assert len(names) == 2 and all(len(name) <= MAX_NAME for name in names)
