"""Hostile input never harms the API server: property-based objects, manifests and raw requests, and fuzz.

Properties:
- every broken object is refused with a located error (``kind/ns/name: field.path: problem``),
  and nothing of it is stored;
- every valid object round-trips unchanged (apart from what the server stamps and defaults);
- no request, however malformed, gets UNKNOWN/INTERNAL or a traceback, and the server keeps serving;
- random bytes on the port and random bytes as YAML are refused, never crash anything.
"""

from __future__ import annotations

import random
import re
import socket
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from atoll import manifest
from atoll.kinds import apply_defaults
from atoll.kinds.checks import validate
from atoll.v1 import api_pb2, object_pb2
from controller.apiserver.server import ApiServer
from tests.support.objects import make_node, make_pod
from tests.support.threaded_server import threaded_api_server

# What a refused request may answer; UNKNOWN or INTERNAL would mean an unhandled server error.
REFUSALS = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.OUT_OF_RANGE,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.DEADLINE_EXCEEDED,
}
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
METHODS = ("Create", "Get", "List", "Update", "UpdateStatus", "Delete", "Apply", "Bind")


@pytest.fixture(scope="module")
def api() -> Iterator[ApiServer]:
    with threaded_api_server() as server:
        yield server


@pytest.fixture(scope="module")
def channel(api: ApiServer) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(api.address) as opened:
        yield opened


def call(channel: grpc.Channel, method: str, request: bytes, timeout: float = 5.0) -> tuple[grpc.StatusCode, bytes]:
    """Sends raw bytes to /atoll.v1.Objects/METHOD; returns the status and the raw response."""
    stub: Any = channel.unary_unary(f"/atoll.v1.Objects/{method}")
    try:
        return grpc.StatusCode.OK, stub(request, timeout=timeout)
    except grpc.RpcError as err:
        failed: Any = err
        details = failed.details() or ""
        assert "Traceback" not in details and 'File "' not in details, details
        return failed.code(), details.encode()


def assert_serving(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    assert health.Check(health_pb2.HealthCheckRequest(service="atoll.v1.Objects"), timeout=5).status == 1
    code, _ = call(channel, "List", api_pb2.ListRequest(kind="Namespace").SerializeToString())
    assert code == grpc.StatusCode.OK


# --- generated objects -----------------------------------------------------------------------

VALID_NAMES = st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\Z")
ANY_TEXT = st.text(max_size=30)
QUANTITIES = st.one_of(st.sampled_from(["100m", "1", "64Mi", "2Gi", "0.5"]), ANY_TEXT)
LABEL_KEYS = st.one_of(st.from_regex(r"\A[a-z]([a-z0-9.-]{0,10}[a-z0-9])?\Z"), ANY_TEXT)
LABEL_VALUES = st.one_of(st.from_regex(r"\A[a-zA-Z0-9]{0,10}\Z"), ANY_TEXT)
_counter = iter(range(10**9))


@st.composite
def pods(draw: Any) -> object_pb2.Object:
    """Pods whose every field is drawn from valid values or arbitrary text."""
    obj = make_pod(f"p{next(_counter)}-{draw(VALID_NAMES)}"[:60].rstrip("-"))
    pod = obj.pod
    if draw(st.booleans()):
        pod.metadata.name = draw(st.one_of(VALID_NAMES, ANY_TEXT))
    pod.metadata.labels.clear()
    pod.metadata.labels.update(draw(st.dictionaries(LABEL_KEYS, LABEL_VALUES, max_size=3)))
    pod.metadata.annotations.update(draw(st.dictionaries(LABEL_KEYS, ANY_TEXT, max_size=2)))
    container = pod.spec.containers[0]
    container.name = draw(st.one_of(st.just("main"), ANY_TEXT))
    container.image = draw(st.one_of(st.just("busybox"), st.just(""), ANY_TEXT))
    container.resources.requests.clear()
    container.resources.requests.update(draw(st.dictionaries(st.sampled_from(["cpu", "memory"]), QUANTITIES)))
    pod.spec.restart_policy = draw(st.sampled_from(["", "Always", "Never", "Sometimes"]))
    port = container.ports.add()
    port.container_port = draw(st.one_of(st.just(8080), st.integers(-(2**31), 2**31 - 1)))
    return obj


@SETTINGS
@given(obj=pods())
def test_generated_pods_are_stored_whole_or_refused_with_a_located_error(
    channel: grpc.Channel, obj: object_pb2.Object
) -> None:
    name = obj.pod.metadata.name
    expected_valid = not validate(_defaulted(obj))
    code, raw = call(channel, "Create", api_pb2.CreateRequest(object=obj).SerializeToString())
    get = api_pb2.GetRequest(kind="Pod", namespace="default", name=name).SerializeToString()
    event(f"create answered {code.name}")
    if code == grpc.StatusCode.OK:
        assert expected_valid
        stored_code, stored = call(channel, "Get", get)
        assert stored_code == grpc.StatusCode.OK
        _assert_round_trip(obj, object_pb2.Object.FromString(stored))
        assert (
            call(channel, "Delete", api_pb2.DeleteRequest(kind="Pod", name=name).SerializeToString())[0]
            == grpc.StatusCode.OK
        )
        return
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (code, raw)
    assert not expected_valid
    # Problems are joined with "; "; a generated name may hold "; " itself (it is shown quoted).
    for line in re.split(r"; (?=pod/)", raw.decode()):
        assert line.startswith("pod/") and (": metadata." in line or ": spec." in line), f"not located: {line}"
    if name:
        assert call(channel, "Get", get)[0] in {grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT}


def _defaulted(obj: object_pb2.Object) -> object_pb2.Object:
    copy = object_pb2.Object()
    copy.CopyFrom(obj)
    apply_defaults(copy)
    return copy


def _assert_round_trip(sent: object_pb2.Object, stored: object_pb2.Object) -> None:
    """``stored`` equals ``sent`` with defaults applied and the server's metadata stamps."""
    expected = _defaulted(sent)
    stamps = stored.pod.metadata
    meta = expected.pod.metadata
    meta.uid, meta.resource_version, meta.generation = stamps.uid, stamps.resource_version, stamps.generation
    meta.creation_timestamp.CopyFrom(stamps.creation_timestamp)
    assert stored == expected


# --- generated manifests ---------------------------------------------------------------------

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), ANY_TEXT)


