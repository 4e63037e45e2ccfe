"""The node authorizer: what an agent's identity (``system:node:NAME`` in ``system:nodes``) may do.

A node may:
- read Namespaces;
- get, create and update the status of its own Node; list or watch Nodes only with the field
  selector ``metadata.name=NAME``;
- get, create and update its own Lease (namespace ``atoll-node-lease``, name NAME);
- get Pods and VirtualMachines bound to it (stored ``spec.nodeName == NAME``), update their
  status, and add or remove the node agent's finalizer on them (an Update that changes nothing
  else); list or watch them only with the field selector ``spec.nodeName=NAME``;
- create Events.
Nothing else: not another node's objects, not a workload bound elsewhere, no spec writes of
workloads, no deletes. Decisions that depend on a workload read it from the store first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from atoll import finalizers, namespaces
from atoll.fields import parse_field_selector
from atoll.kinds import Kind
from atoll.labels import SelectorError
from controller.apiserver.auth.attributes import RequestAttributes
from controller.apiserver.auth.rules import WORKLOADS

NODE_LEASE_NAMESPACE = namespaces.NODE_LEASE
# Reads one stored object (kind, namespace, name); None when it does not exist.
ObjectReader = Callable[[Kind, str, str], Awaitable[Any | None]]


class NodeAuthorizer:
    def __init__(self, read: ObjectReader) -> None:
        self._read = read

    async def allows(self, node: str, request: RequestAttributes) -> bool:
        """True when node ``node`` may do ``request`` (see the module docstring)."""
        kind, verb = request.kind.name, request.verb
        if kind == "Namespace":
            return verb in ("get", "list", "watch")
        if kind == "Node":
            if verb in ("list", "watch"):
                return _selects(request, "metadata.name", node)
            return verb in ("get", "create", "updatestatus") and request.name == node
        if kind == "Lease":
            own = request.namespace == NODE_LEASE_NAMESPACE and request.name == node
            return own and verb in ("get", "create", "update")
        if kind in WORKLOADS:
            if verb in ("list", "watch"):
                return _selects(request, "spec.nodeName", node)
            if verb == "update":
                return await self.allows_finalizer_update(node, request)
            if verb in ("get", "updatestatus"):
                stored = await self._read(request.kind, request.namespace, request.name)
                return stored is not None and stored.spec.node_name == node
            return False
        if kind == "Event":
            return verb == "create"
        return False

    async def allows_finalizer_update(self, node: str | None, request: RequestAttributes) -> bool:
        """An Update of a bound workload (bound to ``node``; any node when None) that only adds or
        removes the node agent's finalizer."""
        if request.verb != "update" or request.kind.name not in WORKLOADS:
            return False
        stored = await self._read(request.kind, request.namespace, request.name)
        if stored is None or not stored.spec.node_name or (node is not None and stored.spec.node_name != node):
            return False
        return _only_agent_finalizer_changes(stored, request.obj)


def _only_agent_finalizer_changes(stored: Any, wanted: Any) -> bool:
    """True when ``wanted`` adds or removes the node agent's finalizer and changes nothing else (status and
    resource_version aside: an Update ignores the first and checks the second itself)."""
    if wanted is None:
        return False
    changed = set(stored.metadata.finalizers) ^ set(wanted.metadata.finalizers)
    if changed != {finalizers.NODE_AGENT}:
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


def _selects(request: RequestAttributes, field: str, value: str) -> bool:
    """True when the request's field selector requires ``field == value``."""
    try:
        selector = parse_field_selector(request.field_selector, request.kind)
    except SelectorError:
        return False
    return any(r.field == field and r.equal and r.value == value for r in selector.requirements)
