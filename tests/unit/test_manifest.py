"""Manifest loading and the manifest form of objects: round trips, sources, numbering, formats."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from atoll import kinds
from atoll.kinds import apply_defaults
from atoll.manifest import ManifestError, ManifestErrors, from_manifest, load_paths, load_text, to_manifest
from atoll.v1 import event_pb2, meta_pb2, object_pb2, pod_pb2

EXAMPLES = Path(__file__).parents[2] / "deploy" / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.yaml"))

NAMESPACE = "apiVersion: atoll.dev/v1\nkind: Namespace\nmetadata:\n  name: {name}\n"


def _roundtrip_through_yaml(obj: object_pb2.Object) -> object_pb2.Object:
    text = yaml.safe_dump(to_manifest(obj), sort_keys=False)
    return from_manifest(yaml.safe_load(text), "roundtrip.yaml", 1)


def test_the_examples_cover_every_workload_shape_the_issue_asks_for() -> None:
    documents = load_paths([str(EXAMPLES)])
    described = set()
    for document in documents:
        message = kinds.unwrap(document.object)
        kind = kinds.of_object(document.object).name
        if kind == "Pod":
            described.add(f"pod/{message.spec.os or 'linux'}/{message.spec.windows.isolation}")
        elif kind == "VirtualMachine":
            described.add("vm/kernel" if message.spec.boot.kernel else "vm/disk")
        elif kind == "Deployment":
            described.add(f"deployment/{message.spec.template.WhichOneof('kind')}")
        else:
            described.add(kind)
    assert described >= {
        "Namespace",
        "pod/linux/",
        "pod/windows/process",
        "pod/windows/hyperv",
        "pod/windows/hostprocess",
        "vm/kernel",
        "deployment/pod",
        "deployment/virtual_machine",
    }
    assert sum(1 for d in documents if kinds.of_object(d.object).name == "Pod" and "linux" in d.source) >= 3


@pytest.mark.parametrize(
    "path", EXAMPLE_FILES, ids=[f"{p.name} survives to_manifest and back" for p in EXAMPLE_FILES]
)
def test_every_example_round_trips(path: Path) -> None:
    for document in load_paths([str(path)]):
        assert _roundtrip_through_yaml(document.object) == document.object
        defaulted = object_pb2.Object()
        defaulted.CopyFrom(document.object)
        apply_defaults(defaulted)
        assert _roundtrip_through_yaml(defaulted) == defaulted


@pytest.mark.parametrize(
    "path", EXAMPLE_FILES, ids=[f"{p.name} prints as it was written" for p in EXAMPLE_FILES]
)
def test_to_manifest_reproduces_the_example_text_modulo_number_quoting(path: Path) -> None:
    written = [data for data in yaml.safe_load_all(path.read_text()) if data is not None]
    printed = [to_manifest(document.object) for document in load_paths([str(path)])]
    assert yaml.safe_dump(printed) == yaml.safe_dump(_stringify_numbers_in_quantities(written))


def _stringify_numbers_in_quantities(data: object, parent: str = "") -> object:
    """Quantity and int-or-percent fields accept YAML numbers; to_manifest prints them as strings."""
    if isinstance(data, dict):
        return {key: _stringify_numbers_in_quantities(value, key) for key, value in data.items()}
    if isinstance(data, list):
        return [_stringify_numbers_in_quantities(item, parent) for item in data]
    if parent in ("requests", "limits", "maxSurge", "maxUnavailable", "targetPort") and isinstance(data, int):
        return str(data)
    return data


def test_to_manifest_uses_camel_case_int_numbers_rfc3339_and_omits_empty_fields() -> None:
    pod = pod_pb2.Pod(
        metadata=meta_pb2.ObjectMeta(name="web", namespace="demo", resource_version=12, generation=3),
        spec=pod_pb2.PodSpec(
            containers=[pod_pb2.Container(name="web", image="nginx")],
            termination_grace_period_seconds=0,
        ),
    )
    pod.metadata.creation_timestamp.FromJsonString("2026-11-27T09:18:00Z")
    assert to_manifest(kinds.by_name("Pod").wrap(pod)) == {
        "apiVersion": "atoll.dev/v1",
        "kind": "Pod",
        "metadata": {
            "name": "web",
            "namespace": "demo",
            "creationTimestamp": "2026-11-27T09:18:00Z",
            "resourceVersion": 12,
            "generation": 3,
        },
        "spec": {"containers": [{"name": "web", "image": "nginx"}], "terminationGracePeriodSeconds": 0},
    }


def test_an_event_puts_its_fields_at_the_top_level() -> None:
    text = """
