"""validate() for Namespaces, Nodes, Events and Leases.

Rows start from the valid objects of tests/unit/test_validation.py and change one thing.
"""

from __future__ import annotations

from typing import Any

from atoll.kinds.kind import WIRE_KIND_NAMES
from tests.unit.test_validation import DELETE, Case, parametrize_cases, reported

CASES: list[Case] = [
    # cluster and records
    (
        "Namespace",
        {"status.phase": "Gone"},
        [("status.phase", 'unsupported value "Gone": must be one of Active, Terminating')],
        "an unknown namespace phase",
    ),
    (
        "Node",
        {"status.allocatable.memory": "-1"},
        [("status.allocatable.memory", 'must not be negative, got "-1"')],
        "negative allocatable memory",
    ),
    (
        "Node",
        {"status.windowsIsolation": ["process", "container"], "status.hypervisor.guestOs": ["beos"]},
        [
            ("status.hypervisor.guestOs[0]", 'unsupported value "beos": must be one of linux, windows'),
            (
                "status.windowsIsolation[1]",
                'unsupported value "container": must be one of process, hyperv, hostprocess',
            ),
        ],
        "unknown isolation modes and guest systems",
    ),
    (
        "Node",
        {"status.hypervisor.perVmOverheadMemory": "lots"},
        [("status.hypervisor.perVmOverheadMemory", 'invalid quantity "lots"')],
        "a hypervisor overhead that is not a quantity",
    ),
    ("Node", {"status.hypervisor.type": ""}, [], "a node without a hypervisor type is valid"),
    (
        "Node",
        {"status.conditions": [{"type": "Ready", "status": "Yes"}]},
        [("status.conditions[0].status", 'unsupported value "Yes": must be one of True, False, Unknown')],
        "a condition status that is not True False or Unknown",
    ),
    (
        "Node",
        {"spec.taints": [{"effect": "NoSchedule"}]},
        [("spec.taints[0].key", "required")],
        "a taint without a key",
    ),
    (
        "Event",
        {"involvedObject.kind": "Pods"},
        [
            (
                "involvedObject.kind",
                'unknown kind "Pods"; known kinds: ' + ", ".join(WIRE_KIND_NAMES),
            )
        ],
        "an event about an unknown kind",
    ),
    ("Event", {"type": DELETE}, [("type", "required: one of Normal, Warning")], "an event without a type"),
    (
        "Lease",
        {"spec.leaseTransitions": -1},
        [("spec.leaseTransitions", "must not be negative, got -1")],
        "negative lease transitions",
    ),
]


@parametrize_cases(CASES)
def test_validate_reports_exactly_the_expected_errors(
    name: str, changes: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    assert reported(name, changes) == expected
