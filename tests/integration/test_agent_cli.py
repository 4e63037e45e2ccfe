"""``atoll logs`` through the API server's Logs proxy to the node's agent (only on the node's own
addresses), and ``atoll node
cordon|uncordon|drain`` against a running agent."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
from collections.abc import AsyncIterator

import grpc
import pytest

from agent.drivers.abilities import PreviousLogNotFoundError
from agent.drivers.log_lines import LogQuery
from agent.drivers.protocol import Driver
from agent.drivers.sim.hypervisor import HypervisorProfile, SimHypervisorDriver
from agent.drivers.sim.linux import SimLinuxDriver
from agent.logs_service import start_logs_server
from agent.registration import NodeProfile
from atoll.annotations import AGENT_ENDPOINT_ANNOTATION
from atoll.cli import logs as logs_verb
from atoll.cli import node as node_verb
from atoll.cli.common import Streams
from atoll.cli.main import build_parser
from atoll.client import ApiError, Client
from atoll.clock import ManualClock
from atoll.v1 import meta_pb2
from controller.apiserver.agent_route import AgentRoutes
from controller.apiserver.logs_proxy import add_logs_service
from tests.integration.agent_harness import bound_pod, bound_vm, cluster, eventually, node
from tests.support.cluster import Cluster


@contextlib.asynccontextmanager
async def logs_proxy(c: Cluster) -> AsyncIterator[Client]:
    """A gRPC server with only the Logs proxy on the running API server's registry."""
    server = grpc.aio.server()
    routes = AgentRoutes(c.api.registry)
    add_logs_service(server, routes)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    client = Client.connect(f"127.0.0.1:{port}")
    try:
        yield client
    finally:
        await client.close()
        await routes.close()
        await server.stop(0)


def _logs_args(target: str, container: str = "", tail: int = -1, *flags: str) -> argparse.Namespace:
    argv = ["logs", target, "--tail", str(tail), *(["-c", container] if container else []), *flags]
    return build_parser().parse_args(argv)


async def _logs(client: Client, target: str, *flags: str) -> list[str]:
    out = io.StringIO()
    await logs_verb.print_logs(client, _logs_args(target, "", -1, *flags), Streams(out=out))
    return out.getvalue().splitlines()


async def test_logs_of_a_pod_and_a_vm_come_from_the_nodes_agent() -> None:
    clock = ManualClock()
    logs_server = await start_logs_server("127.0.0.1:0")
    profile = NodeProfile(name="n1", address="127.0.0.1", endpoint=logs_server.address)
    drivers = [SimLinuxDriver(clock=clock), SimHypervisorDriver(HypervisorProfile(boot_seconds=0), clock=clock)]
    try:
        async with cluster() as c, node(c.client, profile, drivers, clock) as running, logs_proxy(c) as via_api:
            logs_server.serve(running.agent)
            await c.client.create(bound_pod("talk", "n1", "echo one; echo two; sleep infinity"))
            await c.client.create(bound_vm("box", "n1"))
            await eventually(c.client, "pod", "talk", lambda p: p is not None and p.status.phase == "Running")
            await eventually(c.client, "vm", "box", lambda v: v is not None and v.status.phase == "Running")
            out = io.StringIO()
            await logs_verb.print_logs(via_api, _logs_args("pod/talk", tail=2), Streams(out=out))
            assert out.getvalue() == "one\ntwo\n"
            console = io.StringIO()
            await logs_verb.print_logs(via_api, _logs_args("vm/box"), Streams(out=console))
            assert "guest booted" in console.getvalue()
            with pytest.raises(ApiError) as err:
                await logs_verb.print_logs(via_api, _logs_args("pod/talk", container="nope"), Streams(out=out))
            assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT and "choose one of: main" in err.value.message
            with pytest.raises(ApiError) as missing:
                await logs_verb.print_logs(via_api, _logs_args("ghost"), Streams(out=out))
            assert missing.value.code == grpc.StatusCode.NOT_FOUND
            stored = (await c.client.get("node", "n1")).node
            stored.metadata.annotations[AGENT_ENDPOINT_ANNOTATION] = "192.0.2.1:22"
            await c.client.update(stored)
            with pytest.raises(ApiError) as foreign:
                await logs_verb.print_logs(via_api, _logs_args("pod/talk"), Streams(out=out))
            assert foreign.value.code == grpc.StatusCode.FAILED_PRECONDITION
            assert "'192.0.2.1:22' is not on one of the node's own addresses (127.0.0.1, n1); not dialed" in (
                foreign.value.message)
    finally:
        await logs_server.stop()


