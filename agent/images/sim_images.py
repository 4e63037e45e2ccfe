"""SimImages: a simulated node's images, so hollow fleets go through the states real pulls do
(Pulling, Pulled, ErrImagePull, ImagePullBackOff, ErrImageNeverPull, InvalidImageName, imageID)
without a registry or a byte downloaded.

The simulated registry knows every well-formed reference except those matching one of
``missing`` (shell patterns on the normalised reference, ``*/ghost:*``): those fail with the
distribution API's "manifest unknown". A pull takes ``pull_seconds`` on the node's clock; one
pull per reference at a time; a pulled image stays on the node (its digest derived from the
reference, stable across nodes and runs). Policies and deduplication are the real ones
(image_source.py).
"""

from __future__ import annotations

import fnmatch
import hashlib
from collections.abc import Mapping, Sequence

from agent.images.image_source import ImageSource
from agent.images.pull_policy import ERR_IMAGE_PULL
from agent.images.pull_types import ImageReady, PullError, image_id
from atoll.clock import Clock
from atoll.image_reference import ImageReference
from atoll.image_registry import Credentials
from atoll.user_text import bounded


def simulated_digest(image: ImageReference) -> str:
    """The digest the simulated registry gives ``image`` (its own when pinned)."""
    return image.digest or "sha256:" + hashlib.sha256(f"{image.name}:{image.tag}".encode()).hexdigest()


class SimImages(ImageSource):
    def __init__(self, clock: Clock, pull_seconds: float = 0.0, missing: Sequence[str] = ()) -> None:
        super().__init__()
        self.clock = clock
        self.pull_seconds = pull_seconds
        self.missing = tuple(missing)
        self._present: dict[str, str] = {}  # store reference -> digest

    def _stored_digest(self, key: str) -> str | None:
        return self._present.get(key)

    async def _pull(self, image: ImageReference, key: str, credentials: Mapping[str, Credentials]) -> ImageReady:
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
