"""Real containers' logs through the agent and the API server: a container killed and restarted
(restartPolicy Always) keeps its previous run's output for ``atoll logs --previous``, also across
an agent restart; every line is stamped by the shim when written (``--timestamps`` in order,
``--since-time`` filters on the node); a line longer than the pipe's pieces comes back whole, an
unfinished last line is not lost; the pod's deletion removes the previous log."""

from __future__ import annotations

import asyncio
import io
import re
from typing import Any

import grpc
import pytest

from agent.config import AgentConfig
from agent.drivers.oci.taskdir import container_id_for
from agent.logs_service import start_logs_server
from agent.registration import NodeProfile
from agent.run import start_node
from atoll.cli import logs as logs_verb
from atoll.cli.common import Streams
from atoll.cli.main import build_parser
from atoll.client import ApiError, Client
from atoll.clock import SystemClock
from atoll.v1 import access_pb2
from tests.e2e.conftest import BUSYBOX_IMAGE, OciFactory
from tests.integration.agent_harness import bound_pod, cluster, eventually
from tests.integration.test_agent_cli import logs_proxy

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")
SCRIPT = ("echo run $(cat /proc/sys/kernel/random/uuid); echo oops >&2; "
          "head -c 20000 /dev/zero | tr '\\0' x; echo; printf no-newline; exec sleep 3600")


async def _logs(client: Client, *flags: str) -> list[str]:
    out = io.StringIO()
    await logs_verb.print_logs(client, build_parser().parse_args(["logs", "pod/crashy", *flags]), Streams(out=out))
    return out.getvalue().splitlines()


def _restarted(count: int) -> Any:
    return lambda p: (p.status.container_statuses and p.status.container_statuses[0].restart_count == count
                      and p.status.phase == "Running")


@pytest.mark.parametrize("runtime", ["runc", "crun"])
async def test_previous_logs_and_stamps_of_a_restarted_real_container(oci: OciFactory, runtime: str) -> None:
    logs_server = await start_logs_server("127.0.0.1:0")
    profile = NodeProfile(name="real-1", cpu="2", memory="8Gi", address="127.0.0.1", endpoint=logs_server.address)
    pod = bound_pod("crashy", profile.name, restart_policy="Always", termination_grace_period_seconds=1)
    pod.pod.spec.containers[0].image = BUSYBOX_IMAGE
    pod.pod.spec.containers[0].command.extend(["sh", "-c", SCRIPT])
    driver = oci(runtime)
    try:
        async with cluster() as c, logs_proxy(c) as via_api:
            running = await start_node(c.client, profile, [driver], clock=SystemClock(), config=AgentConfig())
            logs_server.serve(running.agent)
            try:
                created = await c.client.create(pod)
                task_id = f"{created.pod.metadata.uid}:main"
                await eventually(c.client, "pod", "crashy", _restarted(0), timeout=30)
                with pytest.raises(ApiError) as never:
                    await _logs(via_api, "--previous")
                assert never.value.code == grpc.StatusCode.NOT_FOUND
                assert never.value.message == 'previous terminated container "main" in pod "default/crashy" not found'
                first = await eventually_lines(via_api, 3)
                await driver.runtime.kill(container_id_for(task_id), "KILL")
                await eventually(c.client, "pod", "crashy", _restarted(1), timeout=30)
                current = await eventually_lines(via_api, 3)
                previous = await _logs(via_api, "--previous", "--timestamps")
            finally:
                await running.close()
                await driver.close()  # the agent process ends; its containers and logs do not
            texts = [line.split(" ", 1)[1] for line in previous]
            assert texts == [*first, "no-newline"], "the killed run's output, its unfinished last line included"
            assert texts[:2] != current[:2] and current[0].startswith("run "), "each run printed its own uuid"
            assert (texts[1], len(texts[2]), set(texts[2])) == ("oops", 20000, {"x"}), "stderr and a long line whole"
            stamps = [line.split(" ", 1)[0] for line in previous]
            assert all(STAMP.match(stamp) for stamp in stamps) and stamps == sorted(stamps)

            second = oci(runtime)  # a new agent process on the same state dir
            running = await start_node(c.client, profile, [second], clock=SystemClock(), config=AgentConfig())
            logs_server.serve(running.agent)
            try:
                assert await _logs(via_api, "--previous", "--timestamps") == previous, "kept across agent restarts"
                now = await _logs(via_api, "--timestamps")
                assert [line.split(" ", 1)[1] for line in now] == current
                assert now[0].split(" ", 1)[0] > stamps[-1], "the current run's lines were written after"
                since = await _logs(via_api, "--since-time", now[0].split(" ", 1)[0])
                assert since == current, "--since-time filters on the node by the written times"
                assert await _logs(via_api, "--since-time", now[0].split(" ", 1)[0], "--previous") == []
                await c.client.delete("pod", "crashy")
                await eventually(c.client, "pod", "crashy", lambda p: p is None, timeout=30)
                assert not any((second.settings.state_dir / "previous-logs").iterdir()), "gone with the pod"
            finally:
                await running.close()
    finally:
        await logs_server.stop()


async def eventually_lines(client: Client, count: int) -> list[str]:
    """The current run's first ``count`` lines once it wrote them."""
    for _ in range(200):
        lines = await _logs(client)
        if len(lines) >= count:
            return lines[:count]
        await asyncio.sleep(0.05)
    raise AssertionError(f"the container wrote {lines!r}, fewer than {count} lines")


async def test_attach_i_writes_to_the_stdin_of_a_real_container_started_with_it(oci: OciFactory) -> None:
    """stdin: true: the shim gives the container a FIFO as stdin; attach -i writes into it, and
    the container's answer comes back on the same session."""
    logs_server = await start_logs_server("127.0.0.1:0")
    profile = NodeProfile(name="real-1", cpu="2", memory="8Gi", address="127.0.0.1", endpoint=logs_server.address)
    pod = bound_pod("reader", profile.name, termination_grace_period_seconds=1)
    container = pod.pod.spec.containers[0]
    container.image, container.stdin = BUSYBOX_IMAGE, True
    container.command.extend(["sh", "-c", "while read line; do echo got $line; done"])
    driver = oci()
    try:
        async with cluster() as c:
            running = await start_node(c.client, profile, [driver], clock=SystemClock(), config=AgentConfig())
            logs_server.serve(running.agent)
            try:
                await c.client.create(pod)
                await eventually(c.client, "pod", "reader", _restarted(0), timeout=30)
                for word in (b"hello", b"again"):  # the container's stdin outlives one attach
                    start = access_pb2.SessionStart(capability="attach", kind="Pod", name="reader", stdin=True)
                    session = await c.client.open_session(start)
                    await session.send(word + b"\n")
                    stream, data = await asyncio.wait_for(anext(session.output()), 20)
                    assert (stream, data) == (1, b"got " + word + b"\n")
                    session.cancel()
            finally:
                await running.close()
    finally:
        await logs_server.stop()
