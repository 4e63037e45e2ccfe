"""``apply --wait``: after applying, wait until every applied object is ready (readiness.py).

At a terminal one status line is rewritten in place (``waiting for 2 of 3: pod/web
(Pending: ContainerCreating)``); elsewhere only ``pod/web ready`` lines are printed, one per object
as it gets ready. An object that fails (a Pod that Failed, a rollout past its deadline) or is
deleted meanwhile is named on stderr and makes the exit code 1; so does the timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from atoll import kinds
from atoll.cli import colour
from atoll.cli.common import EXIT_FAILED, EXIT_OK, Streams
from atoll.cli.follow import states
from atoll.cli.printers import resource_name
from atoll.client import Client
from atoll.kinds import of_object
from atoll.v1 import object_pb2

CLEAR_LINE = "\r\033[K"


class Progress:
    """What is still awaited, shown as one line at a terminal."""

    def __init__(self, streams: Streams, labels: Sequence[str]) -> None:
        self._streams = streams
        self._total = len(labels)
        self._waiting = {label: "applied" for label in labels}
        self._live = colour.is_terminal(streams.out)

    def update(self, label: str, detail: str) -> None:
        self._waiting[label] = detail
        self._draw()

    def done(self, label: str, outcome: str) -> None:
        self._waiting.pop(label, None)
        if self._live:
            self._streams.out.write(CLEAR_LINE)
        self._streams.out.write(f"{label} {outcome}\n")
        self._draw()

    def waiting(self) -> list[str]:
        return list(self._waiting)

    def close(self) -> None:
        if self._live:
            self._streams.out.write(CLEAR_LINE)
            self._streams.out.flush()

    def _draw(self) -> None:
        if self._live and self._waiting:
            label, detail = next(iter(self._waiting.items()))
            shown = f" ({detail})" if detail else ""
            count = len(self._waiting)
            self._streams.out.write(f"{CLEAR_LINE}waiting for {count} of {self._total}: {label}{shown}")
        self._streams.out.flush()


async def wait_ready(
    client: Client, objects: Sequence[object_pb2.Object], streams: Streams, timeout: float | None
) -> int:
    """Wait until each of ``objects`` (as applied) is ready; EXIT_FAILED if any failed or the
    timeout (seconds; None: none) passed first."""
    labels = [resource_name(obj) for obj in objects]
    progress = Progress(streams, labels)
    failures: list[str] = []

    async def one(obj: object_pb2.Object, label: str) -> None:
        kind = kinds.of_object(obj)
        meta = kinds.unwrap(obj).metadata
        namespace = (meta.namespace or "default") if kind.namespaced else ""
        async for state in states(client, kind, namespace, meta.name):
            if state is None:
                failures.append(f"error: {label} was deleted while waiting for it to be ready")
                progress.done(label, "deleted")
                return
            status = of_object(state).readiness(kinds.unwrap(state))
            if status.ready:
                progress.done(label, "ready")
                return
            if status.failed:
                failures.append(f"error: {label} failed: {status.detail}")
                progress.done(label, "failed")
                return
            progress.update(label, status.detail)

    try:
        waits = (one(obj, label) for obj, label in zip(objects, labels, strict=True))
        async with asyncio.timeout(timeout):
            await asyncio.gather(*waits)
    except TimeoutError:
        progress.close()
        waiting = progress.waiting()
        streams.error(f"error: timed out after {timeout:g}s waiting for {', '.join(waiting)} to be ready")
        return EXIT_FAILED
    progress.close()
    for failure in failures:
        streams.error(failure)
    return EXIT_FAILED if failures else EXIT_OK
