"""Which feasible nodes are scored: kube-scheduler's percentageOfNodesToScore.

Scoring every feasible node of a large fleet costs as much as the rest of a decision together,
and buys almost nothing: with thousands of equivalent nodes, the best of a few hundred is as
good a place. As in kube-scheduler, a profile's ``percentageOfNodesToScore`` (1-100) sets how
many nodes are scored; 0 (the default) is the adaptive rule ``50 - nodes/125`` percent, at
least 5 %, and never fewer than 100 nodes. Fleets of 100 nodes or fewer, and 100 %, score
every feasible node, exactly as without sampling.

Which ones: the feasible slots from a start position that moves on past the last node scored
after every sampled decision (kube-scheduler's nextStartNodeIndex), so successive decisions
look at different parts of the fleet and every node is scored in turn.
"""

from __future__ import annotations

import numpy as np

from scheduler.arrays import I64Array

MIN_NODES_TO_SCORE = 100
MIN_ADAPTIVE_PERCENTAGE = 5
ADAPTIVE = 0


def nodes_to_score(total_nodes: int, percentage: int = ADAPTIVE) -> int:
    """How many feasible nodes to score in a fleet of ``total_nodes`` (kube-scheduler's
    numFeasibleNodesToFind); ``total_nodes`` itself means all of them."""
    if total_nodes <= MIN_NODES_TO_SCORE or percentage >= 100:
        return total_nodes
    if percentage == ADAPTIVE:
        percentage = max(MIN_ADAPTIVE_PERCENTAGE, 50 - total_nodes // 125)
    return max(MIN_NODES_TO_SCORE, total_nodes * percentage // 100)


class ScoreSampler:
    """Chooses the slots to score among the feasible ones; keeps the rotating start position.
    ``percentage``: 0 (adaptive) or 1-100, validated by the profile."""

    __slots__ = ("_start", "percentage")

    def __init__(self, percentage: int = ADAPTIVE) -> None:
        self.percentage = percentage
        self._start = 0

    def choose(self, feasible_slots: I64Array, total_nodes: int) -> I64Array:
        """The slots to score: all of ``feasible_slots`` (ascending) when the fleet is small
        enough, else ``nodes_to_score`` of them from the start position on, wrapping around."""
        wanted = nodes_to_score(total_nodes, self.percentage)
        if feasible_slots.size <= wanted:
            return feasible_slots
        first = int(np.searchsorted(feasible_slots, self._start))
        chosen = feasible_slots[first : first + wanted]
        if chosen.size < wanted:
            chosen = np.concatenate((chosen, feasible_slots[: wanted - chosen.size]))
        self._start = int(chosen[-1]) + 1
        return chosen
