"""The distribution client's authentication against a small registry of the test's own: the
Bearer token flow (401 with a challenge, a token from the realm with Basic credentials, the
request again with the token), Basic registries, refusals without credentials, a body that does
not match its digest, and an oversized manifest."""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from atoll.image_reference import parse_image_reference
from atoll.image_registry import (
    DIGEST_MISMATCH,
    MAX_MANIFEST_BYTES,
    UNAUTHORIZED,
    Credentials,
    RegistryClient,
    RegistryConfig,
    RegistryError,
)

INDEX = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": []}).encode()
BASIC = "Basic " + base64.b64encode(b"ann:s3cret").decode()


class Handler(http.server.BaseHTTPRequestHandler):
    scheme = "bearer"
    body = INDEX
    digest_header = ""
    seen: list[dict[str, Any]] = []

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        auth = self.headers.get("Authorization", "")
        Handler.seen.append({"path": self.path, "auth": auth})
        if self.path.startswith("/token"):
            if auth != BASIC:
                return self._send(401, b"{}")
            return self._send(200, json.dumps({"token": "tok", "expires_in": 300}).encode())
        wanted = "Bearer tok" if self.scheme == "bearer" else BASIC
        if auth != wanted:
            challenge = (f'Bearer realm="http://{self.headers["Host"]}/token",service="test",'
                         'scope="repository:team/app:pull"' if self.scheme == "bearer" else 'Basic realm="test"')
            return self._send(401, b'{"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}',
                              {"WWW-Authenticate": challenge})
        digest = self.digest_header or "sha256:" + hashlib.sha256(self.body).hexdigest()
        return self._send(200, self.body, {"Docker-Content-Digest": digest,
                                           "Content-Type": "application/vnd.oci.image.index.v1+json"})

    def _send(self, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def registry() -> Iterator[str]:
    Handler.scheme, Handler.body, Handler.digest_header, Handler.seen = "bearer", INDEX, "", []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def client(host: str, credentials: bool = True) -> RegistryClient:
    creds = {host: Credentials("ann", "s3cret")} if credentials else {}
    return RegistryClient(RegistryConfig(insecure=frozenset({host}), credentials=creds))


def test_the_bearer_flow_gets_a_token_once_and_reuses_it(registry: str) -> None:
    image = parse_image_reference(f"{registry}/team/app:1")
    registry_client = client(registry)
    fetched = registry_client.manifest(image, "1")
    assert fetched.digest == "sha256:" + hashlib.sha256(INDEX).hexdigest()
    registry_client.manifest(image, "1")
    assert [entry["path"].split("?")[0] for entry in Handler.seen] == [
        "/v2/team/app/manifests/1", "/token", "/v2/team/app/manifests/1", "/v2/team/app/manifests/1",
    ]
    assert "scope=repository%3Ateam%2Fapp%3Apull" in Handler.seen[1]["path"]


def test_a_basic_registry_gets_the_credentials(registry: str) -> None:
    Handler.scheme = "basic"
    assert client(registry).manifest(parse_image_reference(f"{registry}/team/app:1"), "1").body == INDEX


@pytest.mark.parametrize("scheme", ["bearer", "basic"])
def test_without_credentials_the_refusal_says_so(registry: str, scheme: str) -> None:
    Handler.scheme = scheme
    with pytest.raises(RegistryError) as caught:
        client(registry, credentials=False).manifest(parse_image_reference(f"{registry}/team/app:1"), "1")
    assert caught.value.reason == UNAUTHORIZED and "s3cret" not in str(caught.value)


def test_a_body_that_is_not_what_the_registry_says_is_refused(registry: str) -> None:
    Handler.digest_header = "sha256:" + "0" * 64
    with pytest.raises(RegistryError) as caught:
        client(registry).manifest(parse_image_reference(f"{registry}/team/app:1"), "1")
    assert caught.value.reason == DIGEST_MISMATCH


def test_a_pinned_digest_must_match_the_body(registry: str) -> None:
    pinned = "sha256:" + "1" * 64
    with pytest.raises(RegistryError) as caught:
        client(registry).manifest(parse_image_reference(f"{registry}/team/app@{pinned}"), pinned)
    assert caught.value.reason == DIGEST_MISMATCH


def test_an_oversized_manifest_is_refused(registry: str) -> None:
    Handler.body = b" " * (MAX_MANIFEST_BYTES + 10)
    with pytest.raises(RegistryError, match="larger than"):
        client(registry).manifest(parse_image_reference(f"{registry}/team/app:1"), "1")
