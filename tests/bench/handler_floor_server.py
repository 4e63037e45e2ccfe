"""atoll.v1.Objects through the API server's own gRPC handler stack (request decoding, metrics,
response encoding: controller/apiserver/handlers.py, the server options of server.py) with a
Create that stores nothing: the ceiling any API Create can reach on this machine, between the raw
echo (calibration.py) and the real Create. tests/bench/api.py reports it as (e).

Run: python -m tests.bench.handler_floor_server  (prints "PORT <n>" once listening, serves until killed)
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from atoll.v1 import api_pb2, object_pb2
from controller.apiserver.handlers import add_objects_service, objects_calls
from controller.apiserver.request_limits import MAX_REQUEST_BYTES, MAX_RESPONSE_BYTES
from tests.bench.echo_server import serve_on_loopback


class StoresNothing:
    """Create answers with the request's object; every other method is refused (the benchmark
    calls only Create)."""

    async def Create(self, request: api_pb2.CreateRequest, context: Any) -> object_pb2.Object:
        return request.object

    def __getattr__(self, name: str) -> Any:
        async def refused(request: Any, context: Any) -> Any:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{name}: not served by the handler floor server")

        return refused


async def serve() -> None:
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", MAX_REQUEST_BYTES),
            ("grpc.max_send_message_length", MAX_RESPONSE_BYTES),
            ("grpc.so_reuseport", 0),
            ("grpc.max_concurrent_streams", 100_000),
        ]
    )
    add_objects_service(server, objects_calls(StoresNothing()))
    await serve_on_loopback(server)


if __name__ == "__main__":
    asyncio.run(serve())
