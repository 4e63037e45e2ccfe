"""A small client of the OCI distribution API, for reading manifests, indexes and image configs
(never layers: pulls go through skopeo on the node). Enough of the spec for what the field runs:
``GET /v2/NAME/manifests/REF`` and ``/blobs/DIGEST`` with the image media types, anonymous or
Basic credentials, and the Bearer token flow of Docker Hub, GHCR, Quay, Harbor and the CNCF
distribution registry (``WWW-Authenticate: Bearer realm=..,service=..,scope=..``).

Everything that comes back is hostile: bodies are read up to a limit and refused past it, every
body is checked against the digest it was asked by (or the registry's Docker-Content-Digest),
and registry error texts are bounded. HTTPS unless the registry is listed as insecure (Docker's
``insecure-registries``). Errors are RegistryError with a ``reason`` for Events and one line.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import Message
from types import MappingProxyType

from atoll.image_platforms import INDEX_MEDIA_TYPES, MANIFEST_MEDIA_TYPES
from atoll.image_reference import ImageReference
from atoll.user_text import bounded

MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # the distribution registry refuses larger manifests too
MAX_CONFIG_BYTES = 8 * 1024 * 1024
MAX_TOKEN_BYTES = 64 * 1024
MAX_ERROR_BYTES = 16 * 1024
ACCEPT = ", ".join(sorted(INDEX_MEDIA_TYPES | MANIFEST_MEDIA_TYPES))
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')

# RegistryError.reason values (Event reasons and metric labels).
UNREACHABLE = "RegistryUnavailable"
UNAUTHORIZED = "Unauthorized"
NOT_FOUND = "ManifestUnknown"
BAD_RESPONSE = "BadResponse"
DIGEST_MISMATCH = "DigestMismatch"


class RegistryError(Exception):
    """A registry that could not answer what was asked; ``reason`` is one of the constants above."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Credentials:
    username: str
    password: str

    def basic(self) -> str:
        return "Basic " + base64.b64encode(f"{self.username}:{self.password}".encode()).decode()


@dataclass(frozen=True)
class RegistryConfig:
    """Which registries speak plain HTTP, credentials by registry (``host[:port]``), the timeout."""

    insecure: frozenset[str] = frozenset()
    credentials: Mapping[str, Credentials] = field(default_factory=lambda: MappingProxyType({}))
    timeout: float = 10.0


@dataclass(frozen=True, slots=True)
class Fetched:
    """A verified body: its digest, the media type the registry declared, the bytes."""

    digest: str
    media_type: str
    body: bytes


