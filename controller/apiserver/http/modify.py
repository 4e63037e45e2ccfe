"""Read, change, write back, through the guarded Get and Update calls: the read-modify-write the
HTTP API's actions (VM power, rollout undo) make, as the CLI's ``modify`` does over gRPC. The write
carries the revision read, so a concurrent write is a conflict: read again and retry, a few times."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from atoll.v1 import api_pb2, object_pb2
from controller.apiserver.handlers import ObjectsCalls
from controller.apiserver.http.context import Context
from controller.apiserver.http.paths import Target
from controller.apiserver.http.status import HTTP_OF_GRPC, HttpFailure

WRITE_ATTEMPTS = 5
_CONFLICT = HTTP_OF_GRPC[grpc.StatusCode.ABORTED][0]


async def modify(
    calls: ObjectsCalls, target: Target, change: Callable[[object_pb2.Object], bool], context: Context
) -> object_pb2.Object:
    """The object after ``change`` (which edits it in place and says whether there is anything to
    write; it raises HttpFailure to refuse) was written, or as read when there was nothing to write.
    HttpFailure for what Get or Update refuse."""
    get = api_pb2.GetRequest(kind=target.kind.name, namespace=target.namespace, name=target.name)
    for attempt in range(WRITE_ATTEMPTS):
        obj: object_pb2.Object = await calls.unary["Get"](get, context)
        if not change(obj):
            return obj
        try:
            updated: object_pb2.Object = await calls.unary["Update"](api_pb2.UpdateRequest(object=obj), context)
        except HttpFailure as failure:
            if failure.status["code"] != _CONFLICT or attempt + 1 == WRITE_ATTEMPTS:
                raise
            continue
        return updated
    raise AssertionError("unreachable")
