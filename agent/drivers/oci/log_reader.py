"""Reading a container's log file (log_format.py: one stamped line per write, long lines in
pieces) as LogLines: pieces joined into their line, stamped with the time of the first."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

from agent.drivers import log_format, logfile
from agent.drivers.log_lines import LogLine, LogQuery, select


async def container_lines(path: Path, query: LogQuery, ended: Callable[[], bool]) -> AsyncIterator[LogLine]:
    """``query``'s lines of the container log at ``path`` (see LogReader.logs)."""
    batches = logfile.follow_batches(path, follow=query.follow, ended=ended)
    async for line in select(_assembled(batches, query.follow), query):
        yield line


async def _assembled(batches: AsyncIterator[list[bytes]], follow: bool) -> AsyncIterator[list[LogLine]]:
    """Batches of whole lines; pieces left when the batches end (the output ended mid-line) are a
    line of their own: in the one batch when not following, else in a last batch."""
    pieces: dict[str, tuple[int | None, list[bytes]]] = {}  # stream -> (first piece's time, pieces)

    def unfinished() -> list[LogLine]:
        left = [LogLine(logfile.decode_text(b"".join(held)), at_ns, stream) for stream, (at_ns, held) in pieces.items()]
        pieces.clear()
        return left

    async for batch in batches:
        lines: list[LogLine] = []
        for raw in batch:
            at_ns, stream, tag, text = log_format.decode(raw)
            first_at, held = pieces.pop(stream, (at_ns, []))
            held.append(text)
            if tag == log_format.PARTIAL:
                pieces[stream] = (first_at, held)
            else:
                lines.append(LogLine(logfile.decode_text(b"".join(held)), first_at, stream))
        yield lines + ([] if follow else unfinished())
    if pieces:
        yield unfinished()
