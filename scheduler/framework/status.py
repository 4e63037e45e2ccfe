"""Status and NodeVerdict: how plugins report results, every reason included.

A per-node Filter returns a Status; a vectorized filter returns a NodeVerdict holding a pass
mask over all node slots plus, when asked to explain, one mask per reason. The framework counts
reasons per node so a user reads *why* nothing fits, not only *that* nothing fits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from scheduler.arrays import BoolArray


class Code(Enum):
    """What a result makes the framework do.

    SUCCESS: continue. SKIP (PreFilter only): this plugin's Filter and Score do not apply to
    this workload. UNSCHEDULABLE: the node is rejected; preemption might help.
    UNRESOLVABLE: the node is rejected and evicting workloads cannot change that.
    ERROR: a bug or bad input; the workload is retried with backoff.
    """

    SUCCESS = "Success"
    SKIP = "Skip"
    UNSCHEDULABLE = "Unschedulable"
    UNRESOLVABLE = "UnschedulableAndUnresolvable"
    ERROR = "Error"


@dataclass(frozen=True, slots=True)
class Status:
    """A result with every reason (never a bare bool); ``plugin`` names who said it."""

    code: Code = Code.SUCCESS
    reasons: tuple[str, ...] = ()
    plugin: str = ""

    @property
    def ok(self) -> bool:
        return self.code is Code.SUCCESS

    @staticmethod
    def unschedulable(plugin: str, *reasons: str, resolvable: bool = True) -> Status:
        return Status(Code.UNSCHEDULABLE if resolvable else Code.UNRESOLVABLE, reasons, plugin)


SUCCESS = Status()
SKIP = Status(Code.SKIP)


@dataclass(frozen=True, slots=True)
class ReasonMask:
    """Nodes (True) that one reason rejects; ``resolvable`` says whether preemption could help."""

    reason: str
    failing: BoolArray
    resolvable: bool = False


@dataclass(frozen=True, slots=True)
class NodeVerdict:
    """A vectorized filter's answer: ``passed`` per node slot, and reasons when explaining."""

    passed: BoolArray
    reasons: tuple[ReasonMask, ...] = field(default=())
