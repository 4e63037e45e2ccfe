"""Policy rules and the built-in roles and bindings.

Built-in roles (their names are reserved; see ``atoll.validation.rbac.BUILTIN_ROLES``):

- ``admin``: everything, Secret data included.
- ``editor``: read and write Pods, VirtualMachines, VirtualMachineMigrations, Deployments,
  PersistentVolumeClaims, Services, ConfigMaps and Secrets (their data included, as Kubernetes'
  ``edit`` role: an editor configures the workloads it runs); read Events and Endpoints; open
  sessions into Pods and VirtualMachines (exec, attach, console, port-forward).
- ``viewer``: read everything; Secrets without their data; no sessions (they run commands).
- ``scheduler``: read everything; bind and write the status (conditions) of Pods and
  VirtualMachines; write the status of VirtualMachineMigrations (the target it picks); write
  Events; Leases for leader election.
- ``controller``: read everything; write Pods, VirtualMachines, VirtualMachineMigrations,
  Deployments (and their status),
  Events, Leases and Endpoints; the status of Services (endpoint counts); Pods with hostPath
  volumes (a Deployment's template was authorized when it was written); update Nodes and their
  status (node lifecycle).
- ``node``: no rules: a node identity is authorized by ``node.NodeAuthorizer``.
- ``fleet``: what a node may do, for every node at once, for a process that simulates many
  nodes with one identity (agent/hollow): read all; update the status of Nodes; Leases; update the
  status of Pods, VirtualMachines and VirtualMachineMigrations; create Events. Node creates and
  updates go through the node authorizer (``node.NodeAuthorizer.allows_fleet``:
  ``atoll.node_restriction``), as a node's own do.

Secret data: a Secret is returned with its data only when a rule grants the read verb (get, list,
watch; ``*``) on kind ``Secret`` by name; a rule for kinds ``*`` returns Secrets with their keys
and empty values (``dataRedacted: true``). So ``viewer`` lists Secrets without data, while a Role
``{verbs: [get], kinds: [Secret]}`` reads it, as Kubernetes' ``get`` on ``secrets`` does. A node
reads the data of the Secrets its pods reference (``node.NodeAuthorizer``).

Host paths: writing a Pod or a Deployment whose pods mount hostPath volumes also needs the verb
``hostpath`` on that kind (admin and controller have it).

Built-in bindings: group ``system:masters`` -> admin, user ``system:scheduler`` -> scheduler,
user ``system:controller-manager`` -> controller, group ``system:node-fleets`` -> fleet, all cluster-wide.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from atoll.kinds import KINDS, Kind
from atoll.pki import CONTROLLER_USER, FLEETS_GROUP, MASTERS_GROUP, SCHEDULER_USER
from atoll.sessions import CAPABILITIES
from atoll.v1 import rbac_pb2
from atoll.validation.rbac import READ_VERBS, WILDCARD

# Kinds a node agent runs (Pod, VirtualMachine): their kind strategies say so.
WORKLOADS = frozenset(kind.name for kind in KINDS if kind.node_bound)
MIGRATION = "VirtualMachineMigration"
_ALL = frozenset({WILDCARD})
_READ = frozenset(READ_VERBS)


@dataclass(frozen=True)
class Rule:
    """Grants ``verbs`` on ``kinds`` (``*`` for all); non-empty ``namespaces`` limits it to objects
    in those namespaces (never cluster-scoped kinds, nor lists across all namespaces)."""

    verbs: frozenset[str]
    kinds: frozenset[str]
    namespaces: frozenset[str] = frozenset()

    def grants(self, verb: str, kind: Kind, namespace: str) -> bool:
        if verb not in self.verbs and WILDCARD not in self.verbs:
            return False
        if kind.name not in self.kinds and WILDCARD not in self.kinds:
            return False
        return within(self.namespaces, kind, namespace)

    def grants_data(self, verb: str, kind: Kind, namespace: str) -> bool:
        """Whether this rule returns the data of ``kind`` (a Secret) for ``verb``: it must name
        the kind itself, not only ``*``."""
        return kind.name in self.kinds and self.grants(verb, kind, namespace)

    @classmethod
    def from_proto(cls, rule: rbac_pb2.PolicyRule) -> Rule:
        return cls(frozenset(rule.verbs), frozenset(rule.kinds), frozenset(rule.namespaces))


def within(namespaces: frozenset[str], kind: Kind, namespace: str) -> bool:
    """True when no namespace limit applies, or the request is inside one of ``namespaces``."""
    if not namespaces:
        return True
    return kind.namespaced and namespace in namespaces


def _rule(verbs: Iterable[str], kinds: Iterable[str]) -> Rule:
    return Rule(frozenset(verbs), frozenset(kinds))


_WRITE = ("create", "update", "updatestatus", "delete")
BUILTIN_ROLE_RULES: dict[str, tuple[Rule, ...]] = {
    "admin": (Rule(_ALL, _ALL), _rule(_ALL, ("Secret",))),
    "editor": (
        _rule(
            (*READ_VERBS, "create", "update", "delete"),
            (
                "Pod",
                "VirtualMachine",
                "VirtualMachineMigration",
                "Deployment",
                "PersistentVolumeClaim",
                "Service",
                "ConfigMap",
                "Secret",
            ),
        ),
        _rule(READ_VERBS, ("Event", "Endpoints")),
        _rule(CAPABILITIES, WORKLOADS),
    ),
    "viewer": (Rule(_READ, _ALL),),
    "scheduler": (
        Rule(_READ, _ALL),
        _rule(("bind", "updatestatus"), WORKLOADS),
        _rule(("updatestatus",), (MIGRATION,)),
        _rule(("create", "update"), ("Event",)),
        _rule(("create", "update"), ("Lease",)),
    ),
    "controller": (
        Rule(_READ, _ALL),
        _rule(_WRITE, ("Pod", "VirtualMachine", "Deployment", "Event", "Lease", "Endpoints")),
        _rule(_WRITE, ("PersistentVolumeClaim", "PersistentVolume", MIGRATION)),
        _rule(("hostpath",), ("Pod",)),
        _rule(("update", "updatestatus"), ("Node",)),
        _rule(("updatestatus",), ("Service",)),
    ),
    "node": (),
    "fleet": (
        Rule(_READ, _ALL),
        _rule(("updatestatus",), ("Node",)),
        _rule(("create", "update"), ("Lease", "Event")),
        _rule(("updatestatus",), WORKLOADS),
        _rule(("updatestatus",), (MIGRATION,)),
    ),
}


@dataclass(frozen=True)
class Binding:
    """A role granted to users and groups, cluster-wide or in ``namespaces``."""

    name: str
    role: str
    users: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    namespaces: frozenset[str] = frozenset()

    @classmethod
    def from_proto(cls, binding: rbac_pb2.RoleBinding) -> Binding:
        spec = binding.spec
        return cls(
            name=binding.metadata.name,
            role=spec.role_ref,
            users=frozenset(s.name for s in spec.subjects if s.kind == "User"),
            groups=frozenset(s.name for s in spec.subjects if s.kind == "Group"),
            namespaces=frozenset(spec.namespaces),
        )


BUILTIN_BINDINGS: tuple[Binding, ...] = (
    Binding("system:masters", "admin", groups=frozenset({MASTERS_GROUP})),
    Binding("system:scheduler", "scheduler", users=frozenset({SCHEDULER_USER})),
    Binding("system:controller-manager", "controller", users=frozenset({CONTROLLER_USER})),
    Binding("system:node-fleets", "fleet", groups=frozenset({FLEETS_GROUP})),
)
