"""The calibration figure every benchmark prints beside its own: raw grpc.aio echo calls per second
on the same machine, in the same run (tests/bench/echo_server.py in its own process, unary calls
of a small Pod's CreateRequest size from this one). A figure divided by it (a rate), or multiplied
by it (a duration: how many echo calls the machine completes meanwhile), can be compared between
machines of different speed.

Measure it first, before the benchmark starts its own processes, so that both see the machine
alike idle; it takes ``seconds`` (default 2) plus a second of start-up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass

import grpc

from atoll.v1 import api_pb2
from tests.bench.echo_server import METHOD
from tests.bench.supervisor import Child, Supervisor
from tests.support.objects import make_pod

DEFAULT_SECONDS = 2.0
DEFAULT_CONCURRENCY = 32


@dataclass(frozen=True)
class Calibration:
    echo_calls_per_s: float
    seconds: float
    concurrency: int
    request_bytes: int

    def per_echo(self, rate: float) -> float:
        """A rate (per second) as a fraction of the echo rate."""
        return rate / self.echo_calls_per_s

    def in_echo_calls(self, seconds: float) -> float:
        """A duration as the number of echo calls the machine completes meanwhile."""
        return seconds * self.echo_calls_per_s

    def ratios(
        self, rates: Mapping[str, float | None] | None = None, durations: Mapping[str, float | None] | None = None
    ) -> dict[str, float | None]:
        """``NAME_per_echo`` for each rate (per second) and ``NAME_in_echo_calls`` for each duration
        (seconds); None stays None (a figure that was not measured)."""
        out: dict[str, float | None] = {}
        for name, rate in (rates or {}).items():
            out[f"{name}_per_echo"] = None if rate is None else round(self.per_echo(rate), 4)
        for name, seconds in (durations or {}).items():
            out[f"{name}_in_echo_calls"] = None if seconds is None else round(self.in_echo_calls(seconds), 1)
        return out

    def as_json(self) -> dict[str, float | int]:
        return {
            "echo_calls_per_s": round(self.echo_calls_per_s),
            "seconds": self.seconds,
            "concurrency": self.concurrency,
            "request_bytes": self.request_bytes,
        }

    def line(self) -> str:
        return calibration_line(self.as_json())


def calibration_line(calibration: Mapping[str, float | int]) -> str:
    """The calibration figure for people, from its JSON form (``Calibration.as_json``)."""
    return (
        f"calibration: raw grpc.aio echo {calibration['echo_calls_per_s']:,} calls/s "
        f"({calibration['concurrency']} in flight, {calibration['request_bytes']} bytes, "
        f"{calibration['seconds']:g} s, same run)"
    )


def request_size() -> int:
    """Bytes of a small Pod's CreateRequest, the echo's payload."""
    return len(api_pb2.CreateRequest(object=make_pod("bench-000000")).SerializeToString())


async def drive(call: Callable[[int], Awaitable[object]], seconds: float, concurrency: int) -> float:
    """Calls ``call(i)`` from ``concurrency`` tasks for ``seconds``; returns completed calls per second."""
    done = 0
    counter = iter(range(10**12))
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await call(next(counter))
            done += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done / (time.perf_counter() - started)


async def measure(
    children: Supervisor, seconds: float = DEFAULT_SECONDS, concurrency: int = DEFAULT_CONCURRENCY
) -> Calibration:
    """Echo calls/s against a fresh echo server (a supervised child, stopped afterwards)."""
    async with echo_server(children) as (echo, _):
        rate = await children.guard(drive(echo, seconds, concurrency))
    return Calibration(rate, seconds, concurrency, request_size())


EchoCall = Callable[[int], Awaitable[bytes]]


@contextlib.asynccontextmanager
async def echo_server(children: Supervisor) -> AsyncIterator[tuple[EchoCall, int]]:
    """A fresh echo server (a supervised child, stopped afterwards), answering once already:
    the call to ``drive`` (the calibration's message) and the server's pid."""
    server = children.start("echo-server", [sys.executable, "-m", "tests.bench.echo_server"])
    try:
        port = await children.guard(port_of(server))
        payload = os.urandom(request_size())
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            echo: grpc.aio.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(METHOD)
            await echo(payload)
            yield (lambda _: echo(payload)), server.process.pid
    finally:
        children.stop(server)


async def port_of(server: Child) -> int:
    """The port from the echo server's ``PORT n`` line, once it printed it."""
    while True:
        for line in list(server.last_lines):
            if line.startswith("PORT "):
                return int(line.split()[1])
        await asyncio.sleep(0.02)
