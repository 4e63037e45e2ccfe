"""validate_update(): the new object must be valid and immutable fields must not change."""

from __future__ import annotations

from typing import Any

import pytest

from atoll.kinds.checks import validate_update
from tests.unit.test_validation import make

CASES: list[tuple[str, dict[str, Any], dict[str, Any], list[tuple[str, str]], str]] = [
    ("Pod", {}, {"spec.containers[0].image": "nginx:1.28"}, [], "a new container image is allowed"),
    ("Pod", {}, {"metadata.labels": {"app": "web", "v": "2"}}, [], "labels may change"),
    (
        "Pod",
        {},
        {"metadata.name": "web2"},
        [("metadata.name", 'may not change (was "web")')],
        "the name is immutable",
    ),
    (
        "Pod",
        {},
        {"metadata.namespace": "prod"},
        [("metadata.namespace", 'may not change (was "demo")')],
        "the namespace is immutable",
    ),
    (
        "Pod",
        {"metadata.uid": "u-1"},
        {"metadata.uid": "u-2"},
        [("metadata.uid", 'may not change (was "u-1")')],
        "the uid is immutable",
    ),
    ("Pod", {"metadata.uid": "u-1"}, {}, [], "an update without a uid keeps the stored one"),
    ("Pod", {}, {"spec.nodeName": "node-1"}, [], "binding an unbound pod is allowed"),
    (
        "Pod",
        {"spec.nodeName": "node-1"},
        {"spec.nodeName": "node-2"},
        [("spec.nodeName", 'may not change once set (was "node-1")')],
        "a bound pod cannot move",
    ),
    (
        "VirtualMachine",
        {"spec.nodeName": "node-1", "status.phase": "Running"},
        {"spec.nodeName": ""},
        [
            (
                "spec.nodeName",
                'may not change once set (was "node-1"); a VirtualMachine may only be unbound (nodeName '
                "cleared) once its run there ended (status.phase Stopped or Failed)",
            )
        ],
        "a running vm cannot be unbound",
    ),
    (
        "VirtualMachine",
        {"spec.nodeName": "node-1", "status.phase": "Stopped"},
        {"spec.nodeName": ""},
        [],
        "a vm whose run ended can be unbound",
    ),
    (
        "VirtualMachine",
        {"spec.nodeName": "node-1", "status.phase": "Failed"},
        {"spec.nodeName": "node-2"},
        [
            (
                "spec.nodeName",
                'may not change once set (was "node-1"); a VirtualMachine may only be unbound (nodeName '
                "cleared) once its run there ended (status.phase Stopped or Failed)",
            )
        ],
        "a stopped vm cannot be moved straight to another node",
    ),
    (
        "Pod",
        {},
        {"spec.containers[0].name": "nginx"},
        [("spec.containers", "container names may not change (were web)")],
        "container names are immutable",
    ),
    (
        "WindowsPod",
        {},
        {"spec.windows.isolation": "hyperv"},
        [("spec.windows.isolation", 'may not change (was "process")')],
        "windows isolation is immutable",
    ),
    (
        "Deployment",
        {},
        {
            "spec.selector.matchLabels": {"app": "web", "tier": "x"},
            "spec.template.pod.metadata.labels.tier": "x",
        },
        [("spec.selector", "may not change (create a new Deployment instead)")],
        "a deployment selector is immutable",
    ),
    ("Deployment", {}, {"spec.replicas": 5}, [], "scaling a deployment is allowed"),
    (
        "Pod",
        {},
        {"metadata.name": "Web"},
        [
            (
                "metadata.name",
                "invalid name \"Web\": use lowercase letters, digits, '-' and '.', "
                "starting and ending with a letter or digit (DNS-1123 subdomain)",
            ),
            ("metadata.name", 'may not change (was "web")'),
        ],
        "the new object is validated as well",
    ),
]


@pytest.mark.parametrize(
    ("name", "old_changes", "new_changes", "expected"),
    [(n, o, c, e) for n, o, c, e, _ in CASES],
    ids=[i for *_, i in CASES],
)
def test_validate_update_reports_invalid_and_immutable_changes(
    name: str, old_changes: dict[str, Any], new_changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    old = make(name, old_changes)
    new = make(name, {**old_changes, **new_changes})
    assert [(error.path, error.message) for error in validate_update(old, new)] == expected


def test_the_kind_cannot_change() -> None:
    errors = validate_update(make("Pod"), make("VirtualMachine"))
    assert [(error.path, error.message) for error in errors] == [
        ("kind", "may not change from Pod to VirtualMachine")
    ]
