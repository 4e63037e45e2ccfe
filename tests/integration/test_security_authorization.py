"""Roles, bindings and the node authorizer through real gRPC with mutual TLS; every denial is audited."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from atoll.client import ApiError, Client
from atoll.v1 import api_pb2, object_pb2, rbac_pb2
from tests.support.objects import make_event, make_node, make_pod
from tests.support.secure_cluster import SecureCluster, secure_cluster


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[SecureCluster]:
    async with secure_cluster(tmp_path, max_watches_per_user=2) as running:
        admin = running.admin()
        for name in ("team-a", "team-b"):
            namespace = object_pb2.Object()
            namespace.namespace.metadata.name = name
            await admin.create(namespace)
        yield running


async def _code(call: Awaitable[Any]) -> grpc.StatusCode:
    try:
        await call
    except ApiError as err:
        return err.code
    return grpc.StatusCode.OK


def _denials(cluster: SecureCluster, user: str) -> list[dict[str, Any]]:
    return [r for r in cluster.audit_records() if r["user"] == user and r["result"] == "PERMISSION_DENIED"]


async def test_viewer_reads_but_may_not_write(cluster: SecureCluster) -> None:
    await cluster.admin().create(make_pod("web", "team-a"))
    await cluster.bind("vera-views", "viewer", users=["vera"])
    viewer = cluster.client(cluster.user_config("vera"))
    assert len((await viewer.list("pods", "team-a")).items) == 1
    assert await _code(viewer.create(make_pod("mine", "team-a"))) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(viewer.delete("pod", "web", "team-a")) == grpc.StatusCode.PERMISSION_DENIED
    denied = _denials(cluster, "vera")
    assert [(d["verb"], d["kind"], d["namespace"], d["name"]) for d in denied] == [
        ("create", "Pod", "team-a", "mine"),
        ("delete", "Pod", "team-a", "web"),
    ]
    assert "may not create pods 'mine' in namespace 'team-a'" in denied[0]["message"]


async def test_user_without_any_binding_may_do_nothing(cluster: SecureCluster) -> None:
    stranger = cluster.client(cluster.user_config("stranger"))
    assert await _code(stranger.list("pods", "team-a")) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(stranger.get("namespace", "team-a")) == grpc.StatusCode.PERMISSION_DENIED


async def test_editor_writes_in_its_namespace_only(cluster: SecureCluster) -> None:
    await cluster.bind("eddie-edits-a", "editor", users=["eddie"], namespaces=["team-a"])
    editor = cluster.client(cluster.user_config("eddie"))
    assert await _code(editor.create(make_pod("web", "team-a"))) == grpc.StatusCode.OK
    assert await _code(editor.create(make_pod("web", "team-b"))) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(editor.list("pods")) == grpc.StatusCode.PERMISSION_DENIED, "all namespaces is outside team-a"
    assert await _code(editor.create(make_node("n9"))) == grpc.StatusCode.PERMISSION_DENIED
    binding = object_pb2.Object(role_binding=rbac_pb2.RoleBinding())
    binding.role_binding.metadata.name = "escalate"
    binding.role_binding.spec.role_ref = "admin"
    binding.role_binding.spec.subjects.add(kind="User", name="eddie")
    assert await _code(editor.apply(binding)) == grpc.StatusCode.PERMISSION_DENIED, "no self-promotion"
    assert [d["namespace"] for d in _denials(cluster, "eddie") if d["kind"] == "Pod"] == ["team-b", ""]


async def test_group_binding_and_custom_role_grant_through_the_certificate_organization(cluster: SecureCluster) -> None:
    role = object_pb2.Object(role=rbac_pb2.Role())
    role.role.metadata.name = "pod-reader"
    role.role.spec.rules.add(verbs=["get", "list"], kinds=["Pod"], namespaces=["team-b"])
    await cluster.admin().create(role)
    await cluster.bind("auditors-read", "pod-reader", groups=["auditors"])
    auditor = cluster.client(cluster.user_config("ann", ["auditors"]))
    assert await _code(auditor.list("pods", "team-b")) == grpc.StatusCode.OK
    assert await _code(auditor.list("pods", "team-a")) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(auditor.list("deployments", "team-b")) == grpc.StatusCode.PERMISSION_DENIED


async def test_token_user_gets_the_roles_of_its_groups(cluster: SecureCluster) -> None:
    await cluster.bind("developers-edit", "editor", groups=["developers"], namespaces=["team-a"])
    alice = cluster.client(cluster.config("node:n1", token="tok-alice"))
    assert await _code(alice.create(make_pod("web", "team-a"))) == grpc.StatusCode.OK
    assert cluster.audit_records()[-1]["user"] == "alice", "the token, not the certificate, names the caller"


async def _bound_pod(admin: Client, name: str, node: str) -> None:
    await admin.create(make_pod(name))
    response = await admin.bind([api_pb2.Binding(kind="Pod", namespace="default", name=name, node_name=node)])
    assert response.results[0].code == "OK"


def _with_ready_condition(obj: object_pb2.Object, kind: str) -> object_pb2.Object:
    message = getattr(obj, kind)
    message.status.conditions.add(type="Ready", status="True")
    return obj


async def test_node_writes_its_own_node_within_the_node_restriction_and_no_other(cluster: SecureCluster) -> None:
    admin = cluster.admin()
    n1 = cluster.client(cluster.config("node:n1"))
    assert await _code(n1.create(make_node("n1"))) == grpc.StatusCode.OK, "a node registers itself"
    await admin.create(make_node("n2"))
    assert await _code(n1.update_status(_with_ready_condition(make_node("n1"), "node"))) == grpc.StatusCode.OK
    other = _with_ready_condition(make_node("n2"), "node")
    assert await _code(n1.update_status(other)) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(n1.update(make_node("n1", team="x"))) == grpc.StatusCode.OK, "a node relabels itself"
    role = make_node("n1", **{"node-role.kubernetes.io/control-plane": ""})
    with pytest.raises(ApiError) as refused:
        await n1.update(role)
    assert refused.value.code == grpc.StatusCode.PERMISSION_DENIED
    assert refused.value.message.startswith("user 'system:node:n1' may not update nodes 'n1': a node may not set")
    cordoned = make_node("n1", team="x")
    cordoned.node.spec.unschedulable = True
    assert await _code(n1.update(cordoned)) == grpc.StatusCode.PERMISSION_DENIED, "spec is the operator's"
    assert await _code(n1.update(make_node("n2"))) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(n1.delete("node", "n2")) == grpc.StatusCode.PERMISSION_DENIED
    denied = _denials(cluster, "system:node:n1")
    assert [(d["verb"], d["kind"], d["name"]) for d in denied] == [
        ("updatestatus", "Node", "n2"),
        ("update", "Node", "n1"),
        ("update", "Node", "n1"),
        ("update", "Node", "n2"),
        ("delete", "Node", "n2"),
    ]
    assert "node-role.kubernetes.io/control-plane" in denied[1]["message"]
    assert denied[0]["groups"] == ["system:nodes"]


async def test_node_touches_only_workloads_bound_to_it(cluster: SecureCluster) -> None:
    admin = cluster.admin()
    for node in ("n1", "n2"):
        await admin.create(make_node(node))
    await _bound_pod(admin, "mine", "n1")
    await _bound_pod(admin, "theirs", "n2")
    n1 = cluster.client(cluster.config("node:n1"))
    mine = await n1.get("pod", "mine")
    mine.pod.status.phase = "Running"
    assert await _code(n1.update_status(mine)) == grpc.StatusCode.OK
    theirs = await admin.get("pod", "theirs")
    theirs.pod.status.phase = "Failed"
    assert await _code(n1.update_status(theirs)) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(n1.get("pod", "theirs")) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(n1.update(mine)) == grpc.StatusCode.PERMISSION_DENIED, "a node never writes a workload's spec"
    held = await n1.get("pod", "mine")
    assert list(held.pod.metadata.finalizers) == ["atoll.dev/agent"], "Bind added the agent's finalizer"
    held.pod.metadata.finalizers.remove("atoll.dev/agent")
    sneaky = object_pb2.Object()
    sneaky.CopyFrom(held)
    sneaky.pod.spec.containers[0].image = "evil"
    assert await _code(n1.update(sneaky)) == grpc.StatusCode.PERMISSION_DENIED, "finalizer plus a spec change"
    assert await _code(n1.update(held)) == grpc.StatusCode.OK, "a node releases its agent finalizer"
    held = await n1.get("pod", "mine")
    held.pod.metadata.finalizers.append("atoll.dev/agent")
    assert await _code(n1.update(held)) == grpc.StatusCode.OK, "a node holds its agent finalizer on its workloads"
    assert await _code(n1.list("pods")) == grpc.StatusCode.PERMISSION_DENIED
    own = await n1.list("pods", field_selector="spec.nodeName=n1")
    assert [item.pod.metadata.name for item in own.items] == ["mine"]
    assert await _code(n1.list("pods", field_selector="spec.nodeName=n2")) == grpc.StatusCode.PERMISSION_DENIED
    assert (await admin.get("pod", "theirs")).pod.status.phase != "Failed", "nothing was written"
    assert await _code(_first_event(n1, "pods")) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(_first_event(n1, "pods", field_selector="spec.nodeName=n1")) == grpc.StatusCode.OK
    assert [(d["verb"], d["name"]) for d in _denials(cluster, "system:node:n1") if d["kind"] == "Pod"] == [
        ("updatestatus", "theirs"),
        ("get", "theirs"),
        ("update", "mine"),
        ("update", "mine"),
        ("list", ""),
        ("list", ""),
        ("watch", ""),
    ]


async def test_batch_update_status_needs_updatestatus_on_every_object(cluster: SecureCluster) -> None:
    admin = cluster.admin()
    for node in ("n1", "n2"):
        await admin.create(make_node(node))
    await _bound_pod(admin, "mine", "n1")
    await _bound_pod(admin, "also-mine", "n1")
    await _bound_pod(admin, "theirs", "n2")
    n1 = cluster.client(cluster.config("node:n1"))
    mine = [await n1.get("pod", name) for name in ("mine", "also-mine")]
    for obj in mine:
        obj.pod.status.phase = "Running"
    response = await n1.batch_update_status(mine)
    assert [(r.code, r.object.pod.status.phase) for r in response.results] == [("OK", "Running")] * 2
    theirs = await admin.get("pod", "theirs")
    theirs.pod.status.phase = "Failed"
    mine[0].pod.status.phase = "Succeeded"
    assert await _code(n1.batch_update_status([mine[0], theirs])) == grpc.StatusCode.PERMISSION_DENIED
    assert (await admin.get("pod", "theirs")).pod.status.phase != "Failed", "a refused batch writes nothing"
    assert (await admin.get("pod", "mine")).pod.status.phase == "Running", "not even the allowed object"
    written = [(r["verb"], r["name"], r["result"]) for r in cluster.audit_records()
               if r["user"] == "system:node:n1" and r["verb"] == "updatestatus"]
    assert written == [
        ("updatestatus", "mine", "OK"),
        ("updatestatus", "also-mine", "OK"),
        ("updatestatus", "theirs", "PERMISSION_DENIED"),
    ]


async def _first_event(client: Client, kind: str, field_selector: str = "") -> None:
    async for _ in client.watch(kind, field_selector=field_selector):
        return


async def test_node_renews_its_own_lease_only(cluster: SecureCluster) -> None:
    n1 = cluster.client(cluster.config("node:n1"))

    def lease(name: str) -> object_pb2.Object:
        obj = object_pb2.Object()
        obj.lease.metadata.name = name
        obj.lease.metadata.namespace = "atoll-node-lease"
        obj.lease.spec.holder_identity = name
        return obj

    assert await _code(n1.create(lease("n1"))) == grpc.StatusCode.OK
    assert await _code(n1.update(lease("n1"))) == grpc.StatusCode.OK
    assert await _code(n1.create(lease("n2"))) == grpc.StatusCode.PERMISSION_DENIED


async def test_scheduler_binds_but_may_not_create_workloads(cluster: SecureCluster) -> None:
    admin = cluster.admin()
    await admin.create(make_node("n1"))
    await admin.create(make_pod("web"))
    scheduler = cluster.client(cluster.config("scheduler"))
    response = await scheduler.bind([api_pb2.Binding(kind="Pod", namespace="default", name="web", node_name="n1")])
    assert response.results[0].code == "OK"
    assert await _code(scheduler.create(make_pod("sneaky"))) == grpc.StatusCode.PERMISSION_DENIED
    n1 = cluster.client(cluster.config("node:n1"))
    binding = api_pb2.Binding(kind="Pod", namespace="default", name="web", node_name="n1")
    assert await _code(n1.bind([binding])) == grpc.StatusCode.PERMISSION_DENIED
    bind_records = [r for r in cluster.audit_records() if r["verb"] == "bind"]
    assert [(r["user"], r["result"]) for r in bind_records] == [
        ("system:scheduler", "OK"),
        ("system:node:n1", "PERMISSION_DENIED"),
    ]


async def test_watch_streams_per_user_are_capped_and_others_keep_watching(cluster: SecureCluster) -> None:
    viewer_config = cluster.user_config("vera")
    await cluster.bind("vera-views", "viewer", users=["vera"])
    viewer = cluster.client(viewer_config)

    async def first_event(client: Client) -> None:
        async for _ in client.watch("namespaces"):
            return

    # Two open streams (each holds its slot until the client goes away) ...
    streams = [asyncio.create_task(_hold_watch(viewer)) for _ in range(2)]
    await asyncio.sleep(0.3)
    try:
        with pytest.raises(ApiError) as err:
            await first_event(viewer)
        assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "the limit is 2" in err.value.message
        await asyncio.wait_for(first_event(cluster.admin()), 5.0)
    finally:
        for task in streams:
            task.cancel()
        await asyncio.gather(*streams, return_exceptions=True)


async def _hold_watch(client: Client) -> None:
    async for _ in client.watch("namespaces"):
        pass


async def test_slow_request_is_cut_at_the_deadline_and_audited(tmp_path: Path) -> None:
    async with secure_cluster(tmp_path, request_timeout=0.2) as cluster:
        store: Any = cluster.api.store
        original: Callable[..., Awaitable[Any]] = store.get

        async def slow_get(key: str) -> Any:
            await asyncio.sleep(1.0)
            return await original(key)

        store.get = slow_get
        with pytest.raises(ApiError) as err:
            await cluster.admin().delete("pod", "web")
        assert err.value.code == grpc.StatusCode.DEADLINE_EXCEEDED
        assert cluster.audit_records()[-1]["result"] == "DEADLINE_EXCEEDED"


async def test_invalid_write_is_refused_as_invalid_and_still_audited(cluster: SecureCluster) -> None:
    assert await _code(cluster.admin().create(object_pb2.Object())) == grpc.StatusCode.INVALID_ARGUMENT
    last = cluster.audit_records()[-1]
    assert (last["user"], last["verb"], last["kind"], last["result"]) == ("admin", "create", "", "INVALID_ARGUMENT")


async def test_reading_logs_needs_permission_to_get_the_workload(cluster: SecureCluster) -> None:
    from atoll.v1 import agent_pb2

    await cluster.admin().create(make_pod("web", "team-a"))
    await cluster.bind("vera-views-b", "viewer", users=["vera"], namespaces=["team-b"])
    viewer = cluster.client(cluster.user_config("vera"))

    async def read(client: Client) -> None:
        async for _ in client.logs(agent_pb2.LogsRequest(namespace="team-a", name="web")):
            pass

    assert await _code(read(viewer)) == grpc.StatusCode.PERMISSION_DENIED, "a viewer of team-b reads no team-a logs"
    assert await _code(read(cluster.admin())) == grpc.StatusCode.FAILED_PRECONDITION, "admin gets through: unscheduled"
    assert [(d["verb"], d["name"]) for d in _denials(cluster, "vera")] == [("get", "web")]


async def test_batch_create_needs_create_on_every_object(cluster: SecureCluster) -> None:
    n1 = cluster.client(cluster.config("node:n1"))
    events = [make_event(name, "team-a", involved="mine") for name in ("started", "killed")]
    response = await n1.batch_create(events)
    assert [result.code for result in response.results] == ["OK", "OK"], "a node records Events in bulk"
    assert await _code(n1.batch_create([*events, make_pod("smuggled", "team-a")])) == grpc.StatusCode.PERMISSION_DENIED
    assert await _code(cluster.admin().get("pod", "smuggled", "team-a")) == grpc.StatusCode.NOT_FOUND
    written = [(r["verb"], r["kind"], r["name"], r["result"]) for r in cluster.audit_records()
               if r["user"] == "system:node:n1"]
    assert written == [
        ("create", "Event", "started", "OK"),
        ("create", "Event", "killed", "OK"),
        ("create", "Pod", "smuggled", "PERMISSION_DENIED"),
    ]
