"""A task's output as drivers give it (``LogLine``: text, stream, when it was written), what a
reader asks for (``LogQuery``), and the one rule for applying ``since`` and ``tail`` to a log read
in batches (``select``), which every LogReader (abilities.py) uses.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass

from agent.drivers.log_format import rfc3339_nano

STDOUT, STDERR = "stdout", "stderr"


@dataclass(frozen=True)
class LogLine:
    """One line without its newline; ``at_ns``: when it was written (ns since the epoch), None
    when the log does not say (a VM's serial console, a log written before lines were stamped)."""

    text: str
    at_ns: int | None = None
    stream: str = STDOUT


@dataclass(frozen=True)
class LogQuery:
    """``tail``: only the last N lines kept so far (-1: all); ``since_ns``: only lines written at or
    after it (unstamped lines are kept: nothing says they are older); ``follow``: then every new
    line until the task ends; ``previous``: the log of the task's run before the current one;
    ``timestamps``: the reader will show each line's time (a driver whose log has none refuses)."""

    follow: bool = False
    tail: int = -1
    since_ns: int | None = None
    previous: bool = False
    timestamps: bool = False

    @property
    def needs_stamps(self) -> bool:
        return self.timestamps or self.since_ns is not None


async def select(batches: AsyncIterator[Iterable[LogLine]], query: LogQuery) -> AsyncIterator[LogLine]:
    """The lines of ``batches`` that ``query`` asks for: the first batch is what the log held when
    reading began (``tail`` applies to it, after ``since``); later batches are new lines."""
    first = True
    async for batch in batches:
        lines: Iterable[LogLine] = batch
        if query.since_ns is not None:
            since = query.since_ns
            lines = [line for line in lines if line.at_ns is None or line.at_ns >= since]
        if first:
            first = False
            if query.tail >= 0:
                lines = deque(lines, maxlen=query.tail) if query.tail else ()
        for line in lines:
            yield line


def stamped(line: LogLine) -> str:
    """``line`` as ``kubectl logs --timestamps`` shows it: its time (RFC 3339, UTC, nanoseconds)
    and a space before the text; a line without a time as it is."""
    return line.text if line.at_ns is None else f"{rfc3339_nano(line.at_ns)} {line.text}"
