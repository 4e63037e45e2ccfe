"""The node authorizer: what an agent's identity (``system:node:NAME`` in ``system:nodes``) may do.

A node may:
- read Namespaces;
- read every Node (get, list, watch: a real node routes to the others' pod CIDRs, as
  Kubernetes' nodes may read all Nodes); create its own Node and update it (labels and agent
  endpoint only) within ``atoll.node_restriction``, and update its status;
- read Services and Endpoints (get, list, watch: a real node programs every Service's virtual
  IP, as Kubernetes lets kube-proxy);
- get, create and update its own Lease (namespace ``atoll-node-lease``, name NAME);
- get Pods and VirtualMachines bound to it (stored ``spec.nodeName == NAME``), update their
  status, and add or remove the node agent's finalizer on them (an Update that changes nothing
  else); list or watch them only with the field selector ``spec.nodeName=NAME``;
- get PersistentVolumeClaims and PersistentVolumes (to find the data of a workload's claims; wider
  than Kubernetes' graph authorizer, which limits it to those its workloads name: claims and
  volumes hold no secrets), list and watch PersistentVolumes, and remove the finalizer
  ``atoll.dev/volume-data`` (an Update that changes nothing else) from a volume local to it or a
  shared one, once it removed the data;
- list or watch VirtualMachineMigrations only with the field selector ``status.sourceNode=NAME``
  or ``status.targetNode=NAME``, get one and update its status when it names the node as source
  or target; get a VirtualMachine whose active migration targets it (to prepare its side);
- create Events;
- get a ConfigMap or Secret (with its data) that a pod or VM bound to it (or a VM migrating to
  it) references
  (``atoll.pod_references``: a pod's volumes and environment, a VM's cloud-init Secret), and list
  or watch one only with the field selector ``metadata.name=NAME`` in its namespace, on the same
  condition.
Nothing else: no sessions (exec, attach, console, port-forward) into any workload, not another
node's objects, not a workload bound elsewhere, no spec writes of
workloads, no deletes. Decisions that depend on a workload or a Node read it from the store first.
A fleet (``allows_fleet``) may do the node writes for every node it simulates.

A Node write that ``atoll.node_restriction`` refuses raises ``NodeRestrictionError`` (the reason,
for the caller) instead of answering False.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

from atoll import finalizers, kinds, namespaces, node_restriction, storage
from atoll.fields import parse_field_selector
from atoll.kinds import Kind
from atoll.labels import SelectorError
from atoll.migrations import migration_target_is
from atoll.pod_references import CONFIG_MAP, SECRET, workload_references
from controller.apiserver.auth.attributes import RequestAttributes
from controller.apiserver.auth.rules import MIGRATION, WORKLOADS
from controller.apiserver.errors import StatusError

NODE_LEASE_NAMESPACE = namespaces.NODE_LEASE
SERVICE_KINDS = frozenset({"Service", "Endpoints"})  # what a node's Service proxy reads
# Reads one stored object (kind, namespace, name); None when it does not exist.
ObjectReader = Callable[[Kind, str, str], Awaitable[Any | None]]
# Every stored object of a kind in one namespace (kind, namespace).
NamespaceLister = Callable[[Kind, str], Awaitable[list[Any]]]
_VM = kinds.by_name("VirtualMachine")
_REFERRERS = (kinds.by_name("Pod"), _VM)


class NodeRestrictionError(StatusError):
    """A node identity's Node write that ``atoll.node_restriction`` refuses; the message says why."""

    code = grpc.StatusCode.PERMISSION_DENIED


