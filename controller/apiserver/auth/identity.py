"""Who a call comes from: UserInfo (as authentication established it) and Peer (what carried it)."""

from __future__ import annotations

from dataclasses import dataclass

from atoll.pki import NODE_USER_PREFIX, NODES_GROUP
from atoll.user_text import bounded_repr


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
        return f"user {bounded_repr(self.name)}"


@dataclass(frozen=True)
class Peer:
    """What carried a call, known before (and whatever) authentication decides: the user its
    verified client certificate names ("" without one) and its network address (grpc's
    ``context.peer()``, ``ipv4:127.0.0.1:40000``)."""

    certificate: str
    address: str

    @property
    def key(self) -> str:
        """Whom limits count a call against: the certificate's user, else the address without
        its port (a client opens new connections from new ports)."""
        if self.certificate:
            return f"certificate:{self.certificate}"
        host, _, port = self.address.rpartition(":")
        return host if host and port.isdigit() else self.address

    def describe(self) -> str:
        return f"certificate {bounded_repr(self.certificate)}" if self.certificate else f"peer {self.address}"
