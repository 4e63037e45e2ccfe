"""Validation of Role and RoleBinding, and the vocabulary they share with the API server's authorizer."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from atoll.manifest_codec import describe
from atoll.sessions import CAPABILITIES
from atoll.v1 import rbac_pb2
from atoll.validation.base import FieldError, check_name, check_one_of

# What a rule can grant. Apply needs both create and update; updatestatus is UpdateStatus;
# hostpath is needed besides create/update to write a Pod or Deployment with hostPath volumes;
# exec, attach, console and port-forward open sessions into a workload (atoll/sessions.py).
VERBS = ("get", "list", "watch", "create", "update", "updatestatus", "delete", "bind", "hostpath", *CAPABILITIES)
READ_VERBS = ("get", "list", "watch")
WILDCARD = "*"
# Roles the API server defines itself; a Role object may not take one of these names.
BUILTIN_ROLES = ("admin", "editor", "viewer", "node", "scheduler", "controller", "fleet")
SUBJECT_KINDS = ("User", "Group")


def validate_role(role: rbac_pb2.Role, known_kinds: Sequence[str], errors: list[FieldError]) -> None:
    """Not a built-in role's name; rules of known verbs and kinds (``known_kinds`` or ``*``)."""
    if role.metadata.name in BUILTIN_ROLES:
        errors.append(
            FieldError("metadata.name", f"{describe(role.metadata.name)} is a built-in role; choose another name")
        )
    for index, rule in enumerate(role.spec.rules):
        path = f"spec.rules[{index}]"
        _check_words(rule.verbs, (*VERBS, WILDCARD), f"{path}.verbs", errors)
        _check_words(rule.kinds, (*known_kinds, WILDCARD), f"{path}.kinds", errors)
        _check_namespaces(rule.namespaces, f"{path}.namespaces", errors)


def validate_role_binding(binding: rbac_pb2.RoleBinding, errors: list[FieldError]) -> None:
    check_name(binding.spec.role_ref, "spec.roleRef", errors, label=False, required=True)
    if not binding.spec.subjects:
        errors.append(FieldError("spec.subjects", "required: at least one User or Group"))
    for index, subject in enumerate(binding.spec.subjects):
        path = f"spec.subjects[{index}]"
        check_one_of(subject.kind, SUBJECT_KINDS, f"{path}.kind", errors, required=True)
        if not subject.name:
            errors.append(FieldError(f"{path}.name", "required"))
    _check_namespaces(binding.spec.namespaces, "spec.namespaces", errors)


def _check_words(values: Iterable[str], allowed: tuple[str, ...], path: str, errors: list[FieldError]) -> None:
    words = list(values)
    if not words:
        errors.append(FieldError(path, f"required: one or more of {', '.join(allowed)}"))
    for index, word in enumerate(words):
        check_one_of(word, allowed, f"{path}[{index}]", errors, required=True)


def _check_namespaces(namespaces: Iterable[str], path: str, errors: list[FieldError]) -> None:
    for index, namespace in enumerate(namespaces):
        check_name(namespace, f"{path}[{index}]", errors, label=True, required=True)
