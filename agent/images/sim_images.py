"""SimImages: a simulated node's images, so hollow fleets go through the states real pulls do
(Pulling, Pulled, ErrImagePull, ImagePullBackOff, ErrImageNeverPull, InvalidImageName, imageID)
without a registry or a byte downloaded.

The simulated registry knows every well-formed reference except those matching one of
``missing`` (shell patterns on the normalised reference, ``*/ghost:*``): those fail with the
distribution API's "manifest unknown". A pull takes ``pull_seconds`` on the node's clock; one
pull per reference at a time; a pulled image stays on the node (its digest derived from the
reference, stable across nodes and runs). Policies are the real ones (pull_policy.py).
"""

from __future__ import annotations

import asyncio
import fnmatch
import hashlib
from collections.abc import Sequence

from agent.images.pull_policy import (
    ERR_IMAGE_NEVER_PULL,
    ERR_IMAGE_PULL,
    IF_NOT_PRESENT,
    INVALID_IMAGE_NAME,
    NEVER,
    effective_policy,
)
from agent.images.pull_types import ImageReady, PullError, PullRequest, image_id, store_reference
from atoll.clock import Clock
from atoll.image_reference import ImageReference, ReferenceError, parse_image_reference
from atoll.user_text import bounded


def simulated_digest(image: ImageReference) -> str:
    """The digest the simulated registry gives ``image`` (its own when pinned)."""
    return image.digest or "sha256:" + hashlib.sha256(f"{image.name}:{image.tag}".encode()).hexdigest()


class SimImages:
    def __init__(self, clock: Clock, pull_seconds: float = 0.0, missing: Sequence[str] = ()) -> None:
        self.clock = clock
        self.pull_seconds = pull_seconds
        self.missing = tuple(missing)
        self._present: dict[str, str] = {}  # store reference -> digest
        self._pulls: dict[str, asyncio.Task[ImageReady]] = {}

    def pull_needed(self, request: PullRequest) -> bool:
        try:
            return not isinstance(self._local(request), ImageReady)
        except PullError:
            return False

    async def ensure(self, request: PullRequest) -> ImageReady:
        plan = self._local(request)
        if isinstance(plan, ImageReady):
            return plan
        image, key = plan
        pull = self._pulls.get(key)
        if pull is None:
            pull = asyncio.get_running_loop().create_task(self._pull(image, key))
            self._pulls[key] = pull
            pull.add_done_callback(lambda _: self._pulls.pop(key, None))
        return await asyncio.shield(pull)

    def _local(self, request: PullRequest) -> ImageReady | tuple[ImageReference, str]:
        try:
            image = parse_image_reference(request.image)
        except ReferenceError as err:
            raise PullError(INVALID_IMAGE_NAME, str(err)) from None
        key = store_reference(image)
        digest = self._present.get(key)
        policy = effective_policy(request.policy, image.tag, image.digest)
        if policy == NEVER or (policy == IF_NOT_PRESENT and digest is not None):
            if digest is None:
                raise PullError(ERR_IMAGE_NEVER_PULL, f"image {bounded(request.image)} is not present on the node"
                                " and its imagePullPolicy is Never")
            return ImageReady(key, image_id(image, digest))
        return image, key

    async def _pull(self, image: ImageReference, key: str) -> ImageReady:
        if any(fnmatch.fnmatchcase(str(image), pattern) for pattern in self.missing):
            await self.clock.sleep(min(self.pull_seconds, 0.1))
            raise PullError(ERR_IMAGE_PULL, f"{bounded(image.name)}: manifest {bounded(image.manifest_reference)}:"
                            " manifest unknown")
        digest = simulated_digest(image)
        if self._present.get(key) == digest:
            return ImageReady(key, image_id(image, digest))
        started = self.clock.now()
        await self.clock.sleep(self.pull_seconds)
        self._present[key] = digest
        return ImageReady(key, image_id(image, digest), pulled=True, seconds=self.clock.now() - started)
