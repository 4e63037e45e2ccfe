"""Validation of Pod specs (standalone and in Deployment templates) and Pod status."""

from __future__ import annotations

import ipaddress

from atoll.manifest_codec import describe
from atoll.named_ports import port_name_problem
from atoll.probes import container_probes
from atoll.v1 import pod_pb2
from atoll.validation.base import (
    FieldError,
    check_at_least,
    check_name,
    check_one_of,
    check_port,
    check_windows_build,
)
from atoll.validation.meta import validate_conditions
from atoll.validation.probe import validate_probe
from atoll.validation.resources import validate_requirements
from atoll.validation.scheduling import validate_scheduling
from atoll.validation.volumes import validate_env_sources, validate_mounts, validate_volumes

RESTART_POLICIES = ("Always", "OnFailure", "Never")
OPERATING_SYSTEMS = ("linux", "windows")
WINDOWS_ISOLATION = ("process", "hyperv", "hostprocess")
PROTOCOLS = ("TCP", "UDP", "SCTP")
POD_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
IMAGE_PULL_POLICIES = ("Always", "IfNotPresent", "Never")


def validate_pod_spec(spec: pod_pb2.PodSpec, path: str, errors: list[FieldError]) -> None:
    """Containers, restart policy, OS and Windows isolation rules, scheduling; paths under ``path``."""
    windows = spec.os == "windows"
    check_one_of(spec.restart_policy, RESTART_POLICIES, f"{path}.restartPolicy", errors)
    check_one_of(spec.os, OPERATING_SYSTEMS, f"{path}.os", errors)
    hostprocess = windows and spec.windows.isolation == "hostprocess"
    if spec.HasField("windows"):
        if windows:
            check_one_of(spec.windows.isolation, WINDOWS_ISOLATION, f"{path}.windows.isolation", errors)
            check_windows_build(spec.windows.image_build, f"{path}.windows.imageBuild", errors)
        elif spec.os in ("", "linux"):
            errors.append(FieldError(f"{path}.windows", "only allowed when os is windows"))
    if hostprocess and not spec.host_network:
        errors.append(
            FieldError(
                f"{path}.hostNetwork", "must be true for hostprocess isolation (it runs in the host network)"
            )
        )
    if not spec.containers:
        errors.append(FieldError(f"{path}.containers", "at least one container is required"))
    volumes = validate_volumes(list(spec.volumes), f"{path}.volumes", errors)
    for index, secret in enumerate(spec.image_pull_secrets):
        check_name(secret.name, f"{path}.imagePullSecrets[{index}].name", errors, label=False, required=True)
    seen: set[str] = set()
    host_ports: set[tuple[int, str, str]] = set()
    for index, container in enumerate(spec.containers):
        container_path = f"{path}.containers[{index}]"
        _validate_container(container, container_path, errors, windows=windows)
        _validate_host_ports(spec, container, container_path, host_ports, errors)
        validate_mounts(container, volumes, container_path, errors)
        validate_env_sources(container, container_path, errors)
        if container.name in seen:
            errors.append(FieldError(f"{container_path}.name", f"duplicate name {describe(container.name)}"))
        seen.add(container.name)
        if hostprocess and not container.host_process:
            errors.append(
                FieldError(
                    f"{container_path}.hostProcess",
                    "must be true: every container of a hostprocess pod runs on the host",
                )
            )
        elif container.host_process and not hostprocess:
            errors.append(
                FieldError(
                    f"{container_path}.hostProcess",
                    "only allowed when windows.isolation is hostprocess (os: windows)",
                )
            )
    if spec.HasField("termination_grace_period_seconds"):
        check_at_least(
            spec.termination_grace_period_seconds, 0, f"{path}.terminationGracePeriodSeconds", errors
        )
    check_name(spec.node_name, f"{path}.nodeName", errors, label=False, required=False)
    check_name(spec.runtime_class_name, f"{path}.runtimeClassName", errors, label=False, required=False)
    check_name(spec.hostname, f"{path}.hostname", errors, label=True, required=False)
    validate_scheduling(spec.scheduling, f"{path}.scheduling", errors)


def _validate_host_ports(
    spec: pod_pb2.PodSpec,
    container: pod_pb2.Container,
    path: str,
    taken: set[tuple[int, str, str]],
    errors: list[FieldError],
) -> None:
    """hostIP is an address; with hostNetwork a hostPort equals its containerPort; no two ports of
    the pod claim one hostPort/protocol/hostIP (``taken`` collects them across containers)."""
    for index, port in enumerate(container.ports):
        port_path = f"{path}.ports[{index}]"
        if port.host_ip:
            try:
                ipaddress.ip_address(port.host_ip)
            except ValueError:
                errors.append(FieldError(f"{port_path}.hostIP", f"not an IP address: {describe(port.host_ip)}"))
        if not port.host_port:
            if port.host_ip:
                errors.append(FieldError(f"{port_path}.hostIP", "only allowed with a hostPort"))
            continue
        if spec.host_network and port.host_port != port.container_port:
            errors.append(FieldError(f"{port_path}.hostPort",
                                     f"must equal containerPort ({port.container_port}) with hostNetwork"))
        claim = (port.host_port, port.protocol or "TCP", port.host_ip)
        if claim in taken:
            errors.append(FieldError(f"{port_path}.hostPort",
                                     f"duplicate hostPort {port.host_port}/{claim[1]} in this pod"))
        taken.add(claim)


def validate_pod_status(status: pod_pb2.PodStatus, path: str, errors: list[FieldError]) -> None:
    check_one_of(status.phase, POD_PHASES, f"{path}.phase", errors)
    validate_conditions(status.conditions, f"{path}.conditions", errors)


def _validate_container(
    container: pod_pb2.Container, path: str, errors: list[FieldError], *, windows: bool
) -> None:
    check_name(container.name, f"{path}.name", errors, label=True, required=True)
    if not container.image:
        errors.append(FieldError(f"{path}.image", "required"))
    check_one_of(container.image_pull_policy, IMAGE_PULL_POLICIES, f"{path}.imagePullPolicy", errors)
    port_names: set[str] = set()
    for index, port in enumerate(container.ports):
        port_path = f"{path}.ports[{index}]"
        check_port(port.container_port, f"{port_path}.containerPort", errors, required=True)
        check_port(port.host_port, f"{port_path}.hostPort", errors, required=False)
        check_one_of(port.protocol, PROTOCOLS, f"{port_path}.protocol", errors)
        if port.name:
            problem = port_name_problem(port.name)
            if problem:
                errors.append(FieldError(f"{port_path}.name", f"invalid port name {describe(port.name)}: {problem}"))
            elif port.name in port_names:
                errors.append(FieldError(f"{port_path}.name", f"duplicate port name {describe(port.name)}"))
            port_names.add(port.name)
    for kind, probe in container_probes(container):
        validate_probe(probe, kind, f"{path}.{kind}Probe", errors, container_ports=container.ports)
    for index, variable in enumerate(container.env):
        if not variable.name:
            errors.append(FieldError(f"{path}.env[{index}].name", "required"))
        elif "=" in variable.name:
            errors.append(
                FieldError(
                    f"{path}.env[{index}].name", f"must not contain '=', got {describe(variable.name)}"
                )
            )
    validate_requirements(container.resources, f"{path}.resources", errors, windows=windows)
