"""UserInfo: who a call comes from, as authentication established it."""

from __future__ import annotations

from dataclasses import dataclass

from atoll.pki import NODE_USER_PREFIX, NODES_GROUP


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: frozenset[str] = frozenset()

    @property
    def node_name(self) -> str | None:
        """NAME for a node identity (user ``system:node:NAME`` in group ``system:nodes``), else None."""
        if NODES_GROUP in self.groups and self.name.startswith(NODE_USER_PREFIX):
            return self.name[len(NODE_USER_PREFIX) :] or None
        return None

    def describe(self) -> str:
        return f"user {self.name!r}"
