"""Object semantics on top of a Store: create, get, update, status updates, delete with finalizers,
apply, bind.

Contracts:
- Every write validates the whole resulting object first (size bounds first:
  atoll/validation/bounds.py; Bind checks those alone); a rejected request changes nothing.
- ``resource_version`` of a returned object is the store revision of its last write.
- ``generation`` starts at 1 and is bumped whenever the spec changes; status writes never bump it.
- Update keeps server-owned metadata (uid, creation/deletion timestamps, generation) and status;
  UpdateStatus keeps everything but status.
- A write that changes nothing is not written (the stored object is returned unchanged).
- Delete of an object with finalizers only sets deletion_timestamp; the update that removes the
  last finalizer of such an object deletes it.
- Create of a kind with a reserver (kind_hooks.CreateReserver: a Service's cluster IP) takes
  from the pool after validation, just before the write, and gives it back when the write fails.
- Bind adds the node agent's finalizer (atoll/finalizers.py) in the binding's own write, so a
  bound workload's deletion always waits for its agent, and the agent needs no write of its own.
- An Update that unbinds a VirtualMachine (allowed once its run ended; atoll/vm_runs.py) resets
  its status for the next run and removes that finalizer in the same write (its kind's
  ``keep_on_update``).
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from atoll import finalizers, kinds, namespaces
from atoll.apply_merge import apply_onto
from atoll.clock import Clock, SystemClock, set_timestamp
from atoll.conditions import scheduled_condition_type
from atoll.kinds import Kind, apply_defaults
from atoll.kinds.checks import validate, validate_message_update, validate_status
from atoll.user_text import bounded_repr
from atoll.v1 import api_pb2, object_pb2
from atoll.validation.bounds import bounds_errors
from controller.apiserver import codec
from controller.apiserver.errors import (
    AlreadyExistsError,
    ConflictError,
    ForbiddenStateError,
    InvalidError,
    NotFoundError,
)
from controller.apiserver.kind_hooks import DELETERS, CreateReserver, Deleter
from controller.apiserver.namespaces import NamespaceIndex
from controller.apiserver.objectref import describe, describe_message, effective_namespace
from controller.store import protocol as store_api
from controller.store.protocol import Store

# Where writes may find the object they change without a store read: key -> (value, revision),
# possibly stale (WatchCache.latest). A stale base fails the store's revision check and the write
# is retried on a fresh read, so it only ever saves the read.
RecentObjects = Callable[[str], tuple[bytes, int] | None]
# Deleting with these policies leaves the object in place (deletion_timestamp set) with this
# finalizer, which the garbage collector removes once dependents are deleted (foreground) or
# released (orphan), as Kubernetes does. Background deletes at once; the collector follows.
FOREGROUND_FINALIZER = "foregroundDeletion"
ORPHAN_FINALIZER = "orphan"
PROPAGATION_FINALIZERS = {"foreground": FOREGROUND_FINALIZER, "orphan": ORPHAN_FINALIZER}
PROTECTED_NAMESPACES = namespaces.BUILT_IN
# Unconditional writes retry this many times when a concurrent writer wins the race.
_UNCONDITIONAL_RETRIES = 20
_NODE = kinds.by_name("Node")
# Validation problems named in one error message (a request may have 100,000 bad labels).
_ERRORS_SHOWN = 20


# UIDs need uniqueness, not secrecy: a PRNG seeded from the OS once is ~10x cheaper than
# uuid4()'s getrandom syscall per object on the hottest write path.
_uid_random = random.Random(os.urandom(32))


def new_uid() -> str:
    """A random (version 4, RFC 4122 variant) UUID string, as str(uuid.uuid4()) gives."""
    value = _uid_random.getrandbits(128) & _UUID_CLEAR | _UUID_SET
    digits = f"{value:032x}"
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


# uuid.UUID(version=4) sets the version nibble to 4 and the variant bits to 10.
_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID_SET = (4 << 76) | (0x8000 << 48)


@dataclass(frozen=True)
class Stored:
    """An object as read from the store: its kind, decoded message and mod revision."""

    kind: Kind
    message: Any
    revision: int


class Registry:
    """The storage semantics every servicer call goes through."""

    def __init__(
        self,
        store: Store,
        namespaces: NamespaceIndex,
        clock: Clock | None = None,
        recent: RecentObjects | None = None,
        reservers: Mapping[str, CreateReserver] | None = None,
    ) -> None:
        self._store = store
        self._namespaces = namespaces
        self._clock: Clock = clock or SystemClock()
        self._recent = recent
        self._reservers = dict(reservers or {})
        self._deleters: dict[str, Deleter] = {
            name: factory(store, self._clock, self.delete) for name, factory in DELETERS.items()
        }

    # --- reads -------------------------------------------------------------------------------

    async def read(self, kind: Kind, namespace: str, name: str) -> Stored:
        namespace = effective_namespace(kind, namespace)
        kv = await self._store.get(kind.key(namespace, name))
        if kv is None:
            raise NotFoundError(f"{describe(kind, namespace, name)} not found")
        return Stored(kind, codec.decode(kind, kv.value, kv.mod_revision), kv.mod_revision)

    async def _read_base(self, kind: Kind, namespace: str, name: str, *, fresh: bool) -> tuple[Stored, bool]:
        """The object a write starts from, and whether it came from ``recent`` (then possibly
        stale: the caller must not trust it for anything the store's revision check does not
        catch, and reads again with ``fresh`` when in doubt). The message is the caller's own."""
        if not fresh and self._recent is not None:
            namespace = effective_namespace(kind, namespace)
            hit = self._recent(kind.key(namespace, name))
            if hit is not None:
                value, revision = hit
                return Stored(kind, codec.decode(kind, value, revision), revision), True
        return await self.read(kind, namespace, name), False

    # --- create ------------------------------------------------------------------------------

    async def create(self, obj: object_pb2.Object) -> Any:
        """Stores a new object and returns the message inside ``obj``, which is defaulted and
        stamped in place (no copies: this is the hottest write path)."""
        kind = _kind_of(obj)
        apply_defaults(obj)
        message = getattr(obj, kind.field)
        meta = message.metadata
        meta.namespace = effective_namespace(kind, meta.namespace)
        meta.uid = new_uid()
        set_timestamp(meta.creation_timestamp, self._clock.now())
        meta.ClearField("deletion_timestamp")
        meta.resource_version = 0
        meta.generation = 1
        errors = validate(obj)
        if errors:
            raise _invalid(kind, message, errors)
        await self._require_namespace(kind, meta.namespace)
        key = kind.key(meta.namespace, meta.name)
        reserver = self._reservers.get(kind.name)
        undo = await reserver.reserve(message) if reserver is not None else None
        try:
            revision = await self._store.create(key, codec.encode(message))
        except BaseException as exc:
            if undo is not None:
                with contextlib.suppress(Exception):  # what stays taken, repair gives back
                    await undo()
            if isinstance(exc, store_api.KeyExistsError):
                raise AlreadyExistsError(f"{describe_message(kind, message)} already exists") from None
            raise
        meta.resource_version = revision
        return message

    async def _require_namespace(self, kind: Kind, namespace: str) -> None:
        if not kind.namespaced:
            return
        phase = await self._namespaces.phase(namespace)
        if phase is None:
            raise NotFoundError(f"namespace {bounded_repr(namespace)} not found (create it first: kind Namespace)")
        if phase == "Terminating" and not kind.created_in_terminating_namespace:
            raise ForbiddenStateError(f"namespace {bounded_repr(namespace)} is terminating; it takes no new objects")

    # --- update ------------------------------------------------------------------------------

    async def update(self, obj: object_pb2.Object, *, status_only: bool = False) -> Any:
        """Update (spec and metadata) or UpdateStatus (status only) with optimistic concurrency."""
        kind, desired = _unpack(obj)
        if status_only and not kind.has_status:
            raise InvalidError(f"{kind.singular}: kind {kind.name} has no status; use Update")
        wanted_revision = desired.metadata.resource_version
        namespace, name = desired.metadata.namespace, desired.metadata.name
        fresh = False
        for _ in range(_UNCONDITIONAL_RETRIES):
            current, cached = await self._read_base(kind, namespace, name, fresh=fresh)
            fresh = True  # a retry always reads the store
            if wanted_revision and wanted_revision != current.revision:
                if cached:
                    continue  # the cache may lag: only the store's answer is a conflict
                raise ConflictError(_stale_message(kind, current, wanted_revision))
            if status_only:
                merged = kind.status_write(current.message, desired)
                errors = validate_status(kind, merged)  # the rest is the stored, valid object
                if errors:
                    raise _invalid(kind, merged, errors)
            else:
                merged = self._merge_update(kind, current.message, desired)
            if cached and _unchanged(merged, current):
                continue  # "nothing to write" is only true of the store's copy
            try:
                return await self._write(kind, current, merged)
            except store_api.ConflictError:
                if wanted_revision and not cached:
                    raise ConflictError(_stale_message(kind, current, wanted_revision)) from None
            except store_api.KeyNotFoundError:
                if not cached:
                    raise NotFoundError(f"{describe_message(kind, desired)} not found") from None
        raise ConflictError(f"{describe_message(kind, desired)}: too many concurrent writers; retry")

    def _merge_update(self, kind: Kind, old: Any, desired: Any) -> Any:
        merged = _defaulted(kind, desired)
        _keep_server_metadata(old, merged)
        kind.keep_on_update(old, merged)
        if kind.bumps_generation(old, merged):
            merged.metadata.generation = old.metadata.generation + 1
        errors = validate_message_update(kind, old, merged)
        if errors:
            raise _invalid(kind, merged, errors)
        return merged

    async def _write(self, kind: Kind, current: Stored, merged: Any) -> Any:
        """Writes ``merged`` (already validated) over ``current``; deletes it when it was deleting
        and lost its last finalizer."""
        if _unchanged(merged, current):
            return current.message
        key = kind.key(merged.metadata.namespace, merged.metadata.name)
        if merged.metadata.HasField("deletion_timestamp") and not merged.metadata.finalizers:
            revision = await self._store.delete(key, expected_revision=current.revision)
        else:
            revision = await self._store.update(key, codec.encode(merged), expected_revision=current.revision)
        merged.metadata.resource_version = revision
        return merged

    # --- delete ------------------------------------------------------------------------------

    async def delete(self, request: api_pb2.DeleteRequest) -> api_pb2.DeleteResponse:
        kind = _kind(request.kind)
        namespace = effective_namespace(kind, request.namespace)
        policy = request.propagation_policy or "background"
        if policy not in ("background", "foreground", "orphan"):
            raise InvalidError(
                f"propagationPolicy: must be background, foreground or orphan, got {bounded_repr(policy)}"
            )
        deleter = self._deleters.get(kind.name)
        refusal = deleter.refusal(request.name) if deleter is not None else None
        if refusal is not None:
            raise ForbiddenStateError(refusal)
        for _ in range(_UNCONDITIONAL_RETRIES):
            current = await self.read(kind, namespace, request.name)
            precondition = request.precondition_resource_version
            if precondition and precondition != current.revision:
                raise ConflictError(_stale_message(kind, current, precondition))
            try:
                return await self._delete_once(kind, current, policy)
            except store_api.ConflictError:
                if precondition:
                    raise ConflictError(_stale_message(kind, current, precondition)) from None
            except store_api.KeyNotFoundError:
                raise NotFoundError(f"{describe(kind, namespace, request.name)} not found") from None
        raise ConflictError(f"{describe(kind, namespace, request.name)}: too many concurrent writers; retry")

    async def _delete_once(self, kind: Kind, current: Stored, policy: str) -> api_pb2.DeleteResponse:
        message = current.message
        key = kind.key(message.metadata.namespace, message.metadata.name)
        deleter = self._deleters.get(kind.name)
        if deleter is not None:
            return await deleter.delete(kind, message, current.revision)
        finalizer = PROPAGATION_FINALIZERS.get(policy)
        if (
            finalizer
            and finalizer not in message.metadata.finalizers
            and not message.metadata.HasField("deletion_timestamp")
        ):
            message.metadata.finalizers.append(finalizer)
        if message.metadata.finalizers:
            if not message.metadata.HasField("deletion_timestamp"):
                set_timestamp(message.metadata.deletion_timestamp, self._clock.now())
                revision = await self._store.update(key, codec.encode(message), expected_revision=current.revision)
                message.metadata.resource_version = revision
            return api_pb2.DeleteResponse(object=kind.wrap(message), deleted=False)
        revision = await self._store.delete(key, expected_revision=current.revision)
        message.metadata.resource_version = revision
        return api_pb2.DeleteResponse(object=kind.wrap(message), deleted=True)

    # --- apply -------------------------------------------------------------------------------

    async def apply(self, obj: object_pb2.Object) -> api_pb2.ApplyResponse:
        """Create-or-update from a whole desired object; result created, configured or unchanged.

        The manifest owns spec, labels and annotations. Fields the system set and the manifest
        leaves empty are kept: status, spec.nodeName of a bound workload, the kind's other
        ``kept_by_apply`` spec fields (a claim's volumeName and class, a volume's claimRef), owner
        references and finalizers when the manifest lists none.
        """
        kind, desired = _unpack(obj)
        desired.metadata.namespace = effective_namespace(kind, desired.metadata.namespace)
        for _ in range(_UNCONDITIONAL_RETRIES):
            try:
                current = await self.read(kind, desired.metadata.namespace, desired.metadata.name)
            except NotFoundError:
                try:
                    created = await self.create(kind.wrap(desired))
                except AlreadyExistsError:
                    continue
                return api_pb2.ApplyResponse(object=kind.wrap(created), result="created")
            merged = apply_onto(kind, current.message, desired)
            merged = self._merge_update(kind, current.message, merged)
            try:
                written = await self._write(kind, current, merged)
            except store_api.ConflictError:
                continue
            result = "unchanged" if written.metadata.resource_version == current.revision else "configured"
            return api_pb2.ApplyResponse(object=kind.wrap(written), result=result)
        raise ConflictError(f"{describe_message(kind, desired)}: too many concurrent writers; retry")

    # --- bind --------------------------------------------------------------------------------

    async def bind_one(self, binding: api_pb2.Binding) -> api_pb2.BindResult:
        """Sets spec.nodeName of one unbound Pod or VirtualMachine; never raises for a lost race."""
        try:
            kind = _kind(binding.kind)
        except InvalidError as exc:
            return api_pb2.BindResult(code="INVALID", message=exc.message)
        if not kind.node_bound:
            return api_pb2.BindResult(code="INVALID", message=f"kind {kind.name} cannot be bound to a node")
        if not binding.node_name:
            return api_pb2.BindResult(code="INVALID", message="node_name: required")
        try:
            current, cached = await self._read_base(kind, binding.namespace, binding.name, fresh=False)
            if cached and binding.expected_resource_version not in (0, current.revision):
                current = await self.read(kind, binding.namespace, binding.name)  # the cache may lag
        except NotFoundError as exc:
            return api_pb2.BindResult(code="NOT_FOUND", message=exc.message)
        message = current.message
        label = describe_message(kind, message)
        if binding.expected_resource_version and binding.expected_resource_version != current.revision:
            return api_pb2.BindResult(
                code="CONFLICT", message=_stale_message(kind, current, binding.expected_resource_version)
            )
        if message.spec.node_name:
            return api_pb2.BindResult(
                code="ALREADY_BOUND", message=f"{label} is already bound to node {message.spec.node_name}"
            )
        if message.metadata.HasField("deletion_timestamp"):
            return api_pb2.BindResult(code="CONFLICT", message=f"{label} is being deleted")
        if not await self._node_exists(binding.node_name):
            return api_pb2.BindResult(code="NOT_FOUND", message=f"node/{binding.node_name} not found")
        message.spec.node_name = binding.node_name
        if finalizers.NODE_AGENT not in message.metadata.finalizers:
            message.metadata.finalizers.append(finalizers.NODE_AGENT)  # the node's agent now owns its end
        _mark_scheduled(kind, message, self._clock.now())
        oversized = bounds_errors(message)  # the binding's own additions may tip a full object over
        if oversized:
            return api_pb2.BindResult(code="INVALID", message=_join_errors(kind, message, oversized))
        key = kind.key(message.metadata.namespace, message.metadata.name)
        try:
            revision = await self._store.update(key, codec.encode(message), expected_revision=current.revision)
        except (store_api.ConflictError, store_api.KeyNotFoundError):
            return api_pb2.BindResult(code="CONFLICT", message=f"{label} changed while binding; retry")
        return api_pb2.BindResult(code="OK", resource_version=revision)

    async def _node_exists(self, name: str) -> bool:
        key = _NODE.key("", name)
        if self._recent is not None and self._recent(key) is not None:
            return True  # it existed a moment ago; a node deleted meanwhile is the same race as after the check
        return await self._store.get(key) is not None


