"""Every metric the API server exports, on its own registry (several components share one process
under `atoll up`, each serving its own /metrics port).

Label values:
- ``method``: the Objects RPC (Create, BatchCreate, Get, List, Update, UpdateStatus, BatchUpdateStatus,
  Delete, Watch, Apply, Bind).
- ``kind``: the API kind of the request (Pod, Node, ...), or "" when the request names none (Bind and
  the batch methods).
- ``code``: the gRPC status code name (OK, NOT_FOUND, INVALID_ARGUMENT, ...).
- ``backend``: memory, sqlite or etcd; ``operation``: the Store method (create, update, delete, get,
  range, current_revision, compact).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

# Unary calls take 0.1-5 ms here; the tail reaches the store's fsync and etcd round-trips, and the
# 1-10 s buckets catch calls stuck behind overload.
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "atoll_apiserver_requests_total",
    "Objects RPCs answered, by method, kind and gRPC status code.",
    ("method", "kind", "code"),
    registry=REGISTRY,
)
REQUEST_DURATION = Histogram(
    "atoll_apiserver_request_duration_seconds",
    "Time to answer a unary Objects RPC (watch streams excluded), by method and kind.",
    ("method", "kind"),
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
INFLIGHT = Gauge(
    "atoll_apiserver_inflight_requests",
    "Unary Objects RPCs being served right now.",
    registry=REGISTRY,
)


class InFlight:
    """The count behind INFLIGHT: a plain integer the event loop changes twice per call (no lock,
    as Gauge.inc takes), read only when /metrics is scraped."""

    value = 0


IN_FLIGHT = InFlight()
INFLIGHT.set_function(lambda: IN_FLIGHT.value)
WATCH_STREAMS = Gauge(
    "atoll_apiserver_watch_streams",
    "Open watch streams, by kind.",
    ("kind",),
    registry=REGISTRY,
)
STORE_DURATION = Histogram(
    "atoll_apiserver_store_operation_duration_seconds",
    "Latency of Store calls made by the API server, by backend and operation.",
    ("backend", "operation"),
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
OBJECTS = Gauge(
    "atoll_apiserver_objects",
    "Objects stored, by kind (kept from the API server's watch of the store).",
    ("kind",),
    registry=REGISTRY,
)
AUDIT_RECORDS_SAMPLED = Counter(
    "atoll_apiserver_audit_records_sampled_total",
    "Audit records of refused calls not written because the caller (or all callers) spent the budget for "
    "refused calls; the caller's next written record says how many in its 'suppressed' field. By result.",
    ("result",),
    registry=REGISTRY,
)
FAILED_AUTHENTICATIONS_LIMITED = Counter(
    "atoll_apiserver_failed_authentication_limited_total",
    "Calls refused with RESOURCE_EXHAUSTED because their peer presented too many wrong tokens.",
    registry=REGISTRY,
)
# Sessions into workloads (sessions_proxy.py): an exec of `true` takes 0.05-0.5 s, a shell hours.
_SESSION_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0, 60.0, 300.0, 1800.0, 3600.0, 14400.0)
SESSIONS_OPEN = Gauge(
    "atoll_apiserver_sessions_open",
    "Sessions into workloads forwarded right now, by capability (exec, attach, console, port-forward).",
    ("capability",),
    registry=REGISTRY,
)
SESSION_BYTES = Counter(
    "atoll_apiserver_session_bytes_total",
    "Bytes forwarded by sessions, by capability and direction (in: client to workload, out: back).",
    ("capability", "direction"),
    registry=REGISTRY,
)
SESSION_DURATION = Histogram(
    "atoll_apiserver_session_duration_seconds",
    "How long forwarded sessions lasted, by capability.",
    ("capability",),
    buckets=_SESSION_BUCKETS,
    registry=REGISTRY,
)

STORE_HEALTHY = Gauge(
    "atoll_apiserver_store_healthy",
    "1 while this API server's store answers its health probe, 0 while it does not (gRPC health says "
    "NOT_SERVING then, and clients given several servers use the others).",
    registry=REGISTRY,
)
SINGLETON_LEADER = Gauge(
    "atoll_apiserver_singleton_leader",
    "1 while this API server holds the Lease atoll-system/atoll-apiserver-singletons and so runs the "
    "cluster's compaction and Event expiry, else 0 (exactly one server of a cluster says 1).",
    registry=REGISTRY,
)
WATCH_LAG = Gauge(
    "atoll_apiserver_watch_lag_revisions",
    "How many revisions this API server's watch cache is behind its store, as of the last store probe "
    "(every 2 s): watchers through this server see changes that much later.",
    registry=REGISTRY,
)
WORKLOADS = Gauge(
    "atoll_apiserver_workloads",
    "Pods and VirtualMachines by kind and status phase (unset counts as Pending), counted at each "
    "console chart sample (every --chart-interval seconds); the console's phase chart reads it from "
    "Prometheus when one is configured.",
    ("kind", "phase"),
    registry=REGISTRY,
)
