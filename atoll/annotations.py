"""Labels and annotations that controllers write and the CLI reads (or the reverse): the one place
both sides take their names from, since ``atoll`` may not import ``controller``."""

from __future__ import annotations

# On every Deployment replica: the hash of the template it was made from (pod-template-hash).
TEMPLATE_HASH_LABEL = "atoll.dev/template-hash"
# On a Deployment: its current revision number, and one entry per kept revision (atoll.revisions).
REVISION_ANNOTATION = "deployment.atoll.dev/revision"
HISTORY_PREFIX = "history.deployment.atoll.dev/"
# On a Deployment's template: when `atoll rollout restart` asked for new replicas (RFC 3339); a
# changed template is a new revision, so the Deployment replaces every replica (kubectl's restartedAt).
RESTARTED_AT_ANNOTATION = "atoll.dev/restartedAt"
# Optional, set by users: why a revision was made; shown by `atoll rollout history`.
CHANGE_CAUSE_ANNOTATION = "atoll.dev/change-cause"

# On a VirtualMachine: a one-shot power action for the VirtualMachine controller (start or
# restart), written by `atoll vm start|restart` and removed once carried out.
VM_ACTION_ANNOTATION = "vm.atoll.dev/action"
VM_ACTION_START = "start"
VM_ACTION_RESTART = "restart"

# On a VirtualMachine: "leave this node" (the node's name), written by `atoll node drain`. The
# node's agent stops the run there; the VirtualMachine controller then unbinds the VM (same object,
# UID and spec) and drops this annotation, and the scheduler places it again (atoll/vm_runs.py).
VM_EVICT_ANNOTATION = "vm.atoll.dev/evict-from"

# On a Node: HOST:PORT where its agent serves `atoll logs` (the API server's Logs proxy dials it).
# HOST must be one of the Node's own status.addresses (atoll.node_restriction).
AGENT_ENDPOINT_ANNOTATION = "atoll.dev/agent-endpoint"
