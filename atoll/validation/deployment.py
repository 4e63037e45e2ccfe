"""Validation of Deployment specs: selector, template (Pod or VirtualMachine) and rollout strategy."""

from __future__ import annotations

import re

from atoll.labels import SelectorError, selector_from_proto
from atoll.manifest_codec import describe
from atoll.v1 import deployment_pb2, meta_pb2
from atoll.validation.base import FieldError, check_at_least, check_one_of
from atoll.validation.meta import validate_conditions, validate_template_metadata
from atoll.validation.pod import validate_pod_spec
from atoll.validation.scheduling import validate_label_selector
from atoll.validation.virtualmachine import validate_vm_spec

STRATEGY_TYPES = ("RollingUpdate", "Recreate")
_INT_OR_PERCENT = re.compile(r"^(?P<number>[0-9]+)(?P<percent>%?)$")


def validate_deployment_spec(
    spec: deployment_pb2.DeploymentSpec, path: str, errors: list[FieldError]
) -> None:
    if spec.HasField("replicas"):
        check_at_least(spec.replicas, 0, f"{path}.replicas", errors)
    if spec.HasField("revision_history_limit"):
        check_at_least(spec.revision_history_limit, 0, f"{path}.revisionHistoryLimit", errors)
    if spec.HasField("progress_deadline_seconds"):
        check_at_least(spec.progress_deadline_seconds, 1, f"{path}.progressDeadlineSeconds", errors)
    check_at_least(spec.min_ready_seconds, 0, f"{path}.minReadySeconds", errors)
    if spec.HasField("progress_deadline_seconds") and 0 < spec.progress_deadline_seconds <= spec.min_ready_seconds:
        errors.append(FieldError(f"{path}.progressDeadlineSeconds",
                                 f"must be greater than minReadySeconds ({spec.min_ready_seconds})"))
    template_metadata = _validate_template(spec.template, f"{path}.template", errors)
    _validate_selector(spec, template_metadata, path, errors)
    _validate_strategy(spec.strategy, f"{path}.strategy", errors)


def validate_deployment_status(
    status: deployment_pb2.DeploymentStatus, path: str, errors: list[FieldError]
) -> None:
    validate_conditions(status.conditions, f"{path}.conditions", errors)


def _validate_template(
    template: deployment_pb2.WorkloadTemplate, path: str, errors: list[FieldError]
) -> tuple[str, meta_pb2.ObjectMeta] | None:
    """Validate whichever template is set; returns (its metadata path, its metadata)."""
    which = template.WhichOneof("kind")
    if which == "pod":
        validate_template_metadata(template.pod.metadata, f"{path}.pod.metadata", errors)
        validate_pod_spec(template.pod.spec, f"{path}.pod.spec", errors)
        policy = template.pod.spec.restart_policy
        if policy and policy != "Always":
            errors.append(
                FieldError(
                    f"{path}.pod.spec.restartPolicy",
                    f"must be Always in a Deployment, got {describe(policy)}",
                )
            )
        return f"{path}.pod.metadata", template.pod.metadata
    if which == "virtual_machine":
        validate_template_metadata(
            template.virtual_machine.metadata, f"{path}.virtualMachine.metadata", errors
        )
        validate_vm_spec(template.virtual_machine.spec, f"{path}.virtualMachine.spec", errors)
        return f"{path}.virtualMachine.metadata", template.virtual_machine.metadata
    errors.append(FieldError(path, "exactly one of pod or virtualMachine"))
    return None


def _validate_selector(
    spec: deployment_pb2.DeploymentSpec,
    template_metadata: tuple[str, meta_pb2.ObjectMeta] | None,
    path: str,
    errors: list[FieldError],
) -> None:
    selector = spec.selector
    if not selector.match_labels and not selector.match_expressions:
        errors.append(
            FieldError(
                f"{path}.selector",
                "required: matchLabels or matchExpressions selecting the template's labels",
            )
        )
        return
    before = len(errors)
    validate_label_selector(selector, f"{path}.selector", errors)
    if len(errors) > before or template_metadata is None:
        return
    try:
        parsed = selector_from_proto(selector)
    except SelectorError as error:  # validate_label_selector accepts only what parses; kept for safety
        errors.append(FieldError(f"{path}.selector", str(error)))
        return
    metadata_path, metadata = template_metadata
    if not parsed.matches(metadata.labels):
        errors.append(FieldError(f"{metadata_path}.labels", f'must match {path}.selector "{parsed}"'))


def _validate_strategy(
    strategy: deployment_pb2.DeploymentStrategy, path: str, errors: list[FieldError]
) -> None:
    check_one_of(strategy.type, STRATEGY_TYPES, f"{path}.type", errors)
    if not strategy.HasField("rolling_update"):
        return
    if strategy.type == "Recreate":
        errors.append(FieldError(f"{path}.rollingUpdate", "only allowed when type is RollingUpdate"))
        return
    rolling = strategy.rolling_update
    surge = _int_or_percent(rolling.max_surge, f"{path}.rollingUpdate.maxSurge", errors)
    unavailable = _int_or_percent(rolling.max_unavailable, f"{path}.rollingUpdate.maxUnavailable", errors)
    if surge == 0 and unavailable == 0:
        errors.append(
            FieldError(
                f"{path}.rollingUpdate.maxUnavailable",
                "must not be 0 when maxSurge is 0 (the rollout could never progress)",
            )
        )


def _int_or_percent(value: str, path: str, errors: list[FieldError]) -> int | None:
    """The number (percent or count) or None when empty (the default, 25%) or invalid."""
    if not value:
        return None
    match = _INT_OR_PERCENT.match(value)
    if match is None:
        errors.append(
            FieldError(path, f"must be an integer or a percentage such as 25%, got {describe(value)}")
        )
        return None
    number = int(match["number"])
    if match["percent"] and number > 100:
        errors.append(FieldError(path, f"must be at most 100%, got {describe(value)}"))
        return None
    return number
