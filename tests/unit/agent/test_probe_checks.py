# ruff: noqa: E501 - rows hold exact messages and read best unbroken
"""One probe attempt (agent/probes/checks.py) against real local listeners, and the simulated
runtimes' answers (agent/drivers/sim/probes.py)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

import pytest

from agent.drivers.protocol import StartError, TaskConfig
from agent.drivers.sim.base import SimSettings
from agent.drivers.sim.linux import SimLinuxDriver
from agent.drivers.sim.probes import FAIL_PROBES_ANNOTATION, FailProbesError, parse_fail_probes
from agent.probes.checks import ProbeTarget, run_check
from atoll.clock import ManualClock
from atoll.v1 import pod_pb2, probe_pb2


class NoExecDriver:
    name = "plain"


@contextlib.asynccontextmanager
async def http_server(status: int, body: bytes = b"ok", seen: list[bytes] | None = None) -> AsyncIterator[int]:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        if seen is not None:
            seen.append(request)
        writer.write(b"HTTP/1.0 %d X\r\nContent-Length: %d\r\n\r\n%s" % (status, len(body), body))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


def target(port_name: str = "", port: int = 0, address: str = "127.0.0.1") -> ProbeTarget:
    ports = [pod_pb2.ContainerPort(name=port_name, container_port=port)] if port_name else []
    return ProbeTarget(NoExecDriver(), "t1", address, ports)  # type: ignore[arg-type]


def http(port: str, path: str = "/healthz", **headers: str) -> probe_pb2.Probe:
    action = probe_pb2.HTTPGetAction(path=path, port=port, scheme="HTTP")
    for name, value in headers.items():
        action.http_headers.add(name=name, value=value)
    return probe_pb2.Probe(http_get=action, timeout_seconds=1)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_http_2xx_passes_with_the_body_as_output_and_sends_path_and_headers() -> None:
    seen: list[bytes] = []
    async with http_server(200, b"fine", seen) as port:
        result = await run_check("readiness", http(str(port), **{"X-Probe": "yes"}), target())
    assert (result.success, result.output) == (True, "fine")
    assert seen[0].startswith(b"GET /healthz HTTP/1.1\r\n")
    assert b"\r\nX-Probe: yes\r\n" in seen[0] and b"User-Agent: atoll-probe/1.0" in seen[0]


async def test_http_5xx_fails_with_the_status_code() -> None:
    async with http_server(503) as port:
        result = await run_check("liveness", http(str(port)), target())
    assert (result.success, result.output) == (False, "HTTP probe failed with statuscode: 503")


async def test_a_named_port_resolves_to_the_container_port() -> None:
    async with http_server(301) as port:
        result = await run_check("readiness", http("web"), target("web", port))
    assert result.success, "a redirect counts as success"


async def test_tcp_passes_on_connect_and_fails_when_refused() -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        probe = probe_pb2.Probe(tcp_socket=probe_pb2.TCPSocketAction(port=str(port)), timeout_seconds=1)
        assert (await run_check("readiness", probe, target())).success
    refused = probe_pb2.Probe(tcp_socket=probe_pb2.TCPSocketAction(port=str(closed_port())), timeout_seconds=1)
    result = await run_check("readiness", refused, target())
    assert (result.success, result.output) == (False, f"connect to 127.0.0.1:{refused.tcp_socket.port}: Connection refused")


async def test_an_attempt_that_hangs_fails_after_the_timeout() -> None:
    hung: list[asyncio.StreamWriter] = []
    server = await asyncio.start_server(lambda r, w: hung.append(w), "127.0.0.1", 0)
    async with server:
        result = await run_check("liveness", http(str(server.sockets[0].getsockname()[1])), target())
        for writer in hung:
            writer.close()
    assert (result.success, result.output) == (False, "timeout: no answer within 1s")


@pytest.mark.parametrize(
    ("probe", "address", "output"),
    [
        (probe_pb2.Probe(exec=probe_pb2.ExecAction(command=["true"])), "127.0.0.1",
         "driver plain cannot run exec probes"),
        (probe_pb2.Probe(tcp_socket=probe_pb2.TCPSocketAction(port="80")), "", "the workload has no address yet"),
        (probe_pb2.Probe(tcp_socket=probe_pb2.TCPSocketAction(port="metrics")), "127.0.0.1",
         "port metrics names no port of the container"),
    ],
    ids=["exec on a driver without exec", "no address yet", "a port name the container lacks"],
)
async def test_attempts_that_cannot_be_made_fail_with_a_reason(probe: probe_pb2.Probe, address: str,
                                                                 output: str) -> None:
    result = await run_check("readiness", probe, target(address=address))
    assert (result.success, result.output) == (False, output)


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("readiness", {"readiness": 0.0}), ("liveness:30, startup", {"liveness": 30.0, "startup": 0.0}), ("", {})],
    ids=["one kind", "a kind with an offset and another", "nothing"],
)
def test_fail_probes_values(text: str, parsed: dict[str, float]) -> None:
    assert parse_fail_probes(text) == parsed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("health", "sim.atoll.dev/fail-probes: 'health' is not one of startup, liveness, readiness"),
        ("liveness:soon", "sim.atoll.dev/fail-probes: 'liveness:soon': after the ':' goes a number of seconds"),
        ("readiness:-1", "sim.atoll.dev/fail-probes: 'readiness:-1': seconds must not be negative"),
    ],
    ids=["an unknown kind", "an offset that is not a number", "a negative offset"],
)
def test_bad_fail_probes_values_are_one_line(text: str, message: str) -> None:
    with pytest.raises(FailProbesError) as caught:
        parse_fail_probes(text)
    assert str(caught.value) == message


def config(annotation: str = "") -> TaskConfig:
    annotations = ((FAIL_PROBES_ANNOTATION, annotation),) if annotation else ()
    return TaskConfig(task_id="u1:main", kind="container", namespace="default", workload="web", workload_uid="u1",
                      name="main", image="busybox", annotations=annotations)


async def test_the_simulated_runtime_fails_the_named_kinds_from_their_offset_and_answers_exec() -> None:
    clock = ManualClock()
    driver = SimLinuxDriver(clock=clock)
    await driver.start(config("liveness:30"))
    assert (await driver.answer_probe("u1:main", "liveness", "tcp_socket", ())).exit_code == 0
    assert (await driver.answer_probe("u1:main", "readiness", "exec", ("false",))).exit_code == 1
    assert (await driver.answer_probe("u1:main", "readiness", "exec", ("cat", "/tmp/ok"))).exit_code == 0
    clock.advance(30)
    failed = await driver.answer_probe("u1:main", "liveness", "tcp_socket", ())
    assert (failed.exit_code, failed.output) == (1, "simulated liveness probe failure (sim.atoll.dev/fail-probes)")


async def test_a_node_default_applies_and_a_bad_annotation_fails_the_start() -> None:
    clock = ManualClock()
    driver = SimLinuxDriver(SimSettings(fail_probes="readiness"), clock)
    await driver.start(config())
    assert (await driver.answer_probe("u1:main", "readiness", "http_get", ())).exit_code == 1
    with pytest.raises(StartError, match="is not one of"):
        await SimLinuxDriver(clock=clock).start(config("ready"))
