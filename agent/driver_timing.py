"""``timed``: await one task-driver call and record its latency (and driver errors) in agent.metrics."""

from __future__ import annotations

import time
from collections.abc import Awaitable
from typing import TypeVar

from agent import metrics
from agent.drivers.protocol import DriverError

T = TypeVar("T")


async def timed(driver_name: str, operation: str, call: Awaitable[T]) -> T:
    """The result of ``call``; its duration goes to atoll_agent_driver_operation_duration_seconds
    whether it returns or raises, and a DriverError also counts in ..._errors_total."""
    started = time.perf_counter()
    try:
        return await call
    except DriverError:
        metrics.DRIVER_OPERATION_ERRORS.labels(driver_name, operation).inc()
        raise
    finally:
        metrics.DRIVER_OPERATION_DURATION.labels(driver_name, operation).observe(time.perf_counter() - started)
