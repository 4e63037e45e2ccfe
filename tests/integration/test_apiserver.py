"""The Objects service end to end over real gRPC: semantics of every verb, on memory and sqlite stores."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from atoll import finalizers
from atoll.client import ApiError
from atoll.v1 import api_pb2, object_pb2
from controller.store.factory import open_store
from tests.support.cluster import Cluster, running_cluster
from tests.support.etcd_server import etcd_server
from tests.support.objects import make_event, make_node, make_pod
from tests.support.store_writes import stored_revisions
from tests.support.system import require_binary


@pytest.fixture(params=["memory", "sqlite", "etcd"])
async def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Cluster]:
    if request.param != "etcd":
        store = await open_store(request.param, tmp_path)
        async with running_cluster(store) as running:
            yield running
        return
    require_binary("etcd", "etcd-server")
    with etcd_server() as endpoint:
        store = await open_store(f"etcd://{endpoint}", tmp_path)
        async with running_cluster(store) as running:
            yield running


async def test_create_stamps_server_metadata_and_get_returns_it(cluster: Cluster) -> None:
    created = (await cluster.client.create(make_pod())).pod
    assert created.metadata.uid
    assert created.metadata.generation == 1
    assert created.metadata.resource_version > 0
    assert created.spec.restart_policy == "Always", "defaults are applied on create"
    fetched = (await cluster.client.get("pod", "web")).pod
    assert fetched == created


async def test_create_twice_is_already_exists_and_changes_nothing(cluster: Cluster) -> None:
    await cluster.client.create(make_pod())
    before = await stored_revisions(cluster.store)
    with pytest.raises(ApiError) as err:
        await cluster.client.create(make_pod())
    assert err.value.code == grpc.StatusCode.ALREADY_EXISTS
    assert "pod/default/web already exists" in err.value.message
    assert await stored_revisions(cluster.store) == before


async def test_invalid_object_is_refused_with_field_path_and_not_stored(cluster: Cluster) -> None:
    pod = make_pod()
    pod.pod.spec.containers[0].resources.requests["memory"] = "12Gx"
    with pytest.raises(ApiError) as err:
        await cluster.client.create(pod)
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "spec.containers[0].resources.requests.memory" in err.value.message
    assert '"12Gx"' in err.value.message
    assert len((await cluster.client.list("pods")).items) == 0


async def test_create_in_missing_namespace_is_not_found(cluster: Cluster) -> None:
    with pytest.raises(ApiError) as err:
        await cluster.client.create(make_pod(namespace="nope"))
    assert err.value.code == grpc.StatusCode.NOT_FOUND
    assert "namespace 'nope' not found" in err.value.message


async def test_update_bumps_generation_only_on_spec_change(cluster: Cluster) -> None:
    pod = (await cluster.client.create(make_pod())).pod
    pod.metadata.labels["tier"] = "front"
    relabeled = (await cluster.client.update(object_pb2.Object(pod=pod))).pod
    assert relabeled.metadata.generation == 1
    assert relabeled.metadata.resource_version > pod.metadata.resource_version
    relabeled.spec.containers[0].image = "busybox:1.36"
    changed = (await cluster.client.update(object_pb2.Object(pod=relabeled))).pod
    assert changed.metadata.generation == 2


async def test_update_with_stale_resource_version_is_aborted(cluster: Cluster) -> None:
    pod = (await cluster.client.create(make_pod())).pod
    fresh = type(pod)()
    fresh.CopyFrom(pod)
    fresh.metadata.labels["a"] = "1"
    await cluster.client.update(object_pb2.Object(pod=fresh))
    pod.metadata.labels["b"] = "2"
    with pytest.raises(ApiError) as err:
        await cluster.client.update(object_pb2.Object(pod=pod))
    assert err.value.code == grpc.StatusCode.ABORTED
    assert "stale" in err.value.message


async def test_update_status_changes_status_and_never_spec(cluster: Cluster) -> None:
    pod = (await cluster.client.create(make_pod())).pod
    pod.status.phase = "Running"
    pod.spec.containers[0].image = "evil"
    updated = (await cluster.client.update_status(object_pb2.Object(pod=pod))).pod
    assert updated.status.phase == "Running"
    assert updated.spec.containers[0].image == "busybox"
    assert updated.metadata.generation == 1


async def test_an_invalid_status_is_refused_with_its_field_path_and_not_stored(cluster: Cluster) -> None:
    pod = (await cluster.client.create(make_pod())).pod
    pod.status.phase = "Dozing"
    pod.status.conditions.add(type="Ready", status="Maybe")
    before = await stored_revisions(cluster.store)
    with pytest.raises(ApiError) as err:
        await cluster.client.update_status(object_pb2.Object(pod=pod))
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert 'pod/default/web: status.phase: unsupported value "Dozing"' in err.value.message
    assert "status.conditions[0].status" in err.value.message
    assert await stored_revisions(cluster.store) == before


async def test_update_ignores_status_written_through_the_spec_path(cluster: Cluster) -> None:
    pod = (await cluster.client.create(make_pod())).pod
    pod.status.phase = "Failed"
    updated = (await cluster.client.update(object_pb2.Object(pod=pod))).pod
    assert updated.status.phase == ""


async def test_delete_with_finalizer_waits_until_the_last_finalizer_is_removed(cluster: Cluster) -> None:
    pod = make_pod()
    pod.pod.metadata.finalizers.append("atoll.dev/agent")
    await cluster.client.create(pod)
    response = await cluster.client.delete("pod", "web")
    assert not response.deleted
    assert response.object.pod.metadata.HasField("deletion_timestamp")
    deleting = (await cluster.client.get("pod", "web")).pod
    del deleting.metadata.finalizers[:]
    await cluster.client.update(object_pb2.Object(pod=deleting))
    with pytest.raises(ApiError) as err:
        await cluster.client.get("pod", "web")
    assert err.value.code == grpc.StatusCode.NOT_FOUND


async def test_delete_precondition_on_resource_version(cluster: Cluster) -> None:
    pod = (await cluster.client.create(make_pod())).pod
    with pytest.raises(ApiError) as err:
        await cluster.client.delete("pod", "web", precondition_resource_version=pod.metadata.resource_version + 100)
    assert err.value.code == grpc.StatusCode.ABORTED
    response = await cluster.client.delete("pod", "web", precondition_resource_version=pod.metadata.resource_version)
    assert response.deleted


async def test_list_pages_share_one_snapshot(cluster: Cluster) -> None:
    for index in range(25):
        await cluster.client.create(make_pod(f"p{index:02d}"))
    first = await cluster.client.list("pods", limit=10)
    assert len(first.items) == 10 and getattr(first, "continue")
    await cluster.client.create(make_pod("p00a"))  # sorts inside the first page's range: must not appear
    await cluster.client.delete("pod", "p24")  # deleted after the snapshot: must still appear
    names = [item.pod.metadata.name for item in first.items]
    token = getattr(first, "continue")
    while token:
        page = await cluster.client.list("pods", limit=10, continue_=token)
        assert page.resource_version == first.resource_version
        names += [item.pod.metadata.name for item in page.items]
        token = getattr(page, "continue")
    assert names == [f"p{index:02d}" for index in range(25)]


async def test_list_filters_by_label_selector_and_namespace(cluster: Cluster) -> None:
    await cluster.client.create(make_pod("a", app="web", tier="front"))
    await cluster.client.create(make_pod("b", app="web", tier="back"))
    await cluster.client.create(make_pod("c", app="db"))
    listed = await cluster.client.list("pods", label_selector="app=web,tier notin (back)")
    assert [item.pod.metadata.name for item in listed.items] == ["a"]
    listed = await cluster.client.list("pods", namespace="atoll-system")
    assert listed.items == []


async def test_bad_label_selector_is_invalid_argument(cluster: Cluster) -> None:
    with pytest.raises(ApiError) as err:
        await cluster.client.list("pods", label_selector="app in (")
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.message.startswith("labelSelector:")


async def test_apply_reports_created_configured_unchanged_and_keeps_binding(cluster: Cluster) -> None:
    await cluster.client.create(make_node("n1"))
    assert (await cluster.client.apply(make_pod())).result == "created"
    assert (await cluster.client.apply(make_pod())).result == "unchanged"
    bound = await cluster.client.bind([api_pb2.Binding(kind="Pod", namespace="default", name="web", node_name="n1")])
    assert bound.results[0].code == "OK"
    changed = make_pod()
    changed.pod.spec.containers[0].image = "busybox:1.36"
    response = await cluster.client.apply(changed)
    assert response.result == "configured"
    assert response.object.pod.spec.node_name == "n1"
    assert response.object.pod.metadata.generation == 2


async def test_bind_outcomes(cluster: Cluster) -> None:
    await cluster.client.create(make_node("n1"))
    pod = (await cluster.client.create(make_pod())).pod
    stale = api_pb2.Binding(kind="Pod", namespace="default", name="web", node_name="n1", expected_resource_version=1)
    no_node = api_pb2.Binding(kind="Pod", namespace="default", name="web", node_name="ghost")
    missing = api_pb2.Binding(kind="Pod", namespace="default", name="nope", node_name="n1")
    response = await cluster.client.bind([stale, no_node, missing])
    assert [r.code for r in response.results] == ["CONFLICT", "NOT_FOUND", "NOT_FOUND"]
    good = api_pb2.Binding(
        kind="Pod",
        namespace="default",
        name="web",
        node_name="n1",
        expected_resource_version=pod.metadata.resource_version,
    )
    assert (await cluster.client.bind([good])).results[0].code == "OK"
    bound = (await cluster.client.get("pod", "web")).pod
    assert bound.spec.node_name == "n1"
    assert [(c.type, c.status) for c in bound.status.conditions] == [("PodScheduled", "True")]
    assert list(bound.metadata.finalizers) == [finalizers.NODE_AGENT], "deleting it now waits for the agent"
    again = api_pb2.Binding(kind="Pod", namespace="default", name="web", node_name="n2")
    assert (await cluster.client.bind([again])).results[0].code == "ALREADY_BOUND"


async def _collect(stream: AsyncIterator[api_pb2.WatchEvent], count: int) -> list[api_pb2.WatchEvent]:
    events = []
    async with asyncio.timeout(10):
        async for event in stream:
            events.append(event)
            if len(events) == count:
                return events
    return events


async def test_watch_from_zero_lists_then_follows_changes(cluster: Cluster) -> None:
    await cluster.client.create(make_pod("a"))
    stream = cluster.client.watch("pods")
    first = await _collect(stream, 1)
    assert [(e.type, e.object.pod.metadata.name) for e in first] == [("ADDED", "a")]
    await cluster.client.create(make_pod("b"))
    pod_a = (await cluster.client.get("pod", "a")).pod
    pod_a.metadata.labels["x"] = "y"
    await cluster.client.update(object_pb2.Object(pod=pod_a))
    await cluster.client.delete("pod", "b")
    rest = await _collect(stream, 3)
    assert [(e.type, e.object.pod.metadata.name) for e in rest] == [("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    # the delete's own revision: after the update's, not past the store's (a Lease renewal may follow)
    assert rest[1].resource_version < rest[2].resource_version <= await cluster.store.current_revision()


async def test_watch_from_revision_replays_every_later_event_in_order(cluster: Cluster) -> None:
    start = await cluster.store.current_revision()
    for index in range(50):
        await cluster.client.create(make_pod(f"p{index:02d}"))
    events = await _collect(cluster.client.watch("pods", resource_version=start), 50)
    assert [e.object.pod.metadata.name for e in events] == [f"p{index:02d}" for index in range(50)]
    revisions = [e.resource_version for e in events]
    assert revisions == sorted(revisions) and len(set(revisions)) == 50


async def test_watch_with_node_field_selector_sees_binding_as_added(cluster: Cluster) -> None:
    await cluster.client.create(make_node("n1"))
    await cluster.client.create(make_pod())
    stream = cluster.client.watch(
        "pods", field_selector="spec.nodeName=n1", resource_version=await cluster.store.current_revision()
    )
    await cluster.client.bind([api_pb2.Binding(kind="Pod", namespace="default", name="web", node_name="n1")])
    events = await _collect(stream, 1)
    assert events[0].type == "ADDED" and events[0].object.pod.spec.node_name == "n1"


async def test_watch_label_selector_turns_unmatching_update_into_deleted(cluster: Cluster) -> None:
    pod = (await cluster.client.create(make_pod(app="web"))).pod
    stream = cluster.client.watch("pods", label_selector="app=web", resource_version=pod.metadata.resource_version)
    pod.metadata.labels["app"] = "other"
    await cluster.client.update(object_pb2.Object(pod=pod))
    events = await _collect(stream, 1)
    assert events[0].type == "DELETED"
    # It carries what the watcher last saw (as Kubernetes does), at the revision of the change.
    assert events[0].object.pod.metadata.labels["app"] == "web"
    assert events[0].object.pod.metadata.resource_version == events[0].resource_version > pod.metadata.resource_version


async def test_watch_from_compacted_revision_is_out_of_range(cluster: Cluster) -> None:
    for index in range(5):
        await cluster.client.create(make_pod(f"p{index}"))
    await cluster.api.compact(await cluster.store.current_revision())
    with pytest.raises(ApiError) as err:
        await _collect(cluster.client.watch("pods", resource_version=2), 1)
    assert err.value.code == grpc.StatusCode.OUT_OF_RANGE


async def test_watch_of_an_unknown_kind_is_invalid_argument_in_one_line(cluster: Cluster) -> None:
    async with grpc.aio.insecure_channel(cluster.api.address) as channel:
        watch = channel.unary_stream(
            "/atoll.v1.Objects/Watch",
            request_serializer=api_pb2.WatchRequest.SerializeToString,
            response_deserializer=api_pb2.WatchResponse.FromString,
        )
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for _ in watch(api_pb2.WatchRequest(kind="gizmos")):
                pass
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "unknown kind 'gizmos'" in (err.value.details() or "")
    assert "\n" not in (err.value.details() or "")


async def test_namespace_delete_removes_its_objects(cluster: Cluster) -> None:
    namespace = object_pb2.Object()
    namespace.namespace.metadata.name = "team"
    await cluster.client.create(namespace)
    await cluster.client.create(make_pod("a", namespace="team"))
    response = await cluster.client.delete("namespace", "team")
    assert response.deleted
    assert (await cluster.client.list("pods", namespace="team")).items == []


async def test_default_namespace_cannot_be_deleted(cluster: Cluster) -> None:
    with pytest.raises(ApiError) as err:
        await cluster.client.delete("namespace", "default")
    assert err.value.code == grpc.StatusCode.FAILED_PRECONDITION


@pytest.mark.parametrize(
    ("policy", "finalizer"),
    [("foreground", "foregroundDeletion"), ("orphan", "orphan")],
    ids=[
        "foreground deletion leaves the owner with a foregroundDeletion finalizer",
        "orphan deletion leaves an orphan finalizer",
    ],
)
async def test_propagation_policy_marks_the_owner_for_the_garbage_collector(
    cluster: Cluster, policy: str, finalizer: str
) -> None:
    await cluster.client.create(make_pod())
    response = await cluster.client.delete("pod", "web", propagation_policy=policy)
    assert not response.deleted
    assert list(response.object.pod.metadata.finalizers) == [finalizer]
    assert response.object.pod.metadata.HasField("deletion_timestamp")


async def test_unknown_propagation_policy_is_invalid(cluster: Cluster) -> None:
    await cluster.client.create(make_pod())
    with pytest.raises(ApiError) as err:
        await cluster.client.delete("pod", "web", propagation_policy="sideways")
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT


async def test_apply_keeps_system_annotations_the_manifest_does_not_mention(cluster: Cluster) -> None:
    await cluster.client.apply(make_pod())
    stored = (await cluster.client.get("pod", "web")).pod
    stored.metadata.annotations["deployment.atoll.dev/revision"] = "3"
    stored.metadata.annotations["note"] = "by hand"
    await cluster.client.update(object_pb2.Object(pod=stored))
    manifest = make_pod()
    manifest.pod.metadata.annotations["owner"] = "team-a"
    applied = (await cluster.client.apply(manifest)).object.pod
    assert dict(applied.metadata.annotations) == {"deployment.atoll.dev/revision": "3", "owner": "team-a"}


async def test_batch_create_answers_each_object_on_its_own(cluster: Cluster) -> None:
    await cluster.client.create(make_event("taken"))
    invalid = make_event("bad")
    invalid.event.type = "Loud"
    response = await cluster.client.batch_create(
        [make_event("a"), make_event("taken"), invalid, make_event("b", "nowhere"), make_event("c")]
    )
    codes = [result.code for result in response.results]
    assert codes == ["OK", "ALREADY_EXISTS", "INVALID_ARGUMENT", "NOT_FOUND", "OK"]
    assert "event/default/taken already exists" in response.results[1].message
    assert "namespace 'nowhere' not found" in response.results[3].message
    items, _ = await cluster.client.list_all("events", "default")
    assert sorted(item.event.metadata.name for item in items) == ["a", "c", "taken"]
    stored = {item.event.metadata.name: item.event.metadata.resource_version for item in items}
    assert (response.results[0].resource_version, response.results[4].resource_version) == (stored["a"], stored["c"])


async def test_batch_update_status_answers_each_object_on_its_own(cluster: Cluster) -> None:
    first = await cluster.client.create(make_pod("first"))
    second = await cluster.client.create(make_pod("second"))
    first.pod.status.phase = "Running"
    first.pod.metadata.labels["ignored"] = "status only"
    stale = object_pb2.Object()
    stale.CopyFrom(second)
    stale.pod.status.phase = "Failed"
    stale.pod.metadata.resource_version = second.pod.metadata.resource_version - 1
    gone = make_pod("gone")
    gone.pod.status.phase = "Running"
    event = await cluster.client.create(make_event("no-status"))
    response = await cluster.client.batch_update_status([first, stale, gone, event])
    assert [result.code for result in response.results] == ["OK", "ABORTED", "NOT_FOUND", "INVALID_ARGUMENT"]
    assert "kind Event has no status" in response.results[3].message
    stored = await cluster.client.get("pod", "first")
    assert stored.pod.status.phase == "Running" and "ignored" not in stored.pod.metadata.labels
    assert response.results[0].object == stored, "each result carries the object as stored"
    assert (await cluster.client.get("pod", "second")).pod.status.phase != "Failed"
    with pytest.raises(ApiError) as err:
        await cluster.client.get("pod", "gone")
    assert err.value.code == grpc.StatusCode.NOT_FOUND


async def test_batch_update_status_of_too_many_is_refused_whole(cluster: Cluster) -> None:
    from controller.apiserver.objects_service import MAX_OBJECTS_PER_CALL

    pod = await cluster.client.create(make_pod("only"))
    pod.pod.status.phase = "Running"
    with pytest.raises(ApiError) as err:
        await cluster.client.batch_update_status([pod] * (MAX_OBJECTS_PER_CALL + 1))
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert f"objects: at most {MAX_OBJECTS_PER_CALL} per call" in err.value.message
    assert (await cluster.client.get("pod", "only")).pod.status.phase != "Running"


async def test_batch_create_of_too_many_is_refused_whole(cluster: Cluster) -> None:
    from controller.apiserver.objects_service import MAX_OBJECTS_PER_CALL

    with pytest.raises(ApiError) as err:
        await cluster.client.batch_create([make_event(f"e{i}") for i in range(MAX_OBJECTS_PER_CALL + 1)])
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert f"objects: at most {MAX_OBJECTS_PER_CALL} per call" in err.value.message
    items, _ = await cluster.client.list_all("events", "default")
    assert items == []
