"""imagePullPolicy as Kubernetes defines it, and the Waiting reasons and back-off of pulls.

- ``Always``: ask the registry every time a container starts; download only when the digest
  it names is not in the node's store already.
- ``IfNotPresent``: use the stored image; pull only when there is none.
- ``Never``: use the stored image; without one the container waits (ErrImageNeverPull).
- unset: ``Always`` for ``:latest`` or no tag, else ``IfNotPresent``, as Kubernetes defaults it.
  An image put on the node by ``atoll image import`` (air-gapped nodes) has no registry behind
  it and is used as it is.

A failed pull leaves the container Waiting ErrImagePull, then ImagePullBackOff while the back-off
(10 s doubling to 5 min, kubelet's figures) runs; a success resets it.
"""

from __future__ import annotations

ALWAYS = "Always"
IF_NOT_PRESENT = "IfNotPresent"
NEVER = "Never"
POLICIES = (ALWAYS, IF_NOT_PRESENT, NEVER)
ERR_IMAGE_PULL = "ErrImagePull"
IMAGE_PULL_BACKOFF = "ImagePullBackOff"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
INVALID_IMAGE_NAME = "InvalidImageName"
BACKOFF_INITIAL = 10.0
BACKOFF_MAX = 300.0


def effective_policy(policy: str, tag: str, digest: str) -> str:
    """The policy in force for an image reference with ``tag``/``digest``."""
    if policy:
        return policy
    return ALWAYS if not digest and tag in ("", "latest") else IF_NOT_PRESENT


def backoff_delay(failures: int, initial: float = BACKOFF_INITIAL, cap: float = BACKOFF_MAX) -> float:
    """Seconds to wait after the ``failures``-th failed pull in a row (1 -> initial)."""
    return float(min(initial * 2 ** max(failures - 1, 0), cap))
