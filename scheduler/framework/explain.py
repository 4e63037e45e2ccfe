"""Explanation: per-reason node counts, rendered as the FailedScheduling message.

``0/5000 nodes are available: 3100 insufficient memory, 1850 os mismatch,
50 node(s) had untolerated taint {gpu: true}.`` Reasons are listed by count, largest first,
ties by name, so the message is deterministic.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a workload fits nowhere: ``counts[reason]`` nodes were rejected for ``reason``."""

    total_nodes: int
    counts: Counter[str] = field(default_factory=Counter)
    preemption: str = ""
    # Whether some reason could go away by deleting workloads (resources, spread, anti-affinity).
    resolvable: bool = True

    def message(self) -> str:
        head = f"0/{self.total_nodes} nodes are available"
        if not self.counts:
            text = head + ("." if self.total_nodes else ": no nodes registered.")
        else:
            ordered = sorted(self.counts.items(), key=lambda item: (-item[1], item[0]))
            text = head + ": " + ", ".join(f"{count} {reason}" for reason, count in ordered) + "."
        return f"{text} {self.preemption}" if self.preemption else text
