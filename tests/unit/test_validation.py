# ruff: noqa: E501 - table rows hold exact messages and read best unbroken
"""validate(): every rule of the issue, one table row per rule, on otherwise valid objects.

Each row starts from a fully valid manifest of its kind (``VALID``), changes one field and lists
the exact errors expected (path and message), so extra or missing errors fail the test.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from atoll.kinds import apply_defaults
from atoll.kinds.checks import FieldError, validate
from atoll.manifest import from_manifest
from atoll.v1 import object_pb2

DELETE = object()

VALID: dict[str, dict[str, Any]] = {
    "Pod": {
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "demo", "labels": {"app": "web"}},
        "spec": {
            "containers": [{"name": "web", "image": "nginx", "resources": {"requests": {"cpu": "250m"}}}]
        },
    },
    "WindowsPod": {
        "kind": "Pod",
        "metadata": {"name": "iis", "namespace": "demo"},
        "spec": {
            "os": "windows",
            "windows": {"isolation": "process", "imageBuild": "10.0.20348"},
            "containers": [
                {
                    "name": "iis",
                    "image": "iis",
                    "resources": {"requests": {"memory": "1Gi"}, "limits": {"memory": "1Gi"}},
                }
            ],
        },
    },
    "VirtualMachine": {
        "kind": "VirtualMachine",
        "metadata": {"name": "vm", "namespace": "demo"},
        "spec": {"vcpus": 2, "memory": "2Gi", "disks": [{"name": "root", "image": "/images/root.qcow2"}]},
    },
    "Deployment": {
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "demo"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "pod": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                }
            },
        },
    },
    "VmDeployment": {
        "kind": "Deployment",
        "metadata": {"name": "vms", "namespace": "demo"},
        "spec": {
            "selector": {"matchExpressions": [{"key": "app", "operator": "In", "values": ["vm"]}]},
            "template": {
                "virtualMachine": {
                    "metadata": {"labels": {"app": "vm"}},
                    "spec": {"vcpus": 1, "memory": "1Gi", "boot": {"kernel": "/boot/vmlinuz"}},
                }
            },
        },
    },
    "Namespace": {"kind": "Namespace", "metadata": {"name": "demo"}},
    "Node": {
        "kind": "Node",
        "metadata": {"name": "node-1.rack-2"},
        "spec": {"taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]},
        "status": {
            "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
            "allocatable": {"cpu": "7500m", "memory": "30Gi"},
            "nodeInfo": {"os": "windows", "osBuild": "10.0.26100.1742"},
            "hypervisor": {"type": "type1", "guestOs": ["linux", "windows"], "perVmOverheadMemory": "64Mi"},
            "windowsIsolation": ["process", "hyperv"],
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    },
    "Event": {
        "kind": "Event",
        "metadata": {"name": "web.1", "namespace": "demo"},
        "involvedObject": {"kind": "Pod", "namespace": "demo", "name": "web"},
        "reason": "Scheduled",
        "type": "Normal",
    },
    "Lease": {
        "kind": "Lease",
        "metadata": {"name": "node-1", "namespace": "atoll-node-lease"},
        "spec": {"holderIdentity": "node-1", "leaseDurationSeconds": 40},
    },
    "PersistentVolumeClaim": {
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "namespace": "demo"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    },
    "PersistentVolume": {
        "kind": "PersistentVolume",
        "metadata": {"name": "pv-1"},
        "spec": {
            "capacity": {"storage": "10Gi"},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": "local",
            "local": {"path": "pv-1"},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {"matchExpressions": [{"key": "atoll.dev/hostname", "operator": "In", "values": ["n1"]}]}
                    ]
                }
            },
        },
    },
    "StorageClass": {
        "kind": "StorageClass",
        "metadata": {"name": "fast"},
        "provisioner": "atoll.dev/local",
        "volumeBindingMode": "WaitForFirstConsumer",
    },
    "Service": {
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "demo"},
        "spec": {
            "selector": {"app": "web"},
            "ports": [
                {"name": "http", "port": 80, "targetPort": "http"},
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 5353},
            ],
        },
    },
    "Endpoints": {
        "kind": "Endpoints",
        "metadata": {"name": "web", "namespace": "demo"},
        "subsets": [
            {
                "addresses": [
                    {
                        "ip": "10.244.1.5",
                        "nodeName": "node-1",
                        "targetRef": {"kind": "Pod", "namespace": "demo", "name": "web-1", "uid": "u1"},
                    }
                ],
                "notReadyAddresses": [{"ip": "10.244.2.7", "targetRef": {"kind": "VirtualMachine", "name": "vm-1"}}],
                "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
            }
        ],
    },
}


def make(name: str, changes: dict[str, Any] | None = None) -> object_pb2.Object:
    """The valid object ``name`` with ``changes`` ({"spec.containers[0].image": value}) applied."""
    data = {"apiVersion": "atoll.dev/v1", **copy.deepcopy(VALID[name])}
    for path, value in (changes or {}).items():
        _set(data, path, value)
    return from_manifest(data, "test.yaml", 1)


def _set(data: Any, path: str, value: Any) -> None:
    steps: list[str | int] = []
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        steps.append(int(part[1:-1]) if part.startswith("[") else part)
    for step in steps[:-1]:
        data = data.setdefault(step, {}) if isinstance(step, str) else data[step]
    if value is DELETE:
        del data[steps[-1]]
    else:
        data[steps[-1]] = value


# A table row: kind in VALID, changes for make(), the expected (path, message) errors, test id.
Case = tuple[str, dict[str, Any], list[tuple[str, str]], str]


def parametrize_cases(cases: list[Case]) -> pytest.MarkDecorator:
    """Parametrize a test over ``(name, changes, expected)`` of each row, with the row's id."""
    return pytest.mark.parametrize(
        ("name", "changes", "expected"), [(n, c, e) for n, c, e, _ in cases], ids=[i for *_, i in cases]
    )


