"""``atoll exec`` into real runc containers: the driver's sessions (exit codes, 126/127, SIGHUP
on hangup, a terminal of the asked size) and the whole path, the ``atoll`` command run on a
pseudo-terminal this test drives with Python's ``pty`` (raw mode, window size, Ctrl-C, the remote
exit code), through the API server to the node agent."""

from __future__ import annotations

import asyncio
import sys

import pytest

from agent.drivers.oci import OciDriver
from agent.drivers.session import ExecOptions, ProcessSession
from tests.e2e.conftest import BUSYBOX_IMAGE, OciFactory, container
from tests.e2e.pty_terminal import NODE, Terminal, read_until, real_node, running
from tests.integration.agent_harness import bound_pod, eventually


async def _running(driver: OciDriver, task_id: str, *command: str) -> None:
    await driver.start(container(task_id, *command))
    await running(driver, task_id)


async def _drain(session: ProcessSession) -> tuple[bytes, bytes, int]:
    out, err = b"", b""
    while not (chunk := await asyncio.wait_for(session.read(), 20)).eof:
        if chunk.stream == 2:
            err += chunk.data
        else:
            out += chunk.data
    return out, err, await session.wait()


@pytest.mark.parametrize("runtime", [pytest.param("runc", id="runc"), pytest.param("crun", id="crun")])
async def test_exec_sessions_report_exit_codes_like_a_shell(oci: OciFactory, runtime: str) -> None:
    driver = oci(runtime)
    await _running(driver, "u1:main", "sleep", "600")
    cases = {
        ("sh", "-c", "echo out; echo err >&2; exit 7"): (b"out\n", b"err\n", 7),
        ("nosuch",): (b"", b"nosuch", 127),
        ("/etc/passwd",): (b"", b"ermission denied", 126),
        ("sh", "-c", "kill -TERM $$"): (b"", b"", 128 + 15),
    }
    for argv, (want_out, want_err, want_code) in cases.items():
        session = await driver.open_exec("u1:main", ExecOptions(argv))
        try:
            out, err, code = await _drain(session)
        finally:
            await session.close()
        assert (out, code) == (want_out, want_code), argv
        assert want_err in err, (argv, err)


async def test_a_terminal_has_the_asked_size_follows_resizes_and_stdin_reaches_it(oci: OciFactory) -> None:
    driver = oci("runc")
    await _running(driver, "u2:main", "sleep", "600")
    session = await driver.open_exec("u2:main", ExecOptions(("sh",), stdin=True, tty=True, rows=33, cols=101))
    try:
        await read_until(session, b"# ")  # busybox's line editor asks the terminal where its cursor is first
        await session.write(b"stty size\r")
        await read_until(session, b"33 101")
        session.resize(40, 120)
        await asyncio.sleep(0.3)  # runc passes the size on when SIGWINCH reaches it
        await session.write(b"stty size; exit 3\r")
        out, _, code = await _drain(session)
    finally:
        await session.close()
    assert b"40 120" in out and code == 3


async def test_hanging_up_ends_the_process_in_the_container(oci: OciFactory) -> None:
    driver = oci("runc")
    await _running(driver, "u3:main", "sleep", "600")
    session = await driver.open_exec("u3:main", ExecOptions(("sh", "-c", "echo up; exec sleep 4321"), stdin=True))
    assert (await asyncio.wait_for(session.read(), 20)).data == b"up\n"
    await session.hangup()
    await session.close()
    listing = await driver.exec("u3:main", ["ps"], 10)
    assert "sleep 4321" not in listing.output
    assert not list((driver.settings.state_dir).rglob("exec-*")), "the session's directory is removed"


async def test_atoll_exec_it_runs_an_interactive_shell_on_a_real_pty(oci: OciFactory) -> None:
    async with real_node(oci) as (address, client):
        web = bound_pod("web", NODE.name)
        web.pod.spec.containers[0].image = BUSYBOX_IMAGE
        web.pod.spec.containers[0].command.extend(["sleep", "600"])
        await client.create(web)
        await eventually(client, "pod", "web", lambda p: p is not None and p.status.phase == "Running", timeout=30)
        terminal = Terminal([sys.executable, "-m", "atoll.cli.main", "--server", address,
                             "exec", "pod/web", "-it", "--", "sh"], rows=30, cols=90)
        try:
            await terminal.expect(b"# ")
            await terminal.sized_resized_and_interrupted()
            terminal.type(b"exit 42\r")
            assert await terminal.exit_code() == 42
        finally:
            terminal.close()
        code, out, err = await _atoll(address, "exec", "web", "--", "sh", "-c", "hostname; exit 9")
        assert (code, out) == (9, b"web\n")
        code, out, err = await _atoll(address, "exec", "web", "--", "nosuch")
        assert code == 127 and b"executable file not found" in err


async def _atoll(address: str, *argv: str) -> tuple[int, bytes, bytes]:
    """Runs the atoll command without blocking the loop (the API server and agent run on it)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "atoll.cli.main", "--server", address, *argv,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out, err


async def test_port_forward_carries_an_http_exchange_to_a_server_inside_the_pod(oci: OciFactory) -> None:
    """The pod has no pod network here: the agent connects inside its network namespace."""
    from atoll import sessions as session_api
    from atoll.client import ApiError
    from atoll.v1 import access_pb2

    async with real_node(oci) as (address, client):
        web = bound_pod("web", NODE.name)
        web.pod.spec.containers[0].image = BUSYBOX_IMAGE
        serve = "mkdir -p /tmp/www && echo hello-from-pod > /tmp/www/index.html && httpd -f -p 8080 -h /tmp/www"
        web.pod.spec.containers[0].command.extend(["sh", "-c", serve])
        await client.create(web)
        await eventually(client, "pod", "web", lambda p: p is not None and p.status.phase == "Running", timeout=30)
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "atoll.cli.main", "--server", address, "port-forward", "pod/web", "0:8080",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        try:
            assert process.stdout is not None
            line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
            assert line.startswith("Forwarding from 127.0.0.1:") and line.strip().endswith("-> 8080"), line
            local = int(line.split(":")[1].split()[0])
            for _ in range(3):  # connections one after another, each its own session
                reader, writer = await asyncio.open_connection("127.0.0.1", local)
                writer.write(b"GET /index.html HTTP/1.0\r\n\r\n")
                await writer.drain()
                answer = await asyncio.wait_for(reader.read(), 30)
                writer.close()
                assert answer.startswith(b"HTTP/1.") and b"hello-from-pod" in answer, answer
        finally:
            process.terminate()
            await process.wait()
        refused = access_pb2.SessionStart(capability=session_api.PORT_FORWARD, kind="Pod", name="web", port=9)
        with pytest.raises(ApiError) as nothing:
            await client.open_session(refused)
        assert "nothing accepts connections on port 9" in nothing.value.message
