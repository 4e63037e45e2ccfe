"""Every metric the controller manager exports, on its own registry (under `atoll up` several
components share one process, each serving its own /metrics port).

Label values:
- ``controller``: deployment, node-lifecycle, garbage-collector, virtualmachine, node-ipam, endpoints.
- ``result``: ``success`` (converged; nothing to do until something changes), ``requeue`` (asked to
  see the key again after a delay: a timer such as a grace period) or ``error`` (raised; the key is
  retried with back-off).
- ``queue``: the work queue's name, which is its controller's name.
- ``lease``: the leader-election Lease (``atoll-controller`` by default). A process run with
  ``--no-leader-elect`` reports itself as leader while its controllers run.
- ``node``: a Node's name.
- ``verb``: create, update or delete.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

# Most reconciles read the informer cache and write nothing (<1 ms); a write is one API round trip
# (1-10 ms); node-lifecycle evictions and garbage collection of many dependents take up to seconds.
_RECONCILE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

RECONCILE_DURATION = Histogram(
    "atoll_controller_reconcile_duration_seconds",
    "Time of one reconcile(key) call, by controller.",
    ("controller",),
    buckets=_RECONCILE_BUCKETS,
    registry=REGISTRY,
)
RECONCILES = Counter(
    "atoll_controller_reconciles_total",
    "Reconcile calls, by controller and result: success, requeue (timer asked for) or error.",
    ("controller", "result"),
    registry=REGISTRY,
)
RECONCILE_ERRORS = Counter(
    "atoll_controller_reconcile_errors_total",
    "Reconcile calls that raised (the key is retried with back-off), by controller.",
    ("controller",),
    registry=REGISTRY,
)
WORKQUEUE_DEPTH = Gauge(
    "atoll_controller_workqueue_depth",
    "Keys ready for a worker now (not counting delayed keys or keys being reconciled), by queue.",
    ("queue",),
    registry=REGISTRY,
)
WORKQUEUE_DELAYED = Gauge(
    "atoll_controller_workqueue_delayed_keys",
    "Keys waiting for a delay to pass (timers and retry back-off), by queue.",
    ("queue",),
    registry=REGISTRY,
)
WORKQUEUE_ADDS = Counter(
    "atoll_controller_workqueue_adds_total",
    "Keys queued (de-duplicated adds only), by queue.",
    ("queue",),
    registry=REGISTRY,
)
WORKQUEUE_RETRIES = Counter(
    "atoll_controller_workqueue_retries_total",
    "Keys re-queued with back-off after a failed reconcile, by queue.",
    ("queue",),
    registry=REGISTRY,
)
LEADER = Gauge(
    "atoll_controller_leader",
    "1 while this process runs the controllers (holds the Lease, or runs without leader election), else 0.",
    ("lease",),
    registry=REGISTRY,
)
LEADER_TRANSITIONS = Counter(
    "atoll_controller_leader_transitions_total",
    "Times this process became leader of the Lease.",
    ("lease",),
    registry=REGISTRY,
)
ENDPOINTS_WRITES = Counter(
    "atoll_controller_endpoints_writes_total",
    "Endpoints objects written by the endpoints controller, by verb: create, update or delete.",
    ("verb",),
    registry=REGISTRY,
)
NODE_READY = Gauge(
    "atoll_controller_node_ready",
    "1 when the Node's Ready condition is True, 0 when it is False or Unknown (the node-lifecycle "
    "controller sets Unknown after the node's lease went silent for the grace period), by node. "
    "Exported by the leading controller manager only.",
    ("node",),
    registry=REGISTRY,
)

# Volume binding (controller/controllers/volume_binding/).
VOLUME_CLAIMS = Gauge(
    "atoll_controller_volume_claims",
    "PersistentVolumeClaims by phase (Pending, Bound, Lost), as the volume binding controller sees them.",
    ("phase",),
    registry=REGISTRY,
)
VOLUMES = Gauge(
    "atoll_controller_volumes",
    "PersistentVolumes by phase (Available, Bound, Released, Failed).",
    ("phase",),
    registry=REGISTRY,
)
VOLUME_CLAIM_OLDEST_PENDING = Gauge(
    "atoll_controller_volume_claim_oldest_pending_seconds",
    "Age of the oldest PersistentVolumeClaim still Pending (0 when none is).",
    registry=REGISTRY,
)
VOLUME_BINDING_SECONDS = Histogram(
    "atoll_controller_volume_claim_binding_seconds",
    "Time from a claim's creation to its binding (provisioning included; for WaitForFirstConsumer "
    "claims the wait for the first consumer's placement too).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
    registry=REGISTRY,
)
VOLUME_PROVISIONING_SECONDS = Histogram(
    "atoll_controller_volume_provisioning_seconds",
    "Time from a claim's first provisioning attempt (once its class may provision: at once for "
    "Immediate, after its first consumer's placement for WaitForFirstConsumer) to its volume's "
    "creation, by provisioner; a claim that waited for room on its node counts the wait.",
    ("provisioner",),
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
    registry=REGISTRY,
)
VOLUME_PROVISIONING_ERRORS = Counter(
    "atoll_controller_volume_provisioning_errors_total",
    "Volume objects a provisioner failed to create or a node had no room for, by provisioner.",
    ("provisioner",),
    registry=REGISTRY,
)

# Live migration (controller/controllers/migration/).
MIGRATIONS = Counter(
    "atoll_controller_migrations_total",
    "VirtualMachineMigrations that ended, by result (Succeeded, Failed, Cancelled).",
    ("result",),
    registry=REGISTRY,
)
MIGRATIONS_IN_FLIGHT = Gauge(
    "atoll_controller_migrations_in_flight",
    "VirtualMachineMigrations past Pending that have not ended.",
    registry=REGISTRY,
)
MIGRATION_DURATION = Histogram(
    "atoll_controller_migration_duration_seconds",
    "Time from a migration's start (Scheduling) to its end, by result.",
    ("result",),
    buckets=(0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0),
    registry=REGISTRY,
)
MIGRATION_DOWNTIME = Histogram(
    "atoll_controller_migration_downtime_seconds",
    "Pause of the guest at switch-over, as the hypervisor measured it, of migrations that succeeded.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0),
    registry=REGISTRY,
)
