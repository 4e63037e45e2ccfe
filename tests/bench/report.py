"""The frame of a benchmark's main once its flags are read: a hermetic environment, its child
processes supervised (one that dies ends the run at once), then the report: the calibration
figure of the same run, a table for people and the final JSON line for tools."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from tests.bench.supervisor import Supervisor, exit_on_child_death
from tests.support.hermetic import isolate_environment


def run_and_report(prefix: str, run: Callable[[Supervisor], Awaitable[Mapping[str, Any]]]) -> None:
    """Runs ``run(children)`` in an environment isolated under ``prefix`` and prints its results,
    which carry ``calibration_echo_calls_per_s`` and durations as ``*_in_echo_calls``."""
    isolate_environment(prefix)
    with exit_on_child_death(), Supervisor() as children:
        results = asyncio.run(_awaited(run(children)))
    print(f"calibration: raw grpc.aio echo {results['calibration_echo_calls_per_s']:,} calls/s (same run); "
          "each *_in_echo_calls figure is that duration in echo calls")
    width = max(len(key) for key in results)
    for key, value in results.items():
        print(f"{key.ljust(width)}  {value}")
    print(json.dumps(results))


async def _awaited(results: Awaitable[Mapping[str, Any]]) -> Mapping[str, Any]:
    return await results
