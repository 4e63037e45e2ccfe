"""``atoll exec`` and ``atoll console`` against simulated nodes, through the API server's Sessions
proxy to the node agent's AgentSessions: output, stdin, exit codes, refusals, hangups, idle
timeouts, the per-node cap and flow control (a client that stops reading stalls the process)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
from collections.abc import AsyncIterator

import grpc
import pytest

from agent import metrics as agent_metrics
from agent.drivers.sim.hypervisor import HypervisorProfile, SimHypervisorDriver
from agent.drivers.sim.linux import SimLinuxDriver
from agent.logs_service import LogsServer, start_logs_server
from agent.registration import NodeProfile
from atoll import kinds, sessions
from atoll.cli import attach as attach_verb
from atoll.cli import exec as exec_verb
from atoll.cli.common import Streams
from atoll.client import ApiError, Client
from atoll.clock import ManualClock
from atoll.v1 import access_pb2, pod_pb2
from tests.integration.agent_harness import bound_pod, bound_vm, cluster, eventually, node
from tests.support.cluster import Cluster


@contextlib.asynccontextmanager
async def fleet() -> AsyncIterator[tuple[Client, LogsServer]]:
    """An API server and one simulated node n1 running pod "web" and VM "box"."""
    clock = ManualClock()
    agent_server = await start_logs_server("127.0.0.1:0")
    profile = NodeProfile(name="n1", address="127.0.0.1", endpoint=agent_server.address)
    drivers = [SimLinuxDriver(clock=clock), SimHypervisorDriver(HypervisorProfile(boot_seconds=0), clock=clock)]
    try:
        async with cluster() as c, node(c.client, profile, drivers, clock) as running:
            agent_server.serve(running.agent)
            await c.client.create(bound_pod("web", "n1", "sleep infinity"))
            await c.client.create(bound_vm("box", "n1"))
            await eventually(c.client, "pod", "web", lambda p: p is not None and p.status.phase == "Running")
            await eventually(c.client, "vm", "box", lambda v: v is not None and v.status.phase == "Running")
            yield c.client, agent_server
    finally:
        await agent_server.stop()


def _args(*command: str, target: str = "pod/web", stdin: bool = False, tty: bool = False) -> argparse.Namespace:
    return argparse.Namespace(target=target, command=["--", *command], container="", stdin=stdin, tty=tty,
                              namespace=None)


async def _exec(client: Client, *command: str, **flags: bool) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = await exec_verb.exec_command(client, _args(*command, **flags), Streams(out=out, err=err))
    return code, out.getvalue(), err.getvalue()


async def _collect(session: sessions.SessionStream) -> bytes:
    return b"".join([data async for _, data in session.output()])


@pytest.mark.parametrize(
    ("command", "code", "out", "err"),
    [
        pytest.param(("hostname",), 0, "web\n", "", id="hostname prints the pod's name"),
        pytest.param(("sh", "-c", "exit 3"), 3, "", "", id="the remote exit code is atoll's exit code"),
        pytest.param(("cat", "/etc/os-release"), 0, "atoll simulated Linux", "", id="os-release is fixed"),
        pytest.param(("nosuch",), 127, "", "not found", id="an unknown command is 127 with a message on stderr"),
    ],
)
async def test_exec_answers_the_fixed_commands_of_a_simulated_container(
    command: tuple[str, ...], code: int, out: str, err: str
) -> None:
    async with fleet() as (client, _):
        got_code, got_out, got_err = await _exec(client, *command)
    assert got_code == code
    assert out in got_out if out else got_out == ""
    assert err in got_err if err else got_err == ""


async def test_exec_with_stdin_runs_an_interactive_shell_and_a_pipe() -> None:
    async with fleet() as (client, _):
        read_end, write_end = os.pipe()
        os.write(write_end, b"echo hello there\nexit 4\n")
        os.close(write_end)
        out, err = io.StringIO(), io.StringIO()
        code = await exec_verb.exec_command(client, _args("sh", stdin=True), Streams(out=out, err=err), read_end)
        os.close(read_end)
        assert code == 4
        assert "hello there" in out.getvalue()
        session = await client.open_session(sessions.exec_start("default", "web", ["cat"], stdin=True))
        await session.send(b"one\ntwo\n")
        await session.close_stdin()
        assert await _collect(session) == b"one\ntwo\n"
        assert session.exit == sessions.Exited(0)


async def test_a_terminal_session_echoes_and_ctrl_c_drops_the_line() -> None:
    async with fleet() as (client, _):
        session = await client.open_session(sessions.exec_start("default", "web", ["sh"], stdin=True, tty=True))
        await session.send(b"echo lost\x03echo kept\r")
        await session.send(b"exit 0\r")
        output = await _collect(session)
    assert b"^C\r\n" in output and b"kept\r\n" in output and b"lost\r\n" not in output


@pytest.mark.parametrize(
    ("start", "code", "words"),
    [
        pytest.param(sessions.exec_start("default", "ghost", ["true"]), grpc.StatusCode.NOT_FOUND, "ghost",
                     id="a pod that does not exist"),
        pytest.param(sessions.exec_start("default", "web", ["true"], container="nope"),
                     grpc.StatusCode.INVALID_ARGUMENT, "no container 'nope'; choose one of: main",
                     id="a container that does not exist"),
        pytest.param(sessions.exec_start("default", "web", []), grpc.StatusCode.INVALID_ARGUMENT,
                     "exec needs a command", id="no command"),
        pytest.param(access_pb2.SessionStart(capability="exec", kind="VirtualMachine", name="box", command=["true"]),
                     grpc.StatusCode.INVALID_ARGUMENT, "exec reaches a Pod, not 'VirtualMachine'",
                     id="exec into a VM (that is what console is for)"),
        pytest.param(access_pb2.SessionStart(capability="teleport", kind="Pod", name="web"),
                     grpc.StatusCode.INVALID_ARGUMENT, "unknown capability 'teleport'", id="an unknown capability"),
    ],
)
async def test_bad_sessions_are_refused_with_one_line(
    start: access_pb2.SessionStart, code: grpc.StatusCode, words: str
) -> None:
    async with fleet() as (client, _):
        with pytest.raises(ApiError) as refused:
            await client.open_session(start)
    assert refused.value.code == code
    assert words in refused.value.message and "\n" not in refused.value.message


async def test_the_scripted_console_of_a_simulated_vm_logs_in_and_runs_a_command() -> None:
    async with fleet() as (client, _):
        start = access_pb2.SessionStart(capability="console", kind="VirtualMachine", name="box")
        session = await client.open_session(start)
        await session.send(b"root\r")
        await session.send(b"secret\r")
        await session.send(b"cat /etc/os-release\r")
        output = b""
        async for _, data in session.output():
            output += data
            if b'NAME="atoll simulated Linux"' in output:
                break
        session.cancel()
    assert b"login: " in output and b"Password: " in output


async def test_a_dropped_client_hangs_the_session_up_and_nothing_stays_open() -> None:
    async with fleet() as (client, agent_server):
        before = agent_metrics.SESSIONS_OPEN.labels("exec")._value.get()
        session = await client.open_session(sessions.exec_start("default", "web", ["cat"], stdin=True))
        await session.send(b"ping\n")
        assert await anext(aiter(session.output())) == (1, b"ping\n")
        assert agent_metrics.SESSIONS_OPEN.labels("exec")._value.get() == before + 1
        session.cancel()
        for _ in range(100):
            if agent_metrics.SESSIONS_OPEN.labels("exec")._value.get() == before:
                break
            await asyncio.sleep(0.02)
        assert agent_metrics.SESSIONS_OPEN.labels("exec")._value.get() == before
        assert agent_server.sessions is not None and not agent_server.sessions.open_sessions()


async def test_an_idle_session_is_hung_up_with_a_reason() -> None:
    async with fleet() as (client, agent_server):
        assert agent_server.sessions is not None
        agent_server.sessions.idle_timeout = 0.2
        session = await client.open_session(sessions.exec_start("default", "web", ["cat"], stdin=True))
        assert await _collect(session) == b""
    assert session.exit is not None and session.exit.code == 129 and "idle for 0.2 s" in session.exit.reason


async def test_the_node_caps_open_sessions() -> None:
    async with fleet() as (client, agent_server):
        assert agent_server.sessions is not None
        agent_server.sessions.max_per_node = 1
        first = await client.open_session(sessions.exec_start("default", "web", ["cat"], stdin=True))
        with pytest.raises(ApiError) as refused:
            await client.open_session(sessions.exec_start("default", "web", ["cat"], stdin=True))
        assert refused.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED and "limit" in refused.value.message
        first.cancel()


async def test_a_client_that_stops_reading_stalls_the_process_instead_of_filling_memory() -> None:
    """cat echoes what it reads; nobody reads its output, so after a bounded number of frames in
    flight (gRPC windows and the fixed queues) sending blocks."""
    async with fleet() as (client, _):
        session = await client.open_session(sessions.exec_start("default", "web", ["cat"], stdin=True))
        chunk = b"x" * 32 * 1024
        sent = 0

        async def flood() -> None:
            nonlocal sent
            while True:
                await session.send(chunk)
                sent += len(chunk)

        flooding = asyncio.create_task(flood())
        await asyncio.sleep(2.0)
        stalled_at = sent
        await asyncio.sleep(0.5)
        assert sent == stalled_at, "sending went on with nobody reading"
        assert sent < 64 * 2**20, f"{sent} bytes were taken with nobody reading"
        flooding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flooding
        session.cancel()


async def test_port_forward_carries_http_to_a_simulated_pod_and_several_connections_at_once() -> None:
    from atoll.cli import port_forward

    async with fleet() as (client, _):
        args = argparse.Namespace(target="pod/web", ports=["0:8080"], namespace=None)
        ready, bound = asyncio.Event(), []
        out = io.StringIO()
        forwarding = asyncio.create_task(port_forward.forward(client, args, Streams(out=out, err=io.StringIO()),
                                                              ready, bound))
        await asyncio.wait_for(ready.wait(), 10)

        async def fetch() -> bytes:
            reader, writer = await asyncio.open_connection("127.0.0.1", bound[0])
            writer.write(b"GET / HTTP/1.0\r\n\r\n")
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(), 10)
            writer.close()
            return answer

        answers = await asyncio.gather(*(fetch() for _ in range(5)))
        forwarding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await forwarding
    assert f"Forwarding from 127.0.0.1:{bound[0]} -> 8080" in out.getvalue()
    assert all(answer.startswith(b"HTTP/1.0 200 OK") and b"simulated web port 8080" in answer for answer in answers)


async def test_an_agent_going_away_mid_session_ends_it_with_one_line() -> None:
    async with fleet() as (client, agent_server):
        session = await client.open_session(sessions.exec_start("default", "web", ["cat"], stdin=True))
        await agent_server.stop()
        with pytest.raises(ApiError) as gone:
            await _collect(session)
    assert gone.value.code == grpc.StatusCode.UNAVAILABLE
    assert "n1" in gone.value.message and "\n" not in gone.value.message


@contextlib.asynccontextmanager
async def one_node(clock: ManualClock) -> AsyncIterator[Cluster]:
    """An API server and one simulated Linux node n1 on ``clock``, reachable for sessions."""
    agent_server = await start_logs_server("127.0.0.1:0")
    profile = NodeProfile(name="n1", address="127.0.0.1", endpoint=agent_server.address)
    try:
        async with cluster() as c, node(c.client, profile, [SimLinuxDriver(clock=clock)], clock) as running:
            agent_server.serve(running.agent)
            yield c
    finally:
        await agent_server.stop()


async def test_attach_follows_the_containers_output_from_now_on_until_it_ends() -> None:
    clock = ManualClock()
    async with one_node(clock) as c:
        await c.client.create(bound_pod("talk", "n1", "echo before; sleep 5; echo after; sleep 5"))
        await eventually(c.client, "pod", "talk", lambda p: p is not None and p.status.phase == "Running")
        start = access_pb2.SessionStart(capability="attach", kind="Pod", name="talk")
        session = await c.client.open_session(start)
        clock.advance(20)
        output = await asyncio.wait_for(_collect(session), 10)
        with pytest.raises(ApiError) as refused:
            await c.client.open_session(access_pb2.SessionStart(capability="attach", kind="Pod", name="talk",
                                                                stdin=True))
    assert output.startswith(b"after\n") and b"before" not in output  # then the simulation's exit line
    assert session.exit == sessions.Exited(0)
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "container main was started without stdin (stdin: true in its spec)" in refused.value.message


async def test_attach_i_reaches_the_stdin_of_a_container_started_with_it() -> None:
    """stdin: true keeps a container's stdin open: attach -i writes to it (a simulated container
    echoes what it reads); its stdin outlives one attach; attach -t is refused in one line."""
    clock = ManualClock()
    async with one_node(clock) as c:
        pod = bound_pod("reader", "n1", "sleep infinity")
        pod.pod.spec.containers[0].stdin = True
        await c.client.create(pod)
        await eventually(c.client, "pod", "reader", lambda p: p is not None and p.status.phase == "Running")
        for word in (b"hello", b"again"):  # a second attach finds the stdin still open
            start = access_pb2.SessionStart(capability="attach", kind="Pod", name="reader", stdin=True)
            session = await c.client.open_session(start)
            await session.send(word + b"\n")
            await session.close_stdin()
            stream, data = await asyncio.wait_for(anext(session.output()), 10)
            assert (stream, data) == (1, word + b"\n")
            session.cancel()
        with pytest.raises(ApiError) as tty:
            await c.client.open_session(access_pb2.SessionStart(capability="attach", kind="Pod", name="reader",
                                                                stdin=True, tty=True))
    assert tty.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "Unable to use a TTY - container main of pod/default/reader did not allocate one" in tty.value.message


def _attach_args(target: str, *, stdin: bool, tty: bool) -> argparse.Namespace:
    return argparse.Namespace(target=target, container="", stdin=stdin, tty=tty, namespace=None)


async def test_attach_t_types_into_the_terminal_of_a_container_with_one_and_its_shell_ends_it() -> None:
    """tty: true: attach -it is the container's terminal (a simulated sh: prompt, echo, CRLF,
    Ctrl-C drops the line); the end of the client's input leaves the terminal open for the next
    attach; the shell's exit ends the container with its code."""
    clock = ManualClock()
    async with one_node(clock) as c:
        pod = bound_pod("shell", "n1", "sleep infinity")
        pod.pod.spec.containers[0].stdin = True
        pod.pod.spec.containers[0].tty = True
        await c.client.create(pod)
        await eventually(c.client, "pod", "shell", lambda p: p is not None and p.status.phase == "Running")
        start = access_pb2.SessionStart(capability="attach", kind="Pod", name="shell", stdin=True, tty=True)
        first = await c.client.open_session(start)
        await first.send(b"echo lost\x03echo kept\r")
        await first.resize(40, 120)
        await first.send(b"tty\rstty size\r")
        await first.close_stdin()  # not Ctrl-D: the container's terminal stays open
        seen = b""
        async for _, data in first.output():
            seen += data
            if b"40 120\r\n# " in seen:
                break
        first.cancel()
        assert seen.startswith(b"# ") and b"^C\r\n" in seen and b"lost\r\n" not in seen, seen
        assert b"kept\r\n" in seen and b"/dev/pts/0\r\n" in seen, seen
        read_end, write_end = os.pipe()
        os.write(write_end, b"hostname\rexit 3\r")
        os.close(write_end)
        out, err = io.StringIO(), io.StringIO()
        code = await attach_verb.attach(c.client, _attach_args("pod/shell", stdin=True, tty=True),
                                        Streams(out=out, err=err), read_end)
        os.close(read_end)
        assert (code, err.getvalue()) == (0, "If you don't see a command prompt, try pressing enter.\n")
        assert "# hostname\r\nshell\r\n# exit 3\r\n" in out.getvalue()
        await eventually(c.client, "pod", "shell", lambda p: p is not None and _exited_with(p, 3))


