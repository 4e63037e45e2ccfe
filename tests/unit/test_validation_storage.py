# ruff: noqa: E501 - table rows hold exact messages and read best unbroken
"""validate() for PersistentVolumeClaims, PersistentVolumes and StorageClasses, and the updates
each kind refuses. Rows start from the valid objects of tests/unit/test_validation.py."""

from __future__ import annotations

from typing import Any

import pytest

from atoll.kinds import of_object, unwrap
from atoll.validation.base import FieldError
from tests.unit.test_validation import DELETE, Case, make, parametrize_cases, reported

NAME_RULE = "must be one file name (letters, digits, '_', '.', '-'; not starting with '.' or '-'), not a path"
CASES: list[Case] = [
    (
        "PersistentVolumeClaim",
        {"spec.accessModes": [], "spec.resources.requests": {}},
        [
            ("spec.accessModes", "at least one of ReadWriteOnce, ReadWriteMany, ReadOnlyMany"),
            ("spec.resources.requests.storage", "required (a quantity, e.g. 10Gi)"),
        ],
        "a claim without access modes or size",
    ),
    (
        "PersistentVolumeClaim",
        {"spec.accessModes": ["RWO"], "spec.volumeMode": "Raw", "spec.resources.requests": {"storage": "0", "cpu": "1"}},
        [
            ("spec.accessModes[0]", 'unsupported value "RWO": must be one of ReadWriteOnce, ReadWriteMany, ReadOnlyMany'),
            ("spec.volumeMode", 'unsupported value "Raw": must be one of Filesystem, Block'),
            ("spec.resources.requests.cpu", 'unsupported resource "cpu": only storage'),
            ("spec.resources.requests.storage", 'must be greater than zero, got "0"'),
        ],
        "a claim with unknown modes, a zero size and a cpu request",
    ),
    (
        "PersistentVolume",
        {"spec.local.path": "../../etc"},
        [("spec.local.path", f'"../../etc": {NAME_RULE}')],
        "a volume path that climbs out of the volume dir",
    ),
    (
        "PersistentVolume",
        {"spec.local": DELETE, "spec.shared": {"path": "/srv/nfs/x"}},
        [("spec.shared.path", f'"/srv/nfs/x": {NAME_RULE}')],
        "an absolute shared path",
    ),
    (
        "PersistentVolume",
        {"spec.nodeAffinity": DELETE},
        [("spec.nodeAffinity", "required for a local volume (the node that holds it)")],
        "a local volume on no node",
    ),
    (
        "PersistentVolume",
        {"spec.local": DELETE, "spec.persistentVolumeReclaimPolicy": "Recycle"},
        [
            ("spec.persistentVolumeReclaimPolicy", 'unsupported value "Recycle": must be one of Delete, Retain'),
            ("spec", "set one source: local (a node's volume dir) or shared (the shared dir)"),
        ],
        "a volume without a source and a recycle policy",
    ),
    (
        "StorageClass",
        {"provisioner": "kubernetes.io/aws-ebs", "volumeBindingMode": "Later"},
        [
            ("provisioner", 'unsupported value "kubernetes.io/aws-ebs": must be one of atoll.dev/local, atoll.dev/shared'),
            ("volumeBindingMode", 'unsupported value "Later": must be one of Immediate, WaitForFirstConsumer'),
        ],
        "a class with an unknown provisioner and binding mode",
    ),
    (
        "VirtualMachine",
        {"spec.disks[0].persistentVolumeClaim": "data"},
        [("spec.disks[0]", "a persistentVolumeClaim disk has no image or size")],
        "a VM disk with both an image and a claim",
    ),
]


@parametrize_cases(CASES)
def test_validate_reports_exactly_the_expected_errors(
    name: str, changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert reported(name, changes) == expected


UPDATES = [
    ("PersistentVolumeClaim", {"spec.resources.requests.storage": "512Mi"}, "spec.resources.requests.storage", "a claim shrinks"),
    ("PersistentVolumeClaim", {"spec.accessModes": ["ReadWriteMany"]}, "spec", "a claim changes its access modes"),
    ("PersistentVolume", {"spec.local.path": "elsewhere"}, "spec.local/shared", "a volume moves its data"),
    ("StorageClass", {"provisioner": "atoll.dev/shared"}, "provisioner", "a class changes its provisioner"),
]


@pytest.mark.parametrize(("name", "changes", "path"), [u[:3] for u in UPDATES], ids=[u[3] for u in UPDATES])
def test_update_refuses_immutable_changes(name: str, changes: dict[str, Any], path: str) -> None:
    old, new = make(name), make(name, changes)
    errors: list[FieldError] = []
    of_object(old).validate_update(unwrap(old), unwrap(new), errors)
    assert [error.path for error in errors] == [path]


def test_a_claim_may_grow() -> None:
    old, new = make("PersistentVolumeClaim"), make("PersistentVolumeClaim", {"spec.resources.requests.storage": "5Gi"})
    errors: list[FieldError] = []
    of_object(old).validate_update(unwrap(old), unwrap(new), errors)
    assert errors == []
