"""Every metric the scheduler exports, on its own registry (under `atoll up` several components share
one process, each serving its own /metrics port).

Label values:
- ``result``: ``scheduled`` (bound), ``unschedulable`` (fits no node; preemption may have been
  started for it) or ``error`` (the workload could not be interpreted, a Reserve plugin failed, or
  the API refused or failed the binding).
- ``queue``: where unbound workloads wait: ``active`` (ready for the next cycle), ``backoff``
  (retried when their back-off expires), ``unschedulable`` (parked until a node or workload change
  could help) and ``inflight`` (being decided or bound right now).
- ``plugin``: the plugin NAME as listed in the profile (NodeResourcesFit, LeastAllocated, ...);
  ``extension_point``: PreFilter, Filter (vectorized and per-node), Score or Reserve.
"""

from __future__ import annotations

import itertools

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

# A decision takes ~0.1 ms over 5,000 nodes; binding adds a round trip and the batch's write. The
# e2e latency of a pod also holds its back-off and queueing time, so the buckets run to a minute.
_E2E_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# One plugin call on one workload: a NumPy pass over the node arrays is 10-500 us; the 1-100 ms
# buckets catch plugins that fall back to Python per node.
_PLUGIN_BUCKETS = (0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1)
# A Bind call carries up to --batch-size bindings in one store transaction: ms to a second.
_BIND_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

# Timing every plugin call would cost ~15% of the decision rate (a decision is ~0.1 ms); like the
# Kubernetes scheduler, only one cycle in PLUGIN_SAMPLE_EVERY records plugin latencies.
PLUGIN_SAMPLE_EVERY = 10

SCHEDULE_ATTEMPTS = Counter(
    "atoll_scheduler_schedule_attempts_total",
    "Scheduling attempts by result: scheduled (bound), unschedulable (fits no node) or error "
    "(invalid workload, Reserve failure, or the binding was refused or failed).",
    ("result",),
    registry=REGISTRY,
)
E2E_SCHEDULING_DURATION = Histogram(
    "atoll_scheduler_e2e_scheduling_duration_seconds",
    "Time from when the scheduler first saw a workload unbound until its binding was accepted, "
    "including every earlier attempt, back-off and queueing.",
    buckets=_E2E_BUCKETS,
    registry=REGISTRY,
)
ATTEMPT_DURATION = Histogram(
    "atoll_scheduler_attempt_duration_seconds",
    "One scheduling attempt of one workload (filter, score, reserve; plus the Bind call for "
    "scheduled and error results), by result.",
    ("result",),
    buckets=_E2E_BUCKETS,
    registry=REGISTRY,
)
PLUGIN_DURATION = Histogram(
    "atoll_scheduler_plugin_duration_seconds",
    "Latency of one plugin call for one workload, by plugin and extension point (PreFilter, Filter, "
    f"Score, Reserve); sampled: one scheduling cycle in {PLUGIN_SAMPLE_EVERY} is recorded.",
    ("plugin", "extension_point"),
    buckets=_PLUGIN_BUCKETS,
    registry=REGISTRY,
)
BIND_DURATION = Histogram(
    "atoll_scheduler_bind_duration_seconds",
    "Latency of one Bind call to the API server (a batch of bindings).",
    buckets=_BIND_BUCKETS,
    registry=REGISTRY,
)
PENDING_WORKLOADS = Gauge(
    "atoll_scheduler_pending_workloads",
    "Unbound workloads the scheduler holds, by queue: active, backoff, unschedulable, inflight.",
    ("queue",),
    registry=REGISTRY,
)
OLDEST_PENDING_AGE = Gauge(
    "atoll_scheduler_oldest_pending_workload_age_seconds",
    "How long the longest-waiting unbound workload has waited since the scheduler first saw it (0 when none).",
    registry=REGISTRY,
)
PREEMPTION_ATTEMPTS = Counter(
    "atoll_scheduler_preemption_attempts_total",
    "Unschedulable workloads for which the scheduler chose lower-priority victims to evict.",
    registry=REGISTRY,
)
LEADER = Gauge(
    "atoll_scheduler_leader",
    "1 while this scheduler replica schedules: it holds the scheduler Lease, or runs with "
    "--no-leader-elect; 0 while it waits as a standby.",
    registry=REGISTRY,
)
PREEMPTION_VICTIMS = Counter(
    "atoll_scheduler_preemption_victims_total",
    "Workloads evicted (deleted) to make room for higher-priority ones.",
    registry=REGISTRY,
)
IMAGE_RESOLUTIONS = Counter(
    "atoll_scheduler_image_resolutions_total",
    "Image references looked up for placement, by result: hit (answered from the cache), miss "
    "(asked the registry and got an answer), stale (registry unreachable, an expired answer used), "
    "error (no answer: the workload waits with the reason).",
    ("result",),
    registry=REGISTRY,
)
IMAGE_RESOLUTION_DURATION = Histogram(
    "atoll_scheduler_image_resolution_duration_seconds",
    "Latency of asking a registry what an image reference offers (manifest or index, plus the "
    "config of a single-platform image); cache hits are not timed.",
    buckets=_BIND_BUCKETS,
    registry=REGISTRY,
)

QUEUES = ("active", "backoff", "unschedulable", "inflight")
IMAGE_RESULTS = ("hit", "miss", "stale", "error")
RESULTS = ("scheduled", "unschedulable", "error")
for _queue in QUEUES:
    PENDING_WORKLOADS.labels(_queue)
for _result in IMAGE_RESULTS:
    IMAGE_RESOLUTIONS.labels(_result)
for _result in RESULTS:
    SCHEDULE_ATTEMPTS.labels(_result)
    ATTEMPT_DURATION.labels(_result)

_cycles = itertools.count()


def sample_plugin_latency() -> bool:
    """Whether this scheduling cycle records plugin latencies (one in PLUGIN_SAMPLE_EVERY)."""
    return next(_cycles) % PLUGIN_SAMPLE_EVERY == 0
