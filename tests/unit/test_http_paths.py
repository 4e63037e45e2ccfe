"""HTTP object paths come from the kinds registry; the gRPC -> HTTP code table covers every code."""

from __future__ import annotations

import grpc
import pytest

from atoll import kinds
from controller.apiserver.http.paths import PathError, Target, collection_path, parse
from controller.apiserver.http.status import HTTP_OF_GRPC
from controller.apiserver.http.watch import split_events
from controller.apiserver.wire import watch_response

POD = kinds.by_name("Pod")
NODE = kinds.by_name("Node")
NAMESPACE = kinds.by_name("Namespace")


@pytest.mark.parametrize(
    ("tail", "target"),
    [
        pytest.param("pods", Target(POD), id="a namespaced kind across namespaces"),
        pytest.param("namespaces/ns1/pods", Target(POD, "ns1"), id="a namespaced collection"),
        pytest.param("namespaces/ns1/pods/web", Target(POD, "ns1", "web"), id="a namespaced object"),
        pytest.param("namespaces/ns1/pods/web/status", Target(POD, "ns1", "web", "status"), id="its status"),
        pytest.param("nodes/n1", Target(NODE, "", "n1"), id="a cluster-scoped object"),
        pytest.param("namespaces/ns1", Target(NAMESPACE, "", "ns1"), id="a Namespace itself"),
        pytest.param("namespaces/ns1/status", Target(NAMESPACE, "", "ns1", "status"), id="a Namespace's status"),
    ],
)
def test_paths_name_their_targets(tail: str, target: Target) -> None:
    assert parse(tail) == target


@pytest.mark.parametrize(
    ("tail", "words"),
    [
        pytest.param("gadgets", "unknown resource", id="unknown plural"),
        pytest.param("namespaces/ns1/nodes/n1", "cluster-scoped", id="a cluster-scoped kind in a namespace"),
        pytest.param("pods/web", "namespaced", id="a namespaced object without its namespace"),
        pytest.param("namespaces/ns1/pods/web/bogus", "unknown subresource", id="unknown subresource"),
        pytest.param("namespaces/ns1/pods/web/status/x", "too many", id="too deep"),
        pytest.param("namespaces//pods", "empty path segment", id="empty segment"),
        pytest.param("", "names no resource", id="nothing"),
    ],
)
def test_paths_naming_nothing_say_which_part(tail: str, words: str) -> None:
    with pytest.raises(PathError, match=words):
        parse(tail)


def test_every_kind_has_a_collection_path_that_parses_back() -> None:
    for kind in kinds.KINDS:
        path = collection_path(kind, "ns1")
        assert parse(path.split("/apis/atoll.dev/v1/", 1)[1]) == Target(kind, "ns1" if kind.namespaced else "")


def test_every_grpc_code_has_an_http_code() -> None:
    assert set(HTTP_OF_GRPC) == set(grpc.StatusCode)
    assert HTTP_OF_GRPC[grpc.StatusCode.NOT_FOUND] == (404, "NotFound")
    assert HTTP_OF_GRPC[grpc.StatusCode.PERMISSION_DENIED][0] == 403


def test_split_events_is_the_inverse_of_watch_response() -> None:
    events = [b"", b"a", b"x" * 300, b"y" * 70_000]
    assert list(split_events(watch_response(events))) == events
