"""What a node may write about its own Node object: Kubernetes' NodeRestriction, the one home of the rule.

A node identity (one agent's ``system:node:NAME``, or a fleet acting for every node it simulates)
registers its Node and keeps it current across restarts. The API server's authorizer applies
these checks to every Node write by such an identity; agents, fleet files and the Logs proxy
use the same functions.

A node may:

- create its Node (spec included: the taints it registers with, but no ``spec.podCIDR``: the node
  IPAM controller gives that), with labels outside the restricted prefixes and an agent endpoint
  inside its own addresses;
- update its own Node's labels (add, change, remove) outside the restricted prefixes, and its
  agent endpoint annotation (``AGENT_ENDPOINT_ANNOTATION``) within its own addresses: the status
  it registered (``status.addresses``) names them, so write the status first;
- update its status (UpdateStatus), and its Lease.

A node may not change anything else about its Node: spec (taints, cordon) and every other
annotation belong to operators and controllers; finalizers and owner references to whoever set them.

Restricted label prefixes (as Kubernetes reserves ``node-role.kubernetes.io/`` and
``node-restriction.kubernetes.io/`` for the cluster's administrators): a label key whose prefix
(the DNS part before ``/``) starts with ``node-role.`` or ``node-restriction.``, in any domain
(``node-role.kubernetes.io/worker``, ``node-restriction.atoll.dev/dedicated``). Operators use them to
steer workloads to nodes a node cannot claim to be.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from atoll.annotations import AGENT_ENDPOINT_ANNOTATION

RESTRICTED_LABEL_DOMAINS = ("node-role.", "node-restriction.")


def restricted_label(key: str) -> bool:
    """True when a node may not set, change or remove the label ``key`` on its own Node."""
    prefix, slash, _ = key.partition("/")
    return bool(slash) and prefix.startswith(RESTRICTED_LABEL_DOMAINS)


def restricted_labels(labels: Iterable[str]) -> list[str]:
    """The keys among ``labels`` that a node may not set on itself, sorted."""
    return sorted(key for key in labels if restricted_label(key))


def endpoint_host(endpoint: str) -> str:
    """The host of ``HOST:PORT`` (``[V6]:PORT`` too), without brackets; "" when there is no port."""
    host, colon, port = endpoint.rpartition(":")
    if not colon or not port.isdigit():
        return ""
    return host.removeprefix("[").removesuffix("]")


def endpoint_problem(endpoint: str, addresses: Iterable[str]) -> str | None:
    """Why the API server must not dial agent endpoint ``endpoint`` of a node whose status lists
    ``addresses``, or None when its host is one of them."""
    host = endpoint_host(endpoint)
    if not host:
        return f"agent endpoint {endpoint[:100]!r} is not HOST:PORT"
    known = sorted(set(addresses))
    if host not in known:
        own = ", ".join(known) or "none"
        return f"agent endpoint {endpoint[:100]!r} is not on one of the node's own addresses ({own})"
    return None


def node_addresses(node: Any) -> list[str]:
    """Every address in ``node.status.addresses`` (a node_pb2.Node)."""
    return [entry.address for entry in node.status.addresses]


def create_problem(node: Any) -> str | None:
    """Why a node may not create ``node`` (a node_pb2.Node) as its own Node, or None."""
    if node.spec.pod_cidr:
        return "a node may not set its own spec.podCIDR: the node IPAM controller gives it"
    restricted = restricted_labels(node.metadata.labels)
    if restricted:
        return _label_message(restricted)
    endpoint = node.metadata.annotations.get(AGENT_ENDPOINT_ANNOTATION, "")
    return endpoint_problem(endpoint, node_addresses(node)) if endpoint else None


def update_problem(stored: Any, wanted: Any) -> str | None:
    """Why a node may not turn its stored Node ``stored`` into ``wanted`` with an Update, or None.

    Compared: what an Update takes from the request (labels, annotations, finalizers, owner
    references, spec); not status nor server-owned metadata (an Update keeps the stored ones) nor
    resource_version (the store checks it)."""
    changed = _changed_keys(stored.metadata.labels, wanted.metadata.labels)
    restricted = restricted_labels(changed)
    if restricted:
        return _label_message(restricted)
    annotations = _changed_keys(stored.metadata.annotations, wanted.metadata.annotations)
    others = sorted(annotations - {AGENT_ENDPOINT_ANNOTATION})
    if others:
        return f"a node may change only its {AGENT_ENDPOINT_ANNOTATION} annotation, not {', '.join(others)[:200]}"
    endpoint = wanted.metadata.annotations.get(AGENT_ENDPOINT_ANNOTATION, "")
    if AGENT_ENDPOINT_ANNOTATION in annotations and endpoint:
        problem = endpoint_problem(endpoint, node_addresses(stored))
        if problem:
            return problem
    if wanted.spec != stored.spec:
        return "a node may not change its own spec (taints, unschedulable): operators and controllers do"
    if (list(stored.metadata.finalizers) != list(wanted.metadata.finalizers)
            or list(stored.metadata.owner_references) != list(wanted.metadata.owner_references)):
        return ("a node may change only the labels and the agent endpoint of its own metadata, "
                "not its finalizers or owners")
    return None


def _changed_keys(before: Mapping[str, str], after: Mapping[str, str]) -> set[str]:
    return {key for key in set(before) | set(after) if before.get(key) != after.get(key)}


def _label_message(keys: list[str]) -> str:
    shown = ", ".join(key[:80] for key in keys[:5])
    return (f"a node may not set its own labels {shown}: prefixes {', '.join(RESTRICTED_LABEL_DOMAINS)}* are "
            "for operators to set")