class RegistryClient:
    """Thread-safe enough for a pool: the token cache is a dict written whole per key."""

    def __init__(self, config: RegistryConfig | None = None) -> None:
        self.config = config or RegistryConfig()
        self._tokens: dict[tuple[str, str], tuple[str, float]] = {}

    def manifest(self, image: ImageReference, reference: str) -> Fetched:
        """The manifest or index ``reference`` (tag or digest) of ``image``'s repository."""
        url = self._url(image, f"manifests/{reference}")
        fetched = self._get(image, url, ACCEPT, MAX_MANIFEST_BYTES, "manifest")
        if reference.startswith("sha512:"):
            fetched = Fetched("sha512:" + hashlib.sha512(fetched.body).hexdigest(), fetched.media_type, fetched.body)
        if reference.startswith(("sha256:", "sha512:")) and fetched.digest != reference:
            raise RegistryError(DIGEST_MISMATCH, f"{image.name}@{reference}: the registry sent {fetched.digest}")
        return fetched

    def blob(self, image: ImageReference, digest: str, limit: int = MAX_CONFIG_BYTES) -> bytes:
        """A small blob (an image config) by digest, verified."""
        fetched = self._get(image, self._url(image, f"blobs/{digest}"), "*/*", limit, "blob")
        if fetched.digest != digest:
            raise RegistryError(DIGEST_MISMATCH, f"{image.name}: blob {digest} arrived as {fetched.digest}")
        return fetched.body

    def _url(self, image: ImageReference, path: str) -> str:
        scheme = "http" if image.registry in self.config.insecure else "https"
        return f"{scheme}://{image.api_host}/v2/{image.repository}/{path}"

    def _get(self, image: ImageReference, url: str, accept: str, limit: int, what: str) -> Fetched:
        scope = f"repository:{image.repository}:pull"
        headers = {"Accept": accept}
        authorization = self._cached_token(image.registry, scope)
        if authorization:
            headers["Authorization"] = authorization
        status, response_headers, body = self._request(url, headers, limit, what)
        if status == 401:
            challenge = response_headers.get("WWW-Authenticate", "")
            headers["Authorization"] = self._authorize(image, challenge, scope)
            status, response_headers, body = self._request(url, headers, limit, what)
        if status == 200:
            return _verified(body, response_headers, url)
        raise _status_error(status, body, f"{image.name}: {what} {url.rsplit('/', 1)[-1]}")

    def _request(self, url: str, headers: dict[str, str], limit: int, what: str) -> tuple[int, Message, bytes]:
        request = urllib.request.Request(url, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.config.timeout) as response:
                return response.status, response.headers, _read(response, limit, what)
        except urllib.error.HTTPError as err:
            with err:
                return err.code, err.headers, err.read(MAX_ERROR_BYTES)
        except (urllib.error.URLError, OSError) as err:
            reason = getattr(err, "reason", err)
            raise RegistryError(UNREACHABLE, f"cannot reach {bounded(url)}: {bounded(str(reason))}") from None

    def _cached_token(self, registry: str, scope: str) -> str:
        token, expires = self._tokens.get((registry, scope), ("", 0.0))
        return token if expires > time.monotonic() else ""

    def _authorize(self, image: ImageReference, challenge: str, scope: str) -> str:
        """The Authorization header that answers ``challenge`` (Basic, or a Bearer token fetched
        from the realm with the credentials, when there are any)."""
        credentials = self.config.credentials.get(image.registry)
        scheme, _, rest = challenge.partition(" ")
        if scheme.lower() == "basic":
            if credentials is None:
                raise RegistryError(UNAUTHORIZED, f"{image.name}: the registry wants credentials (imagePullSecrets)")
            return credentials.basic()
        if scheme.lower() != "bearer":
            raise RegistryError(UNAUTHORIZED, f"{image.name}: unsupported authentication {bounded(challenge, 80)!r}")
        params = dict(_CHALLENGE_PARAM.findall(rest))
        realm = params.get("realm", "")
        if not realm.startswith(("https://", "http://")):
            raise RegistryError(UNAUTHORIZED, f"{image.name}: the token realm {bounded(realm, 80)!r} is not a URL")
        query = {"scope": params.get("scope", scope)} | ({"service": params["service"]} if "service" in params else {})
        headers = {"Authorization": credentials.basic()} if credentials else {}
        url = f"{realm}{'&' if '?' in realm else '?'}{urllib.parse.urlencode(query)}"
        status, _, body = self._request(url, headers, MAX_TOKEN_BYTES, "token")
        if status != 200:
            raise RegistryError(UNAUTHORIZED, f"{image.name}: the token service answered {status}")
        try:
            answer = json.loads(body)
            token = answer.get("token") or answer.get("access_token")
            lifetime = float(answer.get("expires_in") or 60)
        except (ValueError, AttributeError, TypeError):
            raise RegistryError(UNAUTHORIZED, f"{image.name}: the token service's answer is not a token") from None
        if not isinstance(token, str) or not token:
            raise RegistryError(UNAUTHORIZED, f"{image.name}: the token service's answer has no token")
        header = f"Bearer {token}"
        self._tokens[(image.registry, scope)] = (header, time.monotonic() + max(0.0, min(lifetime, 3600) - 5))
        return header


def _read(response: object, limit: int, what: str) -> bytes:
    body: bytes = response.read(limit + 1)  # type: ignore[attr-defined]
    if len(body) > limit:
        raise RegistryError(BAD_RESPONSE, f"the {what} is larger than {limit} bytes")
    return body


def _verified(body: bytes, headers: Message, url: str) -> Fetched:
    digest = "sha256:" + hashlib.sha256(body).hexdigest()
    declared = headers.get("Docker-Content-Digest", "")
    if declared.startswith("sha256:") and declared != digest:
        raise RegistryError(DIGEST_MISMATCH, f"{bounded(url)}: the body's digest is {digest}, the registry said "
                            f"{bounded(declared, 80)}")
    media_type = headers.get("Content-Type", "").split(";", 1)[0].strip()
    return Fetched(digest, media_type, body)


def _status_error(status: int, body: bytes, what: str) -> RegistryError:
    detail = _registry_message(body)
    if status == 404:
        return RegistryError(NOT_FOUND, f"{what}: {detail or 'manifest unknown'}")
    if status in (401, 403):
        return RegistryError(UNAUTHORIZED, f"{what}: {detail or 'unauthorized'} (check imagePullSecrets)")
    return RegistryError(UNREACHABLE if status >= 500 else BAD_RESPONSE, f"{what}: HTTP {status} {detail}".rstrip())


def _registry_message(body: bytes) -> str:
    """The first error of a distribution-spec error body (``{"errors": [{"code", "message"}]}``)."""
    try:
        errors = json.loads(body).get("errors") or []
        first = errors[0]
        return bounded(str(first.get("message") or first.get("code") or "").lower(), 200)
    except (ValueError, AttributeError, IndexError, TypeError, RecursionError):
        return ""
