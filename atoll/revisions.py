"""Deployment revision history, kept in the Deployment's own annotations; the Deployment
controller writes it and ``atoll rollout history|undo`` reads it.

atoll has no ReplicaSet or ControllerRevision kind, so a Deployment records its templates itself:

- ``deployment.atoll.dev/revision``: the number of the current revision (as in Kubernetes).
- ``history.deployment.atoll.dev/N``: revision N as ``HASH:BASE64`` (the serialized
  WorkloadTemplate), for the current revision and up to ``revision_history_limit`` older ones.

Each replica carries the ``atoll.dev/template-hash`` label: the hash of the template it was made
from (Kubernetes' pod-template-hash). A template that equals an older revision (a rollback) moves
that revision to the next number, as Kubernetes renumbers a reused ReplicaSet.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

from atoll.annotations import HISTORY_PREFIX, REVISION_ANNOTATION
from atoll.v1 import deployment_pb2


@dataclass(frozen=True)
class Revision:
    number: int
    template_hash: str
    template: deployment_pb2.WorkloadTemplate


def template_hash(template: deployment_pb2.WorkloadTemplate) -> str:
    """Ten hex digits identifying ``template`` (deterministic serialization; equal templates hash equal)."""
    return hashlib.sha256(template.SerializeToString(deterministic=True)).hexdigest()[:10]


def history(deployment: deployment_pb2.Deployment) -> list[Revision]:
    """Every recorded revision, oldest first; malformed entries are skipped."""
    found = []
    for key, value in deployment.metadata.annotations.items():
        if not key.startswith(HISTORY_PREFIX):
            continue
        number_text = key[len(HISTORY_PREFIX) :]
        hash_text, _, encoded = value.partition(":")
        if not number_text.isdigit() or not encoded:
            continue
        template = deployment_pb2.WorkloadTemplate()
        try:
            template.ParseFromString(base64.b64decode(encoded))
        except Exception:  # a hand-edited annotation: ignore it rather than fail the controller
            continue
        found.append(Revision(int(number_text), hash_text, template))
    return sorted(found, key=lambda revision: revision.number)


def current_revision(deployment: deployment_pb2.Deployment) -> int:
    text = deployment.metadata.annotations.get(REVISION_ANNOTATION, "")
    return int(text) if text.isdigit() else 0


def record_current_template(deployment: deployment_pb2.Deployment) -> bool:
    """Make the Deployment's current template its newest revision, in place; prune old ones beyond
    ``revision_history_limit``. Returns True when the annotations changed (write them back)."""
    template = deployment.spec.template
    digest = template_hash(template)
    revisions = history(deployment)
    annotations = deployment.metadata.annotations
    if revisions and revisions[-1].template_hash == digest:
        if current_revision(deployment) == revisions[-1].number:
            return False
        annotations[REVISION_ANNOTATION] = str(revisions[-1].number)
        return True
    number = max((revision.number for revision in revisions), default=0) + 1
    for revision in revisions:
        if revision.template_hash == digest:
            del annotations[f"{HISTORY_PREFIX}{revision.number}"]
    encoded = base64.b64encode(template.SerializeToString(deterministic=True)).decode()
    annotations[f"{HISTORY_PREFIX}{number}"] = f"{digest}:{encoded}"
    annotations[REVISION_ANNOTATION] = str(number)
    limit = deployment.spec.revision_history_limit if deployment.spec.HasField("revision_history_limit") else 10
    older = [revision for revision in history(deployment) if revision.number != number]
    for revision in older[: max(0, len(older) - limit)]:
        del annotations[f"{HISTORY_PREFIX}{revision.number}"]
    return True


def find_revision(deployment: deployment_pb2.Deployment, number: int) -> Revision | None:
    """Revision ``number``, or for 0 the one before the current revision (what undo returns to)."""
    revisions = history(deployment)
    if number:
        return next((revision for revision in revisions if revision.number == number), None)
    current = current_revision(deployment)
    earlier = [revision for revision in revisions if revision.number < current] if current else revisions[:-1]
    return earlier[-1] if earlier else None


class RevisionError(ValueError):
    """The revision asked for is not recorded; the message names the Deployment and what is kept."""


def resolve_revision(deployment: deployment_pb2.Deployment, to_revision: int = 0) -> Revision:
    """``find_revision`` or RevisionError: revision ``to_revision``, or for 0 the one before the
    current revision (what ``rollout undo`` restores: copying its template into the spec, nothing
    to do when ``template_hash`` already matches)."""
    target = find_revision(deployment, to_revision)
    if target is not None:
        return target
    name = deployment.metadata.name
    if to_revision:
        kept = ", ".join(str(revision.number) for revision in history(deployment)) or "none"
        raise RevisionError(f"deployment/{name}: revision {to_revision} not found (kept: {kept})")
    raise RevisionError(f"deployment/{name}: no previous revision to roll back to")
