# ruff: noqa: E501 - table rows hold exact messages and read best unbroken
"""validate() for VirtualMachines and Deployments (Pod templates and VM templates).

Rows start from the valid objects of tests/unit/test_validation.py and change one thing.
"""

from __future__ import annotations

from typing import Any

from atoll import kinds
from atoll.kinds.checks import validate, validate_status
from tests.support.objects import make_node, make_pod, make_vm
from tests.unit.test_validation import DELETE, Case, parametrize_cases, reported

CASES: list[Case] = [
    # virtual machines
    (
        "VirtualMachine",
        {"spec.cloudInit": {"secretName": "seed", "userData": "#!/bin/sh"}},
        [("spec.cloudInit.secretName", "the Secret holds userData and networkData: set it or those, not both")],
        "cloud-init from a secret and inline user data at once",
    ),
    (
        "VirtualMachine",
        {"spec.cloudInit": {"secretName": "../seed"}},
        [("spec.cloudInit.secretName", "invalid name \"../seed\": use lowercase letters, digits, '-' and '.', starting and ending with a letter or digit (DNS-1123 subdomain)")],
        "a cloud-init secret name that is a path",
    ),
    (
        "VirtualMachine",
        {"spec.memory": "0"},
        [("spec.memory", 'must be greater than zero, got "0"')],
        "zero memory",
    ),
    (
        "VirtualMachine",
        {"spec.memory": "2 GiB"},
        [("spec.memory", 'invalid quantity "2 GiB"')],
        "memory that is not a quantity",
    ),
    (
        "VirtualMachine",
        {"spec.disks": [{"name": "scratch", "bus": "usb"}]},
        [
            ("spec.disks[0]", "set image (an existing image), size (a new blank disk) or persistentVolumeClaim"),
            ("spec.disks[0].bus", 'unsupported value "usb": must be one of virtio, ide, scsi'),
        ],
        "a disk with neither image nor size and an unknown bus",
    ),
    (
        "VirtualMachine",
        {"spec.disks[0].size": "10Gx"},
        [("spec.disks[0].size", 'invalid quantity "10Gx"')],
        "a disk size that is not a quantity",
    ),
    (
        "VirtualMachine",
        {"spec.boot": {"initrd": "/boot/initrd", "disk": "root"}},
        [("spec.boot.initrd", "only allowed with kernel (direct kernel boot)")],
        "an initrd without a kernel",
    ),
    (
        "VirtualMachine",
        {"spec.boot": {"kernel": "/boot/vmlinuz", "cmdline": "console=ttyS0"}},
        [],
        "direct kernel boot with disks is valid",
    ),
    (
        "VirtualMachine",
        {"spec.guest": {"os": "windows", "build": "2022"}},
        [("spec.guest.build", 'invalid Windows build "2022": use 10.0.BUILD or 10.0.BUILD.REVISION')],
        "a windows guest build in the wrong format",
    ),
    (
        "VirtualMachine",
        {"spec.powerState": "Sleeping"},
        [("spec.powerState", 'unsupported value "Sleeping": must be one of Running, Paused, Stopped')],
        "an unknown power state",
    ),
    (
        "VirtualMachine",
        {"spec.vcpus": DELETE},
        [("spec.vcpus", "must be at least 1, got 0")],
        "a missing vcpu count",
    ),
    (
        "VirtualMachine",
        {"status.phase": "Exploded"},
        [
            (
                "status.phase",
                'unsupported value "Exploded": must be one of Pending, Scheduled, Starting, Running, Paused, Stopping, Stopped, Failed',
            )
        ],
        "an unknown VM phase",
    ),
    # deployments
    (
        "Deployment",
        {"spec.selector": DELETE},
        [("spec.selector", "required: matchLabels or matchExpressions selecting the template's labels")],
        "a deployment without a selector",
    ),
    (
        "Deployment",
        {"spec.template": {}},
        [("spec.template", "exactly one of pod or virtualMachine")],
        "a deployment without a template",
    ),
    (
        "Deployment",
        {"spec.template.pod.spec.restartPolicy": "Never"},
        [("spec.template.pod.spec.restartPolicy", 'must be Always in a Deployment, got "Never"')],
        "a deployment pod that never restarts",
    ),
    (
        "Deployment",
        {"spec.strategy": {"type": "Recreate", "rollingUpdate": {"maxSurge": "1"}}},
        [("spec.strategy.rollingUpdate", "only allowed when type is RollingUpdate")],
        "rolling update settings with Recreate",
    ),
    (
        "Deployment",
        {"spec.strategy": {"type": "BlueGreen"}},
        [("spec.strategy.type", 'unsupported value "BlueGreen": must be one of RollingUpdate, Recreate')],
        "an unknown strategy",
    ),
    (
        "Deployment",
        {"spec.strategy.rollingUpdate": {"maxSurge": "one", "maxUnavailable": "150%"}},
        [
            (
                "spec.strategy.rollingUpdate.maxSurge",
                'must be an integer or a percentage such as 25%, got "one"',
            ),
            ("spec.strategy.rollingUpdate.maxUnavailable", 'must be at most 100%, got "150%"'),
        ],
        "bad surge and unavailable values",
    ),
    (
        "Deployment",
        {"spec.strategy.rollingUpdate": {"maxUnavailable": "0"}},
        [],
        "zero unavailable with the default surge is valid",
    ),
    ("Deployment", {"spec.replicas": 0}, [], "zero replicas is valid"),
    (
        "Deployment",
        {"spec.revisionHistoryLimit": -1, "spec.progressDeadlineSeconds": 0},
        [
            ("spec.revisionHistoryLimit", "must not be negative, got -1"),
            ("spec.progressDeadlineSeconds", "must be at least 1, got 0"),
        ],
        "negative history and zero deadline",
    ),
    (
        "VmDeployment",
        {"spec.template.virtualMachine.metadata.labels.app": "other"},
        [("spec.template.virtualMachine.metadata.labels", 'must match spec.selector "app in (vm)"')],
        "a vm template whose labels miss the selector",
    ),
    (
        "VmDeployment",
        {"spec.template.virtualMachine.spec.vcpus": 0},
        [("spec.template.virtualMachine.spec.vcpus", "must be at least 1, got 0")],
        "a vm template reports paths under the template",
    ),
    (
        "VmDeployment",
        {"spec.selector.matchExpressions[0].values": []},
        [("spec.selector.matchExpressions[0].values", "at least one value is required for operator In")],
        "a selector expression without values",
    ),
]


@parametrize_cases(CASES)
def test_validate_reports_exactly_the_expected_errors(
    name: str, changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert reported(name, changes) == expected


def test_validate_status_reports_what_validate_reports_about_status_and_only_that() -> None:
    pod = make_pod()
    pod.pod.metadata.name = "Not A Name"  # a metadata problem validate_status does not look at
    pod.pod.status.phase = "Dozing"
    pod.pod.status.conditions.add(type="Ready", status="Maybe")
    status_errors = [str(e) for e in validate(pod) if e.path.startswith("status")]
    assert [str(e) for e in validate_status(kinds.by_name("Pod"), pod.pod)] == status_errors
    assert len(status_errors) == 2
    vm = make_vm()
    vm.virtual_machine.status.power_state = "Sleeping"
    assert [e.path for e in validate_status(kinds.by_name("VirtualMachine"), vm.virtual_machine)] == [
        "status.powerState"
    ]
    node = make_node()
    node.node.status.node_info.os = "plan9"
    assert validate_status(kinds.by_name("Node"), node.node) == validate(node), "Node is validated whole"
