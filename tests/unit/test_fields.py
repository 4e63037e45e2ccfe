"""Field selectors: the supported fields per kind, =, == and !=, AND of terms, clear errors."""

from __future__ import annotations

import pytest

from atoll import kinds
from atoll.fields import parse_field_selector
from atoll.labels import SelectorError
from atoll.v1 import event_pb2, meta_pb2, node_pb2, pod_pb2, virtualmachine_pb2

POD = pod_pb2.Pod(
    metadata=meta_pb2.ObjectMeta(name="web", namespace="demo"),
    spec=pod_pb2.PodSpec(node_name="node-1"),
    status=pod_pb2.PodStatus(phase="Running"),
)
UNBOUND_VM = virtualmachine_pb2.VirtualMachine(metadata=meta_pb2.ObjectMeta(name="vm", namespace="demo"))
EVENT = event_pb2.Event(
    metadata=meta_pb2.ObjectMeta(name="web.1", namespace="demo"),
    involved_object=event_pb2.ObjectReference(kind="Pod", namespace="demo", name="web"),
    reason="Scheduled",
    type="Normal",
)
CORDONED = node_pb2.Node(
    metadata=meta_pb2.ObjectMeta(name="node-1"), spec=node_pb2.NodeSpec(unschedulable=True)
)

CASES = [
    ("Pod", "spec.nodeName=node-1", POD, True, "a pod bound to the node matches its name"),
    ("Pod", "spec.nodeName==node-1", POD, True, "double equals is equality"),
    ("Pod", "spec.nodeName!=node-1", POD, False, "inequality rejects the bound node"),
    ("Pod", "spec.nodeName=", POD, False, "an empty value selects unbound pods only"),
    ("VirtualMachine", "spec.nodeName=", UNBOUND_VM, True, "an unbound VM has an empty node name"),
    ("Pod", "metadata.name=web,metadata.namespace=demo", POD, True, "every term must hold and they do"),
    ("Pod", "metadata.name=web,metadata.namespace=other", POD, False, "one failing term fails the selector"),
    ("Pod", "status.phase!=Succeeded", POD, True, "status.phase is selectable"),
    ("Pod", "", POD, True, "the empty selector matches everything"),
    (
        "Event",
        "involvedObject.kind=Pod,involvedObject.name=web",
        EVENT,
        True,
        "events select by involved object",
    ),
    ("Node", "spec.unschedulable=true", CORDONED, True, "a cordoned node has spec.unschedulable=true"),
]


@pytest.mark.parametrize(
    ("kind_name", "text", "message", "expected"),
    [(k, t, m, e) for k, t, m, e, _ in CASES],
    ids=[i for *_, i in CASES],
)
def test_field_selector_matches(kind_name: str, text: str, message: object, expected: bool) -> None:
    selector = parse_field_selector(text, kinds.by_name(kind_name))
    assert selector.matches(message) is expected


def test_matches_accepts_the_object_envelope_too() -> None:
    kind = kinds.by_name("Pod")
    assert parse_field_selector("spec.nodeName=node-1", kind).matches(kind.wrap(POD))


def test_canonical_text_is_sorted_and_uses_single_equals() -> None:
    selector = parse_field_selector(" spec.nodeName == node-1 , metadata.name!=x", kinds.by_name("Pod"))
    assert str(selector) == "metadata.name!=x,spec.nodeName=node-1"


def test_an_unknown_field_names_itself_and_the_supported_fields() -> None:
    with pytest.raises(SelectorError) as raised:
        parse_field_selector("spec.nodeName=node-1", kinds.by_name("Deployment"))
    assert str(raised.value) == (
        'invalid field selector "spec.nodeName=node-1": unknown field "spec.nodeName" for Deployment; '
        "supported: metadata.name, metadata.namespace"
    )


@pytest.mark.parametrize(
    "text",
    ["spec.nodeName", "spec.nodeName=a,,metadata.name=b", "spec.nodeName>3"],
    ids=["a term without an operator", "an empty term between commas", "an unsupported operator"],
)
def test_a_malformed_term_is_rejected(text: str) -> None:
    with pytest.raises(SelectorError, match="is not FIELD=VALUE or FIELD!=VALUE"):
        parse_field_selector(text, kinds.by_name("Pod"))
