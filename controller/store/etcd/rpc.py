"""aetcd (the asyncio python-etcd3 fork) imported once, plus the etcd request builders we need.

aetcd ships generated code from an older protobuf; its import warns about the version gap. The
warning is about aetcd's packaging, not our use, so it is silenced here, for that import only.
"""

from __future__ import annotations

import warnings
from typing import Any

from controller.store.keys import encode_key, prefix_end

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Protobuf gencode version", category=UserWarning)
    import aetcd
    import aetcd.rpc as rpc

__all__ = ["aetcd", "rpc"]


def key_range(prefix: str) -> tuple[bytes, bytes]:
    """etcd's (key, range_end) for every key starting with ``prefix``; b"\\0" means unbounded."""
    start = encode_key(prefix)
    end = prefix_end(start)
    return (start or b"\0"), (end if end is not None else b"\0")


def key_exists(key: bytes) -> Any:
    return rpc.Compare(key=key, target=rpc.Compare.CREATE, result=rpc.Compare.GREATER, create_revision=0)


def key_absent(key: bytes) -> Any:
    return rpc.Compare(key=key, target=rpc.Compare.CREATE, result=rpc.Compare.EQUAL, create_revision=0)


def mod_revision_is(key: bytes, revision: int) -> Any:
    return rpc.Compare(key=key, target=rpc.Compare.MOD, result=rpc.Compare.EQUAL, mod_revision=revision)


def put_op(key: bytes, value: bytes) -> Any:
    return rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value))


def delete_op(key: bytes) -> Any:
    return rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=key))


def get_op(key: bytes) -> Any:
    return rpc.RequestOp(request_range=rpc.RangeRequest(key=key))
