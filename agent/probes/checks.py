"""One probe attempt: exec in the task through its driver, a TCP connect or an HTTP GET against
the workload's address. Every attempt ends within the probe's timeout and yields a ProbeResult
whose ``output`` is bounded (it goes into an Event).

Drivers whose tasks, processes and network are simulated answer probes themselves
(``SimulatedProbes``): nothing listens on a simulated address. A real container in a network
namespace of its own that has no address the node reaches (no pod network yet) is probed on
127.0.0.1 from inside that namespace (agent/workload_connect.py, shared with ``atoll port-forward``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import Sequence
from dataclasses import dataclass

from agent.drivers.abilities import Exec, SimulatedProbes
from agent.drivers.protocol import Driver, DriverError
from agent.workload_connect import connect, reach
from atoll.probes import resolve_port
from atoll.user_text import bounded
from atoll.v1 import pod_pb2, probe_pb2

OUTPUT_CHARS = 1024  # of a probe's output kept for Events (Kubernetes keeps 10 KiB; ours go into Events)
HTTP_BODY_BYTES = 10 * 1024
USER_AGENT = "atoll-probe/1.0"


@dataclass(frozen=True)
class ProbeResult:
    success: bool
    output: str = ""


@dataclass(frozen=True)
class ProbeTarget:
    """What a probe is aimed at: the task (exec, simulated answers) and the workload's address.
    ``ports``: the container's ports, for probes that name one (empty for VMs)."""

    driver: Driver
    task_id: str
    address: str
    ports: Sequence[pod_pb2.ContainerPort] = ()


async def run_check(kind: str, probe: probe_pb2.Probe, target: ProbeTarget) -> ProbeResult:
    """One attempt of ``probe`` (a ``kind`` probe: startup, liveness or readiness) at ``target``.
    Never raises for what the workload does (refused, timed out, non-2xx/3xx, exit code)."""
    timeout = float(probe.timeout_seconds or 1)
    handler = probe.WhichOneof("handler") or ""
    port: int | None = None
    try:
        if isinstance(target.driver, SimulatedProbes):
            command = tuple(probe.exec.command) if handler == "exec" else ()
            answer = await target.driver.answer_probe(target.task_id, kind, handler, command)
            return ProbeResult(answer.exit_code == 0, bounded(answer.output.strip(), OUTPUT_CHARS))
        if handler == "exec":
            return await _exec(target, list(probe.exec.command), timeout)
        port_text = probe.tcp_socket.port if handler == "tcp_socket" else probe.http_get.port
        port = resolve_port(port_text, target.ports)
        if port is None:
            return ProbeResult(False, f"port {bounded(port_text)} names no port of the container")
        address, netns = await reach(target.driver, target.task_id, target.address)
        if not address:
            return ProbeResult(False, "the workload has no address yet")
        async with asyncio.timeout(timeout):
            if handler == "tcp_socket":
                return await _tcp(address, port, netns)
            return await _http(probe.http_get, address, port, netns)
    except TimeoutError:
        return ProbeResult(False, f"timeout: no answer within {timeout:g}s")
    except OSError as err:
        detail = os.strerror(err.errno) if err.errno else str(err) or type(err).__name__
        return ProbeResult(False, bounded(f"connect to {target.address}:{port}: {detail}", OUTPUT_CHARS))
    except DriverError as err:
        return ProbeResult(False, bounded(str(err) or type(err).__name__, OUTPUT_CHARS))


async def _exec(target: ProbeTarget, argv: list[str], timeout: float) -> ProbeResult:
    if not isinstance(target.driver, Exec):
        return ProbeResult(False, f"driver {target.driver.name} cannot run exec probes")
    done = await target.driver.exec(target.task_id, argv, timeout)
    output = bounded(done.output.strip(), OUTPUT_CHARS)
    if done.exit_code == 0:
        return ProbeResult(True, output)
    return ProbeResult(False, output or f"command exited with code {done.exit_code}")


async def _tcp(address: str, port: int, netns: str | None) -> ProbeResult:
    _, writer = await connect(address, port, netns)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ProbeResult(True)


def _request(action: probe_pb2.HTTPGetAction, address: str, port: int) -> bytes:
    host = f"[{address}]" if ":" in address else address
    lines = [f"GET {action.path or '/'} HTTP/1.1", f"Host: {host}:{port}"]
    given = {header.name.lower() for header in action.http_headers}
    lines += [f"{name}: {value}" for name, value in (("User-Agent", USER_AGENT), ("Accept", "*/*"))
              if name.lower() not in given]
    lines += [f"{header.name}: {header.value}" for header in action.http_headers]
    lines += ["Connection: close", "", ""]
    return "\r\n".join(lines).encode("latin-1", "replace")


async def _http(action: probe_pb2.HTTPGetAction, address: str, port: int, netns: str | None) -> ProbeResult:
    """GET and judge the status code: 200-399 succeed (redirects are not followed; Kubernetes
    counts a redirect it does not follow as success too)."""
    context: ssl.SSLContext | None = None
    if action.scheme == "HTTPS":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # kubelet does not verify probe certificates either
    reader, writer = await connect(address, port, netns, context)
    try:
        writer.write(_request(action, address, port))
        await writer.drain()
        status_line = (await reader.readline()).decode("latin-1").strip()
        parts = status_line.split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            return ProbeResult(False, f"not an HTTP response: {bounded(status_line, 100)}")
        code = int(parts[1])
        while (await reader.readline()).strip():  # headers
            pass
        body = (await reader.read(HTTP_BODY_BYTES)).decode("utf-8", "replace").strip()
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()
    if 200 <= code < 400:
        return ProbeResult(True, bounded(body, OUTPUT_CHARS))
    return ProbeResult(False, f"HTTP probe failed with statuscode: {code}")
