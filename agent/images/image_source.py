"""ImageSource: the rules every store of a node's images follows, whatever fills it (skopeo on
real nodes, node_images.py; a simulated registry on simulated ones, sim_images.py):

    ensure(request) ── an image the node holds outside any registry (imported)? ─▶ as it is
        │ InvalidImageName for a reference that does not parse
        │ policy (pull_policy.py): Never / IfNotPresent with a stored image ─▶ the stored one
        │ Never without one ─▶ ErrImageNeverPull
        ▼
    _pull(image, key): one at a time per store reference; later callers await the same pull,
    and one caller's cancellation leaves it to the others.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Mapping

from agent.images.pull_policy import ERR_IMAGE_NEVER_PULL, IF_NOT_PRESENT, INVALID_IMAGE_NAME, NEVER, effective_policy
from agent.images.pull_types import ImageReady, PullError, PullRequest, image_id, store_reference
from atoll.image_reference import ImageReference, ReferenceError, parse_image_reference
from atoll.image_registry import Credentials
from atoll.user_text import bounded


class ImageSource(ABC):
    def __init__(self) -> None:
        self._pulls: dict[str, asyncio.Task[ImageReady]] = {}

    @property
    def pulls_in_flight(self) -> int:
        return len(self._pulls)

    def pull_needed(self, request: PullRequest) -> bool:
        """Whether ``ensure(request)`` asks a registry (False too for a request it refuses); no I/O."""
        try:
            return not isinstance(self._local(request), ImageReady)
        except PullError:
            return False

    async def ensure(self, request: PullRequest) -> ImageReady:
        """The image ``request`` names, pulled when its policy says so (module docstring)."""
        plan = self._local(request)
        if isinstance(plan, ImageReady):
            return plan
        image, key = plan
        pull = self._pulls.get(key)
        if pull is None:
            pull = asyncio.get_running_loop().create_task(self._pull(image, key, request.credentials))
            self._pulls[key] = pull
            pull.add_done_callback(lambda _: self._pulls.pop(key, None))
        return await asyncio.shield(pull)

    def _local(self, request: PullRequest) -> ImageReady | tuple[ImageReference, str]:
        """The stored image when the policy lets it be used without a registry, else what to pull."""
        if self._imported(request.image):
            return ImageReady(request.image, "")
        try:
            image = parse_image_reference(request.image)
        except ReferenceError as err:
            raise PullError(INVALID_IMAGE_NAME, str(err)) from None
        key = store_reference(image)
        digest = self._stored_digest(key)
        policy = effective_policy(request.policy, image.tag, image.digest)
        if policy == NEVER or (policy == IF_NOT_PRESENT and digest is not None):
            if digest is None:
                raise PullError(ERR_IMAGE_NEVER_PULL, f"image {bounded(request.image)} is not present on the node"
                                " and its imagePullPolicy is Never")
            return ImageReady(key, image_id(image, digest))
        return image, key

    def _imported(self, reference: str) -> bool:
        """The node holds ``reference`` (as written) from no registry; used as it is."""
        return False

    @abstractmethod
    def _stored_digest(self, key: str) -> str | None:
        """The digest of the image stored under ``key``; None when there is none."""

    @abstractmethod
    async def _pull(self, image: ImageReference, key: str, credentials: Mapping[str, Credentials]) -> ImageReady:
        """Ask the registry for ``image`` and store it under ``key``; PullError when it cannot."""
