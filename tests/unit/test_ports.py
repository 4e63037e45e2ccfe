"""atoll.ports: copies, envelopes, and every implementation accepting each port's calls."""

from __future__ import annotations

import inspect

import pytest

from atoll import kinds
from atoll.client import Client
from atoll.ports import BatchCreator, Creator, Deleter, Getter, StatusUpdater, Updater, Watcher, copy_of, metadata_of
from atoll.v1 import object_pb2, pod_pb2
from scheduler.api_port import ApiPort
from tests.support.fake_api import FakeApi

PORTS = (Getter, Creator, Updater, StatusUpdater, Deleter, Watcher, BatchCreator, ApiPort)
IMPLEMENTATIONS = (Client, FakeApi)


def test_a_copy_has_the_same_type_and_content_and_is_independent() -> None:
    pod = pod_pb2.Pod()
    pod.metadata.name = "web"
    copy = copy_of(pod)
    assert type(copy) is pod_pb2.Pod and copy == pod
    copy.metadata.name = "db"
    assert pod.metadata.name == "web"


def test_metadata_of_an_envelope_is_the_live_metadata_of_the_message_inside() -> None:
    envelope = object_pb2.Object(pod=pod_pb2.Pod())
    metadata_of(envelope).name = "web"
    assert envelope.pod.metadata.name == "web"


def test_an_empty_envelope_has_no_metadata() -> None:
    with pytest.raises(kinds.UnknownKindError):
        metadata_of(object_pb2.Object())


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("port", PORTS, ids=lambda cls: cls.__name__)
def test_every_implementation_takes_each_port_call_as_the_port_declares_it(port: type, implementation: type) -> None:
    """Tests are not type-checked: this keeps the fake (and the client) callable as the ports say."""
    for name, declared in inspect.getmembers(port, inspect.isfunction):
        if name.startswith("_"):
            continue
        implemented = getattr(implementation, name)
        wanted = list(inspect.signature(declared).parameters.values())
        offered = inspect.signature(implemented).parameters
        for parameter in wanted:
            assert parameter.name in offered, f"{implementation.__name__}.{name} lacks {parameter.name}"
            assert offered[parameter.name].default == parameter.default, f"{name}({parameter.name}=...)"
        assert inspect.iscoroutinefunction(implemented) == inspect.iscoroutinefunction(declared) or (
            inspect.isasyncgenfunction(implemented)
        ), f"{implementation.__name__}.{name} is not async as the port declares"
