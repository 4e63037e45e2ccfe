"""The RBAC policy: built-in roles and bindings plus the Role and RoleBinding objects in the store.

``PolicyCache`` lists both kinds once, then follows the store's watch, so authorization never
reads the store. A binding written a moment ago takes effect when its watch event arrives
(milliseconds).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable

from atoll import kinds
from atoll.kinds import Kind
from controller.apiserver import codec
from controller.apiserver.auth.attributes import RequestAttributes
from controller.apiserver.auth.identity import UserInfo
from controller.apiserver.auth.rules import BUILTIN_BINDINGS, BUILTIN_ROLE_RULES, Binding, Rule, within
from controller.store.protocol import CompactedError, EventType, Store, StoreError

log = logging.getLogger(__name__)
ROLE = kinds.by_name("Role")
ROLE_BINDING = kinds.by_name("RoleBinding")
_RETRY_SECONDS = 1.0


class Policy:
    """An immutable view: role name -> rules, and bindings indexed by user and by group."""

    def __init__(self, roles: dict[str, tuple[Rule, ...]], bindings: Iterable[Binding]) -> None:
        self._roles = {**roles, **BUILTIN_ROLE_RULES}  # built-in names win (validation reserves them)
        self._by_user: dict[str, list[Binding]] = defaultdict(list)
        self._by_group: dict[str, list[Binding]] = defaultdict(list)
        for binding in (*BUILTIN_BINDINGS, *bindings):
            for user in binding.users:
                self._by_user[user].append(binding)
            for group in binding.groups:
                self._by_group[group].append(binding)

    def allows(self, user: UserInfo, request: RequestAttributes) -> bool:
        """True when some binding of ``user`` (or of one of its groups) grants ``request``."""
        return self._granted(user, request, Rule.grants)

    def allows_data(self, user: UserInfo, request: RequestAttributes) -> bool:
        """True when some binding of ``user`` grants ``request`` with the object's data (a rule
        naming the kind itself: ``Rule.grants_data``)."""
        return self._granted(user, request, Rule.grants_data)

    def _granted(
        self, user: UserInfo, request: RequestAttributes, grants: Callable[[Rule, str, Kind, str], bool]
    ) -> bool:
        for binding in self._bindings_of(user):
            if not within(binding.namespaces, request.kind, request.namespace):
                continue
            for rule in self._roles.get(binding.role, ()):
                if grants(rule, request.verb, request.kind, request.namespace):
                    return True
        return False

    def _bindings_of(self, user: UserInfo) -> Iterable[Binding]:
        yield from self._by_user.get(user.name, ())
        for group in user.groups:
            yield from self._by_group.get(group, ())


class PolicyCache:
    """Keeps a current ``Policy`` from the store. ``start`` loads it; ``stop`` ends the watches."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._roles: dict[str, tuple[Rule, ...]] = {}
        self._bindings: dict[str, Binding] = {}
        self.policy = Policy({}, ())
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        for kind in (ROLE, ROLE_BINDING):
            after = await self._load(kind)
            self._tasks.append(asyncio.create_task(self._follow(kind, after), name=f"rbac-{kind.plural}"))

    @property
    def binding_names(self) -> frozenset[str]:
        """Names of the RoleBinding objects the current policy holds."""
        return frozenset(self._bindings)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _load(self, kind: Kind) -> int:
        """Replaces everything known of ``kind`` by a fresh list; returns the list's revision."""
        revision = await self._store.current_revision()
        found: dict[str, bytes] = {}
        start_after: str | None = None
        while True:
            chunk = await self._store.range(kind.prefix(), start_after=start_after, limit=500, revision=revision)
            for kv in chunk.items:
                start_after = kv.key
                found[kv.key] = kv.value
            if not chunk.more:
                break
        if kind is ROLE:
            self._roles = {}
        else:
            self._bindings = {}
        for key, value in found.items():
            self._put(key, value)
        self._publish()
        return revision

    async def _follow(self, kind: Kind, after: int) -> None:
        while True:
            try:
                async for event in self._store.watch(kind.prefix(), after):
                    after = event.kv.mod_revision
                    if event.type is EventType.DELETE:
                        self._remove(event.kv.key)
                    else:
                        self._put(event.kv.key, event.kv.value)
                    self._publish()
            except CompactedError:
                after = await self._load(kind)
            except StoreError as exc:
                log.warning("rbac %s watch failed (%s); retrying", kind.plural, exc)
                await asyncio.sleep(_RETRY_SECONDS)
                with contextlib.suppress(StoreError):
                    after = await self._load(kind)

    def _put(self, key: str, value: bytes) -> None:
        if key.startswith(ROLE.prefix()):
            role = codec.decode(ROLE, value, 0)
            self._roles[role.metadata.name] = tuple(Rule.from_proto(rule) for rule in role.spec.rules)
        else:
            binding = codec.decode(ROLE_BINDING, value, 0)
            self._bindings[binding.metadata.name] = Binding.from_proto(binding)

    def _remove(self, key: str) -> None:
        name = key.rsplit("/", 1)[1]
        if key.startswith(ROLE.prefix()):
            self._roles.pop(name, None)
        else:
            self._bindings.pop(name, None)

    def _publish(self) -> None:
        self.policy = Policy(dict(self._roles), tuple(self._bindings.values()))