def _mark_scheduled(kind: Kind, message: Any, now: float) -> None:
    """Sets the PodScheduled (VMs: Scheduled) condition to True in the binding's own write."""
    condition_type = scheduled_condition_type(kind.name)
    for condition in message.status.conditions:
        if condition.type == condition_type:
            break
    else:
        condition = message.status.conditions.add(type=condition_type)
    if condition.status != "True":
        condition.status = "True"
        condition.reason = ""
        condition.message = ""
        set_timestamp(condition.last_transition_time, now)
    message.status.nominated_node_name = ""


def _unchanged(merged: Any, current: Stored) -> bool:
    """Whether writing ``merged`` over ``current`` would change nothing (stamps its revision)."""
    merged.metadata.resource_version = current.revision
    return bool(merged == current.message)


def _kind(name: str) -> Kind:
    try:
        return kinds.lookup(name)
    except kinds.UnknownKindError as exc:
        raise InvalidError(f"kind: {exc}") from None


def _kind_of(obj: object_pb2.Object) -> Kind:
    try:
        return kinds.of_object(obj)
    except kinds.UnknownKindError as exc:
        raise InvalidError(f"object: {exc}") from None


def _unpack(obj: object_pb2.Object) -> tuple[Kind, Any]:
    """The kind of ``obj`` and the message inside it: the caller's own, not a copy (every write
    merges it into a message of its own; only apply stamps its effective namespace on it)."""
    kind = _kind_of(obj)
    return kind, kinds.unwrap(obj)


