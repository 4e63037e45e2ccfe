"""gRPC method handlers for atoll.v1.Objects, built from the service descriptor.

Like the generated ``add_ObjectsServicer_to_server`` except that Watch's response serializer
passes pre-encoded bytes through (see wire.py), so one event is serialized once for all watchers.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import message_factory

from atoll.v1 import api_pb2

SERVICE_NAME = "atoll.v1.Objects"
_PRE_ENCODED_STREAMS = frozenset({"Watch"})


def _identity(data: bytes) -> bytes:
    return data


def objects_handlers(servicer: Any) -> dict[str, grpc.RpcMethodHandler[Any, Any]]:
    service = api_pb2.DESCRIPTOR.services_by_name["Objects"]
    handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {}
    for method in service.methods:
        request_type = message_factory.GetMessageClass(method.input_type)
        response_type = message_factory.GetMessageClass(method.output_type)
        implementation = getattr(servicer, method.name)
        if method.server_streaming:
            serializer = _identity if method.name in _PRE_ENCODED_STREAMS else response_type.SerializeToString
            handlers[method.name] = grpc.unary_stream_rpc_method_handler(
                implementation, request_deserializer=request_type.FromString, response_serializer=serializer
            )
        else:
            handlers[method.name] = grpc.unary_unary_rpc_method_handler(
                implementation,
                request_deserializer=request_type.FromString,
                response_serializer=response_type.SerializeToString,
            )
    return handlers


def add_objects_service(server: grpc.aio.Server, servicer: Any) -> None:
    handlers = objects_handlers(servicer)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
