"""apply_defaults(): fills only empty fields, with Kubernetes/KubeVirt values, and is idempotent."""

from __future__ import annotations

from typing import Any

import pytest

from atoll.kinds import apply_defaults
from atoll.manifest import to_manifest
from atoll.v1 import object_pb2
from tests.unit.test_validation import VALID, make


def _defaulted(name: str, changes: dict[str, Any] | None = None) -> dict[str, Any]:
    obj = make(name, changes)
    apply_defaults(obj)
    return to_manifest(obj)


def test_pod_defaults() -> None:
    spec = _defaulted(
        "Pod",
        {
            "spec.containers[0].ports": [{"containerPort": 80}],
            "spec.containers[0].resources.limits": {"memory": "1Gi"},
        },
    )["spec"]
    assert spec["restartPolicy"] == "Always"
    assert spec["os"] == "linux"
    assert spec["terminationGracePeriodSeconds"] == 30
    assert spec["containers"][0]["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert spec["containers"][0]["resources"]["requests"] == {"cpu": "250m", "memory": "1Gi"}
    assert "windows" not in spec


def test_a_windows_pod_defaults_to_process_isolation() -> None:
    spec = _defaulted("WindowsPod", {"spec.windows.isolation": ""})["spec"]
    assert spec["windows"]["isolation"] == "process"


def test_vm_defaults() -> None:
    spec = _defaulted("VirtualMachine")["spec"]
    assert spec["runStrategy"] == "Always"
    assert spec["powerState"] == "Running"
    assert spec["hypervisor"] == {"type": "any"}
    assert spec["guest"] == {"os": "linux"}
    assert spec["disks"] == [
        {"name": "root", "image": "/images/root.qcow2", "format": "qcow2", "bus": "virtio"}
    ]
    assert spec["boot"] == {"disk": "root"}
    assert spec["terminationGracePeriodSeconds"] == 30


def test_a_vm_with_direct_kernel_boot_gets_no_boot_disk() -> None:
    spec = _defaulted("VirtualMachine", {"spec.boot": {"kernel": "/boot/vmlinuz"}})["spec"]
    assert spec["boot"] == {"kernel": "/boot/vmlinuz"}


def test_deployment_defaults_and_its_template_defaults() -> None:
    spec = _defaulted("Deployment")["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
    }
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    assert spec["template"]["pod"]["spec"]["restartPolicy"] == "Always"
    vm_spec = _defaulted("VmDeployment")["spec"]["template"]["virtualMachine"]["spec"]
    assert vm_spec["runStrategy"] == "Always"


def test_a_recreate_deployment_gets_no_rolling_update_block() -> None:
    spec = _defaulted("Deployment", {"spec.strategy": {"type": "Recreate"}})["spec"]
    assert spec["strategy"] == {"type": "Recreate"}


def test_namespace_phase_defaults_to_active() -> None:
    assert _defaulted("Namespace")["status"] == {"phase": "Active"}


PRESERVED = [
    (
        "Pod",
        {"spec.restartPolicy": "Never", "spec.terminationGracePeriodSeconds": 0},
        "spec",
        "a set restart policy and zero grace period",
    ),
    (
        "VirtualMachine",
        {"spec.runStrategy": "Halted", "spec.powerState": "Stopped"},
        "spec",
        "a set run strategy and power state",
    ),
    (
        "Deployment",
        {"spec.replicas": 0, "spec.strategy.rollingUpdate": {"maxSurge": "0"}},
        "spec",
        "zero replicas and an explicit surge",
    ),
]


@pytest.mark.parametrize(
    ("name", "changes", "section"),
    [(n, c, s) for n, c, s, _ in PRESERVED],
    ids=[f"keeps {i}" for *_, i in PRESERVED],
)
def test_defaults_never_override_set_values(name: str, changes: dict[str, Any], section: str) -> None:
    defaulted = _defaulted(name, changes)[section]
    for path, value in changes.items():
        node: Any = defaulted
        for step in path.split(".")[1:]:
            node = node[step]
        if isinstance(value, dict):
            assert value.items() <= node.items()
        else:
            assert node == value


@pytest.mark.parametrize(
    "name", sorted(VALID), ids=[f"defaults of a {n} are idempotent" for n in sorted(VALID)]
)
def test_apply_defaults_is_idempotent(name: str) -> None:
    once = make(name)
    apply_defaults(once)
    twice = object_pb2.Object()
    twice.CopyFrom(once)
    apply_defaults(twice)
    assert twice == once


def test_an_empty_object_is_left_alone() -> None:
    obj = object_pb2.Object()
    apply_defaults(obj)
    assert obj == object_pb2.Object()


def test_pod_defaults_are_the_same_from_the_memo_as_computed_afresh() -> None:
    """Pod defaults are memoized on the spec's bytes: the second pod of a spec gets exactly what
    defaulting it directly gives, and a pod already defaulted is left as it is."""
    from atoll.kinds.pod import default_pod_spec
    from tests.support.objects import make_pod

    for _ in range(2):
        obj = make_pod()
        obj.pod.spec.containers[0].resources.limits["memory"] = "1Gi"
        obj.pod.spec.containers[0].ports.add(container_port=80)
        expected = obj.pod.spec.__class__()
        expected.CopyFrom(obj.pod.spec)
        default_pod_spec(expected)
        apply_defaults(obj)
        assert obj.pod.spec == expected
    apply_defaults(obj)
    assert obj.pod.spec == expected


def test_a_pod_spec_too_large_for_the_defaults_memo_is_defaulted_too() -> None:
    from tests.support.objects import make_pod

    obj = make_pod()
    for index in range(300):  # ~8 KiB of spec, over the memo's 4 KiB
        obj.pod.spec.containers[0].env.add(name=f"E{index}", value="v" * 20)
    apply_defaults(obj)
    assert obj.pod.spec.restart_policy == "Always"
    assert obj.pod.spec.termination_grace_period_seconds == 30
