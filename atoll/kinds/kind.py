"""``KindStrategy``: one API kind and its strategy, in one object (Kubernetes' registry strategy).

It says what the kind is (names users type, scope, the message behind it, its store keys) and how
the system treats its objects: defaults, validation hooks, status rules (what UpdateStatus may
change, which writes bump ``generation``), printing columns and field selectors. Everything that
used to branch on a kind's name asks the kind instead.

A kind file (``atoll/kinds/pod.py``, ...) subclasses ``KindStrategy`` when it needs a hook, overrides only
the hooks it needs and defines ``KIND``; ``atoll/kinds/__init__.py`` registers it. Hooks take the
kind's own message, never raise for bad input (validation hooks append ``FieldError``s) and
never change their inputs unless their contract says so (``default``).

Server-only behaviour (deleting a Namespace's contents) lives in ``controller/apiserver/``, keyed
by the same kind name.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeAlias, TypeVar

from google.protobuf.message import Message

from atoll.kinds.columns import Column
from atoll.kinds.exposure import Exposure
from atoll.kinds.readiness import READY, Readiness
from atoll.v1 import object_pb2, pod_pb2
from atoll.validation.base import FieldError

KEY_ROOT = "/atoll/"
# The kinds the wire knows, by message name, in proto order: the members of the Object oneof.
# Validation that names kinds (an Event's involvedObject, a Role's rules) checks against these;
# a test holds the registry to the same list.
WIRE_KIND_NAMES: tuple[str, ...] = tuple(
    member.message_type.name
    for member in object_pb2.Object.DESCRIPTOR.oneofs_by_name["kind"].fields
    if member.message_type is not None
)

M = TypeVar("M", bound=Message)  # the kind's message class (pod_pb2.Pod, ...)
# A field selector's value of one object, e.g. spec.nodeName.
FieldGetter = Callable[[Any], str]
# The field selectors every node-bound workload offers (Pod, VirtualMachine).
NODE_BOUND_FIELDS: Mapping[str, FieldGetter] = {
    "spec.nodeName": lambda m: str(m.spec.node_name),
    "status.phase": lambda m: str(m.status.phase),
}


@dataclasses.dataclass(frozen=True, eq=False)
class KindStrategy(Generic[M]):
    """One API kind, typed by its message. Identity (one instance per kind) is equality.

    ``field`` is its member in the ``atoll.v1.Object`` oneof; ``plural`` is used in store keys and
    CLI output (``pod/web``); ``short`` names are what users may type besides singular and plural.
    """

    name: str
    plural: str
    short: tuple[str, ...]
    field: str
    message: type[M]
    # Scope: namespaced kinds live under a namespace; cluster-scoped ones ignore it.
    namespaced: bool
    # Status rules: kinds with a status take UpdateStatus, and Update keeps their status.
    has_status: bool = True
    # Names are DNS-1123 labels (Namespaces) instead of subdomains.
    name_is_dns_label: bool = False
    # Objects of this kind may still be created in a namespace being deleted (Events about the deletion).
    created_in_terminating_namespace: bool = False
    # Workloads placed on a node: spec.nodeName is set once by Bind, the node's agent runs them
    # (and serves their logs); an apply keeps the binding.
    node_bound: bool = False
    # Spec fields the system writes (binding, defaulting) that an apply whose manifest leaves them
    # empty keeps, as kubectl's three-way merge keeps what it never applied (node_bound kinds keep
    # spec.nodeName as well).
    kept_by_apply: tuple[str, ...] = ()
    # Drain evicts such a workload in place: stopped on its node and placed again elsewhere, the
    # same object (atoll/vm_runs.py), instead of deleting it.
    evicted_in_place: bool = False
    # Objects this kind's Events are about: ``atoll describe`` lists them (not for Events themselves).
    described_with_events: bool = True
    # Printing: the columns of ``atoll get`` and the display order (None: the server's key order).
    columns: tuple[Column, ...] = ()
    display_order: Callable[[M], Any] | None = None
    # Field selectors beyond metadata.name and metadata.namespace.
    selectable_fields: Mapping[str, FieldGetter] = dataclasses.field(default_factory=dict)
    # Status fields (manifest names) ``atoll describe`` leaves out of the status it prints, because
    # ``describe_tables`` shows them as tables.
    described_apart: frozenset[str] = frozenset()

    @property
    def singular(self) -> str:
        return self.name.lower()

    @property
    def has_spec(self) -> bool:
        return "spec" in self.message.DESCRIPTOR.fields_by_name

    def key(self, namespace: str, name: str) -> str:
        """Store key of one object; cluster-scoped kinds ignore ``namespace``."""
        if self.namespaced:
            return f"{KEY_ROOT}{self.plural}/{namespace}/{name}"
        return f"{KEY_ROOT}{self.plural}/{name}"

    def prefix(self, namespace: str = "") -> str:
        """Store prefix of every object of this kind, or of one namespace of it."""
        if self.namespaced and namespace:
            return f"{KEY_ROOT}{self.plural}/{namespace}/"
        return f"{KEY_ROOT}{self.plural}/"

    def wrap(self, message: Message) -> object_pb2.Object:
        """The ``Object`` envelope holding ``message``."""
        obj = object_pb2.Object()
        getattr(obj, self.field).CopyFrom(message)
        return obj

    # --- defaults and validation ----------------------------------------------------------------

    def default(self, obj: M) -> None:
        """Fill empty fields with their defaults, in place; idempotent. Default: none."""

    def validate(self, obj: M, errors: list[FieldError]) -> None:
        """Problems with everything but metadata (checked for every kind) and status. Default: none."""

    def validate_status(self, obj: M, errors: list[FieldError]) -> None:
        """Problems with the status alone: all a status write can get wrong. Default: none."""

    def validate_update(self, old: M, new: M, errors: list[FieldError]) -> None:
        """Problems with turning valid ``old`` into valid ``new`` beyond metadata identity: the
        kind's immutable fields. Default: none."""

    def uses_host_path(self, obj: M) -> bool:
        """Whether writing ``obj`` mounts a path of the node into a workload (hostPath volumes);
        the API server's authorizer then also asks for the verb ``hostpath``. Default: no."""
        return False

    # --- printing -------------------------------------------------------------------------------

    def describe_tables(self, obj: M, now: float) -> list[tuple[str, list[list[str]]]]:
        """Tables ``atoll describe`` shows after the conditions: (title, rows, header row first).
        Default: none."""
        return []

    def described(self, obj: M, manifest: dict[str, Any]) -> dict[str, Any]:
        """What ``atoll describe`` shows of ``obj`` given its manifest form: a kind whose fields
        must not be printed replaces them. Default: the manifest itself."""
        return manifest

    # --- status rules ---------------------------------------------------------------------------

    def bumps_generation(self, old: M, new: M) -> bool:
        """Whether writing ``new`` over ``old`` is a new generation: the spec changed (kinds
        without a spec never move on)."""
        return self.has_spec and old.spec != new.spec  # type: ignore[attr-defined]

    def status_write(self, stored: M, desired: M) -> M:
        """What UpdateStatus writes: a copy of ``stored`` with ``desired``'s status; nothing else
        may change."""
        merged = self.message()
        merged.CopyFrom(stored)
        copy_present(desired, merged, "status")
        return merged

    def node_requests(self, obj: M) -> tuple[int, int] | None:
        """(CPU millicores, memory bytes) a workload of this kind takes from its node while it
        holds it (atoll/requests.py), or None: this kind takes nothing (``atoll top``)."""
        return None

    def pod_spec(self, obj: M) -> pod_pb2.PodSpec | None:
        """The pod spec ``obj`` runs or stamps out, the message itself (changing it changes
        ``obj``: ``atoll set image``), or None: this kind (or this object) has none."""
        return None

    def exposure(self, obj: M) -> Exposure | None:
        """What a Service in front of ``obj`` selects and the ports ``obj`` declares (``atoll
        expose``), or None: nothing of this kind can be exposed."""
        return None

    def readiness(self, obj: M) -> Readiness:
        """Whether ``obj`` is ready for use (``apply --wait``); ready once written unless a kind says more."""
        return READY

    def keep_on_apply(self, old: M, merged: M) -> None:
        """Puts back into ``merged`` (an apply's result) the system-written spec fields its
        manifest left empty (``kept_by_apply``, and spec.nodeName of node-bound kinds)."""
        kept = (*self.kept_by_apply, "node_name") if self.node_bound else self.kept_by_apply
        was, spec = old.spec, merged.spec  # type: ignore[attr-defined]
        for name in kept:
            if spec.DESCRIPTOR.fields_by_name[name].message_type is not None:
                if not spec.HasField(name) and was.HasField(name):
                    getattr(spec, name).CopyFrom(getattr(was, name))
            elif not getattr(spec, name) and getattr(was, name):
                setattr(spec, name, getattr(was, name))

    def keep_on_update(self, old: M, merged: M) -> None:
        """Update owns spec and metadata: put back into ``merged`` what only status writes change."""
        if self.has_status:
            copy_present(old, merged, "status")


