"""The Version service: the API server's build (atoll/build_info.py), open to every caller like
the health service, since it names no object (kubectl's /version)."""

from __future__ import annotations

from typing import Any

import grpc

from atoll.build_info import build_info
from atoll.v1 import version_pb2, version_pb2_grpc

SERVICE_NAME = version_pb2.DESCRIPTOR.services_by_name["Version"].full_name


class VersionService(version_pb2_grpc.VersionServicer):
    """Answers Get with this process's build."""

    async def Get(self, request: version_pb2.VersionRequest, context: Any) -> version_pb2.VersionInfo:
        info = build_info()
        return version_pb2.VersionInfo(
            atoll_version=info["atollVersion"],
            python_version=info["pythonVersion"],
            grpc_version=grpc.__version__,
            platform=info["platform"],
        )


def add_version_service(server: grpc.aio.Server) -> None:
    version_pb2_grpc.add_VersionServicer_to_server(VersionService(), server)
