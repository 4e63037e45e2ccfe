"""Transport and authentication through real gRPC with real TLS: who gets in, and who does not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import grpc
import pytest

from atoll import certs
from atoll.client import ApiError, Client
from atoll.config import ClientConfig
from tests.support.objects import make_pod
from tests.support.secure_cluster import NO_RETRY, SecureCluster, secure_cluster


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[SecureCluster]:
    async with secure_cluster(tmp_path) as running:
        yield running


async def _code_of_list(client: Client) -> grpc.StatusCode:
    try:
        await client.list("pods")
    except ApiError as err:
        return err.code
    return grpc.StatusCode.OK


async def test_admin_certificate_is_let_in_and_its_write_is_audited(cluster: SecureCluster) -> None:
    created = await cluster.admin().create(make_pod())
    assert created.pod.metadata.uid
    records = cluster.audit_records()
    assert records[-1]["peer"].startswith("ipv4:127.0.0.1:")
    assert records[-1] | {"time": "t", "peer": "p"} == {
        "time": "t",
        "user": "admin",
        "groups": ["system:masters"],
        "certificate": "admin",
        "peer": "p",
        "verb": "create",
        "kind": "Pod",
        "namespace": "default",
        "name": "web",
        "result": "OK",
    }


async def test_plaintext_client_is_refused(cluster: SecureCluster) -> None:
    plaintext = cluster.client(ClientConfig(server=cluster.address))
    assert await _code_of_list(plaintext) == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    "variant",
    ["expired", "wrong ca", "no certificate"],
    ids=[
        "an expired client certificate is refused at the handshake",
        "a certificate from another CA is refused at the handshake",
        "a TLS connection without a client certificate is refused",
    ],
)
async def test_bad_client_certificates_are_refused(cluster: SecureCluster, variant: str) -> None:
    if variant == "expired":
        config = cluster.user_config("admin", ["system:masters"], valid_days=-1)
    elif variant == "wrong ca":
        other_ca = certs.create_ca("impostor-ca", now=certs.utc_now())
        config = cluster.user_config("admin", ["system:masters"], ca=other_ca)
    else:
        config = replace(cluster.config("admin"), cert=None, key=None)
    assert await _code_of_list(cluster.client(config)) == grpc.StatusCode.UNAVAILABLE
    assert await _code_of_list(cluster.admin()) == grpc.StatusCode.OK, "the server keeps serving others"


async def test_client_refuses_a_server_whose_certificate_another_ca_signed(
    cluster: SecureCluster, tmp_path: Path
) -> None:
    other_ca = certs.create_ca("impostor-ca", now=certs.utc_now())
    (tmp_path / "other-ca.pem").write_bytes(other_ca.cert_pem())
    config = replace(cluster.config("admin"), ca=str(tmp_path / "other-ca.pem"))
    assert await _code_of_list(cluster.client(config)) == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("tok-root", grpc.StatusCode.OK),
        ("tok-nope", grpc.StatusCode.UNAUTHENTICATED),
        ("", grpc.StatusCode.UNAUTHENTICATED),
    ],
    ids=[
        "a known token authenticates as its user",
        "an unknown token is unauthenticated even over a valid admin certificate",
        "an empty bearer token is unauthenticated",
    ],
)
async def test_bearer_tokens_decide_who_calls(cluster: SecureCluster, token: str, expected: grpc.StatusCode) -> None:
    client = Client.connect(cluster.config("admin"), timeout=5.0, backoff=NO_RETRY)
    # An empty token would not be sent by Client; put the header in by hand.
    client._metadata = (("authorization", f"Bearer {token}"),)
    cluster.clients.append(client)
    assert await _code_of_list(client) == expected


async def test_certificate_without_a_user_name_is_unauthenticated_and_audited(cluster: SecureCluster) -> None:
    client = cluster.client(cluster.user_config("", ["system:masters"]))
    with pytest.raises(ApiError) as err:
        await client.create(make_pod())
    assert err.value.code == grpc.StatusCode.UNAUTHENTICATED
    assert "empty CN" in err.value.message
    assert cluster.audit_records()[-1]["result"] == "UNAUTHENTICATED"
    assert cluster.audit_records()[-1]["verb"] == "create"


async def test_tls_only_server_without_credentials_is_unauthenticated(tmp_path: Path) -> None:
    async with secure_cluster(tmp_path, require_client_cert=False) as cluster:
        anonymous = cluster.client(replace(cluster.config("admin"), cert=None, key=None))
        assert await _code_of_list(anonymous) == grpc.StatusCode.UNAUTHENTICATED
        with_token = cluster.client(replace(cluster.config("admin"), cert=None, key=None, token="tok-root"))
        assert await _code_of_list(with_token) == grpc.StatusCode.OK
        assert cluster.audit_records()[-1]["result"] == "UNAUTHENTICATED"