def _exited_with(pod: pod_pb2.Pod, code: int) -> bool:
    """Whether the pod's first container ended with ``code`` (now or in its last run)."""
    status = pod.status.container_statuses[0] if pod.status.container_statuses else None
    return status is not None and code in (status.state.terminated.exit_code, status.last_state.terminated.exit_code)


async def test_attach_t_without_i_watches_and_attach_it_needs_stdin() -> None:
    clock = ManualClock()
    async with one_node(clock) as c:
        pod = bound_pod("top", "n1", "sleep infinity")
        pod.pod.spec.containers[0].tty = True
        await c.client.create(pod)
        await eventually(c.client, "pod", "top", lambda p: p is not None and p.status.phase == "Running")
        session = await c.client.open_session(access_pb2.SessionStart(capability="attach", kind="Pod", name="top",
                                                                      tty=True))
        await session.send(b"exit 4\r")  # a client attached without -i types nothing
        stream, data = await asyncio.wait_for(anext(session.output()), 10)
        session.cancel()
        with pytest.raises(ApiError) as refused:
            await c.client.open_session(access_pb2.SessionStart(capability="attach", kind="Pod", name="top",
                                                                stdin=True, tty=True))
        running = kinds.unwrap(await c.client.get("Pod", "top", "default"))
    assert (stream, data) == (1, b"# ")
    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
    assert "container main was started without stdin" in refused.value.message
    assert running.status.phase == "Running" and not _exited_with(running, 4)


