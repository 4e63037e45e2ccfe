"""List with selectors and paging: every page of one list comes from one store snapshot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from atoll.fields import parse_field_selector
from atoll.kinds import Kind
from atoll.labels import SelectorError, parse_label_selector
from atoll.v1 import api_pb2
from controller.apiserver import codec
from controller.apiserver.continue_token import ContinueToken, decode_continue
from controller.apiserver.errors import GoneError, InvalidError
from controller.store.protocol import CompactedError, Store

DEFAULT_PAGE = 500
MAX_PAGE = 5_000
# Pages stop growing past this many bytes, well below gRPC's 4 MiB default message limit.
MAX_PAGE_BYTES = 2 * 1024 * 1024
_SCAN_CHUNK = 1_000

Matcher = Callable[[Any], bool]


def selector_matcher(kind: Kind, label_selector: str, field_selector: str) -> Matcher:
    """A predicate over messages of ``kind``; bad selector text is INVALID_ARGUMENT."""
    try:
        labels = parse_label_selector(label_selector)
    except SelectorError as exc:
        raise InvalidError(f"labelSelector: {exc}") from None
    try:
        fields = parse_field_selector(field_selector, kind)
    except SelectorError as exc:
        raise InvalidError(f"fieldSelector: {exc}") from None

    def matches(message: Any) -> bool:
        return labels.matches(message.metadata.labels) and fields.matches(message)

    return matches


async def list_page(store: Store, kind: Kind, request: api_pb2.ListRequest, prefix: str) -> api_pb2.ListResponse:
    """One page of matching objects in key order, with a continue token when more remain."""
    if request.limit < 0:
        raise InvalidError(f"limit: must be >= 0, got {request.limit}")
    limit = min(request.limit or DEFAULT_PAGE, MAX_PAGE)
    matches = selector_matcher(kind, request.label_selector, request.field_selector)
    revision: int | None = None
    start_after: str | None = None
    continue_text = getattr(request, "continue")  # a Python keyword, so not request.continue
    if continue_text:
        token = decode_continue(continue_text, prefix)
        revision, start_after = token.revision, token.last_key
    response = api_pb2.ListResponse()
    size = 0
    while True:
        try:
            chunk = await store.range(prefix, start_after=start_after, limit=_SCAN_CHUNK, revision=revision)
        except CompactedError as exc:
            raise GoneError(f"continue: the list snapshot is compacted ({exc}); list again from the start") from None
        revision = chunk.revision
        for index, kv in enumerate(chunk.items):
            message = codec.decode(kind, kv.value, kv.mod_revision)
            start_after = kv.key
            if not matches(message):
                continue
            item = response.items.add()
            getattr(item, kind.field).CopyFrom(message)
            size += len(kv.value)
            full = len(response.items) >= limit or size >= MAX_PAGE_BYTES
            if full:
                if index + 1 < len(chunk.items) or chunk.more:
                    setattr(response, "continue", ContinueToken(revision, start_after).encode())
                response.resource_version = revision
                return response
        if not chunk.more:
            response.resource_version = revision
            return response