@st.composite
def manifests(draw: Any) -> dict[str, Any]:
    """A valid Pod manifest, then zero or more of: a field replaced by an arbitrary value, an
    unknown field, a removed required field."""
    document = manifest.to_manifest(make_pod(draw(VALID_NAMES)))
    spots = [
        (document, "kind"),
        (document, "apiVersion"),
        (document["metadata"], "name"),
        (document["metadata"], "labels"),
        (document["spec"], "containers"),
        (document["spec"]["containers"][0], "image"),
        (document["spec"]["containers"][0]["resources"]["requests"], "memory"),
        (document["spec"], "restartPolicy"),
        (document["spec"]["containers"][0], "name"),
    ]
    for _ in range(draw(st.integers(0, 3))):
        target, key = draw(st.sampled_from(spots))
        action = draw(st.sampled_from(["replace", "unknown", "remove"]))
        if action == "replace":
            target[key] = draw(
                st.one_of(SCALARS, st.lists(SCALARS, max_size=2), st.dictionaries(ANY_TEXT, SCALARS, max_size=2))
            )
        elif action == "unknown":
            target[draw(st.text(min_size=1, max_size=10))] = draw(SCALARS)
        else:
            target.pop(key, None)
    return document


@SETTINGS
@given(document=manifests())
def test_generated_manifests_load_and_round_trip_or_fail_with_located_errors(
    channel: grpc.Channel, document: dict[str, Any]
) -> None:
    text = yaml.safe_dump(document, allow_unicode=True)
    try:
        loaded = manifest.load_text(text, "gen.yaml")
    except manifest.ManifestErrors as failed:
        event("manifest refused")
        assert failed.errors
        for error in failed.errors:
            assert error.source == "gen.yaml" and error.document == 1 and error.message, error
            assert "Traceback" not in str(error)
        return
    (doc,) = loaded
    again = manifest.load_text(yaml.safe_dump(manifest.to_manifest(doc.object)), "again.yaml")
    assert again[0].object == doc.object, "manifest -> object -> manifest -> object is stable"
    name = doc.object.pod.metadata.name
    apply = api_pb2.ApplyRequest(object=doc.object).SerializeToString()
    code, raw = call(channel, "Apply", apply)
    assert code == grpc.StatusCode.OK, raw
    stored = api_pb2.ApplyResponse.FromString(raw).object
    _assert_round_trip(doc.object, stored)
    call(channel, "Delete", api_pb2.DeleteRequest(kind="Pod", name=name).SerializeToString())