# A registered kind, whatever its message: what code outside the kind files holds.
Kind: TypeAlias = KindStrategy[Any]


def copy_present(source: Any, target: Any, field: str) -> None:
    """Copies a message field including its absence, so an unchanged object compares equal."""
    if source.HasField(field):
        getattr(target, field).CopyFrom(getattr(source, field))
    else:
        target.ClearField(field)


MEMO_SPEC_BYTES = 16 * 1024
MEMO_DEFAULTED_SPEC_BYTES = 4 * 1024


def memoized_spec_rule(
    spec_type: type[Message], rule: Callable[[Any, str, list[FieldError]], None]
) -> Callable[[Message, list[FieldError]], None]:
    """``rule`` applied to a spec at path ``spec``, memoized on the spec's canonical bytes.

    Spec validation is a pure function of the spec, and fleets repeat specs (every replica of a
    Deployment, every pod of a batch job): memoized it costs one deterministic serialization
    instead of a walk over freshly decoded messages. Only specs of at most MEMO_SPEC_BYTES are
    kept: the memo must not pin megabytes per entry.
    """

    @functools.lru_cache(maxsize=4096)
    def errors_of(spec_bytes: bytes) -> tuple[FieldError, ...]:
        found: list[FieldError] = []
        rule(spec_type.FromString(spec_bytes), "spec", found)
        return tuple(found)

    def check(spec: Message, errors: list[FieldError]) -> None:
        spec_bytes = spec.SerializeToString(deterministic=True)
        memo = errors_of if len(spec_bytes) <= MEMO_SPEC_BYTES else errors_of.__wrapped__
        errors.extend(memo(spec_bytes))

    return check


