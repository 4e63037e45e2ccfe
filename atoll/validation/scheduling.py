"""Validation of placement constraints shared by Pods and VirtualMachines, plus taints and selectors."""

from __future__ import annotations

import re

from atoll.labels import label_key_problem, label_value_problem
from atoll.manifest_codec import describe
from atoll.v1 import scheduling_pb2
from atoll.validation.base import FieldError, check_at_least, check_name, check_one_of
from atoll.validation.meta import validate_labels

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
TOLERATION_OPERATORS = ("Equal", "Exists")
LABEL_SELECTOR_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")
NODE_SELECTOR_OPERATORS = (*LABEL_SELECTOR_OPERATORS, "Gt", "Lt")
WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")
_INTEGER = re.compile(r"^[+-]?[0-9]+$")


def validate_scheduling(scheduling: scheduling_pb2.Scheduling, path: str, errors: list[FieldError]) -> None:
    validate_labels(scheduling.node_selector, f"{path}.nodeSelector", errors)
    affinity = scheduling.affinity
    node_affinity = affinity.node_affinity
    affinity_path = f"{path}.affinity.nodeAffinity"
    if node_affinity.HasField("required_during_scheduling_ignored_during_execution"):
        validate_node_selector(
            node_affinity.required_during_scheduling_ignored_during_execution,
            f"{affinity_path}.requiredDuringSchedulingIgnoredDuringExecution",
            errors,
        )
    for index, preferred in enumerate(node_affinity.preferred_during_scheduling_ignored_during_execution):
        preferred_path = f"{affinity_path}.preferredDuringSchedulingIgnoredDuringExecution[{index}]"
        if not 1 <= preferred.weight <= 100:
            errors.append(
                FieldError(f"{preferred_path}.weight", f"must be between 1 and 100, got {preferred.weight}")
            )
        _node_selector_term(preferred.preference, f"{preferred_path}.preference", errors)
    anti_path = f"{path}.affinity.workloadAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution"
    anti_terms = affinity.workload_anti_affinity.required_during_scheduling_ignored_during_execution
    for index, anti_term in enumerate(anti_terms):
        _topology_key(anti_term.topology_key, f"{anti_path}[{index}].topologyKey", errors)
        validate_label_selector(anti_term.label_selector, f"{anti_path}[{index}].labelSelector", errors)
    for index, toleration in enumerate(scheduling.tolerations):
        _toleration(toleration, f"{path}.tolerations[{index}]", errors)
    for index, spread in enumerate(scheduling.topology_spread_constraints):
        spread_path = f"{path}.topologySpreadConstraints[{index}]"
        check_at_least(spread.max_skew, 1, f"{spread_path}.maxSkew", errors)
        _topology_key(spread.topology_key, f"{spread_path}.topologyKey", errors)
        check_one_of(
            spread.when_unsatisfiable, WHEN_UNSATISFIABLE, f"{spread_path}.whenUnsatisfiable", errors
        )
        validate_label_selector(spread.label_selector, f"{spread_path}.labelSelector", errors)
    check_name(
        scheduling.priority_class_name, f"{path}.priorityClassName", errors, label=False, required=False
    )


def validate_node_selector(selector: scheduling_pb2.NodeSelector, path: str, errors: list[FieldError]) -> None:
    """A required node selector: at least one term, each term's requirements valid."""
    if not selector.node_selector_terms:
        errors.append(FieldError(f"{path}.nodeSelectorTerms", "at least one term is required"))
    for index, term in enumerate(selector.node_selector_terms):
        _node_selector_term(term, f"{path}.nodeSelectorTerms[{index}]", errors)


def validate_label_selector(
    selector: scheduling_pb2.LabelSelector, path: str, errors: list[FieldError]
) -> None:
    """matchLabels keys/values and matchExpressions operators/values, as Kubernetes checks them."""
    validate_labels(selector.match_labels, f"{path}.matchLabels", errors)
    for index, expression in enumerate(selector.match_expressions):
        _requirement(expression, LABEL_SELECTOR_OPERATORS, f"{path}.matchExpressions[{index}]", errors)


def validate_taint(taint: scheduling_pb2.Taint, path: str, errors: list[FieldError]) -> None:
    _label_key(taint.key, f"{path}.key", errors, required=True)
    problem = label_value_problem(taint.value)
    if problem:
        errors.append(FieldError(f"{path}.value", f"invalid taint value {describe(taint.value)}: {problem}"))
    check_one_of(taint.effect, TAINT_EFFECTS, f"{path}.effect", errors, required=True)


def _node_selector_term(term: scheduling_pb2.NodeSelectorTerm, path: str, errors: list[FieldError]) -> None:
    for index, expression in enumerate(term.match_expressions):
        _requirement(expression, NODE_SELECTOR_OPERATORS, f"{path}.matchExpressions[{index}]", errors)


def _requirement(
    expression: scheduling_pb2.NodeSelectorRequirement | scheduling_pb2.LabelSelectorRequirement,
    operators: tuple[str, ...],
    path: str,
    errors: list[FieldError],
) -> None:
    _label_key(expression.key, f"{path}.key", errors, required=True)
    check_one_of(expression.operator, operators, f"{path}.operator", errors, required=True)
    values = list(expression.values)
    operator = expression.operator
    if operator in ("In", "NotIn") and not values:
        errors.append(FieldError(f"{path}.values", f"at least one value is required for operator {operator}"))
    elif operator in ("Exists", "DoesNotExist") and values:
        errors.append(FieldError(f"{path}.values", f"must be empty for operator {operator}"))
    elif operator in ("Gt", "Lt"):
        if len(values) != 1:
            errors.append(
                FieldError(f"{path}.values", f"exactly one integer value is required for operator {operator}")
            )
        elif not _is_integer(values[0]):
            errors.append(
                FieldError(
                    f"{path}.values[0]",
                    f"must be an integer for operator {operator}, got {describe(values[0])}",
                )
            )
    if operator in ("In", "NotIn"):
        for index, value in enumerate(values):
            problem = label_value_problem(value)
            if problem:
                errors.append(
                    FieldError(f"{path}.values[{index}]", f"invalid label value {describe(value)}: {problem}")
                )


def _toleration(toleration: scheduling_pb2.Toleration, path: str, errors: list[FieldError]) -> None:
    check_one_of(toleration.operator, TOLERATION_OPERATORS, f"{path}.operator", errors)
    exists = toleration.operator == "Exists"
    if toleration.key:
        _label_key(toleration.key, f"{path}.key", errors, required=True)
    elif not exists:
        errors.append(
            FieldError(
                f"{path}.key",
                "required unless operator is Exists (an empty key with Exists tolerates every taint)",
            )
        )
    if exists and toleration.value:
        errors.append(FieldError(f"{path}.value", "must be empty when operator is Exists"))
    check_one_of(toleration.effect, TAINT_EFFECTS, f"{path}.effect", errors)
    if toleration.HasField("toleration_seconds") and toleration.effect != "NoExecute":
        errors.append(FieldError(f"{path}.tolerationSeconds", "only allowed with effect NoExecute"))


def _topology_key(key: str, path: str, errors: list[FieldError]) -> None:
    _label_key(key, path, errors, required=True)


def _label_key(key: str, path: str, errors: list[FieldError], *, required: bool) -> None:
    if not key:
        if required:
            errors.append(FieldError(path, "required"))
        return
    problem = label_key_problem(key)
    if problem:
        errors.append(FieldError(path, f"invalid label key {describe(key)}: {problem}"))


def _is_integer(text: str) -> bool:
    return _INTEGER.match(text) is not None
