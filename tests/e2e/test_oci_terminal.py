"""``tty: true`` on real runc: the shim receives the terminal's master over the console socket and
holds it; ``attach -t`` types into it and sees what it draws, resizes reach ``stty size``, what it
shows is in container.log, and the terminal outlives the agent (a new one adopts the container and
attaches again, also after a kill -9). The whole path is the ``atoll attach -it`` command on a pseudo-terminal this test
drives with Python's ``pty`` (tests/e2e/pty_terminal.py), through the API server to the agent."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from pathlib import Path

import grpc
import pytest

from agent.config import AgentConfig
from agent.drivers.protocol import DriverError, TaskPhase
from agent.drivers.session import ProcessSession
from agent.logs_service import start_logs_server
from agent.registration import NodeProfile
from agent.run import start_node
from atoll.client import ApiError, Client
from atoll.clock import SystemClock
from atoll.v1 import access_pb2, agent_pb2
from scheduler.main import run_scheduler
from tests.e2e.children import start_then_crash
from tests.e2e.conftest import BUSYBOX_IMAGE, OciFactory, container
from tests.e2e.pty_terminal import Terminal, read_until, real_node, running
from tests.integration.agent_harness import bound_pod, cluster, eventually


async def _the_containers_own_terminal(terminal: Terminal) -> None:
    """An ``atoll attach -it``/``run -it`` started at 30x90 on a busybox sh: kubectl's hint, a
    prompt, the shell's answers on /dev/pts/0, the size, a resize and Ctrl-C."""
    await terminal.expect(b"If you don't see a command prompt, try pressing enter.")
    await _prompt(terminal)
    terminal.type(b"echo $((6*7)); tty\r")
    await terminal.expect(b"42\r\n/dev/pts/0\r\n")
    await terminal.sized_resized_and_interrupted()


async def _session_prompt(session: ProcessSession) -> None:
    """Enter until the shell's prompt shows (see ``_prompt``)."""
    for _ in range(20):
        await session.write(b"\r")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(read_until(session, b"# "), 1.5)
            return
    raise AssertionError("no prompt")


async def _prompt(terminal: Terminal) -> None:
    """Enter until the shell's prompt shows (what was drawn before the attach is not shown again;
    busybox's line editor may also take the first keys as the answer to its cursor query)."""
    for _ in range(20):
        if terminal.process.poll() is not None:  # (run -it: the container's exit code)
            raise AssertionError(f"atoll ended ({terminal.process.returncode}) before a prompt: {terminal.seen!r}")
        terminal.type(b"\r")
        with contextlib.suppress(AssertionError):
            await terminal.expect(b"# ", timeout=1.5)
            return
    raise AssertionError(f"no prompt; the terminal shows {terminal.seen[-300:]!r}")


@pytest.mark.parametrize("runtime", [pytest.param("runc", id="runc"), pytest.param("crun", id="crun")])
async def test_the_shim_holds_the_terminal_across_an_agent_restart(oci: OciFactory, runtime: str) -> None:
    driver = oci(runtime)
    await driver.start(container("t1:main", "sh", stdin=True, tty=True))
    await running(driver, "t1:main")
    session = await driver.open_terminal("t1:main", 33, 101, stdin=True)
    try:
        await _session_prompt(session)
        await session.write(b"echo $((6*7)); tty; stty size\r")
        seen = await read_until(session, b"33 101")
        assert b"\r\n42\r\n/dev/pts/0\r\n" in seen, seen
        session.resize(40, 120)
        await asyncio.sleep(0.3)
        await session.write(b"stty size\r")
        await read_until(session, b"40 120")
    finally:
        await session.close()
    await driver.close()  # what an agent's exit does: the shim and the container go on
    adopted = oci(runtime)
    (handle,) = await adopted.list_tasks()
    assert await adopted.recover(handle)
    session = await adopted.open_terminal("t1:main", 24, 80, stdin=True)
    try:
        await _session_prompt(session)
        await session.write(b"echo again-$((1 + 1)); exit 3\r")
        await read_until(session, b"again-2")
        while not (await asyncio.wait_for(session.read(), 20)).eof:
            pass  # the container's end ends the attach
    finally:
        await session.close()
    result = await asyncio.wait_for(adopted.wait("t1:main"), 20)
    assert result.exit_code == 3
    logged = [line.text async for line in adopted.logs("t1:main")]
    assert "42" in logged and "/dev/pts/0" in logged and "again-2" in logged, logged


async def test_the_terminal_outlives_an_agent_killed_right_after_the_start(
    oci: OciFactory, tmp_path: Path, image_dir: Path
) -> None:
    """kill -9 of the agent as soon as the container started: the shim and the terminal it holds
    live on; a new driver adopts the container, attaches and types into it."""
    await start_then_crash("oci-tty", str(tmp_path / "oci"), str(image_dir), "t3:main", "sh")
    driver = oci()
    (handle,) = await driver.list_tasks()
    assert await driver.recover(handle)
    session = await driver.open_terminal("t3:main", 24, 80, stdin=True)
    try:
        await _session_prompt(session)
        await session.write(b"echo adopted-$((6*7))\r")
        await read_until(session, b"adopted-42")
    finally:
        await session.close()
    assert (await driver.inspect("t3:main")).phase is TaskPhase.RUNNING


