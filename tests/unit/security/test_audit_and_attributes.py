"""Audit lines and their rotation; what each request asks permission for."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from atoll.clock import ManualClock
from atoll.v1 import api_pb2, object_pb2
from controller.apiserver.auth.attributes import attributes_for
from controller.apiserver.auth.audit import AuditLog
from tests.support.objects import make_node, make_pod


def _record(log: AuditLog, name: str) -> None:
    log.record(user="u", groups={"b", "a"}, verb="create", kind="Pod", namespace="ns", name=name, result="OK")


def test_audit_line_has_every_field(tmp_path: Path) -> None:
    clock = ManualClock(start=datetime(2030, 1, 2, tzinfo=UTC).timestamp())
    log = AuditLog(tmp_path / "audit.log", max_bytes=10_000, backups=2, clock=clock)
    log.record(
        user="u",
        groups={"b", "a"},
        verb="delete",
        kind="Node",
        namespace="",
        name="n1",
        result="PERMISSION_DENIED",
        message="no",
        certificate="system:node:n1",
        peer="ipv4:127.0.0.1:40000",
        suppressed=3,
    )
    log.close()
    assert json.loads((tmp_path / "audit.log").read_text()) == {
        "time": "2030-01-02T00:00:00.000Z",
        "user": "u",
        "groups": ["a", "b"],
        "certificate": "system:node:n1",
        "peer": "ipv4:127.0.0.1:40000",
        "verb": "delete",
        "kind": "Node",
        "namespace": "",
        "name": "n1",
        "result": "PERMISSION_DENIED",
        "message": "no",
        "suppressed": 3,
    }


def test_audit_log_rotates_by_size_and_keeps_the_configured_backups(tmp_path: Path) -> None:
    path = tmp_path / "audit.log"
    log = AuditLog(path, max_bytes=400, backups=2)
    for index in range(40):
        _record(log, f"pod-{index:02d}")
    log.close()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["audit.log", "audit.log.1", "audit.log.2"]
    for name in files:
        assert (tmp_path / name).stat().st_size <= 400
    newest = [json.loads(line)["name"] for line in path.read_text().splitlines()]
    assert newest[-1] == "pod-39", "the current file has the latest record"
    older = [json.loads(line)["name"] for line in (tmp_path / "audit.log.1").read_text().splitlines()]
    assert older[-1] < newest[0], "backups hold older records, in order"


def _attrs(method: str, request: object) -> list[tuple[str, str, str, str]]:
    return [(a.verb, a.kind.name, a.namespace, a.name) for a in attributes_for(method, request)]


CASES = [
    ("Create", api_pb2.CreateRequest(object=make_pod("web", "")), [("create", "Pod", "default", "web")]),
    (
        "Apply",
        api_pb2.ApplyRequest(object=make_node("n1")),
        [("create", "Node", "", "n1"), ("update", "Node", "", "n1")],
    ),
    ("UpdateStatus", api_pb2.UpdateRequest(object=make_pod("w", "a")), [("updatestatus", "Pod", "a", "w")]),
    ("Get", api_pb2.GetRequest(kind="po", namespace="", name="w"), [("get", "Pod", "default", "w")]),
    ("List", api_pb2.ListRequest(kind="pods"), [("list", "Pod", "", "")]),
    ("Watch", api_pb2.WatchRequest(kind="nodes", namespace="x"), [("watch", "Node", "", "")]),
    ("Delete", api_pb2.DeleteRequest(kind="Node", namespace="x", name="n"), [("delete", "Node", "", "n")]),
    (
        "Bind",
        api_pb2.BindRequest(bindings=[api_pb2.Binding(kind="Pod", name="a"), api_pb2.Binding(kind="Nope", name="b")]),
        [("bind", "Pod", "default", "a")],
    ),
    ("Create", api_pb2.CreateRequest(object=object_pb2.Object()), []),
    ("Get", api_pb2.GetRequest(kind="nope"), []),
]


@pytest.mark.parametrize(
    ("method", "request_message", "expected"),
    CASES,
    ids=[
        "create defaults the namespace",
        "apply needs create and update",
        "update status has its own verb",
        "get accepts aliases",
        "list without namespace spans all namespaces",
        "a cluster-scoped watch ignores the namespace",
        "a cluster-scoped delete ignores the namespace",
        "bind asks once per valid binding",
        "an empty object asks nothing (the servicer refuses it)",
        "an unknown kind asks nothing (the servicer refuses it)",
    ],
)
def test_attributes_for(method: str, request_message: object, expected: list[tuple[str, str, str, str]]) -> None:
    assert _attrs(method, request_message) == expected
