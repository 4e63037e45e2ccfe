"""SchedulingQueue: unbound workloads waiting for a decision.

Three places a workload can be, never two at once (plus "in flight" while being scheduled):

- **active**: a heap ordered by priority (higher first), then arrival (earlier first);
- **backoff**: retried at ``now >= backoff_until`` after an error or a bind conflict, with
  exponential backoff (``initial * 2**(attempts-1)``, capped);
- **unschedulable**: fits nowhere; it stays until a *relevant* cluster event (``on_event``)
  moves it on: to backoff while its backoff (counted from the failed attempt) lasts, so a
  burst of node updates cannot spin a hopeless workload, else to active. There is no polling:
  the scheduling loop sleeps until the next backoff expiry (``next_wakeup``) or the next event.

When nothing is active, a workload that an event moved to backoff is popped before its backoff
ends (as kube-scheduler does since KEP-5142): backoff exists so hopeless workloads do not crowd
out others, and an idle scheduler has no others. Deleting a VM and creating another in its room
then schedules at once instead of a second later. Backoff after an error is always waited out.

If a relevant event arrives while a workload is in flight, a later "unschedulable" verdict
sends it to backoff instead, so the event is not lost. Time is always passed in (``now``).
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
from dataclasses import dataclass, field
from enum import Enum

from scheduler.workload import WorkloadInfo


class ClusterEvent(Enum):
    """Changes that can make an unschedulable workload schedulable."""

    NODE_ADDED = "NodeAdded"
    NODE_CHANGED = "NodeChanged"  # labels, taints, capacity, readiness, uncordon
    WORKLOAD_DELETED = "WorkloadDeleted"  # frees resources and spread/anti-affinity room
    VOLUME_CHANGED = "VolumeChanged"  # a claim, volume or class changed, or a claim's user left


ALL_EVENTS = frozenset(ClusterEvent)
# What can help a workload that evicting others cannot: a node, or the volumes it may use.
NODE_EVENTS = frozenset({ClusterEvent.NODE_ADDED, ClusterEvent.NODE_CHANGED, ClusterEvent.VOLUME_CHANGED})


@dataclass(slots=True)
class _Entry:
    info: WorkloadInfo
    arrival: int
    attempts: int = 0
    backoff_until: float = 0.0
    wake_on: frozenset[ClusterEvent] = ALL_EVENTS
    place: str = "active"  # active, backoff, unschedulable, inflight
    missed: set[ClusterEvent] = field(default_factory=set)
    woken: bool = False  # in backoff because an event woke it (may leave early), not after an error


class SchedulingQueue:
    """Priority queue with backoff and event-driven retries. Single-threaded by contract."""

    def __init__(self, initial_backoff: float = 1.0, max_backoff: float = 10.0) -> None:
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self._entries: dict[str, _Entry] = {}
        self._active: list[tuple[float, int, str]] = []  # (-priority, arrival, key)
        self._backoff: list[tuple[float, int, str]] = []
        self._woken: list[tuple[float, int, str]] = []  # the subset of backoff an idle queue may take early
        self._arrivals = itertools.count()
        self._parked: set[str] = set()  # unschedulable or inflight: the only ones events concern

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: str) -> bool:
        return key in self._entries

    def place_of(self, key: str) -> str | None:
        """Where ``key`` waits: active, backoff, unschedulable, inflight; None if absent."""
        entry = self._entries.get(key)
        return None if entry is None else entry.place

    def add(self, info: WorkloadInfo) -> None:
        """A new unbound workload enters active. A known one gets the new info, and re-enters
        active from unschedulable/backoff only if something besides its revision changed (our
        own status writes must not spin it)."""
        entry = self._entries.get(info.key)
        if entry is None:
            entry = _Entry(info, next(self._arrivals))
            self._entries[info.key] = entry
            self._push_active(entry)
            return
        changed = dataclasses.replace(entry.info, resource_version=0) != dataclasses.replace(info, resource_version=0)
        entry.info = info
        if changed and entry.place in ("unschedulable", "backoff"):
            self._push_active(entry)

    def update_info(self, info: WorkloadInfo) -> None:
        """Refresh what is known about a queued workload (a newer revision) without moving it."""
        entry = self._entries.get(info.key)
        if entry is not None:
            entry.info = info

    def remove(self, key: str) -> None:
        """Forget ``key`` (deleted, or bound by someone). Stale heap items are skipped lazily."""
        self._entries.pop(key, None)
        self._parked.discard(key)

    def pop(self, now: float) -> WorkloadInfo | None:
        """The next workload to schedule, now in flight; None when nothing is ready. When nothing
        is active, an event-woken workload still in backoff is taken (module docstring)."""
        self._flush_backoff(now)
        for heap in (self._active, self._woken):
            while heap:
                _, arrival, key = heapq.heappop(heap)
                entry = self._entries.get(key)
                if entry is None or entry.arrival != arrival:
                    continue
                if entry.place == "active" or (heap is self._woken and entry.place == "backoff" and entry.woken):
                    entry.place = "inflight"
                    entry.missed.clear()
                    self._parked.add(key)
                    return entry.info
        return None

    def pop_batch(self, now: float, limit: int) -> list[WorkloadInfo]:
        batch: list[WorkloadInfo] = []
        while len(batch) < limit:
            info = self.pop(now)
            if info is None:
                break
            batch.append(info)
        return batch

    def done(self, key: str) -> None:
        """Scheduled and bound: leaves the queue."""
        self.remove(key)

    def unschedulable(self, key: str, now: float, wake_on: frozenset[ClusterEvent] = ALL_EVENTS) -> None:
        """``key`` fits nowhere; park it until one of ``wake_on`` happens."""
        entry = self._entries.get(key)
        if entry is None:
            return
        entry.attempts += 1
        entry.wake_on = wake_on
        entry.backoff_until = now + self._delay(entry)
        if entry.missed & wake_on:
            self._push_backoff(entry, now, keep_deadline=True, woken=True)
        else:
            entry.place = "unschedulable"
            self._parked.add(key)

    def backoff(self, key: str, now: float) -> None:
        """Retry ``key`` after its backoff (errors, bind conflicts)."""
        entry = self._entries.get(key)
        if entry is None:
            return
        entry.attempts += 1
        self._push_backoff(entry, now)

    def on_event(self, event: ClusterEvent, now: float) -> int:
        """Wake workloads waiting for ``event``; returns how many were moved."""
        moved = 0
        for key in list(self._parked):
            entry = self._entries[key]
            if entry.place == "inflight":
                entry.missed.add(event)
            elif entry.place == "unschedulable" and event in entry.wake_on:
                if entry.backoff_until > now:
                    self._push_backoff(entry, now, keep_deadline=True, woken=True)
                else:
                    self._push_active(entry)
                moved += 1
        return moved

    def next_wakeup(self) -> float | None:
        """Earliest backoff expiry, for the scheduling loop's timer; None when nothing is backing off."""
        while self._backoff:
            until, arrival, key = self._backoff[0]
            entry = self._entries.get(key)
            if entry is not None and entry.place == "backoff" and entry.arrival == arrival:
                return until
            heapq.heappop(self._backoff)
        return None

    def counts(self) -> dict[str, int]:
        """How many workloads wait in each place."""
        result = {"active": 0, "backoff": 0, "unschedulable": 0, "inflight": 0}
        for entry in self._entries.values():
            result[entry.place] += 1
        return result

    def _push_active(self, entry: _Entry) -> None:
        self._parked.discard(entry.info.key)
        entry.place = "active"
        heapq.heappush(self._active, (-entry.info.priority, entry.arrival, entry.info.key))

    def _push_backoff(self, entry: _Entry, now: float, keep_deadline: bool = False, woken: bool = False) -> None:
        if not keep_deadline:
            entry.backoff_until = now + self._delay(entry)
        self._parked.discard(entry.info.key)
        entry.place = "backoff"
        entry.woken = woken
        item = (entry.backoff_until, entry.arrival, entry.info.key)
        heapq.heappush(self._backoff, item)
        if woken:
            heapq.heappush(self._woken, item)

    def _delay(self, entry: _Entry) -> float:
        return float(min(self.initial_backoff * 2 ** max(entry.attempts - 1, 0), self.max_backoff))

    def _flush_backoff(self, now: float) -> None:
        while self._backoff and self._backoff[0][0] <= now:
            _, arrival, key = heapq.heappop(self._backoff)
            entry = self._entries.get(key)
            if entry is not None and entry.place == "backoff" and entry.arrival == arrival:
                self._push_active(entry)