async def test_stdin_written_while_and_after_the_remote_process_ends_leaves_a_clean_end() -> None:
    """Writes crossing the remote side's end are dropped: the client still gets the exit status
    (before, a write racing the end poisoned the stream: 'Internal error from Core')."""
    async with fleet() as (client, _):
        for _ in range(30):  # the race with the end is narrow: 6 in 60 failed before
            session = await client.open_session(sessions.exec_start("default", "web", ["sh", "-c", "exit 5"],
                                                                    stdin=True))

            async def flood(session: sessions.SessionStream = session) -> None:
                while True:
                    await session.send(b"more input\n")

            feeding = asyncio.create_task(flood())
            try:
                assert await _collect(session) == b""
            finally:
                feeding.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feeding
            assert session.exit == sessions.Exited(5)
            await session.send(b"late")  # after the end: dropped, no error
            await session.close_stdin()
            session.cancel()
        read_end, write_end = os.pipe()
        os.write(write_end, b"never read\n" * 1000)
        out, err = io.StringIO(), io.StringIO()
        code = await exec_verb.exec_command(client, _args("sh", "-c", "exit 6", stdin=True),
                                            Streams(out=out, err=err), read_end)
        os.close(read_end)
        os.close(write_end)
        assert (code, err.getvalue()) == (6, "")
