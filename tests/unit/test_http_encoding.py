"""The HTTP API's JSON encoding: the CLI's encoder, byte for byte, with each object version's JSON
kept in a bounded LRU keyed by its protobuf bytes."""

from __future__ import annotations

import json

from atoll import kinds
from atoll.manifest import to_manifest
from atoll.v1 import object_pb2
from controller.apiserver.http.encoding import EncodedByBytes, dumps, list_json, object_json
from tests.support.objects import make_pod


def _pods(count: int) -> list[object_pb2.Object]:
    return [make_pod(f"web-{index}") for index in range(count)]


def test_a_list_is_byte_for_byte_the_document_the_cli_encoder_builds() -> None:
    pods = _pods(3)
    for _ in range(2):  # the second time every item comes from the cache
        for token in ("", "next-page"):
            metadata: dict[str, object] = {"resourceVersion": 42} | ({"continue": token} if token else {})
            expected = dumps(
                {"apiVersion": kinds.API_VERSION, "kind": "List", "metadata": metadata,
                 "items": [to_manifest(pod) for pod in pods]}
            )  # fmt: skip
            assert list_json(pods, 42, token) == expected


def test_an_empty_list_is_valid_json() -> None:
    assert json.loads(list_json([], 7, ""))["items"] == []


def test_two_versions_of_one_object_never_share_an_answer() -> None:
    pod = make_pod("web")
    pod.pod.metadata.resource_version = 5
    first = object_json(pod)
    pod.pod.metadata.labels["tier"] = "front"  # same name and resourceVersion, other content
    assert json.loads(object_json(pod))["metadata"]["labels"] == {"app": "web", "tier": "front"}
    assert json.loads(first)["metadata"]["labels"] == {"app": "web"}


def test_the_cache_encodes_each_key_once_while_it_is_kept() -> None:
    cache = EncodedByBytes(max_bytes=1000)
    calls: list[bytes] = []

    def encoder(key: bytes) -> bytes:
        calls.append(key)
        return b"json-of-" + key

    assert cache.get(b"a", lambda: encoder(b"a")) == b"json-of-a"
    assert cache.get(b"a", lambda: encoder(b"a")) == b"json-of-a"
    assert calls == [b"a"]


def test_the_cache_drops_the_least_recently_used_entries_past_its_byte_bound() -> None:
    cache = EncodedByBytes(max_bytes=30)  # each entry below costs 1 + 9 = 10 bytes
    cache.get(b"a", lambda: b"json-of-a")
    cache.get(b"b", lambda: b"json-of-b")
    cache.get(b"c", lambda: b"json-of-c")
    cache.get(b"a", lambda: b"unused!!!")  # a is used again: b is now the oldest
    cache.get(b"d", lambda: b"json-of-d")
    assert len(cache) == 3
    assert cache.get(b"a", lambda: b"re-encoded") == b"json-of-a"
    assert cache.get(b"b", lambda: b"re-encoded") == b"re-encoded"


def test_an_entry_larger_than_the_bound_is_answered_but_not_kept() -> None:
    cache = EncodedByBytes(max_bytes=5)
    assert cache.get(b"big", lambda: b"a large answer") == b"a large answer"
    assert len(cache) == 0
