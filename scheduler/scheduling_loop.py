"""SchedulingLoop: connects the pure core to the API. Informers in, bindings and reports out.

    list_then_watch(Node|Pod|VirtualMachine) -> handle() -> ClusterSnapshot + SchedulingQueue
    loop: Scheduler.next_batch(now) -> one Bind call per batch -> bound / bind_failed
          Unschedulable -> status condition + FailedScheduling Event (+ preemption: delete victims,
          Preempted Events, status.nominatedNodeName)
    Events (Scheduled, FailedScheduling, Preempted): an EventSink writes them in the background,
    batched, from a bounded queue

Bind results: OK -> done; CONFLICT and NOT_FOUND -> undo the assumption, retry after backoff;
ALREADY_BOUND -> undo, drop (the watch brings the bound object); INVALID -> undo, drop, Warning
Event. The API server checks only the revision and that the workload is unbound; capacity is
checked here, because this scheduler is the only binder and assumes every placement before
deciding the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Sequence
from typing import Any

from atoll import kinds, migrations
from atoll.clock import Clock, SystemClock, to_timestamp
from atoll.event_sink import EventSink
from atoll.tasks import cancel_and_wait
from atoll.v1 import api_pb2, event_pb2, object_pb2
from atoll.watch_events import BOOKMARK, DELETED, MODIFIED, RESYNC, SYNCED
from scheduler import metrics
from scheduler.api_port import ApiPort
from scheduler.core import Invalid, Outcome, Placement, Scheduler, Unschedulable
from scheduler.framework.runtime import Framework
from scheduler.image_resolution import ImageResolution
from scheduler.migration import MigrationPlacer, NoTarget, TargetChosen
from scheduler.node_facts import from_node
from scheduler.queue import ClusterEvent, SchedulingQueue
from scheduler.reporting import UNSCHEDULABLE, failed_scheduling, preempted, scheduled, with_scheduled_condition
from scheduler.snapshot import ClusterSnapshot
from scheduler.volumes import claim_facts, volume_facts
from scheduler.workload import MIGRATION, POD, WorkloadError, WorkloadInfo, from_pod, from_vm

log = logging.getLogger(__name__)

WATCHED_KINDS = (
    "Node", "Pod", "VirtualMachine", "PersistentVolumeClaim", "PersistentVolume", "StorageClass", MIGRATION,
)
VOLUME_KINDS = frozenset({"PersistentVolumeClaim", "PersistentVolume", "StorageClass"})
QUEUE_METRICS_PERIOD = 1.0  # seconds between pending-workload gauge updates while busy


class SchedulingLoop:
    """One scheduler instance against one API. Call ``run(stop)``; ``handle`` is sync and testable."""

    def __init__(
        self,
        api: ApiPort,
        framework: Framework,
        *,
        batch_size: int = 500,
        binds_in_flight: int = 4,
        report_workers: int = 4,
        report_queue_limit: int = 20_000,
        clock: Clock | None = None,
        queue: SchedulingQueue | None = None,
        images: ImageResolution | None = None,
    ) -> None:
        self.api = api
        self.snapshot = ClusterSnapshot()
        self.queue = queue if queue is not None else SchedulingQueue()
        self.scheduler = Scheduler(framework, self.snapshot, self.queue)
        self.migrations = MigrationPlacer(framework, self.snapshot)
        self.batch_size = batch_size
        self.clock: Clock = clock or SystemClock()
        self.objects: dict[str, object_pb2.Object] = {}  # latest envelope of each unbound workload
        self.binding: set[str] = set()
        self.synced: set[str] = set()
        self.wake = asyncio.Event()
        self.stats: Counter[str] = Counter()
        self._events = EventSink(api, capacity=report_queue_limit, senders=report_workers)
        self._bind_slots = asyncio.Semaphore(binds_in_flight)
        self._binds: set[asyncio.Task[None]] = set()
        self._invalid_reported: dict[str, int] = {}
        self._first_seen: dict[str, float] = {}  # workload key -> clock() when first queued (e2e latency)
        self._decided_in: dict[str, float] = {}  # workload key -> seconds its last decision took
        self._queue_metrics_at = float("-inf")
        # What registries say the images offer (None: tag rules only, atoll/windows.py).
        self.images = images
        if images is not None:
            images.on_resolved = self._images_resolved

    # -- lifecycle ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Inform, schedule and report until ``stop`` is set; then cancel every task it started."""
        tasks = [asyncio.create_task(self._inform(kind), name=f"inform-{kind}") for kind in WATCHED_KINDS]
        try:
            await self._schedule_loop(stop)
        finally:
            if self._binds:
                await asyncio.wait(self._binds)  # bind answers settle what was assumed
            if self.images is not None:
                await self.images.close()
            await self._events.close()
            for result in await cancel_and_wait(tasks):
                if isinstance(result, Exception):
                    log.error("scheduler task failed: %s", result)

    async def _inform(self, kind: str) -> None:
        async for event in self.api.list_then_watch(kind):
            self.handle(kind, event)

    async def _schedule_loop(self, stop: asyncio.Event) -> None:
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                self.wake.clear()
                if len(self.synced) < len(WATCHED_KINDS):
                    await self._wait(stopping, None)
                    continue
                if self.migrations.pending:
                    await self._place_migrations()
                outcomes = self._decide_batch()
                if outcomes:
                    await self.apply(outcomes, wait_for_binds=False)
                    self._publish_queue_metrics(force=False)
                    await asyncio.sleep(0)  # let informers deliver what happened meanwhile
                    continue
                self._publish_queue_metrics(force=True)
                wakeup = self.queue.next_wakeup()
                await self._wait(stopping, None if wakeup is None else max(0.0, wakeup - self.clock.now()))
        finally:
            stopping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await stopping

    def _decide_batch(self) -> list[Outcome]:
        """Scheduler.next_batch, timing each decision for the attempt-duration metric."""
        now = self.clock.now()
        outcomes: list[Outcome] = []
        for info in self.queue.pop_batch(now, self.batch_size):
            started = time.perf_counter()
            outcomes.append(self.scheduler.decide(info, now))
            self._decided_in[info.key] = time.perf_counter() - started
        return outcomes

    def _publish_queue_metrics(self, force: bool) -> None:
        """Pending-workload gauges, from the loop's own thread (the queue is not thread-safe); at
        most once per QUEUE_METRICS_PERIOD while busy, always before the loop goes idle."""
        now = self.clock.now()
        if not force and now - self._queue_metrics_at < QUEUE_METRICS_PERIOD:
            return
        self._queue_metrics_at = now
        for place, count in self.queue.counts().items():
            metrics.PENDING_WORKLOADS.labels(place).set(count)
        for key in [k for k in self._first_seen if k not in self.queue and k not in self.binding]:
            del self._first_seen[key]
        oldest = min(self._first_seen.values(), default=now)
        metrics.OLDEST_PENDING_AGE.set(max(0.0, now - oldest))

    async def _wait(self, stopping: asyncio.Task[bool], timeout: float | None) -> None:
        woken = asyncio.create_task(self.wake.wait())
        try:
            await asyncio.wait((woken, stopping), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            woken.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await woken

    # -- informer events (sync) -----------------------------------------------------------------

    def handle(self, kind: str, event: api_pb2.WatchEvent) -> None:
        """Apply one informer event to the snapshot and queue; wakes the loop."""
        if event.type == SYNCED:
            self.synced.add(kind)
        elif event.type in (RESYNC, BOOKMARK):
            return
        elif kind == "Node":
            self._on_node(event)
        elif kind in VOLUME_KINDS:
            self._on_volume_object(kind, event)
        elif kind == MIGRATION:
            self.migrations.observe(event.object.virtual_machine_migration, deleted=event.type == DELETED)
        else:
            self._on_workload(kind, event)
        self.wake.set()

    def _on_node(self, event: api_pb2.WatchEvent) -> None:
        node = event.object.node
        now = self.clock.now()
        if event.type == DELETED:
            self.snapshot.remove_node(node.metadata.name)
            return
        facts = from_node(node)
        slot = self.snapshot.nodes.index.get(facts.name)
        previous = None if slot is None else self.snapshot.nodes.facts[slot]
        if previous == facts:
            return  # heartbeats and status noise change nothing the scheduler reads
        self.snapshot.upsert_node(facts)
        self.queue.on_event(ClusterEvent.NODE_ADDED if previous is None else ClusterEvent.NODE_CHANGED, now)

    def _on_volume_object(self, kind: str, event: api_pb2.WatchEvent) -> None:
        index = self.snapshot.volumes
        message = kinds.unwrap(event.object)
        meta = message.metadata
        if kind == "PersistentVolumeClaim":
            key = f"{meta.namespace}/{meta.name}"
            if event.type == DELETED:
                index.remove_claim(key)
            else:
                facts = claim_facts(event.object.persistent_volume_claim)
                if index.claims.get(key) == facts:
                    return  # status noise the scheduler does not read
                index.upsert_claim(facts)
        elif kind == "PersistentVolume":
            if event.type == DELETED:
                index.remove_volume(meta.name)
            else:
                volume = volume_facts(event.object.persistent_volume)
                if index.volumes.get(meta.name) == volume:
                    return
                index.upsert_volume(volume)
        elif event.type == DELETED:
            index.remove_class(meta.name)
        else:
            index.upsert_class(event.object.storage_class)
        self.queue.on_event(ClusterEvent.VOLUME_CHANGED, self.clock.now())

    def _on_workload(self, kind: str, event: api_pb2.WatchEvent) -> None:
        message = kinds.unwrap(event.object)
        meta = message.metadata
        key = f"{kind}/{meta.namespace}/{meta.name}"
        if event.type == DELETED:
            self.objects.pop(key, None)
            self.queue.remove(key)
            self._first_seen.pop(key, None)
            removed = self.snapshot.remove_workload(key)
            if removed is not None:
                self.queue.on_event(ClusterEvent.WORKLOAD_DELETED, self.clock.now())
                if removed.claims:
                    self.queue.on_event(ClusterEvent.VOLUME_CHANGED, self.clock.now())
            return
        if self._status_only(key, message):
            return
        try:
            info = from_pod(message) if kind == POD else from_vm(message)
        except WorkloadError as err:
            self._report_invalid(key, event.object, str(err))
            return
        if info.node_name:
            self.objects.pop(key, None)
            self.queue.remove(key)
            self.snapshot.upsert_workload(info)
            return
        if meta.HasField("deletion_timestamp"):
            self.objects.pop(key, None)
            self.queue.remove(key)
            return
        self.objects[key] = event.object
        self._first_seen.setdefault(key, self.clock.now())
        if key in self.binding:
            return  # our own bind is in flight; its result decides
        recorded = self.snapshot.workload(key)
        if recorded is not None and not self.snapshot.nominated(key):
            if info.resource_version <= recorded.resource_version:
                return  # an older version than the bound one we hold (or assumed)
            # Bound, and unbound since (a VM evicted from its node): release that node, place anew.
            self.snapshot.remove_workload(key)
            self.queue.on_event(ClusterEvent.WORKLOAD_DELETED, self.clock.now())
        if self.images is not None:
            annotated = self.images.annotate(info)
            if annotated is None:
                return  # its images are being looked up; _images_resolved brings it back
            info = annotated
        self.queue.add(info)

    def _status_only(self, key: str, message: Any) -> bool:
        """Whether ``message`` is a bound workload the snapshot already holds as it is, but for
        its status: same uid, node, labels and generation (the API server bumps it on every spec
        change). Such writes (an agent reporting Running) change nothing the scheduler reads, and
        skipping them saves decoding every workload again for each of its status writes."""
        recorded = self.snapshot.workload(key)
        meta = message.metadata
        return (
            recorded is not None
            and meta.generation > 0
            and recorded.generation == meta.generation
            and recorded.uid == meta.uid
            and recorded.node_name != ""
            and recorded.node_name == message.spec.node_name
            and key not in self.objects
            and key not in self.binding
            and not self.snapshot.nominated(key)
            and recorded.labels == dict(meta.labels)
        )

    def _images_resolved(self, keys: set[str]) -> None:
        """Lookups for these workloads' images ended (or are to be retried): decode them again
        from their latest object, which annotates and queues them."""
        for key in keys:
            latest = self.objects.get(key)
            if latest is not None:
                self._on_workload(key.split("/", 1)[0], api_pb2.WatchEvent(type=MODIFIED, object=latest))
        self.wake.set()

    def _report_invalid(self, key: str, obj: object_pb2.Object, message: str) -> None:
        revision = kinds.unwrap(obj).metadata.resource_version
        if self._invalid_reported.get(key) == revision:
            return
        self._invalid_reported[key] = revision
        self.queue.remove(key)
        info = WorkloadInfo(
            kinds.of_object(obj).name,
            key.split("/")[1],
            key.split("/")[2],
            uid=kinds.unwrap(obj).metadata.uid,
            resource_version=revision,
        )
        self._enqueue_event(failed_scheduling(info, message, self.clock.now()))

    # -- live migrations (scheduler/migration.py) ------------------------------------------------

    async def _place_migrations(self) -> None:
        """Write each migration target decided (status.targetNode), or the refusal (phase Failed,
        reason NoTargetNode, the explanation as message, and a Warning Event)."""
        for decision in self.migrations.decide():
            migration = type(decision.migration)()
            migration.CopyFrom(decision.migration)
            if isinstance(decision, TargetChosen):
                migration.status.target_node = decision.node
            else:
                migration.status.phase = migrations.FAILED
                migration.status.reason = migrations.REASON_NO_TARGET
                migration.status.message = decision.message
                migration.status.end_time.CopyFrom(to_timestamp(self.clock.now()))
            try:
                await self.api.update_status(migration)
            except Exception as err:  # the next event of the migration brings it back
                log.info("scheduler: migration %s not written: %s", migration.metadata.name, err)
                self.migrations.release(decision.migration)
                continue
            info = WorkloadInfo(MIGRATION, migration.metadata.namespace, migration.metadata.name,
                                uid=migration.metadata.uid, resource_version=migration.metadata.resource_version)
            if isinstance(decision, NoTarget):
                self._enqueue_event(failed_scheduling(info, decision.message, self.clock.now()))
            else:
                self._enqueue_event(scheduled(info, decision.node, self.clock.now()))

    # -- outcomes -------------------------------------------------------------------------------

    async def apply(self, outcomes: Sequence[Outcome], *, wait_for_binds: bool = True) -> None:
        """Bind the placements in one call, then report the rest. Without ``wait_for_binds`` the
        Bind call runs in the background (as kube-scheduler's binding cycle does): the placements
        are already assumed in the snapshot, so the next batch is decided meanwhile. At most
        ``binds_in_flight`` calls run at once; this waits for a free slot, so a slow API server
        slows the loop down (and the batches it takes grow) instead of piling up calls."""
        placements = [o for o in outcomes if isinstance(o, Placement)]
        if placements:
            await self._bind_slots.acquire()
            self.binding.update(p.workload.key for p in placements)
            bind = asyncio.create_task(self._bind_in_slot(placements), name="bind")
            self._binds.add(bind)
            bind.add_done_callback(self._binds.discard)
            if wait_for_binds:
                await bind
        for outcome in outcomes:
            if isinstance(outcome, Unschedulable):
                self._count_attempt(outcome.workload.key, "unschedulable")
                await self._unschedulable(outcome)
            elif isinstance(outcome, Invalid):
                self._count_attempt(outcome.workload.key, "error")
                self.stats["invalid"] += 1
                self._enqueue_event(failed_scheduling(outcome.workload, outcome.message, self.clock.now()))

    async def _bind_in_slot(self, placements: list[Placement]) -> None:
        try:
            await self._bind(placements)
        finally:
            self._bind_slots.release()

    async def _bind(self, placements: list[Placement]) -> None:
        bindings = [
            api_pb2.Binding(
                kind=p.workload.kind,
                namespace=p.workload.namespace,
                name=p.workload.name,
                node_name=p.node,
                expected_resource_version=p.workload.resource_version,
            )
            for p in placements
        ]
        now = self.clock.now()
        started = time.perf_counter()
        try:
            response = await self.api.bind(bindings)
            results = [(result.code, result.message) for result in response.results]
            if len(results) != len(placements):
                raise ValueError(f"bind answered {len(results)} results for {len(placements)} bindings")
        except Exception as err:  # the call as a whole failed: every binding is retried
            log.warning("bind call failed: %s", err)
            results = [("UNAVAILABLE", str(err))] * len(placements)
        bind_seconds = time.perf_counter() - started
        metrics.BIND_DURATION.observe(bind_seconds)
        for placement, (code, detail) in zip(placements, results, strict=True):
            self.binding.discard(placement.workload.key)
            self.stats[f"bind_{code.lower()}"] += 1
            self._count_attempt(placement.workload.key, "scheduled" if code == "OK" else "error", bind_seconds)
            if code == "OK":
                first_seen = self._first_seen.pop(placement.workload.key, None)
                if first_seen is not None:
                    metrics.E2E_SCHEDULING_DURATION.observe(max(0.0, self.clock.now() - first_seen))
                self.scheduler.bound(placement)
                self._enqueue_event(scheduled(placement.workload, placement.node, self.clock.now()))
                self.objects.pop(placement.workload.key, None)
                continue
            self.scheduler.bind_failed(placement, now, retry=code not in ("ALREADY_BOUND", "INVALID"))
            if code == "INVALID":
                self._enqueue_event(failed_scheduling(placement.workload, detail, self.clock.now()))
            elif code not in ("ALREADY_BOUND",):
                latest = self.objects.get(placement.workload.key)
                if latest is not None and placement.workload.key in self.queue:
                    self._requeue_latest(placement.workload.kind, latest)
        # The loop may have gone idle while these binds were in flight, its pending gauges still
        # counting them: wake it so that it publishes them again (it no longer relies on the watch
        # echo of its own bind, which bound workloads' status writes no longer cause).
        self.wake.set()

    def _requeue_latest(self, kind: str, obj: object_pb2.Object) -> None:
        # The queue keeps the info it popped; give it the newest revision for the retry.
        with contextlib.suppress(WorkloadError):
            message = kinds.unwrap(obj)
            info: WorkloadInfo | None = from_pod(message) if kind == POD else from_vm(message)
            if info is not None and self.images is not None:
                info = self.images.annotate(info)
            if info is not None:
                self.queue.update_info(info)

    async def _unschedulable(self, outcome: Unschedulable) -> None:
        info, plan = outcome.workload, outcome.preemption
        self.stats["unschedulable"] += 1
        if plan is not None:
            self.stats["preemptions"] += 1
            metrics.PREEMPTION_ATTEMPTS.inc()
            metrics.PREEMPTION_VICTIMS.inc(len(plan.victims))
            for victim in plan.victims:
                await self._ignore_errors(self.api.delete(victim.kind, victim.name, victim.namespace))
                self._enqueue_event(preempted(victim, info, plan.node, self.clock.now()))
        latest = self.objects.get(info.key)
        if latest is not None:
            update = with_scheduled_condition(
                latest,
                "False",
                UNSCHEDULABLE,
                outcome.message,
                self.clock.now(),
                nominated_node=plan.node if plan else None,
            )
            if update is not None:
                await self._ignore_errors(self.api.update_status(update))
                self._enqueue_event(failed_scheduling(info, outcome.message, self.clock.now()))

    def _count_attempt(self, key: str, result: str, extra_seconds: float = 0.0) -> None:
        metrics.SCHEDULE_ATTEMPTS.labels(result).inc()
        metrics.ATTEMPT_DURATION.labels(result).observe(self._decided_in.pop(key, 0.0) + extra_seconds)

    # -- background reports ---------------------------------------------------------------------

    def _enqueue_event(self, event: event_pb2.Event) -> None:
        self._events.put(event)

    @property
    def events_dropped(self) -> int:
        """Events not written because the API server fell behind (the sink's queue was full)."""
        return self._events.dropped

    async def drain_reports(self) -> None:
        """Wait until every queued Event was written (tests, shutdown)."""
        await self._events.flush()

    async def _ignore_errors(self, call: Awaitable[object]) -> None:
        try:
            await call
        except Exception as err:  # reports are best effort; the next attempt writes again
            self.stats["write_errors"] += 1
            log.info("scheduler write failed: %s", err)
