"""imagePullPolicy and imagePullSecrets in manifests and validation, and the node authorizer's
view of pull Secrets (a node may read the Secrets its pods pull with)."""

from __future__ import annotations

from typing import Any

import pytest

from atoll.manifest import from_manifest
from atoll.pod_references import references
from tests.unit.test_validation import reported


def pod(**spec: Any) -> dict[str, Any]:
    return {"spec.containers": [{"name": "web", "image": "r.io/web:1", **spec.pop("container", {})}], **spec}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(pod(container={"imagePullPolicy": "Always"}), [], id="Always is valid"),
        pytest.param(pod(container={"imagePullPolicy": "Sometimes"}),
                     [("spec.containers[0].imagePullPolicy",
                       'unsupported value "Sometimes": must be one of Always, IfNotPresent, Never')],
                     id="an unknown policy"),
        pytest.param(pod(**{"spec.imagePullSecrets": [{"name": "regcred"}]}), [], id="a pull secret"),
        pytest.param(pod(**{"spec.imagePullSecrets": [{"name": "../x"}]}),
                     [("spec.imagePullSecrets[0].name",
                       "invalid name \"../x\": use lowercase letters, digits, '-' and '.', starting and ending with a"
                       " letter or digit (DNS-1123 subdomain)")], id="a pull secret name that is a path"),
        pytest.param(pod(**{"spec.imagePullSecrets": [{}]}), [("spec.imagePullSecrets[0].name", "required")],
                     id="a pull secret without name"),
    ],
)
def test_pull_fields_are_validated(changes: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert reported("Pod", changes) == expected


def test_pull_secrets_are_secrets_the_pod_references() -> None:
    obj = from_manifest({"apiVersion": "atoll.dev/v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "d"},
                         "spec": {"imagePullSecrets": [{"name": "regcred"}],
                                  "containers": [{"name": "c", "image": "r.io/c:1", "imagePullPolicy": "Never"}]}},
                        "pod.yaml", 0)
    assert obj.pod.spec.containers[0].image_pull_policy == "Never"
    assert references(obj.pod.spec).secrets == frozenset({"regcred"})
