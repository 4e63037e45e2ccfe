"""``atoll describe``: metadata, spec and status sections, conditions, and the object's own events."""

from __future__ import annotations

import io

from atoll.cli import describe
from atoll.cli.common import Streams
from atoll.cli.main import build_parser
from atoll.v1 import event_pb2, object_pb2
from tests.support.objects import make_node, make_pod
from tests.unit.test_client_fake import serve_fake

NOW = 1_700_000_000.0


def streams() -> Streams:
    return Streams(out=io.StringIO(), err=io.StringIO(), now=lambda: NOW)


def text(stream: object) -> str:
    assert isinstance(stream, io.StringIO)
    return stream.getvalue()


def event(name: str, kind: str, about: str, reason: str, ago: int, message: str, uid: str = "") -> object_pb2.Object:
    ev = event_pb2.Event(reason=reason, message=message, type="Warning", source="scheduler", count=1)
    ev.metadata.name = name
    ev.metadata.namespace = "default"
    ev.involved_object.kind = kind
    ev.involved_object.name = about
    ev.involved_object.uid = uid
    ev.last_timestamp.FromSeconds(int(NOW) - ago)
    return object_pb2.Object(event=ev)


def pending_pod() -> object_pb2.Object:
    pod = make_pod("web")
    pod.pod.metadata.uid = "u-1"
    pod.pod.metadata.creation_timestamp.FromSeconds(int(NOW) - 120)
    pod.pod.status.phase = "Pending"
    condition = pod.pod.status.conditions.add(type="PodScheduled", status="False", reason="Unschedulable")
    condition.message = "0/3 nodes: 2 insufficient memory, 1 os mismatch"
    condition.last_transition_time.FromSeconds(int(NOW) - 60)
    return pod


async def test_a_pod_description_has_metadata_spec_status_conditions_and_its_events() -> None:
    s = streams()
    async with serve_fake() as (fake, client, _):
        fake.put(pending_pod())
        fake.put(event("e1", "Pod", "web", "FailedScheduling", 30, "0/3 nodes: 2 insufficient memory", "u-1"))
        fake.put(event("e2", "Pod", "other", "Scheduled", 10, "not about web"))
        fake.put(event("e3", "Pod", "web", "Scheduled", 900, "an earlier pod named web", "u-0"))
        fake.put(event("e4", "VirtualMachine", "web", "Started", 5, "a VM, not the pod"))
        code = await describe.execute(client, build_parser().parse_args(["describe", "pod", "web"]), s)
    out = text(s.out)
    assert code == 0
    lines = out.splitlines()
    assert lines[:6] == [
        "Name:         web",
        "Namespace:    default",
        "Labels:       app=web",
        "Annotations:  <none>",
        "UID:          u-1",
        "Created:      2023-11-14T22:11:20Z (2m ago)",
    ]
    assert "Spec:" in lines and "  containers:" in lines and "  - name: main" in lines
    assert "  phase: Pending" in lines
    conditions = lines.index("Conditions:")
    assert lines[conditions + 3].split(None, 4) == [
        "PodScheduled",
        "False",
        "Unschedulable",
        "60s",
        "0/3 nodes: 2 insufficient memory, 1 os mismatch",
    ]
    events = lines[lines.index("Events:") + 1 :]
    assert [line.split()[:4] for line in events] == [
        ["Type", "Reason", "Age", "From"],
        ["----", "------", "---", "----"],
        ["Warning", "FailedScheduling", "30s", "scheduler"],
    ]


async def test_a_node_without_events_or_conditions_says_none() -> None:
    s = streams()
    async with serve_fake() as (fake, client, _):
        node = make_node("n1")
        del node.node.status.conditions[:]
        fake.put(node)
        code = await describe.execute(client, build_parser().parse_args(["describe", "node", "n1"]), s)
        event_list = fake.requests["List"][0]
    out = text(s.out)
    assert code == 0
    assert "Namespace:" not in out
    assert out.endswith("Conditions:   <none>\nEvents:       <none>\n")
    assert event_list.namespace == ""  # events about cluster-scoped objects may live in any namespace


async def test_a_missing_object_is_one_error_line_and_exit_1() -> None:
    s = streams()
    async with serve_fake() as (_, client, _):
        code = await describe.execute(client, build_parser().parse_args(["describe", "vm", "ghost"]), s)
    assert code == 1
    assert text(s.err) == 'Error from server (NotFound): virtualmachines "ghost" not found\n'
    assert text(s.out) == ""


async def test_without_names_every_object_is_described() -> None:
    s = streams()
    async with serve_fake() as (fake, client, _):
        fake.put(make_pod("a"))
        fake.put(make_pod("b"))
        await describe.execute(client, build_parser().parse_args(["describe", "pods"]), s)
    names = [line for line in text(s.out).splitlines() if line.startswith("Name:")]
    assert names == ["Name:         a", "Name:         b"]