def memoized_spec_default(spec_type: type[Message], default: Callable[[Any], None]) -> Callable[[Any], None]:
    """``default`` (a pure function of the spec it fills in place) memoized on the spec's
    canonical bytes, as ``memoized_spec_rule``: a fleet's specs repeat, and defaulting a freshly
    decoded spec costs a Python wrapper per field it looks at, against one serialization and, when
    anything was filled, one parse. It keeps two copies per entry (the spec and its defaulted form),
    so only specs of at most MEMO_DEFAULTED_SPEC_BYTES (ordinary pod specs are a few hundred
    bytes) are memoized: at most 4096 x 8 KiB = 32 MiB whatever callers send."""

    @functools.lru_cache(maxsize=4096)
    def defaulted(spec_bytes: bytes) -> bytes | None:
        spec = spec_type.FromString(spec_bytes)
        default(spec)
        filled = spec.SerializeToString(deterministic=True)
        return None if filled == spec_bytes else filled

    def apply(spec: Any) -> None:
        spec_bytes = spec.SerializeToString(deterministic=True)
        if len(spec_bytes) > MEMO_DEFAULTED_SPEC_BYTES:
            default(spec)
            return
        filled = defaulted(spec_bytes)
        if filled is not None:
            spec.ParseFromString(filled)

    return apply
