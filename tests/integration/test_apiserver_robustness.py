"""The server stays up and answers clearly under oversized and malformed requests; health and reflection."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from atoll.client import ApiError
from atoll.v1 import object_pb2
from controller.store.memory import MemoryStore
from tests.support.cluster import Cluster, running_cluster
from tests.support.objects import make_pod


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with running_cluster(MemoryStore()) as running:
        yield running


async def test_health_reports_serving_for_the_objects_service(cluster: Cluster) -> None:
    async with grpc.aio.insecure_channel(cluster.api.address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        response = await stub.Check(health_pb2.HealthCheckRequest(service="atoll.v1.Objects"))
    assert response.status == health_pb2.HealthCheckResponse.SERVING


async def test_reflection_lists_the_objects_service(cluster: Cluster) -> None:
    async with grpc.aio.insecure_channel(cluster.api.address) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        responses = stub.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
        names = [s.name async for r in responses for s in r.list_services_response.service]
    assert "atoll.v1.Objects" in names


async def test_oversized_request_is_resource_exhausted_and_server_keeps_serving(cluster: Cluster) -> None:
    pod = make_pod()
    pod.pod.metadata.annotations["blob"] = "x" * (5 * 1024 * 1024)
    with pytest.raises(ApiError) as err:
        await cluster.client.create(pod)
    assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert (await cluster.client.create(make_pod())).pod.metadata.name == "web"


@pytest.mark.parametrize(
    "payload",
    [b"\xff\xff\xff\xff", b"\x0a\xff\xff\xff\xff\x0f", b"\x0a\x05\x1a\x03\x0a\x01"],
    ids=["garbage bytes", "a length prefix past the end", "a truncated nested message"],
)
async def test_malformed_request_bytes_are_refused_and_server_keeps_serving(cluster: Cluster, payload: bytes) -> None:
    async with grpc.aio.insecure_channel(cluster.api.address) as channel:
        raw_create = channel.unary_unary("/atoll.v1.Objects/Create")
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await raw_create(payload)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not a valid atoll.v1.CreateRequest" in (err.value.details() or "")
    assert "Traceback" not in (err.value.details() or "")
    assert (await cluster.client.create(make_pod())).pod.metadata.name == "web"


async def test_empty_object_is_invalid_argument(cluster: Cluster) -> None:
    with pytest.raises(ApiError) as err:
        await cluster.client.create(object_pb2.Object())
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT


async def test_status_update_of_a_kind_without_status_is_invalid(cluster: Cluster) -> None:
    lease = object_pb2.Object()
    lease.lease.metadata.name = "n1"
    lease.lease.spec.holder_identity = "n1"
    await cluster.client.create(lease)
    with pytest.raises(ApiError) as err:
        await cluster.client.update_status(lease)
    assert err.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "has no status" in err.value.message