apiVersion: atoll.dev/v1
kind: Event
metadata: {name: web.1, namespace: demo}
involvedObject: {kind: Pod, namespace: demo, name: web, resourceVersion: 7}
reason: FailedScheduling
message: "0/3 nodes: 2 insufficient memory, 1 os mismatch"
type: Warning
count: 2
firstTimestamp: "2026-11-27T09:18:00.250Z"
lastTimestamp: 2026-11-27T09:19:00Z
source: scheduler
"""
    (document,) = load_text(text, "event.yaml")
    event = document.object.event
    assert event.involved_object.resource_version == 7
    assert event.first_timestamp.nanos == 250_000_000
    assert to_manifest(document.object)["lastTimestamp"] == "2026-11-27T09:19:00Z"
    assert to_manifest(document.object)["firstTimestamp"] == "2026-11-27T09:18:00.250Z"


def test_quantity_and_int_or_percent_fields_accept_yaml_numbers() -> None:
    data = yaml.safe_load(
        """
apiVersion: atoll.dev/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
  template:
    pod:
      metadata: {labels: {app: web}}
      spec: {containers: [{name: web, image: nginx, resources: {requests: {cpu: 0.5, memory: 1000}}}]}
"""
    )
    spec = from_manifest(data, "d.yaml", 1).deployment.spec
    assert spec.strategy.rolling_update.max_surge == "1"
    assert spec.strategy.rolling_update.max_unavailable == "0"
    assert dict(spec.template.pod.spec.containers[0].resources.requests) == {"cpu": "0.5", "memory": "1000"}


def test_a_present_but_empty_message_survives_the_round_trip() -> None:
    data = {
        "apiVersion": "atoll.dev/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"pod": {}}},
    }
    obj = from_manifest(data, "d.yaml", 1)
    assert obj.deployment.spec.template.WhichOneof("kind") == "pod"
    assert to_manifest(obj)["spec"] == {"template": {"pod": {}}}
    assert from_manifest(to_manifest(obj), "d.yaml", 1) == obj


def test_an_optional_oneof_with_two_members_is_at_most_one() -> None:
    data = {
        "apiVersion": "atoll.dev/v1",
        "kind": "Pod",
        "metadata": {"name": "p"},
        "status": {"containerStatuses": [{"name": "c", "state": {"waiting": {}, "running": {}}}]},
    }
    with pytest.raises(ManifestErrors) as raised:
        from_manifest(data, "p.yaml", 4)
    assert raised.value.errors == [
        ManifestError(
            "p.yaml", 4, "status.containerStatuses[0].state", "at most one of waiting, running or terminated"
        )
    ]


TYPE_ERRORS = [
    (
        {"metadata": {"name": ["web"]}},
        "metadata.name",
        "expected a string, got a list",
        "a list for a string",
    ),
    (
        {"spec": {"hostNetwork": "yes please"}},
        "spec.hostNetwork",
        'expected true or false, got "yes please"',
        "a string for a bool",
    ),
    (
        {"spec": {"terminationGracePeriodSeconds": 1.5}},
        "spec.terminationGracePeriodSeconds",
        "expected an integer, got 1.5",
        "a fraction for an integer",
    ),
    (
        {"spec": {"terminationGracePeriodSeconds": True}},
        "spec.terminationGracePeriodSeconds",
        "expected an integer, got true",
        "a bool for an integer",
    ),
    ({"spec": "web"}, "spec", 'expected a mapping, got "web"', "a scalar for a message"),
    (
        {"metadata": {"labels": {"app": None}}},
        "metadata.labels.app",
        "expected a string, got null",
        "a null map value",
    ),
    (
        {"metadata": {"labels": {1: "x"}}},
        "metadata.labels",
        "keys must be strings, got 1",
        "a number as a map key",
    ),
    (
        {"metadata": {"creationTimestamp": 5}},
        "metadata.creationTimestamp",
        "expected an RFC 3339 timestamp string, got 5",
        "a number for a timestamp",
    ),
    (
        {"spec": {"node_name": "n"}},
        "spec.node_name",
        'unknown field "node_name"; did you mean "nodeName"?',
        "a snake case field name",
    ),
]


@pytest.mark.parametrize(
    ("patch", "path", "message"),
    [(p, f, m) for p, f, m, _ in TYPE_ERRORS],
    ids=[f"rejects {i}" for *_, i in TYPE_ERRORS],
)
def test_decoding_reports_the_path_and_the_expected_type(
    patch: dict[str, object], path: str, message: str
) -> None:
    data: dict[str, object] = {"apiVersion": "atoll.dev/v1", "kind": "Pod", **patch}
    with pytest.raises(ManifestErrors) as raised:
        from_manifest(data, "p.yaml", 1)
    assert [(e.path, e.message) for e in raised.value.errors] == [(path, message)]


def test_a_large_integer_round_trips_as_a_plain_int() -> None:
    obj = kinds.by_name("Pod").wrap(
        pod_pb2.Pod(metadata=meta_pb2.ObjectMeta(name="p", resource_version=2**62))
    )
    manifest = to_manifest(obj)
    assert manifest["metadata"]["resourceVersion"] == 2**62
    assert from_manifest(manifest, "p.yaml", 1) == obj


def test_empty_documents_are_skipped_but_counted() -> None:
    text = (
        "---\n"
        + NAMESPACE.format(name="a")
        + "---\n---\n# only a comment\n---\n"
        + NAMESPACE.format(name="b")
    )
    documents = load_text(text, "ns.yaml")
    assert [(d.source, d.index, d.object.namespace.metadata.name) for d in documents] == [
        ("ns.yaml", 1, "a"),
        ("ns.yaml", 4, "b"),
    ]


def test_a_json_source_is_one_document() -> None:
    (document,) = load_text(
        '{"apiVersion": "atoll.dev/v1", "kind": "Namespace", "metadata": {"name": "j"}}', "n.json"
    )
    assert document.object.namespace.metadata.name == "j"


def test_load_paths_reads_directories_recursively_in_sorted_order_and_stdin(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2.yml").write_text(NAMESPACE.format(name="two"))
    (tmp_path / "a.yaml").write_text(NAMESPACE.format(name="one"))
    (tmp_path / "notes.txt").write_text("not a manifest")
    stdin = io.StringIO(NAMESPACE.format(name="three"))
    documents = load_paths([str(tmp_path), "-"], stdin=stdin)
    assert [(d.source, d.object.namespace.metadata.name) for d in documents] == [
        (str(tmp_path / "a.yaml"), "one"),
        (str(tmp_path / "b" / "2.yml"), "two"),
        ("<stdin>", "three"),
    ]


def test_load_paths_reports_missing_files_empty_directories_and_bad_documents_together(
    tmp_path: Path,
) -> None:
    (tmp_path / "empty").mkdir()
    bad = tmp_path / "bad.yaml"
    bad.write_text(NAMESPACE.format(name="Bad"))
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ManifestErrors) as raised:
        load_paths([str(missing), str(tmp_path / "empty"), str(bad)])
    lines = str(raised.value).splitlines()
    assert lines[0] == f"{missing}: no such file or directory"
    assert lines[1] == f"{tmp_path / 'empty'}: directory holds no manifests (*.yaml, *.yml, *.json)"
    assert lines[2].startswith(f'{bad} doc 1: metadata.name: invalid name "Bad"')
    assert len(lines) == 3


def test_a_file_that_is_not_utf8_is_a_manifest_error(tmp_path: Path) -> None:
    binary = tmp_path / "image.yaml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ManifestErrors, match=r"image.yaml: not UTF-8 text \(byte 0\)"):
        load_paths([str(binary)])


_LABEL_TEXT = st.from_regex(r"\A[a-z0-9]([a-z0-9._-]{0,20}[a-z0-9])?\Z")


@given(
    labels=st.dictionaries(_LABEL_TEXT, _LABEL_TEXT, max_size=4),
    annotations=st.dictionaries(_LABEL_TEXT, st.text(max_size=30), max_size=3),
    revision=st.integers(min_value=0, max_value=2**63 - 1),
    seconds=st.integers(min_value=0, max_value=253_402_300_799),
    nanos=st.integers(min_value=0, max_value=999_999_999),
    count=st.integers(min_value=0, max_value=2**31 - 1),
    message=st.text(max_size=40),
)
def test_any_event_round_trips_through_yaml(
    labels: dict[str, str],
    annotations: dict[str, str],
    revision: int,
    seconds: int,
    nanos: int,
    count: int,
    message: str,
) -> None:
    event = event_pb2.Event(
        metadata=meta_pb2.ObjectMeta(name="e", namespace="demo", labels=labels, annotations=annotations),
        involved_object=event_pb2.ObjectReference(kind="Pod", name="web", resource_version=revision),
        message=message,
        type="Normal",
        count=count,
    )
    event.first_timestamp.seconds = seconds
    event.first_timestamp.nanos = nanos
    obj = kinds.by_name("Event").wrap(event)
    assert _roundtrip_through_yaml(obj) == obj
