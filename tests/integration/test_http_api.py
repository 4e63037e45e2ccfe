"""The HTTP/JSON API end to end over a real listener: every verb, list paging and selectors, watch
as JSON lines, apply, the status subresource, and bad input answered by a Status with nothing changed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from atoll.manifest import to_manifest
from atoll.revisions import record_current_template
from atoll.v1 import deployment_pb2, object_pb2
from controller.store.memory import MemoryStore
from tests.support.cluster import Cluster, running_cluster
from tests.support.http_api import API, json_of
from tests.support.objects import make_node, make_pod, make_vm
from tests.support.store_writes import stored_revisions

PODS = f"{API}/namespaces/default/pods"


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with running_cluster(MemoryStore(), http_listen="127.0.0.1:0") as running:
        yield running


@pytest.fixture
async def http(cluster: Cluster) -> AsyncIterator[aiohttp.ClientSession]:
    assert cluster.api.http is not None
    async with aiohttp.ClientSession(base_url=cluster.api.http.url) as session:
        yield session


def pod_json(name: str = "web", **labels: str) -> dict[str, object]:
    return to_manifest(make_pod(name, **labels))


async def test_create_get_and_list_answer_the_json_atoll_get_prints(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    created = await http.post(PODS, json=pod_json())
    assert created.status == 201
    body = await json_of(created)
    stored = await cluster.client.get("pod", "web")
    assert body == to_manifest(stored), "one encoder: the HTTP answer is the CLI's -o json of the object"
    got = await http.get(f"{PODS}/web")
    assert got.status == 200 and await json_of(got) == body
    listed = await json_of(await http.get(f"{API}/pods"))
    assert listed["kind"] == "List" and [item["metadata"]["name"] for item in listed["items"]] == ["web"]
    assert listed["metadata"]["resourceVersion"] >= body["metadata"]["resourceVersion"]


async def test_list_pages_with_limit_and_continue_and_filters_by_selectors(http: aiohttp.ClientSession) -> None:
    for index in range(5):
        assert (await http.post(PODS, json=pod_json(f"p{index}", tier="db" if index % 2 else "web"))).status == 201
    names: list[str] = []
    token = ""
    while True:
        page = await json_of(await http.get(PODS, params={"limit": "2", "continue": token}))
        assert len(page["items"]) <= 2
        names += [item["metadata"]["name"] for item in page["items"]]
        token = page["metadata"].get("continue", "")
        if not token:
            break
    assert names == [f"p{index}" for index in range(5)]
    db = await json_of(await http.get(PODS, params={"labelSelector": "tier=db"}))
    assert [item["metadata"]["name"] for item in db["items"]] == ["p1", "p3"]
    named = await json_of(await http.get(PODS, params={"fieldSelector": "metadata.name=p4"}))
    assert [item["metadata"]["name"] for item in named["items"]] == ["p4"]


async def test_put_needs_the_current_resource_version_and_status_is_its_own_subresource(
    http: aiohttp.ClientSession,
) -> None:
    pod = await json_of(await http.post(PODS, json=pod_json()))
    pod["metadata"]["labels"] = {"changed": "yes"}
    replaced = await http.put(f"{PODS}/web", json=pod)
    assert replaced.status == 200
    stale = await http.put(f"{PODS}/web", json=pod)  # still the old resourceVersion
    assert stale.status == 409 and (await json_of(stale))["reason"] == "Conflict"
    current = await json_of(await http.get(f"{PODS}/web"))
    assert current["metadata"]["labels"] == {"changed": "yes"}
    current["status"] = {"phase": "Running"}
    current["spec"]["restartPolicy"] = "Never"  # a status write keeps the spec
    status = await http.put(f"{PODS}/web/status", json=current)
    assert status.status == 200
    after = await json_of(await http.get(f"{PODS}/web/status"))
    assert after["status"]["phase"] == "Running" and after["spec"]["restartPolicy"] == "Always"


async def test_apply_creates_then_configures_then_leaves_unchanged(http: aiohttp.ClientSession) -> None:
    yaml_body = (
        "apiVersion: atoll.dev/v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: c, image: nginx}]\n"
    )
    headers = {"Content-Type": "application/apply-patch+yaml"}
    first = await http.patch(f"{PODS}/web", data=yaml_body, headers=headers)
    assert (first.status, first.headers["X-Atoll-Apply-Result"]) == (201, "created")
    second = await http.patch(f"{PODS}/web", data=yaml_body, headers=headers)
    assert (second.status, second.headers["X-Atoll-Apply-Result"]) == (200, "unchanged")
    changed = yaml_body.replace("nginx", "nginx:2")
    third = await http.patch(f"{PODS}/web", data=changed, headers=headers)
    assert third.headers["X-Atoll-Apply-Result"] == "configured"
    assert (await json_of(third))["spec"]["containers"][0]["image"] == "nginx:2"


async def test_delete_with_foreground_propagation_keeps_the_object_until_its_finalizer_goes(
    http: aiohttp.ClientSession,
) -> None:
    await http.post(PODS, json=pod_json())
    pending = await http.delete(f"{PODS}/web", params={"propagationPolicy": "Foreground"})
    assert pending.status == 202
    assert "foregroundDeletion" in (await json_of(pending))["metadata"]["finalizers"]
    await http.post(PODS, json=pod_json("other"))
    stale = await http.delete(f"{PODS}/other", json={"preconditions": {"resourceVersion": 1}})
    assert stale.status == 409
    gone = await http.delete(f"{PODS}/other")
    assert gone.status == 200
    assert (await http.get(f"{PODS}/other")).status == 404


async def test_cluster_scoped_kinds_have_no_namespace_segment(http: aiohttp.ClientSession) -> None:
    created = await http.post(f"{API}/nodes", json=to_manifest(make_node("n1")))
    assert created.status == 201
    assert (await http.get(f"{API}/nodes/n1")).status == 200
    wrong = await http.get(f"{API}/namespaces/default/nodes/n1")
    assert wrong.status == 404 and "cluster-scoped" in (await json_of(wrong))["message"]
    namespace = await http.get(f"{API}/namespaces/default")
    assert (await json_of(namespace))["kind"] == "Namespace"


async def test_watch_streams_one_json_event_per_line_from_a_resource_version(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    first = await json_of(await http.post(PODS, json=pod_json("a")))
    revision = first["metadata"]["resourceVersion"]
    response = await http.get(PODS, params={"watch": "true", "resourceVersion": str(revision)})
    assert response.status == 200
    await cluster.client.create(make_pod("b"))
    await cluster.client.delete("pod", "b")
    events = []
    while len(events) < 2:
        line = await asyncio.wait_for(response.content.readline(), 10)
        events.append(json.loads(line))
    assert [(event["type"], event["object"]["metadata"]["name"]) for event in events] == [
        ("ADDED", "b"),
        ("DELETED", "b"),
    ]
    response.close()


async def test_watch_from_zero_lists_first_and_ends_after_timeout_seconds(http: aiohttp.ClientSession) -> None:
    await http.post(PODS, json=pod_json("a"))
    response = await http.get(PODS, params={"watch": "1", "timeoutSeconds": "1"})
    lines = (await asyncio.wait_for(response.read(), 10)).decode().splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["ADDED"]


BAD_REQUESTS = [
    pytest.param("POST", PODS, b"{not json", "application/json", 400, "invalid JSON", id="malformed JSON is 400"),
    pytest.param(
        "POST",
        PODS,
        json.dumps(to_manifest(make_node("n9"))).encode(),
        "application/json",
        400,
        "does not match",
        id="a body of another kind is 400",
    ),
    pytest.param(
        "POST",
        f"{API}/namespaces/other/pods",
        json.dumps({**pod_json(), "metadata": {"name": "web", "namespace": "default"}}).encode(),
        "application/json",
        400,
        "metadata.namespace",
        id="a namespace other than the path's is 400",
    ),
    pytest.param("POST", PODS, b"x" * (100 * 1024 * 1024), "application/json", 413, "larger", id="100 MB is 413"),
    pytest.param("POST", PODS, b"{}", "text/plain", 415, "Content-Type", id="a content type not taken is 415"),
    pytest.param("GET", f"{API}/gadgets", b"", "", 404, "unknown resource", id="an unknown resource is 404"),
    pytest.param("GET", "/nothing/here", b"", "", 404, "no such path", id="an unknown path is 404"),
    pytest.param("POST", f"{PODS}/web", b"{}", "application/json", 405, "not allowed", id="an unknown verb is 405"),
    pytest.param("GET", PODS + "?limit=ten", b"", "", 400, "limit", id="a bad query parameter is 400"),
    pytest.param(
        "PATCH", f"{PODS}/web", b"{}", "application/merge-patch+json", 415, "apply", id="a merge patch is 415"
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "content_type", "code", "words"), BAD_REQUESTS)
async def test_bad_requests_get_a_status_and_change_nothing(
    cluster: Cluster,
    http: aiohttp.ClientSession,
    method: str,
    path: str,
    body: bytes,
    content_type: str,
    code: int,
    words: str,
) -> None:
    before = await stored_revisions(cluster.store)
    headers = {"Content-Type": content_type} if content_type else {}
    response = await http.request(method, path, data=body or None, headers=headers)
    status = await json_of(response)
    assert (response.status, status["kind"], status["code"]) == (code, "Status", code)
    assert words in status["message"] and "\n" not in status["message"]
    assert await stored_revisions(cluster.store) == before


async def test_validation_errors_name_each_field_path(http: aiohttp.ClientSession) -> None:
    pod = pod_json()
    pod["spec"]["containers"][0]["resources"] = {"requests": {"memory": "12Gx"}}  # type: ignore[index]
    response = await http.post(PODS, json=pod)
    status = await json_of(response)
    assert response.status == 422 and status["reason"] == "Invalid"
    assert status["details"]["causes"][0]["field"] == "spec.containers[0].resources.requests.memory"


async def test_an_invalid_update_found_by_the_server_keeps_its_field_causes(http: aiohttp.ClientSession) -> None:
    config = {"apiVersion": "atoll.dev/v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "immutable": True}
    configmaps = f"{API}/namespaces/default/configmaps"
    created = await json_of(await http.post(configmaps, json={**config, "data": {"a": "1"}}))
    created["data"] = {"a": "2"}  # valid alone; only the stored object makes it wrong
    response = await http.put(f"{configmaps}/c", json=created)
    status = await json_of(response)
    assert response.status == 422, status
    assert [cause["field"] for cause in status["details"]["causes"]] == ["data"]


async def test_the_http_listener_port_taken_is_one_line(cluster: Cluster, tmp_path: Path) -> None:
    assert cluster.api.http is not None
    with pytest.raises(RuntimeError, match="cannot listen on"):
        async with running_cluster(MemoryStore(), http_listen=f"127.0.0.1:{cluster.api.http.port}"):
            pass


async def test_vm_actions_write_what_atoll_vm_writes(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    await cluster.client.create(make_vm("db"))
    vms = f"{API}/namespaces/default/virtualmachines"
    stopped = await http.post(f"{vms}/db/stop")
    assert stopped.status == 200
    spec = (await json_of(stopped))["spec"]
    assert (spec["runStrategy"], spec["powerState"]) == ("Halted", "Stopped")
    refused = await http.post(f"{vms}/db/restart")
    assert refused.status == 400 and "atoll vm start db" in (await json_of(refused))["message"]
    started = await json_of(await http.post(f"{vms}/db/start"))
    assert (started["spec"]["runStrategy"], started["spec"]["powerState"]) == ("Always", "Running")
    not_a_vm = await http.post(f"{PODS}/web/stop")
    assert not_a_vm.status == 404


async def test_logs_of_a_workload_not_scheduled_yet_are_a_status_with_its_code(
    cluster: Cluster, http: aiohttp.ClientSession
) -> None:
    await cluster.client.create(make_pod("web"))
    response = await http.get(f"{PODS}/web/log")
    status = await json_of(response)
    assert (response.status, status["reason"]) == (400, "FailedPrecondition"), status
    assert (await http.get(f"{PODS}/nothing/log")).status == 404
    bad_time = await http.get(f"{PODS}/web/log?sinceTime=yesterday")
    assert (bad_time.status, (await json_of(bad_time))["message"]) == (
        400, "query parameter sinceTime: expected RFC 3339, got 'yesterday'")
    assert (await http.get(f"{PODS}/web/log?sinceSeconds=-5")).status == 400


async def test_the_openapi_document_is_served(http: aiohttp.ClientSession) -> None:
    response = await http.get("/openapi/v3")
    document = await json_of(response)
    assert response.status == 200 and document["openapi"].startswith("3.")
    assert f"{API}/namespaces/{{namespace}}/pods/{{name}}" in document["paths"]


async def test_a_watcher_that_stops_reading_holds_up_no_other(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    """Megabytes of events for a client that reads nothing: the server's writes to it wait (and
    its backlog is bounded by the watch cache), while another watcher gets every event."""
    assert cluster.api.http is not None
    path = f"{API}/namespaces/default/configmaps?watch=true"
    _, writer = await asyncio.open_connection("127.0.0.1", cluster.api.http.port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    await writer.drain()  # and never read
    fast = await http.get(path)
    big = "x" * 256 * 1024
    configmaps = f"{API}/namespaces/default/configmaps"
    for index in range(32):  # 8 MiB the slow client never reads
        body = {
            "apiVersion": "atoll.dev/v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"c{index}"},
            "data": {"k": big},
        }
        assert (await http.post(configmaps, json=body)).status == 201
    names = []
    while len(names) < 32:
        event = json.loads(await asyncio.wait_for(fast.content.readline(), 30))
        names.append(event["object"]["metadata"]["name"])
    assert names == [f"c{index}" for index in range(32)]
    assert (await http.get(f"{configmaps}/c0")).status == 200, "the server still answers"
    writer.close()
    fast.close()


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"Origin": "http://evil.example"}, id="another Origin"),
        pytest.param({"Origin": "null"}, id="an opaque Origin"),
        pytest.param({"Sec-Fetch-Site": "cross-site"}, id="a cross-site fetch"),
    ],
)
async def test_a_write_from_another_site_is_refused_even_without_authentication(
    cluster: Cluster, http: aiohttp.ClientSession, headers: dict[str, str]
) -> None:
    await cluster.client.create(make_vm("db"))
    before = await stored_revisions(cluster.store)
    response = await http.post(f"{API}/namespaces/default/virtualmachines/db/stop", headers=headers)
    assert response.status == 403 and "cross-site" in (await json_of(response))["message"]
    assert await stored_revisions(cluster.store) == before
    assert (await http.get(f"{PODS}", headers=headers)).status == 200, "reads are not writes"


async def test_a_write_from_the_console_itself_passes(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    assert cluster.api.http is not None
    await cluster.client.create(make_vm("db"))
    headers = {"Origin": cluster.api.http.url, "Sec-Fetch-Site": "same-origin"}
    assert (await http.post(f"{API}/namespaces/default/virtualmachines/db/stop", headers=headers)).status == 200


def _deployment_with_history() -> object_pb2.Object:
    """A Deployment whose annotations record two revisions (nginx:1, then nginx:2), as the
    Deployment controller records them."""
    deployment = deployment_pb2.Deployment()
    deployment.metadata.name = "web"
    deployment.metadata.namespace = "default"
    deployment.spec.replicas = 1
    deployment.spec.selector.match_labels["app"] = "web"
    template = deployment.spec.template.pod
    template.metadata.labels["app"] = "web"
    template.spec.containers.add(name="web", image="nginx:1")
    record_current_template(deployment)
    template.spec.containers[0].image = "nginx:2"
    record_current_template(deployment)
    return object_pb2.Object(deployment=deployment)


async def test_rollout_history_and_undo_as_atoll_rollout(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    await cluster.client.create(_deployment_with_history())
    deployments = f"{API}/namespaces/default/deployments"
    history = await json_of(await http.get(f"{deployments}/web/history"))
    assert history["current"] == 2
    images = [revision["template"]["pod"]["spec"]["containers"][0]["image"] for revision in history["revisions"]]
    assert images == ["nginx:1", "nginx:2"]
    undone = await http.post(f"{deployments}/web/undo")
    assert undone.status == 200
    assert (await json_of(undone))["spec"]["template"]["pod"]["spec"]["containers"][0]["image"] == "nginx:1"
    missing = await http.post(f"{deployments}/web/undo", params={"toRevision": "9"})
    assert missing.status == 404 and "revision 9 not found (kept: 1, 2)" in (await json_of(missing))["message"]
    assert (await http.get(f"{PODS}/web/history")).status == 404
