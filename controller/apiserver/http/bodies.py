"""Request bodies -> atoll.v1 objects: bounded in size, decoded and validated by the same code as
``atoll apply`` (atoll.manifest), every problem named by its field path.

JSON (``application/json``) everywhere; YAML too for server-side apply
(``application/apply-patch+yaml``), as kubectl sends it.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from atoll import kinds
from atoll.manifest import ManifestErrors, from_manifest, parse_text
from atoll.user_text import bounded_repr
from atoll.v1 import object_pb2
from controller.apiserver.http.paths import Target
from controller.apiserver.http.status import BAD_REQUEST, INVALID, TOO_LARGE, UNSUPPORTED_MEDIA_TYPE, HttpFailure, fail
from controller.apiserver.request_limits import MAX_REQUEST_BYTES

JSON_TYPES = frozenset({"application/json", "application/apply-patch+json", "application/merge-patch+json"})
YAML_TYPES = frozenset({"application/yaml", "application/apply-patch+yaml"})
_SOURCE = "request body"


async def read_text(request: web.Request, *, yaml_allowed: bool) -> tuple[str, bool]:
    """The body as text and whether it is JSON; HttpFailure when too large, not UTF-8 or of a
    content type this request does not take."""
    content_type = request.content_type
    is_json = content_type in JSON_TYPES
    if not is_json and not (yaml_allowed and content_type in YAML_TYPES):
        accepted = "application/json" + (" or application/apply-patch+yaml" if yaml_allowed else "")
        raise fail(UNSUPPORTED_MEDIA_TYPE, f"Content-Type {bounded_repr(content_type)}: send {accepted}")
    if request.content_length is not None and request.content_length > MAX_REQUEST_BYTES:
        raise _too_large()
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise _too_large() from None
    try:
        return raw.decode(), is_json
    except UnicodeDecodeError as exc:
        raise fail(BAD_REQUEST, f"{_SOURCE}: not UTF-8 (byte {exc.start})") from None


def decode_object(text: str, is_json: bool, target: Target) -> object_pb2.Object:
    """The one object ``text`` holds, decoded as ``atoll apply`` decodes manifests and checked
    against the path: its kind must be the path's, its namespace (filled in from the path when
    absent) and name the path's when the path names them. HttpFailure otherwise: 400 for syntax,
    422 with one cause per field. Validation is the registry's, which every call runs anyway."""
    source = f"{_SOURCE}.json" if is_json else _SOURCE
    try:
        documents = [data for data in parse_text(text, source) if data is not None]
        if len(documents) != 1:
            raise fail(BAD_REQUEST, f"{_SOURCE}: expected exactly one object, got {len(documents)}")
        obj = from_manifest(documents[0], source, 1)
    except ManifestErrors as errors:
        problems = [(error.path, error.message) for error in errors.errors]
        causes = [(path, message) for path, message in problems if path]
        message = "; ".join(_clause(path, text) for path, text in problems[:20])
        raise fail(INVALID if causes else BAD_REQUEST, message, causes) from None
    kind = kinds.of_object(obj)
    if kind is not target.kind:
        raise fail(BAD_REQUEST, f"{_SOURCE}: kind {kind.name} does not match the path's {target.kind.plural}")
    metadata = kinds.unwrap(obj).metadata
    if kind.namespaced and target.namespace:
        if not metadata.namespace:
            metadata.namespace = target.namespace
        elif metadata.namespace != target.namespace:
            raise _mismatch("metadata.namespace", metadata.namespace, target.namespace)
    if target.name and metadata.name != target.name:
        raise _mismatch("metadata.name", metadata.name, target.name)
    return obj


def json_mapping(text: str, what: str) -> dict[str, Any]:
    """A JSON object body that is not an atoll object (DeleteOptions, an access review); {} when empty."""
    try:
        data = json.loads(text) if text.strip() else {}
    except (ValueError, RecursionError) as exc:
        raise fail(BAD_REQUEST, f"{what}: invalid JSON: {bounded_repr(str(exc))}") from None
    if not isinstance(data, dict):
        raise fail(BAD_REQUEST, f"{what}: expected a JSON object")
    return data


def _mismatch(field: str, body: str, path: str) -> HttpFailure:
    message = f"{field}: {bounded_repr(body)} does not match {bounded_repr(path)} in the path"
    return fail(BAD_REQUEST, message, [(field, message)])


def _clause(path: str, message: str) -> str:
    return f"{path}: {message}" if path else message


def _too_large() -> HttpFailure:
    return fail(TOO_LARGE, f"{_SOURCE}: larger than {MAX_REQUEST_BYTES // (1024 * 1024)} MiB")
