"""Size bounds: each is reported with its field path and limit, and nothing else is validated then."""

from __future__ import annotations

import pytest

from atoll import kinds
from atoll.kinds import apply_defaults
from atoll.kinds.checks import validate, validate_status
from atoll.v1 import object_pb2
from atoll.validation.bounds import MAX_ITEMS, MESSAGE_CHARS, bounds_errors
from tests.support.objects import make_node, make_pod, make_vm
from tests.support.oversized import CASES, Oversized


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_bound_is_reported_with_its_path_and_limit(case: Oversized) -> None:
    obj = case.make("big")
    errors = [str(error) for error in validate(obj)]
    assert any(case.problem in error for error in errors), errors


@pytest.mark.parametrize(
    "obj",
    [make_pod(), make_vm(), make_node()],
    ids=["a pod", "a virtual machine", "a node"],
)
def test_ordinary_objects_are_within_every_bound(obj: object_pb2.Object) -> None:
    apply_defaults(obj)
    assert bounds_errors(kinds.unwrap(obj)) == []


def test_status_writes_are_bounded_too() -> None:
    pod = make_pod().pod
    for index in range(MAX_ITEMS + 1):
        pod.status.conditions.add(type=f"T{index}", status="True")
    assert [str(e) for e in validate_status(kinds.by_name("Pod"), pod)] == [
        "status.conditions: has 257 entries, more than the limit of 256"
    ]


def test_message_fields_hold_32_kib_and_other_strings_4_kib() -> None:
    pod = make_pod().pod
    pod.status.message = "m" * MESSAGE_CHARS
    pod.status.reason = "r" * 4096
    assert bounds_errors(pod) == []
    pod.status.message += "m"
    assert [e.path for e in bounds_errors(pod)] == ["status.message"]


def test_template_metadata_and_map_keys_are_bounded() -> None:
    deployment = object_pb2.Object()
    deployment.deployment.metadata.name = "web"
    template = deployment.deployment.spec.template.pod
    template.metadata.labels.update({f"k{index}": "v" for index in range(300)})
    template.spec.containers.add(name="main", image="busybox").resources.requests["k" * 5000] = "1"
    paths = [e.path for e in bounds_errors(deployment.deployment)]
    assert paths == ["spec.template.pod.metadata.labels", "spec.template.pod.spec.containers[0].resources.requests"]


def test_cloud_init_files_hold_64_kib_each() -> None:
    vm = make_vm().virtual_machine
    vm.spec.cloud_init.user_data = "u" * 64 * 1024
    vm.spec.cloud_init.meta_data = "m" * 5000
    assert bounds_errors(vm) == []
    vm.spec.cloud_init.user_data += "u"
    assert [e.path for e in bounds_errors(vm)] == ["spec.cloudInit.userData"]


def test_a_spec_seen_before_is_judged_by_its_bytes_not_by_its_last_verdict() -> None:
    """Specs are memoized on their bytes: the same spec again gets the same answer, and a spec
    that differs (one container too many) is walked, however often its neighbour was seen."""
    within, over = make_pod("a").pod, make_pod("b").pod
    for index in range(64):
        over.spec.containers.add(name=f"c{index}", image="busybox")
    for _ in range(2):
        assert bounds_errors(within) == []
        assert [e.path for e in bounds_errors(over)] == ["spec.containers"]


def test_a_spec_too_large_for_the_memo_is_still_bounded() -> None:
    pod = make_pod().pod
    for index in range(1025):  # one over the limit, ~30 KiB of spec
        pod.spec.containers[0].env.add(name=f"E{index}", value="v" * 20)
    assert [e.path for e in bounds_errors(pod)] == ["spec.containers[0].env"]
