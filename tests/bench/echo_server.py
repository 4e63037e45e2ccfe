"""A raw grpc.aio echo service: the ceiling any Python gRPC API can reach on this machine.

Run: python -m tests.bench.echo_server  (prints "PORT <n>" once listening, serves until killed)
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

METHOD = "/bench.Echo/Echo"


async def _echo(request: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> bytes:
    return request


async def serve() -> None:
    server = grpc.aio.server()
    handler = grpc.method_handlers_generic_handler("bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(_echo)})
    server.add_generic_rpc_handlers((handler,))
    await serve_on_loopback(server)


async def serve_on_loopback(server: grpc.aio.Server) -> None:
    """Serves ``server`` on a free loopback port, printing "PORT <n>" once listening (what
    calibration.port_of reads), until the process is killed."""
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    print(f"PORT {port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve())
