"""The namespaces every cluster has; the API server creates them at start and refuses to delete them."""

DEFAULT = "default"
# Leader-election Leases of the control plane (scheduler, controller manager).
SYSTEM = "atoll-system"
# One Lease per node, renewed by its agent: the node heartbeat.
NODE_LEASE = "atoll-node-lease"
BUILT_IN = frozenset({DEFAULT, SYSTEM, NODE_LEASE})