def reported(name: str, changes: dict[str, Any]) -> list[tuple[str, str]]:
    """The (path, message) of every error validate() reports for ``make(name, changes)``."""
    return [(error.path, error.message) for error in validate(make(name, changes))]


@pytest.mark.parametrize(
    "name", sorted(VALID), ids=[f"the valid {n} is valid before and after defaults" for n in sorted(VALID)]
)
def test_valid_objects_have_no_errors(name: str) -> None:
    obj = make(name)
    assert validate(obj) == []
    apply_defaults(obj)
    assert validate(obj) == []


LABELS = "use lowercase letters, digits"
LONG = "a" * 254
CASES: list[Case] = [
    # metadata
    ("Pod", {"metadata.name": DELETE}, [("metadata.name", "required")], "a missing name is required"),
    (
        "Pod",
        {"metadata.name": LONG},
        [("metadata.name", "must be at most 253 characters (DNS-1123 subdomain)")],
        "a name over 253 characters",
    ),
    ("Pod", {"metadata.name": "web.v2"}, [], "a pod name may contain dots (DNS subdomain)"),
    (
        "Namespace",
        {"metadata.name": "team.a"},
        [
            (
                "metadata.name",
                f"invalid name \"team.a\": {LABELS} and '-', starting and ending with a letter or digit (DNS-1123 label)",
            )
        ],
        "a namespace name is a DNS label without dots",
    ),
    (
        "Namespace",
        {"metadata.namespace": "x"},
        [("metadata.namespace", 'must be empty: Namespace is cluster-scoped, got "x"')],
        "a namespace has no namespace",
    ),
    (
        "Pod",
        {"metadata.labels": {"example.com/" + "a" * 64: "x"}},
        [
            (
                f"metadata.labels[example.com/{'a' * 64}]",
                f'invalid label key "example.com/{"a" * 64}": name part must be at most 63 characters',
            )
        ],
        "a label name over 63 characters",
    ),
    (
        "Pod",
        {"metadata.annotations": {"big": "x" * (256 * 1024)}},
        [("metadata.annotations", "keys and values total 262147 bytes, more than the limit of 262144 (256 KiB)")],
        "annotations over 256 KiB in total",
    ),
    (
        "Pod",
        {"metadata.annotations": {"Bad Key": "x"}},
        [
            (
                "metadata.annotations[Bad Key]",
                "invalid annotation key \"Bad Key\": name part must consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit",
            )
        ],
        "an annotation key with a space",
    ),
    (
        "Pod",
        {"metadata.ownerReferences": [{"name": "web-abc"}]},
        [("metadata.ownerReferences[0].kind", "required")],
        "an owner reference without a kind",
    ),
    # pod containers
    (
        "Pod",
        {"spec.containers": [{"name": "web", "image": "a"}, {"name": "web", "image": "b"}]},
        [("spec.containers[1].name", 'duplicate name "web"')],
        "duplicate container names",
    ),
    (
        "Pod",
        {"spec.containers[0].name": "Web"},
        [
            (
                "spec.containers[0].name",
                f"invalid name \"Web\": {LABELS} and '-', starting and ending with a letter or digit (DNS-1123 label)",
            )
        ],
        "an uppercase container name",
    ),
    (
        "Pod",
        {"spec.containers[0].name": DELETE},
        [("spec.containers[0].name", "required")],
        "a container without a name",
    ),
    (
        "Pod",
        {"spec.containers[0].ports": [{"containerPort": 80, "hostPort": 70000, "protocol": "HTTP"}]},
        [
            ("spec.containers[0].ports[0].hostPort", "must be between 1 and 65535, got 70000"),
            (
                "spec.containers[0].ports[0].protocol",
                'unsupported value "HTTP": must be one of TCP, UDP, SCTP',
            ),
        ],
        "a bad host port and protocol",
    ),
    (
        "Pod",
        {"spec.containers[0].env": [{"value": "x"}, {"name": "A=B"}]},
        [
            ("spec.containers[0].env[0].name", "required"),
            ("spec.containers[0].env[1].name", "must not contain '=', got \"A=B\""),
        ],
        "environment variable names",
    ),
    (
        "Pod",
        {"spec.containers[0].resources": {"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}},
        [
            (
                "spec.containers[0].resources.requests.cpu",
                "must be less than or equal to the cpu limit (1), got 2",
            )
        ],
        "a request above its limit",
    ),
    (
        "Pod",
        {"spec.containers[0].resources": {"requests": {"memory": "-1Gi"}}},
        [("spec.containers[0].resources.requests.memory", 'must not be negative, got "-1Gi"')],
        "a negative quantity",
    ),
    (
        "Pod",
        {"spec.containers[0].resources": {"limits": {"nvidia.com/GPU!": "1"}}},
        [
            (
                "spec.containers[0].resources.limits[nvidia.com/GPU!]",
                "invalid resource name \"nvidia.com/GPU!\": name part must consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit",
            )
        ],
        "an invalid resource name",
    ),
    (
        "Pod",
        {"spec.containers[0].resources": {"limits": {"cpu": "2", "memory": "1Gi"}}},
        [],
        "limits without requests are valid",
    ),
    (
        "Pod",
        {"spec.containers[0].resources": {"requests": {"nvidia.com/gpu": "1"}, "limits": {"nvidia.com/gpu": "2"}}},
        [
            (
                "spec.containers[0].resources.requests[nvidia.com/gpu]",
                'must equal the "nvidia.com/gpu" limit (2): an extended resource is never overcommitted, got 1',
            )
        ],
        "an extended resource request below its limit",
    ),
    (
        "Pod",
        {"spec.containers[0].resources": {"requests": {"nvidia.com/gpu": "1.5"}}},
        [
            (
                "spec.containers[0].resources.requests[nvidia.com/gpu]",
                'must be a whole number >= 0 for an extended resource, got "1.5"',
            )
        ],
        "a fraction of an extended resource",
    ),
    (
        "Pod",
        {"spec.containers[0].resources": {"limits": {"example.com/dongle": "500m"}}},
        [
            (
                "spec.containers[0].resources.limits[example.com/dongle]",
                'must be a whole number >= 0 for an extended resource, got "500m"',
            )
        ],
        "millis of an extended resource",
    ),
    (
        "Pod",
        {"spec.containers[0].resources": {"requests": {"nvidia.com/gpu": "2"}, "limits": {"nvidia.com/gpu": "2"}}},
        [],
        "an extended resource request equal to its limit is valid",
    ),
    (
        "Pod",
        {"spec.containers[0].resources": {"requests": {"nvidia.com/gpu": "1"}}},
        [],
        "an extended resource request without a limit is valid",
    ),
    (
        "Node",
        {"status.capacity": {"cpu": "8", "nvidia.com/gpu": "0.5"}},
        [
            (
                "status.capacity[nvidia.com/gpu]",
                'must be a whole number >= 0 for an extended resource, got "0.5"',
            )
        ],
        "a node offering a fraction of an extended resource",
    ),
    # pod spec values
    (
        "Pod",
        {"spec.restartPolicy": "Sometimes"},
        [("spec.restartPolicy", 'unsupported value "Sometimes": must be one of Always, OnFailure, Never')],
        "an unknown restart policy",
    ),
    (
        "Pod",
        {"spec.os": "macos"},
        [("spec.os", 'unsupported value "macos": must be one of linux, windows')],
        "an unknown os",
    ),
    (
        "Pod",
        {"spec.containers": []},
        [("spec.containers", "at least one container is required")],
        "a pod without containers",
    ),
    (
        "Pod",
        {"spec.terminationGracePeriodSeconds": -1},
        [("spec.terminationGracePeriodSeconds", "must not be negative, got -1")],
        "a negative grace period",
    ),
    ("Pod", {"spec.terminationGracePeriodSeconds": 0}, [], "a zero grace period is valid"),
    (
        "Pod",
        {"spec.nodeName": "Node_1"},
        [
            (
                "spec.nodeName",
                "invalid name \"Node_1\": use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (DNS-1123 subdomain)",
            )
        ],
        "an invalid node name",
    ),
    # windows
    (
        "WindowsPod",
        {"spec.containers[0].resources.limits.memory": "2Gi"},
        [
            (
                "spec.containers[0].resources.limits.memory",
                "must equal the memory request (1Gi) in a Windows pod: Windows has no OOM killer, the limit is a hard job-object cap; set limit = request or omit the limit",
            )
        ],
        "a windows memory limit above the request",
    ),
    (
        "WindowsPod",
        {"spec.containers[0].resources.limits.memory": DELETE},
        [],
        "a windows pod may omit the memory limit",
    ),
    (
        "WindowsPod",
        {"spec.windows.imageBuild": "10.0.17763.5458"},
        [],
        "a windows build with a revision is valid",
    ),
    (
        "WindowsPod",
        {"spec.windows.imageBuild": "6.3.9600"},
        [
            (
                "spec.windows.imageBuild",
                'invalid Windows build "6.3.9600": use 10.0.BUILD or 10.0.BUILD.REVISION',
            )
        ],
        "a pre Windows 10 build",
    ),
    (
        "WindowsPod",
        {
            "spec.windows": {"isolation": "hostprocess"},
            "spec.hostNetwork": True,
            "spec.containers[0].hostProcess": True,
        },
        [],
        "a complete hostprocess pod is valid",
    ),
    ("WindowsPod", {"spec.windows": DELETE}, [], "a windows pod may leave isolation to defaults"),
    # scheduling
    (
        "Pod",
        {"spec.scheduling.tolerations": [{"key": "k", "operator": "Exists", "value": "v"}]},
        [("spec.scheduling.tolerations[0].value", "must be empty when operator is Exists")],
        "an exists toleration with a value",
    ),
    (
        "Pod",
        {"spec.scheduling.tolerations": [{"operator": "Equal", "value": "v"}]},
        [
            (
                "spec.scheduling.tolerations[0].key",
                "required unless operator is Exists (an empty key with Exists tolerates every taint)",
            )
        ],
        "an equal toleration without a key",
    ),
    (
        "Pod",
        {"spec.scheduling.tolerations": [{"operator": "Exists"}]},
        [],
        "an empty key with exists tolerates everything",
    ),
    (
        "Pod",
        {"spec.scheduling.tolerations": [{"key": "k", "operator": "Like"}]},
        [
            (
                "spec.scheduling.tolerations[0].operator",
                'unsupported value "Like": must be one of Equal, Exists',
            )
        ],
        "an unknown toleration operator",
    ),
    (
        "Pod",
        {"spec.scheduling.tolerations": [{"key": "k", "effect": "NoSchedule", "tolerationSeconds": 60}]},
        [("spec.scheduling.tolerations[0].tolerationSeconds", "only allowed with effect NoExecute")],
        "toleration seconds without NoExecute",
    ),
    (
        "Pod",
        {
            "spec.scheduling.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution": [
                {"weight": 0, "preference": {"matchExpressions": [{"key": "a", "operator": "Exists"}]}}
            ]
        },
        [
            (
                "spec.scheduling.affinity.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
                "must be between 1 and 100, got 0",
            )
        ],
        "a preferred term with weight zero",
    ),
    (
        "Pod",
        {"spec.scheduling.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution": {}},
        [
            (
                "spec.scheduling.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
                "at least one term is required",
            )
        ],
        "a required node affinity without terms",
    ),
    (
        "Pod",
        {
            "spec.scheduling.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [{"key": "cores", "operator": "Gt", "values": ["-4"]}]}
                ]
            }
        },
        [],
        "a negative integer is fine for Gt",
    ),
    (
        "Pod",
        {
            "spec.scheduling.affinity.workloadAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchExpressions": [{"key": "app", "operator": "Gt", "values": ["1"]}]}}
            ]
        },
        [
            (
                "spec.scheduling.affinity.workloadAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].topologyKey",
                "required",
            ),
            (
                "spec.scheduling.affinity.workloadAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0].labelSelector.matchExpressions[0].operator",
                'unsupported value "Gt": must be one of In, NotIn, Exists, DoesNotExist',
            ),
        ],
        "anti affinity needs a topology key and label selector operators",
    ),
    (
        "Pod",
        {"spec.scheduling.nodeSelector": {"disk": "s s d"}},
        [
            (
                "spec.scheduling.nodeSelector.disk",
                "invalid label value \"s s d\": must consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit",
            )
        ],
        "a node selector value with spaces",
    ),
    (
        "Pod",
        {"spec.scheduling.topologySpreadConstraints": [{"maxSkew": 1}]},
        [("spec.scheduling.topologySpreadConstraints[0].topologyKey", "required")],
        "a spread constraint without a topology key",
    ),
]


@parametrize_cases(CASES)
def test_validate_reports_exactly_the_expected_errors(
    name: str, changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert reported(name, changes) == expected


def test_an_empty_object_has_no_kind() -> None:
    assert validate(object_pb2.Object()) == [FieldError("kind", "required: the object holds no kind")]


def test_field_error_prints_path_then_message() -> None:
    assert (
        str(FieldError("spec.vcpus", "must be at least 1, got 0")) == "spec.vcpus: must be at least 1, got 0"
    )
