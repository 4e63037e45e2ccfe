"""Sessions (exec, attach, console, port-forward) are verbs of their own in roles: a viewer may
not open one, an editor may, a node never; every refusal, start and end is in the audit log with
the user, the workload, the container and the command (bounded)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from atoll import sessions
from atoll.client import ApiError, Client
from atoll.v1 import access_pb2, object_pb2
from tests.support.eventually import eventually
from tests.support.objects import make_pod, make_vm
from tests.support.secure_cluster import SecureCluster, secure_cluster


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[SecureCluster]:
    async with secure_cluster(tmp_path) as running:
        namespace = object_pb2.Object()
        namespace.namespace.metadata.name = "team-a"
        await running.admin().create(namespace)
        await running.admin().create(make_pod("web", "team-a"))
        await running.admin().create(make_vm("box", "team-a"))
        yield running


async def _refusal(client: Client, start: access_pb2.SessionStart) -> ApiError:
    with pytest.raises(ApiError) as refused:
        await client.open_session(start)
    return refused.value


def _sessions_of(cluster: SecureCluster, user: str) -> list[dict[str, Any]]:
    return [r for r in cluster.audit_records() if r["user"] == user and r["verb"] in sessions.CAPABILITIES]


EXEC = sessions.exec_start("team-a", "web", ["sh", "-c", "id"], container="main")
CONSOLE = access_pb2.SessionStart(capability="console", kind="VirtualMachine", namespace="team-a", name="box")


@pytest.mark.parametrize("start", [pytest.param(EXEC, id="exec"), pytest.param(CONSOLE, id="console")])
async def test_a_viewer_is_refused_and_the_refusal_is_audited(cluster: SecureCluster, start: Any) -> None:
    await cluster.bind("vera-views", "viewer", users=["vera"])
    refusal = await _refusal(cluster.client(cluster.user_config("vera")), start)
    assert refusal.code == grpc.StatusCode.PERMISSION_DENIED
    verb = start.capability
    assert f"may not {verb}" in refusal.message
    [record] = _sessions_of(cluster, "vera")
    assert (record["verb"], record["name"], record["namespace"], record["result"]) == (
        verb, start.name, "team-a", "PERMISSION_DENIED")


async def test_an_editor_gets_through_and_start_and_end_are_audited_with_the_command(cluster: SecureCluster) -> None:
    await cluster.bind("eddie-edits", "editor", users=["eddie"], namespaces=["team-a"])
    refusal = await _refusal(cluster.client(cluster.user_config("eddie")), EXEC)
    assert refusal.code == grpc.StatusCode.FAILED_PRECONDITION, "authorized: the unscheduled pod is the next problem"
    assert "not scheduled to a node yet" in refusal.message

    async def started_and_ended() -> list[dict[str, Any]]:  # "ended" is written as the stream closes
        return records if len(records := _sessions_of(cluster, "eddie")) == 2 else []

    started, ended = await eventually(started_and_ended)
    assert (started["stage"], started["result"], started["container"], started["command"]) == (
        "started", "OK", "main", ["sh", "-c", "id"])
    assert (ended["stage"], ended["result"]) == ("ended", "FAILED_PRECONDITION")


async def test_a_role_may_grant_exec_alone(cluster: SecureCluster) -> None:
    role = object_pb2.Object()
    role.role.metadata.name = "exec-only"
    rule = role.role.spec.rules.add()
    rule.verbs.append("exec")
    rule.kinds.append("Pod")
    await cluster.admin().create(role)
    await cluster.bind("olga-execs", "exec-only", users=["olga"])
    olga = cluster.client(cluster.user_config("olga"))
    assert (await _refusal(olga, EXEC)).code == grpc.StatusCode.FAILED_PRECONDITION
    assert (await _refusal(olga, CONSOLE)).code == grpc.StatusCode.PERMISSION_DENIED


async def test_a_node_never_opens_a_session(cluster: SecureCluster) -> None:
    pod = make_pod("bound", "team-a")
    pod.pod.spec.node_name = "n1"
    await cluster.admin().create(pod)
    node = cluster.client(cluster.config("node:n1"))
    start = sessions.exec_start("team-a", "bound", ["true"])
    assert (await _refusal(node, start)).code == grpc.StatusCode.PERMISSION_DENIED


async def test_a_long_command_is_bounded_in_the_audit_log(cluster: SecureCluster) -> None:
    start = sessions.exec_start("team-a", "web", ["x" * 5000, *(["arg"] * 40)])
    await _refusal(cluster.admin(), start)
    started = next(r for r in cluster.audit_records() if r.get("stage") == "started")
    assert len(started["command"]) == 16 and started["commandArgsOmitted"] == 25
    assert len(started["command"][0]) < 200
