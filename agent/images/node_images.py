"""NodeImages: the node's image store (atoll/images.py) fed from registries, for its OCI drivers.

    ensure(request) ── imported under the name as written? ─▶ as it is (air-gapped nodes)
        │ policy (pull_policy.py): Never / IfNotPresent with a stored image ─▶ the stored image
        │ digest: pinned, or the tag asked of the registry (atoll/image_registry.py, credentials)
        │ stored with that digest ─▶ the stored image (nothing downloaded)
        ▼
    one pull per store reference at a time (later callers await the same one):
      skopeo copy NAME@DIGEST for this node's platform -> STORE/.pulls/<tmp> layout, blobs in
      STORE/.blobs (content-addressed, verified by skopeo, shared by every image of the node)
      -> ImageStore.import_path (bounded, never writes outside the store; whole or nothing)
      -> blob cache trimmed to ``cache_bytes``, least recently used first

Pulled images are stored as ``REGISTRY/REPOSITORY:TAG`` (``:sha256-HEX`` for a digest) with
their digest in image.json, which is what ``imageID`` reports. Errors are PullError, whose
``reason`` is the container's Waiting reason. Runs on the agent's event loop; the registry call
and the unpack go to threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path

from agent import metrics
from agent.images.pull_policy import (
    ERR_IMAGE_NEVER_PULL,
    ERR_IMAGE_PULL,
    IF_NOT_PRESENT,
    INVALID_IMAGE_NAME,
    NEVER,
    effective_policy,
)
from agent.images.pull_types import ImageReady, PullError, PullRequest, image_id, store_reference
from agent.images.skopeo import SkopeoError, copy_image
from atoll.image_platforms import Platform
from atoll.image_reference import ImageReference, ReferenceError, parse_image_reference
from atoll.image_registry import Credentials, RegistryClient, RegistryConfig, RegistryError
from atoll.images import Image, ImageError, ImageStore
from atoll.user_text import bounded

log = logging.getLogger(__name__)
BLOBS = ".blobs"
PULLS = ".pulls"
DEFAULT_CACHE_BYTES = 10 * 1024**3
DEFAULT_PULL_TIMEOUT = 900.0


class NodeImages:
    def __init__(
        self,
        store: ImageStore,
        platform: Platform,
        registry: RegistryConfig | None = None,
        *,
        skopeo: str = "skopeo",
        pull_timeout: float = DEFAULT_PULL_TIMEOUT,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        self.store = store
        self.platform = platform
        self.registry = registry or RegistryConfig()
        self.skopeo = skopeo
        self.pull_timeout = pull_timeout
        self.cache_bytes = cache_bytes
        self._pulls: dict[str, asyncio.Task[ImageReady]] = {}
        self._swept = False

    def pull_needed(self, request: PullRequest) -> bool:
        """Whether ``ensure(request)`` asks a registry (False too for a request it refuses)."""
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
        return await asyncio.shield(pull)  # one caller's cancellation leaves the pull to the others

    def _local(self, request: PullRequest) -> ImageReady | tuple[ImageReference, str]:
        """The stored image when the policy lets it be used without a registry, else what to pull."""
        imported = self._stored(request.image)
        if imported is not None and not imported.config.digest:
            return ImageReady(request.image, "")
        try:
            image = parse_image_reference(request.image)
        except ReferenceError as err:
            raise PullError(INVALID_IMAGE_NAME, str(err)) from None
        key = store_reference(image)
        stored = self._stored(key)
        policy = effective_policy(request.policy, image.tag, image.digest)
        if policy == NEVER or (policy == IF_NOT_PRESENT and stored is not None):
            if stored is None:
                raise PullError(ERR_IMAGE_NEVER_PULL, f"image {bounded(request.image)} is not present on the node"
                                " and its imagePullPolicy is Never")
            return ImageReady(key, image_id(image, stored.config.digest))
        return image, key

    def _stored(self, reference: str) -> Image | None:
        try:
            return self.store.resolve(reference)
        except ImageError:
            return None

    async def _pull(self, image: ImageReference, key: str, credentials: Mapping[str, Credentials]) -> ImageReady:
        started = time.monotonic()
        try:
            digest = image.digest or await asyncio.to_thread(self._digest_of, image, credentials)
            stored = self._stored(key)
            if stored is not None and stored.config.digest == digest:
                metrics.IMAGE_PULLS.labels("unchanged").inc()
                return ImageReady(key, image_id(image, digest))
            size = await self._copy_and_import(image, key, digest, credentials)
        except PullError:
            metrics.IMAGE_PULLS.labels("failed").inc()
            raise
        seconds = time.monotonic() - started
        metrics.IMAGE_PULLS.labels("pulled").inc()
        metrics.IMAGE_PULL_DURATION.observe(seconds)
        metrics.IMAGE_PULL_BYTES.inc(size)
        return ImageReady(key, image_id(image, digest), pulled=True, seconds=seconds)

    def _digest_of(self, image: ImageReference, credentials: Mapping[str, Credentials]) -> str:
        config = RegistryConfig(self.registry.insecure, {**self.registry.credentials, **credentials},
                                self.registry.timeout)
        try:
            return RegistryClient(config).manifest(image, image.tag).digest
        except RegistryError as err:
            raise PullError(ERR_IMAGE_PULL, str(err)) from None

    async def _copy_and_import(
        self, image: ImageReference, key: str, digest: str, credentials: Mapping[str, Credentials]
    ) -> int:
        """Download and unpack; returns the bytes added to the blob cache."""
        blobs = self.store.root / BLOBS
        pulls = self.store.root / PULLS
        for directory in (blobs, pulls):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not self._swept:
            self._sweep(pulls)
        before = _tree_bytes(blobs)
        staging = Path(tempfile.mkdtemp(prefix="pull-", dir=pulls))
        try:
            await copy_image(
                self.skopeo, f"{image.name}@{digest}", staging / "layout", blobs, self.platform,
                insecure=image.registry in self.registry.insecure,
                credentials={**self.registry.credentials, **credentials}, timeout=self.pull_timeout,
            )
            await asyncio.to_thread(self.store.import_path, staging / "layout", key, digest=digest, blob_dir=blobs)
        except SkopeoError as err:
            raise PullError(ERR_IMAGE_PULL, f"{bounded(str(image))}: {err}") from None
        except ImageError as err:
            raise PullError(ERR_IMAGE_PULL, str(err)) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        after = await asyncio.to_thread(self._trim, blobs)
        return max(0, after - before)

    def _sweep(self, pulls: Path) -> None:
        """Layouts of pulls an earlier agent process was killed in."""
        for entry in pulls.iterdir():
            shutil.rmtree(entry, ignore_errors=True)
        self._swept = True

    def _trim(self, blobs: Path) -> int:
        """Remove least recently used blobs while the cache holds more than ``cache_bytes``, never
        while another pull may be reusing them; returns the cache's size."""
        files = [(entry.stat().st_mtime, entry.stat().st_size, entry) for entry in _files(blobs)]
        total = sum(size for _, size, _ in files)
        if len(self._pulls) <= 1:
            for _, size, path in sorted(files):
                if total <= self.cache_bytes:
                    break
                with contextlib.suppress(OSError):
                    path.unlink()
                    total -= size
        metrics.IMAGE_CACHE_BYTES.set(total)
        return total


def _files(root: Path) -> list[Path]:
    found: list[Path] = []
    for directory, _, names in os.walk(root):
        found.extend(Path(directory) / name for name in names)
    return found


def _tree_bytes(root: Path) -> int:
    return sum(path.stat().st_size for path in _files(root))
