"""An aiohttp client for the API server's HTTP listener, for tests and benchmarks."""

from __future__ import annotations

import json
import ssl
from typing import Any

import aiohttp

from atoll.manifest import to_manifest
from atoll.v1 import object_pb2

API = "/apis/atoll.dev/v1"


def manifest(obj: object_pb2.Object) -> dict[str, Any]:
    return to_manifest(obj)


def tls_context(ca: str, cert: str | None = None, key: str | None = None) -> ssl.SSLContext:
    """Trusts ``ca``; presents ``cert``/``key`` when given."""
    context = ssl.create_default_context(cafile=ca)
    if cert and key:
        context.load_cert_chain(cert, key)
    return context


async def json_of(response: aiohttp.ClientResponse) -> Any:
    return json.loads(await response.read())
