"""The HTTP API's security is the gRPC API's: TLS, the same tokens and client certificates, the same
authorizer and audit log (one code path decides), and the access review the console asks."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from atoll.manifest import to_manifest
from tests.support.http_api import API, json_of, tls_context
from tests.support.objects import make_pod
from tests.support.secure_cluster import SecureCluster, secure_cluster

PODS = f"{API}/namespaces/default/pods"
REVIEWS = f"{API}/selfsubjectaccessreviews"


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[SecureCluster]:
    async with secure_cluster(tmp_path, http_listen="127.0.0.1:0") as running:
        await running.bind("alice-views", "viewer", users=["alice"])
        yield running


def _session(cluster: SecureCluster, context: ssl.SSLContext, token: str | None = None) -> aiohttp.ClientSession:
    assert cluster.api.http is not None
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return aiohttp.ClientSession(
        base_url=cluster.api.http.url, headers=headers, connector=aiohttp.TCPConnector(ssl=context)
    )


def _review(verb: str, resource: str, namespace: str = "") -> dict[str, object]:
    return {"spec": {"resourceAttributes": {"verb": verb, "resource": resource, "namespace": namespace}}}


def _trusting(cluster: SecureCluster) -> ssl.SSLContext:
    return tls_context(str(cluster.security.client_ca))


async def test_the_listener_speaks_tls_only(cluster: SecureCluster) -> None:
    assert cluster.api.http is not None and cluster.api.http.url.startswith("https://")
    plain = cluster.api.http.url.replace("https://", "http://")
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            await session.get(plain + PODS)


@pytest.mark.parametrize(
    ("token", "words"),
    [
        pytest.param(None, "no credentials", id="no credentials is 401"),
        pytest.param("tok-wrong", "not valid", id="a wrong token is 401"),
    ],
)
async def test_unauthenticated_calls_are_401(cluster: SecureCluster, token: str | None, words: str) -> None:
    async with _session(cluster, _trusting(cluster), token) as session:
        response = await session.get(PODS)
        status = await json_of(response)
    assert (response.status, status["reason"]) == (401, "Unauthorized")
    assert words in status["message"]


async def test_a_client_certificate_authenticates_without_a_token(cluster: SecureCluster) -> None:
    config = cluster.config("admin")
    assert config.cert and config.key
    async with _session(cluster, tls_context(str(cluster.security.client_ca), config.cert, config.key)) as session:
        response = await session.post(PODS, json=to_manifest(make_pod()))
    assert response.status == 201
    record = cluster.audit_records()[-1]
    assert (record["user"], record["verb"], record["result"]) == ("admin", "create", "OK")


async def test_a_viewer_reads_but_a_write_is_403_and_audited_like_grpc(cluster: SecureCluster) -> None:
    async with _session(cluster, _trusting(cluster), "tok-alice") as session:
        assert (await session.get(PODS)).status == 200
        response = await session.post(PODS, json=to_manifest(make_pod()))
        status = await json_of(response)
        watch = await session.get(f"{API}/namespaces/default/secrets", params={"watch": "true"})
    assert (response.status, status["reason"]) == (403, "Forbidden")
    assert status["message"] == "user 'alice' may not create pods 'web' in namespace 'default'"
    denied = [r for r in cluster.audit_records() if r["result"] == "PERMISSION_DENIED"]
    assert [(r["user"], r["verb"], r["kind"], r["name"]) for r in denied] == [("alice", "create", "Pod", "web")]
    assert watch.status == 200, "a viewer may watch Secrets (their data redacted)"


async def test_access_review_answers_what_the_authorizer_decides(cluster: SecureCluster) -> None:
    question = _review("update", "virtualmachines", "default")
    answers = {}
    for token in ("tok-alice", "tok-root"):
        async with _session(cluster, _trusting(cluster), token) as session:
            response = await session.post(REVIEWS, json=question)
            answers[token] = (await json_of(response))["status"]
    assert answers["tok-alice"] == {"allowed": False, "reason": "", "user": "alice"}
    assert answers["tok-root"] == {"allowed": True, "reason": "", "user": "root"}


async def test_access_review_without_credentials_is_401(cluster: SecureCluster) -> None:
    async with _session(cluster, _trusting(cluster)) as session:
        response = await session.post(REVIEWS, json=_review("get", "pods"))
    assert response.status == 401


async def test_the_openapi_document_takes_any_authenticated_caller_as_kubernetes_does(cluster: SecureCluster) -> None:
    async with _session(cluster, _trusting(cluster)) as session, session.get("/openapi/v3") as response:
        assert response.status == 401
        assert (await json_of(response))["reason"] == "Unauthorized"
    record = cluster.audit_records()[-1]
    assert (record["verb"], record["result"]) == ("openapi", "UNAUTHENTICATED")
    config = cluster.user_config("nobody-in-particular")  # a valid certificate, bound to no role
    assert config.cert and config.key
    by_certificate = tls_context(str(cluster.security.client_ca), config.cert, config.key)
    for context, token in ((_trusting(cluster), "tok-alice"), (by_certificate, None)):
        async with _session(cluster, context, token) as session, session.get("/openapi/v3") as response:
            assert response.status == 200
            assert (await json_of(response))["openapi"].startswith("3.")