async def _no_previous(client: Client, target: str) -> str:
    """The one line ``atoll logs TARGET --previous`` is refused with (NOT_FOUND)."""
    with pytest.raises(ApiError) as refused:
        await _logs(client, target, "--previous")
    assert refused.value.code == grpc.StatusCode.NOT_FOUND
    return refused.value.message


@contextlib.asynccontextmanager
async def served(driver: Driver, clock: ManualClock) -> AsyncIterator[tuple[Cluster, Client]]:
    """An API server, node n1 running ``driver`` with its agent's logs server, and a client of the
    Logs proxy."""
    logs_server = await start_logs_server("127.0.0.1:0")
    profile = NodeProfile(name="n1", address="127.0.0.1", endpoint=logs_server.address)
    try:
        async with cluster() as c, node(c.client, profile, [driver], clock) as running, logs_proxy(c) as via_api:
            logs_server.serve(running.agent)
            yield c, via_api
    finally:
        await logs_server.stop()


async def test_previous_since_and_timestamps_of_a_crash_looping_container() -> None:
    """A container that exits and restarts: --previous shows the run before (one clear line before
    any restart, as kubectl), --timestamps stamps each line as it was written, --since keeps the
    recent ones; between runs the last run's log is what plain logs show; deletion forgets it."""
    clock = ManualClock(1_800_000_000.0)
    driver = SimLinuxDriver(clock=clock)
    async with served(driver, clock) as (c, via_api):
        await c.client.create(bound_pod("crashy", "n1", "echo hello; sleep 5; exit 1"))
        await eventually(c.client, "pod", "crashy", lambda p: p is not None and p.status.phase == "Running")
        assert await _no_previous(via_api, "crashy") == (
            'previous terminated container "main" in pod "default/crashy" not found')
        first_run = await _logs(via_api, "crashy", "--timestamps")
        following = asyncio.create_task(_logs(via_api, "crashy", "-f", "--timestamps", "--since", "1h", "--tail", "1"))
        await asyncio.sleep(0.3)  # the follower is reading before the run ends
        clock.advance(5)  # the first run exits (the follow ends with it); the first restart is immediate
        followed = await asyncio.wait_for(following, 10)
        assert followed == [first_run[-1], "2027-01-15T08:00:05.000000000Z exited: code 1 (Error)"]
        await eventually(c.client, "pod", "crashy", lambda p: p.status.container_statuses[0].restart_count == 1
                         and p.status.phase == "Running")
        clock.advance(2)
        previous = await _logs(via_api, "crashy", "--previous", "--timestamps")
        current = await _logs(via_api, "pod/crashy", "--timestamps")
        assert previous[: len(first_run)] == first_run, "the previous run's lines, stamped as first read"
        assert previous[-1].endswith(" exited: code 1 (Error)")
        assert [line.split(" ", 1)[1] for line in current] == ["sim-linux: running busybox", "hello"]
        stamps = [line.split(" ", 1)[0] for line in previous + current]
        assert stamps == sorted(stamps) and stamps[0] == "2027-01-15T08:00:00.000000000Z"
        assert stamps[-1] == "2027-01-15T08:00:05.000000000Z", "the second run started 5 s in"
        assert await _logs(via_api, "crashy", "--since", "3s") == ["sim-linux: running busybox", "hello"]
        assert await _logs(via_api, "crashy", "--since-time", "2027-01-15T08:00:04Z", "--previous") == [
            "exited: code 1 (Error)"]
        assert await _logs(via_api, "crashy", "--tail", "0") == []

        clock.advance(3)  # the second run exits: back-off 10 s, no task meanwhile
        await eventually(c.client, "pod", "crashy", lambda p: p.status.container_statuses[0].state.waiting.reason
                         == "CrashLoopBackOff")
        assert (await _logs(via_api, "crashy"))[-2:] == ["hello", "exited: code 1 (Error)"], (
            "between runs, plain logs show the last run, as kubectl does")
        assert await _logs(via_api, "crashy", "--previous") == await _logs(via_api, "crashy")
        task_id = f"{(await c.client.get('pod', 'crashy')).pod.metadata.uid}:main"
        await c.client.delete("pod", "crashy")
        await eventually(c.client, "pod", "crashy", lambda p: p is None)
        with pytest.raises(PreviousLogNotFoundError):
            [line async for line in driver.logs(task_id, LogQuery(previous=True))]


