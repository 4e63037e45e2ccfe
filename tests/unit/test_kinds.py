"""The kind registry: every kind the wire knows has one strategy, registered once, and the generic
code (CLI, validation, defaults, fields, API server registry) asks the strategy instead of
branching on kind names, so adding a kind is one new file in atoll/kinds/."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import pkgutil
from pathlib import Path

import pytest

from atoll import kinds
from atoll.kinds import pod
from atoll.kinds.kind import WIRE_KIND_NAMES
from atoll.v1 import object_pb2, pod_pb2

ROOT = Path(__file__).resolve().parents[2]
# Modules of atoll/kinds/ that are the machinery, not a kind.
_MACHINERY = {"kind", "columns", "checks", "readiness", "exposure"}
# Where kind names may be compared: each kind's own file, and code whose job is to name kinds.
# - atoll/kinds/<kind>.py: the strategies themselves.
# - controller/apiserver/auth/: authorization policy grants verbs on named kinds (built-in roles,
#   the node authorizer), as Kubernetes' bootstrap roles and node authorizer do.
_EXEMPT_DIRS = ("atoll/v1", "controller/apiserver/auth")
# Functions still branching for a reason owned elsewhere, with that reason.
_EXEMPT_FUNCTIONS = {
    # The one home of "PodScheduled on a Pod, Scheduled on a VM", shared with the scheduler, which
    # holds kind names rather than kinds.
    ("atoll/conditions.py", "scheduled_condition_type"),
}
_KIND_NAMES = frozenset(WIRE_KIND_NAMES)


def _kind_files() -> list[str]:
    return [m.name for m in pkgutil.iter_modules(kinds.__path__) if m.name not in _MACHINERY]


def test_every_kind_on_the_wire_has_exactly_one_strategy() -> None:
    members = object_pb2.Object.DESCRIPTOR.oneofs_by_name["kind"].fields
    assert [kind.field for kind in kinds.KINDS] == [member.name for member in members]
    for kind, member in zip(kinds.KINDS, members, strict=True):
        assert member.message_type is not None
        assert kind.name == member.message_type.name
        assert kind.message.DESCRIPTOR is member.message_type


@pytest.mark.parametrize("module_name", _kind_files())
def test_each_kind_file_defines_a_registered_kind(module_name: str) -> None:
    module = importlib.import_module(f"atoll.kinds.{module_name}")
    assert module.KIND in kinds.KINDS, f"atoll/kinds/{module_name}.py: add its KIND to the registry"


def test_a_kind_registered_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="already taken by kind Pod"):
        kinds.register(pod.KIND, pod.KIND)


def test_a_short_name_taken_by_another_kind_is_an_error() -> None:
    impostor = dataclasses.replace(pod.KIND, name="Podlet", plural="podlets", short=("po",), field="podlet")
    with pytest.raises(ValueError, match="'po' is already taken by kind Pod"):
        kinds.register(pod.KIND, impostor)


@pytest.mark.parametrize("kind", kinds.KINDS, ids=lambda kind: kind.name)
def test_every_kind_prints_a_name_column_and_has_status_rules(kind: kinds.Kind) -> None:
    assert any(column.header == "NAME" for column in kind.columns)
    assert kind.has_status == ("status" in kind.message.DESCRIPTOR.fields_by_name)


def test_status_write_changes_only_the_status() -> None:
    stored = pod_pb2.Pod()
    stored.metadata.name = "web"
    stored.spec.containers.add(name="main", image="busybox")
    desired = pod_pb2.Pod()
    desired.spec.node_name = "sneaky"
    desired.status.phase = "Running"
    written = pod.KIND.status_write(stored, desired)
    assert written.status.phase == "Running"
    assert written.spec == stored.spec
    assert written.metadata == stored.metadata


def test_only_a_spec_change_bumps_the_generation() -> None:
    old = pod_pb2.Pod()
    old.spec.containers.add(name="main", image="busybox")
    relabelled = pod_pb2.Pod()
    relabelled.CopyFrom(old)
    relabelled.metadata.labels["app"] = "web"
    assert not pod.KIND.bumps_generation(old, relabelled)
    reimaged = pod_pb2.Pod()
    reimaged.CopyFrom(old)
    reimaged.spec.containers[0].image = "nginx"
    assert pod.KIND.bumps_generation(old, reimaged)
    assert not kinds.by_name("Event").bumps_generation(object_pb2.Object().event, object_pb2.Object().event)


# --- no kind-name branches outside the strategies -------------------------------------------------


def _names_a_kind(node: ast.expr) -> bool:
    """A kind name as a string, or a tuple/list/set of them."""
    if isinstance(node, ast.Constant):
        return node.value in _KIND_NAMES
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_names_a_kind(element) for element in node.elts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("frozenset", "set"):
        return any(_names_a_kind(argument) for argument in node.args)
    return False


def kind_branches(source: str) -> list[tuple[int, str]]:
    """(line, enclosing function) of every comparison with a kind name and every isinstance check
    against a kind's message class in ``source``."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        if isinstance(node, ast.Compare) and any(_names_a_kind(side) for side in (node.left, *node.comparators)):
            found.append((node.lineno, function))
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "isinstance"
            and len(node.args) == 2
            and isinstance(node.args[1], ast.Attribute)
            and node.args[1].attr in _KIND_NAMES
        ):
            found.append((node.lineno, function))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(source), "<module>")
    return found


@pytest.mark.parametrize(
    "source",
    [
        'if kind.name == "Pod":\n    pass',
        'allowed = kind.name in ("Pod", "VirtualMachine")',
        'x = name not in frozenset({"Event"})',
        "ok = isinstance(message, pod_pb2.Pod)",
    ],
    ids=["an equality", "a tuple membership", "a frozenset membership", "an isinstance on a kind message"],
)
def test_the_branch_detector_sees(source: str) -> None:
    assert kind_branches(source)


def _generic_modules() -> list[Path]:
    kind_files = {ROOT / "atoll" / "kinds" / f"{name}.py" for name in _kind_files()}
    paths = [*sorted((ROOT / "atoll").rglob("*.py")), *sorted((ROOT / "controller" / "apiserver").rglob("*.py"))]
    return [
        path
        for path in paths
        if path not in kind_files and not str(path.relative_to(ROOT)).startswith(_EXEMPT_DIRS)
    ]


def test_no_generic_module_branches_on_a_kind_name() -> None:
    branches = []
    for path in _generic_modules():
        relative = str(path.relative_to(ROOT))
        for line, function in kind_branches(path.read_text()):
            if (relative, function) not in _EXEMPT_FUNCTIONS:
                branches.append(f"{relative}:{line} in {function}")
    assert not branches, "ask the kind's strategy (atoll/kinds/) instead of naming kinds: " + ", ".join(branches)
