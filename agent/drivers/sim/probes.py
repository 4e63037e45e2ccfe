"""How a simulated runtime answers probes, and how it is told to fail them.

The workload annotation ``sim.atoll.dev/fail-probes`` (or the node's default, a fleet group's
``failProbes``) lists the probe kinds that fail, comma-separated, each optionally with the
seconds after the task started from which it fails: ``readiness``, ``liveness:30``,
``startup,readiness``. Every other probe passes while the task is Running, except an exec probe
whose command the simulated exec answers with a non-zero code (``false``, ``exit 3``).
"""

from __future__ import annotations

from collections.abc import Mapping

from atoll.user_text import bounded_repr

FAIL_PROBES_ANNOTATION = "sim.atoll.dev/fail-probes"
PROBE_KINDS = ("startup", "liveness", "readiness")


class FailProbesError(ValueError):
    """A fail-probes value that cannot be used; the message names it."""


def parse_fail_probes(text: str) -> Mapping[str, float]:
    """Probe kind -> seconds after the start from which it fails. Raises FailProbesError."""
    failing: dict[str, float] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        kind, _, after = item.partition(":")
        kind = kind.strip()
        if kind not in PROBE_KINDS:
            raise FailProbesError(f"{FAIL_PROBES_ANNOTATION}: {bounded_repr(kind, 40)} is not one of "
                                  f"{', '.join(PROBE_KINDS)}")
        try:
            seconds = float(after) if after.strip() else 0.0
        except ValueError:
            raise FailProbesError(f"{FAIL_PROBES_ANNOTATION}: {bounded_repr(item, 60)}: "
                                  "after the ':' goes a number of seconds") from None
        if not seconds >= 0:
            raise FailProbesError(f"{FAIL_PROBES_ANNOTATION}: {bounded_repr(item, 60)}: seconds must not be negative")
        failing[kind] = seconds
    return failing
