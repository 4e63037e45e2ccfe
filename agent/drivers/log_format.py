"""The line format of a container's log file (container.log), the CRI's as containerd and CRI-O
write it, so a line says when it was written and by which stream::

    2026-12-04T09:20:38.123456789Z stdout F hello
    2026-12-04T09:20:38.123501000Z stderr P first 16 KiB of a longer line...

``F`` ends a line, ``P`` is a piece of a line longer than ``MAX_PIECE`` bytes (or a last line cut
by the end of the output) that the next piece continues. The OCI shim (oci/shim.py, run with the
standard library only, which loads this file by path) writes it; oci/log_reader.py reads it.
The shim starts on every container start's critical path: this module imports only ``time``
(no re, no calendar: dates are worked out here).
"""

from __future__ import annotations

import time

TYPE_CHECKING = False  # not typing's (its import costs the shim): see the module docstring
if TYPE_CHECKING:
    from collections.abc import Callable

MAX_PIECE = 16 * 1024
FULL, PARTIAL = "F", "P"
_STREAMS = (b"stdout", b"stderr")
_DATE_LENGTH = len("2026-12-04T09:20:38")


def rfc3339_nano(at_ns: int) -> str:
    """``at_ns`` (nanoseconds since the epoch) as RFC 3339 in UTC with nine fraction digits."""
    seconds, nanos = divmod(at_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def encode(at_ns: int, stream: str, text: bytes, tag: str = FULL) -> bytes:
    """One log file line (newline included) for ``text`` (without its newline)."""
    return b"%s %s %s %s\n" % (rfc3339_nano(at_ns).encode(), stream.encode(), tag.encode(), text)


def decode(raw: bytes) -> tuple[int | None, str, str, bytes]:
    """(written at in ns or None, stream, tag, text) of one line without its newline. A line not in
    this format (a log written before containers' output was stamped) is stdout text, unstamped."""
    try:
        stamp, stream, tag, text = raw.split(b" ", 3) if raw.count(b" ") >= 3 else (*raw.split(b" ", 2), b"")
        if stream not in _STREAMS or tag not in (b"F", b"P") or not stamp.endswith(b"Z"):
            raise ValueError
        whole, _, fraction = stamp[:-1].partition(b".")
        if len(whole) != _DATE_LENGTH or len(fraction) > 9 or (fraction and not fraction.isdigit()):
            raise ValueError
        at_ns = _epoch_seconds(whole) * 1_000_000_000 + int(fraction.ljust(9, b"0") or b"0")
    except ValueError:
        return None, "stdout", FULL, raw
    return at_ns, stream.decode(), tag.decode(), text


def _epoch_seconds(whole: bytes) -> int:
    """Seconds since the epoch of ``YYYY-MM-DDTHH:MM:SS`` (UTC); ValueError if malformed."""
    if whole[4:5] != b"-" or whole[7:8] != b"-" or whole[10:11] != b"T" or whole[13:14] != b":" \
            or whole[16:17] != b":":
        raise ValueError
    year, month, day = int(whole[0:4]), int(whole[5:7]), int(whole[8:10])
    hour, minute, second = int(whole[11:13]), int(whole[14:16]), int(whole[17:19])
    # days from the civil date (H. Hinnant's algorithm: March-based years, 400-year eras)
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    days = era * 146097 + day_of_era - 719468
    return days * 86400 + hour * 3600 + minute * 60 + second


class LineWriter:
    """Splits one stream's output into log lines, each stamped when its end arrives; ``feed``
    returns the encoded lines that are complete, ``close`` the rest (a last line without newline,
    written as a piece). ``last_text``: the last non-blank piece of text written."""

    def __init__(self, stream: str, clock_ns: Callable[[], int] = time.time_ns) -> None:
        self.stream = stream
        self._now = clock_ns
        self._pending = b""
        self.last_text = b""

    def feed(self, data: bytes) -> bytes:
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        out = []
        now = self._now()
        for line in lines:
            out.extend(self._pieces(now, line.rstrip(b"\r")))
        while len(self._pending) >= MAX_PIECE:
            piece, self._pending = self._pending[:MAX_PIECE], self._pending[MAX_PIECE:]
            out.append(self._encode(now, piece, PARTIAL))
        return b"".join(out)

    def close(self) -> bytes:
        rest, self._pending = self._pending, b""
        return self._encode(self._now(), rest, PARTIAL) if rest else b""

    def _pieces(self, now: int, line: bytes) -> list[bytes]:
        pieces = [line[start:start + MAX_PIECE] for start in range(0, len(line), MAX_PIECE)] or [b""]
        return [self._encode(now, piece, PARTIAL) for piece in pieces[:-1]] + [
            self._encode(now, pieces[-1], FULL)
        ]

    def _encode(self, now: int, text: bytes, tag: str) -> bytes:
        if text.strip():
            self.last_text = text
        return encode(now, self.stream, text, tag)