class NodeAuthorizer:
    def __init__(self, read: ObjectReader, list_namespace: NamespaceLister | None = None) -> None:
        self._read = read
        self._list_namespace = list_namespace

    async def allows(self, node: str, request: RequestAttributes) -> bool:
        """True when node ``node`` may do ``request`` (see the module docstring)."""
        kind, verb = request.kind.name, request.verb
        if kind == "Namespace":
            return verb in ("get", "list", "watch")
        if kind == "Node":
            if verb in ("get", "list", "watch"):
                return True
            if request.name != node:
                return False
            return verb == "updatestatus" or await self.allows_node_write(request)
        if kind in SERVICE_KINDS:
            return verb in ("get", "list", "watch")
        if kind == "Lease":
            own = request.namespace == NODE_LEASE_NAMESPACE and request.name == node
            return own and verb in ("get", "create", "update")
        if kind == MIGRATION:
            return await self._allows_migration(node, request)
        if kind in WORKLOADS:
            if verb in ("list", "watch"):
                return _selects(request, "spec.nodeName", node)
            if verb == "update":
                return await self.allows_finalizer_update(node, request)
            if verb in ("get", "updatestatus"):
                stored = await self._read(request.kind, request.namespace, request.name)
                if stored is not None and verb == "get" and kind == "VirtualMachine":
                    return bool(stored.spec.node_name == node or migration_target_is(stored, node))
                return stored is not None and stored.spec.node_name == node
            return False
        if kind == "PersistentVolumeClaim":
            return verb == "get"
        if kind == "PersistentVolume":
            if verb == "update":
                return await self.allows_volume_data_release(node, request)
            return verb in ("get", "list", "watch")
        if kind == "Event":
            return verb == "create"
        if kind in (CONFIG_MAP, SECRET):
            name = request.name if verb == "get" else _selected_name(request) if verb in ("list", "watch") else None
            return bool(name) and bool(request.namespace) and await self._referenced(node, request, str(name))
        return False

    async def _allows_migration(self, node: str, request: RequestAttributes) -> bool:
        """List/watch selecting the node as source or target; get and status writes of one that
        names it."""
        if request.verb in ("list", "watch"):
            return _selects(request, "status.sourceNode", node) or _selects(request, "status.targetNode", node)
        if request.verb not in ("get", "updatestatus"):
            return False
        stored = await self._read(request.kind, request.namespace, request.name)
        return stored is not None and node in (stored.status.source_node, stored.status.target_node)

    async def _referenced(self, node: str, request: RequestAttributes, name: str) -> bool:
        """Whether a workload bound to ``node`` (or a VM migrating to it) in the request's
        namespace references ConfigMap or Secret ``name``. Reads the namespace's pods and VMs: a
        node asks this once per object it starts a container or a VM run with or begins to watch,
        never per event."""
        if self._list_namespace is None:
            return False
        for kind in _REFERRERS:
            for workload in await self._list_namespace(kind, request.namespace):
                here = workload.spec.node_name == node or (kind is _VM and migration_target_is(workload, node))
                if here and name in workload_references(workload).names(request.kind.name):
                    return True
        return False

    async def allows_fleet(self, request: RequestAttributes) -> bool:
        """What a fleet may do beyond its role: the node writes of any node it simulates (Node create and
        update within ``atoll.node_restriction``) and the agent finalizer on any bound workload."""
        if request.kind.name == "Node":
            return await self.allows_node_write(request)
        if request.kind.name == "PersistentVolume":
            return await self.allows_volume_data_release(None, request)
        return await self.allows_finalizer_update(None, request)

    async def allows_node_write(self, request: RequestAttributes) -> bool:
        """A Create or Update of Node ``request.name`` by that node; raises NodeRestrictionError with the
        reason when ``atoll.node_restriction`` refuses it."""
        if request.kind.name != "Node" or request.verb not in ("create", "update") or request.obj is None:
            return False
        if request.verb == "create":
            problem = node_restriction.create_problem(request.obj)
        else:
            stored = await self._read(request.kind, "", request.name)
            if stored is None:
                return False
            problem = node_restriction.update_problem(stored, request.obj)
        if problem is not None:
            raise NodeRestrictionError(problem)
        return True

    async def allows_finalizer_update(self, node: str | None, request: RequestAttributes) -> bool:
        """An Update of a bound workload (bound to ``node``; any node when None) that only adds or
        removes the node agent's finalizer."""
        if request.verb != "update" or request.kind.name not in WORKLOADS:
            return False
        stored = await self._read(request.kind, request.namespace, request.name)
        if stored is None or not stored.spec.node_name or (node is not None and stored.spec.node_name != node):
            return False
        return _only_agent_finalizer_changes(stored, request.obj)

    async def allows_volume_data_release(self, node: str | None, request: RequestAttributes) -> bool:
        """An Update of a deleted PersistentVolume, local to ``node`` (any node when None) or shared,
        that only removes ``atoll.dev/volume-data``."""
        if request.verb != "update" or request.kind.name != "PersistentVolume" or request.obj is None:
            return False
        stored = await self._read(request.kind, "", request.name)
        if stored is None or not stored.metadata.HasField("deletion_timestamp"):
            return False
        if storage.VOLUME_DATA_FINALIZER in request.obj.metadata.finalizers:
            return False
        if stored.spec.HasField("local") and node is not None and storage.volume_node(stored) != node:
            return False
        return _only_agent_finalizer_changes(stored, request.obj, storage.VOLUME_DATA_FINALIZER)


def _only_agent_finalizer_changes(stored: Any, wanted: Any, finalizer: str = finalizers.NODE_AGENT) -> bool:
    """True when ``wanted`` adds or removes ``finalizer`` and changes nothing else (status and
    resource_version aside: an Update ignores the first and checks the second itself)."""
    if wanted is None:
        return False
    changed = set(stored.metadata.finalizers) ^ set(wanted.metadata.finalizers)
    if changed != {finalizer}:
        return False
    expected = type(stored)()
    expected.CopyFrom(stored)
    del expected.metadata.finalizers[:]
    expected.metadata.finalizers.extend(wanted.metadata.finalizers)
    expected.metadata.resource_version = wanted.metadata.resource_version
    comparable = type(wanted)()
    comparable.CopyFrom(wanted)
    for message in (expected, comparable):
        message.ClearField("status")
    return bool(expected == comparable)


def _selected_name(request: RequestAttributes) -> str | None:
    """The one name a list/watch's field selector asks for (``metadata.name=NAME``), else None."""
    try:
        selector = parse_field_selector(request.field_selector, request.kind)
    except SelectorError:
        return None
    names = [r.value for r in selector.requirements if r.field == "metadata.name" and r.equal]
    return names[0] if len(names) == 1 else None


def _selects(request: RequestAttributes, field: str, value: str) -> bool:
    """True when the request's field selector requires ``field == value``."""
    try:
        selector = parse_field_selector(request.field_selector, request.kind)
    except SelectorError:
        return False
    return any(r.field == field and r.equal and r.value == value for r in selector.requirements)
