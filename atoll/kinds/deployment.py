"""Deployment: N replicas of a Pod or VirtualMachine template, rolled out by the deployment controller."""

from __future__ import annotations

from typing import Any

from atoll.kinds import pod, virtualmachine
from atoll.kinds.columns import AGE_COLUMN, NAME_COLUMN, NONE, Column, format_label_selector
from atoll.kinds.exposure import Exposure, container_ports
from atoll.kinds.kind import KindStrategy, memoized_spec_rule
from atoll.kinds.pod import default_pod_spec
from atoll.kinds.readiness import Readiness, rollout_progress
from atoll.kinds.virtualmachine import default_vm_spec
from atoll.pod_references import host_paths
from atoll.v1 import deployment_pb2, pod_pb2
from atoll.validation.base import FieldError
from atoll.validation.deployment import validate_deployment_spec, validate_deployment_status

REPLICAS = 1
MAX_SURGE = "25%"
MAX_UNAVAILABLE = "25%"
REVISION_HISTORY_LIMIT = 10
PROGRESS_DEADLINE_SECONDS = 600

_check_spec = memoized_spec_rule(deployment_pb2.DeploymentSpec, validate_deployment_spec)


def default_deployment_spec(spec: deployment_pb2.DeploymentSpec) -> None:
    """One replica, RollingUpdate with 25% surge and unavailable, ten revisions kept, a 600 s
    progress deadline (Kubernetes' values), and the template's own kind's defaults."""
    if not spec.HasField("replicas"):
        spec.replicas = REPLICAS
    if not spec.strategy.type:
        spec.strategy.type = "RollingUpdate"
    if spec.strategy.type == "RollingUpdate":
        rolling = spec.strategy.rolling_update
        if not rolling.max_surge:
            rolling.max_surge = MAX_SURGE
        if not rolling.max_unavailable:
            rolling.max_unavailable = MAX_UNAVAILABLE
    if not spec.HasField("revision_history_limit"):
        spec.revision_history_limit = REVISION_HISTORY_LIMIT
    if not spec.HasField("progress_deadline_seconds"):
        spec.progress_deadline_seconds = PROGRESS_DEADLINE_SECONDS
    template = spec.template
    if template.HasField("pod"):
        default_pod_spec(template.pod.spec)
    elif template.HasField("virtual_machine"):
        default_vm_spec(template.virtual_machine.spec)


def _desired_replicas(deployment: Any) -> int:
    return int(deployment.spec.replicas) if deployment.spec.HasField("replicas") else 1


# The kinds a template can stamp out, by template oneof member (named as in the Object oneof).
_TEMPLATE_KINDS = {kind.field: kind.name for kind in (pod.KIND, virtualmachine.KIND)}


def template_kind(deployment: deployment_pb2.Deployment) -> str:
    """The kind the template stamps out, ``<none>`` without a template."""
    return _TEMPLATE_KINDS.get(deployment.spec.template.WhichOneof("kind") or "", NONE)


class DeploymentKind(KindStrategy[deployment_pb2.Deployment]):
    def default(self, obj: deployment_pb2.Deployment) -> None:
        default_deployment_spec(obj.spec)

    def validate(self, obj: deployment_pb2.Deployment, errors: list[FieldError]) -> None:
        _check_spec(obj.spec, errors)

    def validate_status(self, obj: deployment_pb2.Deployment, errors: list[FieldError]) -> None:
        validate_deployment_status(obj.status, "status", errors)

    def uses_host_path(self, obj: deployment_pb2.Deployment) -> bool:
        return obj.spec.template.HasField("pod") and bool(host_paths(obj.spec.template.pod.spec))

    def validate_update(
        self, old: deployment_pb2.Deployment, new: deployment_pb2.Deployment, errors: list[FieldError]
    ) -> None:
        """The selector never changes: it is how the Deployment finds its replicas."""
        if old.spec.selector != new.spec.selector:
            errors.append(FieldError("spec.selector", "may not change (create a new Deployment instead)"))

    def pod_spec(self, obj: deployment_pb2.Deployment) -> pod_pb2.PodSpec | None:
        """The pod template's spec (None for a VM template)."""
        template = obj.spec.template
        return template.pod.spec if template.HasField("pod") else None

    def exposure(self, obj: deployment_pb2.Deployment) -> Exposure:
        """The selector's matchLabels (a Service cannot select by expressions: then a problem); the
        pod template's container ports (a VM template declares none)."""
        selector = obj.spec.selector
        problem = ""
        if selector.match_expressions:
            problem = "its selector has matchExpressions, which a Service cannot select by"
        spec = self.pod_spec(obj)
        ports = container_ports(spec.containers) if spec is not None else ()
        return Exposure(dict(selector.match_labels), ports, problem)

    def readiness(self, obj: deployment_pb2.Deployment) -> Readiness:
        text, done, failed = rollout_progress(obj)
        return Readiness(done, failed, text)


KIND = DeploymentKind(
    name="Deployment",
    plural="deployments",
    short=("deploy",),
    field="deployment",
    message=deployment_pb2.Deployment,
    namespaced=True,
    columns=(
        NAME_COLUMN,
        Column("READY", lambda d, now: f"{d.status.ready_replicas}/{_desired_replicas(d)}"),
        Column("UP-TO-DATE", lambda d, now: str(d.status.updated_replicas)),
        Column("AVAILABLE", lambda d, now: str(d.status.available_replicas)),
        AGE_COLUMN,
        Column("TEMPLATE", lambda d, now: template_kind(d), wide=True),
        Column("SELECTOR", lambda d, now: format_label_selector(d.spec.selector), wide=True),
    ),
)
