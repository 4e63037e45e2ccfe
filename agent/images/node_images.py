"""NodeImages: the node's image store (atoll/images.py) fed from registries, for its OCI drivers.

    ensure(request) ── image_source.py's rules (imported under the name as written: as it is,
        │ for air-gapped nodes; the policy; one pull per reference at a time)
        │ digest and platforms asked of the registry (atoll/image_resolver.py, credentials);
        │ none for this node's platform ─▶ ErrImagePull naming what the image offers
        │ stored with that digest ─▶ the stored image (nothing downloaded)
        ▼
    one pull per store reference at a time (later callers await the same one):
      skopeo copy NAME@DIGEST for this node's platform -> STORE/.pulls/<tmp> layout, blobs in
      STORE/.blobs (content-addressed, verified by skopeo, shared by every image of the node)
      -> ImageStore.import_path (bounded, never writes outside the store; whole or nothing)
      -> blob cache trimmed to ``cache_bytes``, least recently used first
      -> unpacked images no task uses removed while pulled ones exceed ``image_bytes`` (_collect)

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
from collections.abc import Callable, Mapping
from pathlib import Path

from agent import metrics
from agent.images.image_source import ImageSource
from agent.images.pull_policy import ERR_IMAGE_PULL
from agent.images.pull_types import ImageReady, PullError, image_id
from agent.images.skopeo import SkopeoError, copy_image
from atoll.image_platforms import Platform, PlatformError, runs_on
from atoll.image_reference import ImageReference
from atoll.image_registry import Credentials, RegistryClient, RegistryConfig, RegistryError
from atoll.image_resolver import ImageResolver
from atoll.images import IMAGE_CONFIG, Image, ImageError, ImageStore
from atoll.user_text import bounded

log = logging.getLogger(__name__)
BLOBS = ".blobs"
PULLS = ".pulls"
DEFAULT_CACHE_BYTES = 10 * 1024**3
DEFAULT_PULL_TIMEOUT = 900.0
DEFAULT_IMAGE_BYTES = 50 * 1024**3
FRESH_SECONDS = 300.0  # an image pulled this recently may be about to start: never collected


class NodeImages(ImageSource):
    def __init__(
        self,
        store: ImageStore,
        platform: Platform,
        registry: RegistryConfig | None = None,
        *,
        skopeo: str = "skopeo",
        pull_timeout: float = DEFAULT_PULL_TIMEOUT,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
        image_bytes: int = DEFAULT_IMAGE_BYTES,
    ) -> None:
        self.store = store
        self.platform = platform
        self.registry = registry or RegistryConfig()
        self.skopeo = skopeo
        self.pull_timeout = pull_timeout
        self.cache_bytes = cache_bytes
        self.image_bytes = image_bytes
        self._users: list[Callable[[], set[str] | None]] = []
        self._swept = False
        super().__init__()

    def add_user(self, images_in_use: Callable[[], set[str] | None]) -> None:
        """A driver running images of this store: ``images_in_use`` names the references its tasks
        run (None: it cannot tell, and nothing is collected)."""
        self._users.append(images_in_use)

    def _imported(self, reference: str) -> bool:
        stored = self._stored(reference)
        return stored is not None and not stored.config.digest

    def _stored_digest(self, key: str) -> str | None:
        stored = self._stored(key)
        return None if stored is None else stored.config.digest

    def _stored(self, reference: str) -> Image | None:
        try:
            return self.store.resolve(reference)
        except ImageError:
            return None

    async def _pull(self, image: ImageReference, key: str, credentials: Mapping[str, Credentials]) -> ImageReady:
        started = time.monotonic()
        try:
            digest = await asyncio.to_thread(self._inspect, image, credentials)
            stored = self._stored(key)
            if stored is not None and stored.config.digest == digest:
                metrics.IMAGE_PULLS.labels("unchanged").inc()
                return ImageReady(key, image_id(image, digest))
            size = await self._copy_and_import(image, key, digest, credentials)
            await asyncio.to_thread(self._collect, key)
        except PullError:
            metrics.IMAGE_PULLS.labels("failed").inc()
            raise
        seconds = time.monotonic() - started
        metrics.IMAGE_PULLS.labels("pulled").inc()
        metrics.IMAGE_PULL_DURATION.observe(seconds)
        metrics.IMAGE_PULL_BYTES.inc(size)
        return ImageReady(key, image_id(image, digest), pulled=True, seconds=seconds)

    def _inspect(self, image: ImageReference, credentials: Mapping[str, Credentials]) -> str:
        """The digest ``image`` names now, once the registry's index or config shows that this node
        can run it (the scheduler placed it by the same rule; an image that changed since, or a
        pod bound by hand, is refused here rather than dying with ``exec format error``)."""
        config = RegistryConfig(self.registry.insecure, {**self.registry.credentials, **credentials},
                                self.registry.timeout)
        try:
            resolved = ImageResolver(RegistryClient(config)).resolve(image)
        except (RegistryError, PlatformError) as err:
            raise PullError(ERR_IMAGE_PULL, str(err)) from None
        if not any(runs_on(platform, self.platform) for platform in resolved.platforms):
            offered = ", ".join(str(platform) for platform in resolved.platforms)
            raise PullError(ERR_IMAGE_PULL, f"{bounded(str(image))} offers {bounded(offered)}; this node is"
                            f" {self.platform}")
        return resolved.digest

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

    def _collect(self, keep: str) -> None:
        """Garbage collection of unpacked images: while pulled images take more than
        ``image_bytes``, remove the least recently pulled one that no task dir of the node's
        drivers names, none pulled in the last FRESH_SECONDS, never ``keep`` nor an imported
        image (air-gapped nodes have no registry to get it back from). Not while another pull
        runs (its image may be about to start)."""
        if self.pulls_in_flight > 1:
            return
        in_use = {keep}
        for user in self._users:
            used = user()
            if used is None:
                return
            in_use |= used
        now = time.time()
        pulled = []
        for reference in self.store.references():
            stored = self._stored(reference)
            if stored is None or not stored.config.digest:
                continue
            pulled_at = (stored.rootfs.parent / IMAGE_CONFIG).stat().st_mtime
            pulled.append((pulled_at, reference, self.store.image_bytes(reference)))
        total = sum(size for _, _, size in pulled)
        for pulled_at, reference, size in sorted(pulled):
            if total <= self.image_bytes:
                break
            if reference in in_use or now - pulled_at < FRESH_SECONDS:
                continue
            if self.store.remove(reference):
                total -= size
                metrics.IMAGES_COLLECTED.inc()
                log.info("removed unused image %s (%d bytes) to keep pulled images under %d bytes",
                         bounded(reference), size, self.image_bytes)

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
        if self.pulls_in_flight <= 1:
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