async def test_previous_console_of_a_vm_whose_guest_crashed_and_booted_again_here() -> None:
    """A VM's runs are tasks of their own: --previous reads the console of the run before the
    current one on this node (one line when there is none); exactly one is kept; deletion forgets it."""
    clock = ManualClock(1_800_000_000.0)
    driver = SimHypervisorDriver(HypervisorProfile(boot_seconds=0), clock=clock)
    async with served(driver, clock) as (c, via_api):
        await c.client.create(bound_vm("box", "n1", "echo up; sleep 30; crash"))
        await eventually(c.client, "vm", "box", lambda v: v is not None and v.status.phase == "Running")
        assert await _no_previous(via_api, "vm/box") == (
            "virtualmachine/default/box: no previous run's console log is kept on its node")
        for restarts in (1, 2):
            clock.advance(30)  # the guest crashes; Always boots it again here (back-off 10 s the 2nd time)
            for _ in range(12):
                vm = (await c.client.get("vm", "box")).virtual_machine
                if vm.status.restart_count == restarts and vm.status.phase == "Running":
                    break
                clock.advance(1)
                await asyncio.sleep(0.1)
            assert (vm.status.restart_count, vm.status.phase) == (restarts, "Running")
            previous = await _logs(via_api, "vm/box", "--previous")
            assert previous[-2:] == ["up", "exited: code 1 (GuestCrashed)"], previous
            assert not (await _logs(via_api, "vm/box"))[-1].startswith("exited"), "the current run's own"
        assert len(driver._previous) == 1, "exactly one previous console kept"
        await c.client.delete("vm", "box")
        await eventually(c.client, "vm", "box", lambda v: v is None)
        assert driver._previous == {}


async def test_cordon_uncordon_and_drain_that_refuses_unmanaged_pods_without_force() -> None:
    clock = ManualClock()
    async with cluster() as c, node(c.client, NodeProfile(name="n1"), [SimLinuxDriver(clock=clock)], clock):
        out, err = io.StringIO(), io.StringIO()
        streams = Streams(out=out, err=err)
        args = argparse.Namespace(action="cordon", names=["n1"], force=False, timeout=0.0)
        await node_verb.execute(c.client, args, streams)
        assert (await c.client.get("node", "n1")).node.spec.unschedulable
        args.action = "uncordon"
        await node_verb.execute(c.client, args, streams)
        assert not (await c.client.get("node", "n1")).node.spec.unschedulable
        managed = bound_pod("replica", "n1")
        managed.pod.metadata.owner_references.append(
            meta_pb2.OwnerReference(kind="Deployment", name="web", uid="u", controller=True))
        await c.client.create(managed)
        await c.client.create(bound_pod("pet", "n1"))
        for name in ("replica", "pet"):
            await eventually(c.client, "pod", name, lambda p: p is not None and p.status.phase == "Running")
        args.action = "drain"
        assert await node_verb.execute(c.client, args, streams) == 1
        assert "pod/default/pet not managed by a controller" in err.getvalue()
        assert (await c.client.get("pod", "pet")).pod.metadata.name == "pet", "nothing is evicted on refusal"
        args.force, args.timeout = True, 10.0
        assert await node_verb.execute(c.client, args, streams) == 0
        assert "node/n1 drained" in out.getvalue()
        for name in ("replica", "pet"):
            await eventually(c.client, "pod", name, lambda p: p is None)