def _defaulted(kind: Kind, message: Any) -> Any:
    """A copy of ``message`` with server defaults filled in (the input is not changed)."""
    defaulted = kind.message()
    defaulted.CopyFrom(message)
    kind.default(defaulted)  # what apply_defaults does to an Object holding it
    return defaulted


def _invalid(kind: Kind, message: Any, errors: Sequence[Any]) -> InvalidError:
    """The InvalidError for validation ``errors`` (FieldErrors), each field path kept as a cause."""
    shown = errors[:_ERRORS_SHOWN]
    return InvalidError(_join_errors(kind, message, errors), causes=[(error.path, error.message) for error in shown])


def _join_errors(kind: Kind, message: Any, errors: Sequence[Any]) -> str:
    """The first ``_ERRORS_SHOWN`` problems, one clause each, and how many more there were."""
    label = describe_message(kind, message)
    shown = "; ".join(f"{label}: {error}" for error in errors[:_ERRORS_SHOWN])
    more = len(errors) - _ERRORS_SHOWN
    return f"{shown}; and {more} more problems" if more > 0 else shown


def _stale_message(kind: Kind, current: Stored, wanted: int) -> str:
    return (
        f"{describe_message(kind, current.message)}: resource_version {wanted} is stale "
        f"(stored: {current.revision}); read it again and retry"
    )


def _keep_server_metadata(old: Any, new: Any) -> None:
    meta, was = new.metadata, old.metadata
    meta.uid = was.uid
    meta.creation_timestamp.CopyFrom(was.creation_timestamp)
    if was.HasField("deletion_timestamp"):
        meta.deletion_timestamp.CopyFrom(was.deletion_timestamp)
    else:
        meta.ClearField("deletion_timestamp")
    meta.generation = was.generation
    meta.namespace = was.namespace