async def test_a_container_without_a_terminal_refuses_and_keeps_running(oci: OciFactory) -> None:
    driver = oci()
    await driver.start(container("t2:main", "sleep", "600", stdin=True))
    await running(driver, "t2:main")
    for _ in range(2):
        with pytest.raises(DriverError, match="started without a terminal"):
            await driver.open_terminal("t2:main", 24, 80, stdin=True)
    assert (await driver.inspect("t2:main")).phase is TaskPhase.RUNNING
    assert not (driver.settings.state_dir / "tasks" / "t2.main" / "attach.sock").exists()


async def test_atoll_attach_it_is_the_containers_terminal_and_outlives_an_agent_restart(oci: OciFactory) -> None:
    agent_server = await start_logs_server("127.0.0.1:0")
    profile = NodeProfile(name="real-1", address="127.0.0.1", cpu="2", memory="8Gi", endpoint=agent_server.address)
    pod = bound_pod("shell", profile.name, restart_policy="Never", termination_grace_period_seconds=1)
    main = pod.pod.spec.containers[0]
    main.image, main.stdin, main.tty = BUSYBOX_IMAGE, True, True
    main.command.append("sh")
    plain = bound_pod("plain", profile.name, termination_grace_period_seconds=1)
    plain.pod.spec.containers[0].image = BUSYBOX_IMAGE
    plain.pod.spec.containers[0].command.extend(["sleep", "600"])
    try:
        async with cluster() as c:
            atoll = [sys.executable, "-m", "atoll.cli.main", "--server", c.api.address]
            running = await start_node(c.client, profile, [oci()], clock=SystemClock(), config=AgentConfig())
            agent_server.serve(running.agent)
            try:
                await c.client.create(pod)
                await c.client.create(plain)
                for name in ("shell", "plain"):
                    await eventually(c.client, "pod", name, lambda p: p is not None and p.status.phase == "Running")
                terminal = Terminal([*atoll, "attach", "pod/shell", "-it"], rows=30, cols=90)
                try:
                    await _the_containers_own_terminal(terminal)
                finally:
                    terminal.close()  # the user's terminal goes away: the container goes on
                for _ in range(2):  # a refusal changes nothing: the same answer the second time
                    with pytest.raises(ApiError) as refused:
                        await c.client.open_session(access_pb2.SessionStart(
                            capability="attach", kind="Pod", name="plain", stdin=True, tty=True))
                    assert refused.value.code == grpc.StatusCode.FAILED_PRECONDITION
                    assert "Unable to use a TTY - container main of pod/default/plain" in refused.value.message
            finally:
                await running.close()  # the agent stops; the shim keeps the terminal
            running = await start_node(c.client, profile, [oci()], clock=SystemClock(), config=AgentConfig())
            agent_server.serve(running.agent)
            try:
                terminal = Terminal([*atoll, "attach", "shell", "-it"], rows=30, cols=90)
                try:
                    await _prompt(terminal)
                    terminal.type(b"echo back-$((1 + 1))\r")
                    await terminal.expect(b"back-2")
                    terminal.type(b"exit 5\r")
                    assert await terminal.exit_code() == 0  # attach ends with the container
                finally:
                    terminal.close()
                ended = await eventually(c.client, "pod", "shell",
                                         lambda p: p is not None and p.status.phase == "Failed")
                assert ended.status.container_statuses[0].state.terminated.exit_code == 5
                assert (await eventually(c.client, "pod", "plain", lambda p: p is not None)).status.phase == "Running"
                request = agent_pb2.LogsRequest(kind="Pod", namespace="default", name="shell")
                logged = [line async for lines in c.client.logs(request) for line in lines]
            finally:
                await running.close()
    finally:
        await agent_server.stop()
    assert "42" in logged and "/dev/pts/0" in logged and "still-42" in logged and "back-2" in logged, logged



async def test_atoll_run_it_rm_is_a_shell_with_a_prompt_on_a_real_node(oci: OciFactory) -> None:
    """The iconic ``atoll run -it --rm demo --image=busybox -- sh``: a shell on the container's
    own terminal, its exit code is atoll's (--restart=Never), the pod is deleted; twice in a row.
    The pod is placed by the real scheduler (``run`` names no node)."""
    async with real_node(oci) as (address, client):
        stop = asyncio.Event()
        scheduler = asyncio.create_task(run_scheduler(address, stop=stop))
        try:
            await _run_it_twice(address, client)
        finally:
            stop.set()
            await asyncio.wait_for(scheduler, 10)


async def _run_it_twice(address: str, client: Client) -> None:
    for _ in range(2):
        terminal = Terminal([sys.executable, "-m", "atoll.cli.main", "--server", address, "run", "-it", "--rm",
                             "--restart=Never", "demo", f"--image={BUSYBOX_IMAGE}", "--", "sh"], rows=30, cols=90)
        try:
            await _the_containers_own_terminal(terminal)
            terminal.type(b"exit 7\r")
            assert await terminal.exit_code() == 7
            await terminal.expect(b"pod/demo deleted")
        finally:
            terminal.close()
        await eventually(client, "pod", "demo", lambda p: p is None)