# --- raw protobuf requests -------------------------------------------------------------------

VALID_REQUESTS = [
    api_pb2.CreateRequest(object=make_node("fuzz-node")).SerializeToString(),
    api_pb2.ApplyRequest(object=make_pod("fuzz-pod")).SerializeToString(),
    api_pb2.ListRequest(kind="Pod", label_selector="app=web", limit=3).SerializeToString(),
    api_pb2.BindRequest(
        bindings=[api_pb2.Binding(kind="Pod", name="fuzz-pod", node_name="fuzz-node")]
    ).SerializeToString(),
]


@st.composite
def raw_requests(draw: Any) -> bytes:
    """Valid requests with bytes flipped, cut or inserted, or plain random bytes."""
    if draw(st.booleans()):
        return bytes(draw(st.binary(max_size=200)))
    data = bytearray(draw(st.sampled_from(VALID_REQUESTS)))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        operation = draw(st.sampled_from(["flip", "cut", "insert"]))
        if operation == "flip" and position < len(data):
            data[position] ^= draw(st.integers(1, 255))
        elif operation == "cut":
            del data[position:]
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@SETTINGS
@given(method=st.sampled_from(METHODS), request=raw_requests())
def test_raw_requests_never_crash_or_leak_a_traceback(channel: grpc.Channel, method: str, request: bytes) -> None:
    code, _ = call(channel, method, request)
    event(f"{method} answered {code.name}")
    assert code == grpc.StatusCode.OK or code in REFUSALS, code


def test_server_still_serves_after_the_raw_request_storm(channel: grpc.Channel) -> None:
    assert_serving(channel)


# --- fuzz ------------------------------------------------------------------------------------

HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def test_random_bytes_on_the_grpc_port_are_dropped_and_the_server_keeps_serving(
    api: ApiServer, channel: grpc.Channel
) -> None:
    rng = random.Random(8)
    for attempt in range(60):
        noise = rng.randbytes(rng.randint(1, 4096))
        payload = HTTP2_PREFACE + noise if attempt % 2 else noise
        with socket.create_connection(("127.0.0.1", api.port), timeout=2) as sock:
            sock.sendall(payload)
            sock.settimeout(0.5)
            try:
                while sock.recv(65536):
                    pass
            except (TimeoutError, ConnectionResetError):
                pass
    assert_serving(channel)


@settings(max_examples=1000, deadline=None)
@given(data=st.one_of(st.binary(max_size=300), st.text(alphabet=":-[]{}|>&*!%@`'\"#\n\t ,?abcdkin01", max_size=200)))
def test_random_bytes_as_yaml_are_refused_with_manifest_errors_only(data: bytes | str) -> None:
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    try:
        manifest.load_text(text, "fuzz.yaml")
    except manifest.ManifestErrors as failed:
        assert all(error.source == "fuzz.yaml" for error in failed.errors)


# --- limits ----------------------------------------------------------------------------------


def _oversized(field: str) -> object_pb2.Object:
    obj = make_pod(f"limit-{field}")
    if field == "annotations":
        obj.pod.metadata.annotations["blob"] = "x" * (257 * 1024)
    elif field == "label":
        obj.pod.metadata.labels["app"] = "v" * 64
    else:
        obj.pod.metadata.annotations["blob"] = "x" * (5 * 1024 * 1024)
    return obj


@pytest.mark.parametrize(
    ("field", "code", "message"),
    [
        ("annotations", grpc.StatusCode.INVALID_ARGUMENT, "metadata.annotations: keys and values total"),
        ("label", grpc.StatusCode.INVALID_ARGUMENT, "metadata.labels.app: invalid label value"),
        ("message", grpc.StatusCode.RESOURCE_EXHAUSTED, "Received message larger than max"),
    ],
    ids=[
        "annotations over 256 KiB are invalid",
        "a label value over 63 characters is invalid",
        "a request over the message size limit is resource exhausted",
    ],
)
def test_exceeded_limits_answer_clearly_and_the_server_keeps_serving(
    channel: grpc.Channel, field: str, code: grpc.StatusCode, message: str
) -> None:
    answered, details = call(channel, "Create", api_pb2.CreateRequest(object=_oversized(field)).SerializeToString())
    assert answered == code
    assert message in details.decode()
    assert_serving(channel)
