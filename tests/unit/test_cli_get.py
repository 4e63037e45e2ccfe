"""``atoll get`` against the fake servicer: tables, formats, empty lists, names, watch."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json

import grpc
import pytest
import yaml

from atoll import kinds
from atoll.cli import get
from atoll.cli.common import CliError, Streams
from atoll.cli.main import build_parser
from atoll.v1 import object_pb2
from atoll.watch_events import MODIFIED
from tests.support.objects import make_node, make_pod
from tests.unit.test_client_fake import batch, serve_fake

NOW = 1_700_000_000.0


def streams() -> Streams:
    return Streams(out=io.StringIO(), err=io.StringIO(), now=lambda: NOW)


def output(s: Streams) -> tuple[str, str]:
    assert isinstance(s.out, io.StringIO) and isinstance(s.err, io.StringIO)
    return s.out.getvalue(), s.err.getvalue()


def running_pod(name: str, namespace: str = "default", age: int = 300) -> object_pb2.Object:
    obj = make_pod(name, namespace)
    pod = obj.pod
    pod.metadata.creation_timestamp.FromSeconds(int(NOW) - age)
    pod.status.phase = "Running"
    pod.status.pod_ip = "10.0.0.7"
    pod.spec.node_name = "n1"
    pod.status.container_statuses.add(name="main", ready=True).state.running.SetInParent()
    return obj


async def run_get(*argv: str) -> tuple[int, str, str, list[str]]:
    """Run ``atoll get ARGV`` against a fake holding two pods in default, one in prod, a node."""
    async with serve_fake() as (fake, client, _):
        fake.put(running_pod("web"))
        fake.put(running_pod("api", age=7200))
        fake.put(running_pod("db", "prod"))
        fake.put(make_node("n1"))
        s = streams()
        code = await get.execute(client, build_parser().parse_args(["get", *argv]), s)
        namespaces = [request.namespace for request in fake.requests["List"] + fake.requests["Get"]]
    out, err = output(s)
    return code, out, err, namespaces


async def test_pods_print_as_a_table_of_the_default_namespace() -> None:
    code, out, err, namespaces = await run_get("pods")
    assert code == 0 and err == ""
    assert out.splitlines() == [
        "NAME   READY   STATUS    RESTARTS   AGE",
        "api    1/1     Running   0          120m",
        "web    1/1     Running   0          5m",
    ]
    assert namespaces == ["default"]


async def test_all_namespaces_adds_a_namespace_column() -> None:
    code, out, _, namespaces = await run_get("po", "-A", "-o", "wide")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == [
        "NAMESPACE",
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED",
        "NODE",
        "OS",
    ]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["default", "api"],
        ["default", "web"],
        ["prod", "db"],
    ]
    assert namespaces == [""]


async def test_names_print_kind_slash_name() -> None:
    code, out, _, _ = await run_get("pods", "-n", "prod", "-o", "name")
    assert (code, out) == (0, "pod/db\n")


async def test_one_named_object_prints_as_its_manifest_in_yaml() -> None:
    code, out, _, _ = await run_get("pod", "web", "-o", "yaml")
    document = yaml.safe_load(out)
    assert code == 0
    assert (document["kind"], document["metadata"]["name"]) == ("Pod", "web")


async def test_a_list_prints_as_a_list_document_in_json() -> None:
    code, out, _, _ = await run_get("pods", "-o", "json")
    document = json.loads(out)
    assert code == 0
    assert (document["apiVersion"], document["kind"]) == ("atoll.dev/v1", "List")
    assert [item["metadata"]["name"] for item in document["items"]] == ["api", "web"]


async def test_a_missing_name_is_one_server_error_line_and_exit_1_while_others_print() -> None:
    code, out, err, _ = await run_get("pods", "web", "ghost", "-o", "name")
    assert code == 1
    assert out == "pod/web\n"
    assert err == 'Error from server (NotFound): pods "ghost" not found\n'


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["pods", "-n", "empty"], "No resources found in empty namespace.\n", id="namespaced kind"),
        pytest.param(["leases", "-A"], "No resources found\n", id="every namespace"),
        pytest.param(["namespaces"], "No resources found\n", id="cluster-scoped kind"),
    ],
)
async def test_an_empty_list_says_no_resources_found_on_stderr(argv: list[str], message: str) -> None:
    code, out, err, _ = await run_get(*argv)
    assert (code, out, err) == (0, "", message)


async def test_nodes_ignore_the_namespace() -> None:
    code, out, _, namespaces = await run_get("nodes", "-n", "prod", "-o", "name")
    assert (code, out, namespaces) == (0, "node/n1\n", [""])


async def test_chunk_size_pages_the_list() -> None:
    async with serve_fake() as (fake, client, _):
        for index in range(5):
            fake.put(running_pod(f"p{index}"))
        s = streams()
        await get.execute(client, build_parser().parse_args(["get", "pods", "--chunk-size", "2", "-o", "name"]), s)
        limits = [request.limit for request in fake.requests["List"]]
    assert output(s)[0].count("\n") == 5
    assert limits == [2, 2, 2]


async def test_names_across_all_namespaces_are_refused() -> None:
    async with serve_fake() as (_, client, _):
        with pytest.raises(CliError, match="across all namespaces"):
            await get.execute(client, build_parser().parse_args(["get", "pod", "web", "-A"]), streams())


async def test_a_missing_kind_asks_for_one() -> None:
    async with serve_fake() as (_, client, _):
        with pytest.raises(CliError, match="give the kind of objects to get"):
            await get.execute(client, build_parser().parse_args(["get"]), streams())


async def test_watch_prints_the_list_then_each_change_aligned() -> None:
    async with serve_fake() as (fake, client, _):
        fake.put(running_pod("web"))
        list_revision = fake.revision
        changed = running_pod("web")
        changed.pod.status.phase = "Failed"
        changed.pod.status.container_statuses[0].state.terminated.reason = "Error"
        changed.pod.status.container_statuses[0].ready = False
        fake.watch_scripts.append([batch((MODIFIED, changed, list_revision + 1))])
        s = streams()
        task = asyncio.create_task(get.execute(client, build_parser().parse_args(["get", "pods", "-w"]), s))
        for _ in range(200):
            if output(s)[0].count("\n") == 3:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        watch_request = fake.requests["Watch"][0]
    assert output(s)[0].splitlines() == [
        "NAME   READY   STATUS    RESTARTS   AGE",
        "web    1/1     Running   0          5m",
        "web    0/1     Error     0          5m",
    ]
    assert watch_request.resource_version == list_revision


async def test_watching_one_name_selects_it_by_field() -> None:
    async with serve_fake() as (fake, client, _):
        fake.fail("Get", grpc.StatusCode.NOT_FOUND, 'pods "web" not found')
        s = streams()
        with pytest.raises(Exception, match="not found"):
            await get.execute(client, build_parser().parse_args(["get", "pod", "web", "-w"]), s)
        list_request = fake.requests["List"][0]
    assert list_request.field_selector == "metadata.name=web"
    assert kinds.lookup(list_request.kind).name == "Pod"


async def test_mixed_kinds_by_kind_slash_name_print_one_table_per_kind() -> None:
    code, out, err, _ = await run_get("pod/web", "node/n1", "-n", "default", "pods/api")
    assert (code, err) == (0, "")
    tables = out.split("\n\n")
    assert [line.split()[0] for line in tables[0].splitlines()] == ["NAME", "web", "api"]
    assert [line.split()[0] for line in tables[1].splitlines()] == ["NAME", "n1"]


async def test_mixed_kinds_as_yaml_are_one_list() -> None:
    code, out, _, _ = await run_get("pod/web", "node/n1", "-o", "yaml")
    document = yaml.safe_load(out)
    assert code == 0
    assert [(item["kind"], item["metadata"]["name"]) for item in document["items"]] == [("Pod", "web"), ("Node", "n1")]


async def test_comma_separated_kinds_list_each() -> None:
    code, out, _, _ = await run_get("pods,nodes", "-o", "name")
    assert (code, out) == (0, "pod/api\npod/web\nnode/n1\n")


async def test_an_empty_list_in_json_is_still_a_list_document() -> None:
    code, out, err, _ = await run_get("pods", "-n", "empty", "-o", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["items"] == []
