"""The store record of one allocated cluster IP: a key per address under ``KEY_PREFIX``, outside the
object space (``/atoll/``), holding who owns it and since when.

Creating the key is the allocation: the store's create-if-absent makes it atomic across every
API server on one store (etcd with several API servers included), as Kubernetes' IPAddress
objects do for its allocator.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

KEY_PREFIX = "/atoll-serviceips/"


@dataclass(frozen=True)
class Owner:
    """The Service an address belongs to; ``uid`` tells a recreated Service of the same name apart."""

    namespace: str
    name: str
    uid: str

    def __str__(self) -> str:
        return f"service/{self.name} in namespace {self.namespace}"


@dataclass(frozen=True)
class IPRecord:
    owner: Owner
    # When the address was taken (seconds since the epoch): an orphan younger than the repair's
    # grace may be a create still in flight on another API server.
    reserved_at: float

    def encode(self) -> bytes:
        return json.dumps({**asdict(self.owner), "reserved_at": self.reserved_at}, sort_keys=True).encode()

    @classmethod
    def decode(cls, value: bytes) -> IPRecord | None:
        """The record in ``value``, or None when it is not one (then it belongs to nobody)."""
        try:
            data = json.loads(value)
            owner = Owner(str(data["namespace"]), str(data["name"]), str(data["uid"]))
            return cls(owner, float(data["reserved_at"]))
        except (ValueError, KeyError, TypeError):
            return None


def ip_key(ip: str) -> str:
    return f"{KEY_PREFIX}{ip}"


def ip_of_key(key: str) -> str:
    return key[len(KEY_PREFIX) :]
