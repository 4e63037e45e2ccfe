"""``atoll top``: requested CPU and memory of bound, running workloads, per node against its
allocatable, and per pod or VM."""

from __future__ import annotations

import io

import pytest

from atoll.cli import top
from atoll.cli.common import CliError, Streams
from atoll.cli.main import build_parser
from atoll.v1 import object_pb2
from tests.support.objects import make_node, make_pod, make_vm
from tests.unit.test_client_fake import serve_fake


def bound(obj: object_pb2.Object, node: str, phase: str = "Running") -> object_pb2.Object:
    message = obj.pod if obj.HasField("pod") else obj.virtual_machine
    message.spec.node_name = node
    message.status.phase = phase
    return obj


async def run_top(*argv: str) -> list[list[str]]:
    async with serve_fake() as (fake, client, _):
        fake.put(make_node("n1"))
        fake.put(make_node("n2"))
        fake.put(bound(make_pod("a"), "n1"))  # 100m, 64Mi
        fake.put(bound(make_pod("b"), "n1"))
        fake.put(bound(make_pod("done"), "n1", phase="Succeeded"))  # ended: holds nothing
        fake.put(make_pod("pending"))  # not bound: holds nothing
        fake.put(bound(make_vm("db"), "n2"))  # 1 vCPU, 512Mi
        out = io.StringIO()
        code = await top.execute(client, build_parser().parse_args(["top", *argv]), Streams(out=out, err=io.StringIO()))
    assert code == 0
    return [line.split() for line in out.getvalue().splitlines()]


async def test_nodes_add_up_what_bound_running_workloads_request() -> None:
    assert await run_top("nodes") == [
        ["NAME", "CPU(requests)", "CPU%", "MEMORY(requests)", "MEMORY%", "WORKLOADS"],
        ["n1", "200m", "5%", "128Mi", "1%", "2/110"],
        ["n2", "1000m", "25%", "512Mi", "6%", "1/110"],
    ]


async def test_pods_and_vms_list_their_own_requests() -> None:
    assert await run_top("pods", "--sort-by", "cpu", "--no-headers") == [
        ["a", "100m", "64Mi", "n1"],
        ["b", "100m", "64Mi", "n1"],
    ]
    vms = await run_top("vms", "db")
    assert vms == [["NAME", "CPU(requests)", "MEMORY(requests)", "NODE"], ["db", "1000m", "512Mi", "n2"]]
    assert (await run_top("nodes", "n2"))[1][0] == "n2"


async def test_a_missing_name_is_one_line() -> None:
    with pytest.raises(CliError, match="pods not found: ghost"):
        await run_top("pods", "a", "ghost")
