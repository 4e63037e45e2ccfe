"""A pre-copy live migration as QEMU runs one, for simulated hypervisors: pass after pass over
memory, each sending what the guest dirtied during the one before, until what is left fits the
downtime limit (then the guest pauses, the rest is sent: that pause is the downtime).

A guest that dirties memory about as fast as the link sends it never gets there: with
auto-converge its vCPUs are throttled (20 %, then 10 % more per pass, at most 99 %, QEMU's
cpu-throttle defaults) until it does; without, it goes on until the progress timeout.
Pure: times are seconds, the caller sleeps them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

THROTTLE_INITIAL, THROTTLE_INCREMENT, THROTTLE_MAX = 0.20, 0.10, 0.99
SWITCH_OVER_MS = 5  # device state and the final handshake, beyond the last memory sent
SHRINK = 0.95  # a pass that leaves more than this share of the previous one made no progress


@dataclass(frozen=True)
class GuestModel:
    """``memory`` bytes, of which the guest dirties ``dirty_rate`` per second; the link sends
    ``bandwidth`` bytes per second."""

    memory: int
    dirty_rate: int
    bandwidth: int


@dataclass(frozen=True)
class Pass:
    """One pass over memory: it took ``seconds``; the totals after it."""

    seconds: float
    iteration: int
    transferred: int
    remaining: int
    dirty_rate: int
    throttle: float
    progressed: bool
    downtime_ms: int = 0  # set on the final pass (the guest paused, the rest sent)


def passes(guest: GuestModel, downtime_limit_ms: int, auto_converge: bool) -> Iterator[Pass]:
    """Every pass until the final one (``downtime_ms`` set); endless when it never converges."""
    bandwidth = max(1, guest.bandwidth)
    remaining, transferred, iteration, throttle = guest.memory, 0, 0, 0.0
    while True:
        if remaining * 1000 <= downtime_limit_ms * bandwidth and iteration > 0:
            downtime = SWITCH_OVER_MS + remaining * 1000 // bandwidth
            yield Pass(remaining / bandwidth, iteration + 1, transferred + remaining, 0,
                       int(guest.dirty_rate * (1 - throttle)), throttle, True, downtime_ms=int(downtime))
            return
        iteration += 1
        seconds = remaining / bandwidth
        rate = int(guest.dirty_rate * (1 - throttle))
        dirtied = min(guest.memory, int(rate * seconds))
        transferred += remaining
        progressed = dirtied < remaining * SHRINK or iteration == 1
        yield Pass(seconds, iteration, transferred, dirtied, rate, throttle, progressed)
        if not progressed and auto_converge:
            throttle = THROTTLE_INITIAL if throttle == 0 else min(THROTTLE_MAX, throttle + THROTTLE_INCREMENT)
        remaining = max(dirtied, 1)
