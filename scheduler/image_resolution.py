"""ImageResolution: the scheduling loop's port to registries. Before a workload enters the queue
its images' platforms are attached to its WorkloadInfo, from the resolver's cache or, on a miss,
after a lookup that runs in a worker thread (never in a scheduling cycle, never per node):

    handle(Pod) -> annotate(info) ── every image answered ─▶ info + image_platforms ─▶ queue
                        │ a miss: lookup started, workload held back (None)
                        ▼
                 worker thread: ImageResolver.resolve ──▶ on_resolved(keys) ─▶ annotate again ─▶ queue

Only references on the registries this scheduler was told to ask (``--image-registry``, ``*``
for every one) are resolved; the others keep the tag rules of atoll/windows.py (the documented
fallback for offline and simulated clusters). A failed lookup is an answer too: the workload is
queued with ``image_problem`` (the ImagePlatform plugin keeps it Unschedulable with that text),
and the reference is asked again after ``retry_seconds``, which requeues its workloads.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from atoll.image_platforms import PlatformError
from atoll.image_reference import ImageReference, ReferenceError, parse_image_reference
from atoll.image_registry import RegistryClient, RegistryConfig, RegistryError
from atoll.image_resolver import DEFAULT_TTL, ImageResolver, ResolvedImage
from atoll.user_text import bounded
from scheduler import metrics
from scheduler.workload import WorkloadInfo

log = logging.getLogger(__name__)
EVERY_REGISTRY = "*"
LOOKUPS_IN_FLIGHT = 8
MAX_REMEMBERED_REFERENCES = 10_000
_UNKNOWN = object()


@dataclass(frozen=True)
class ResolutionConfig:
    """Which registries to ask (``host[:port]``, or ``*``), how to reach them, how long a tag's
    answer is trusted and how soon a failed lookup is tried again."""

    registries: frozenset[str]
    registry: RegistryConfig = dataclasses.field(default_factory=RegistryConfig)
    ttl: float = DEFAULT_TTL
    retry_seconds: float = 10.0


class ImageResolution:
    """Owned by one SchedulingLoop; every method runs on the loop's event-loop thread."""

    def __init__(self, config: ResolutionConfig, resolver: ImageResolver | None = None) -> None:
        self.config = config
        self.resolver = resolver or ImageResolver(RegistryClient(config.registry), ttl=config.ttl)
        self.on_resolved: Callable[[set[str]], None] = lambda keys: None
        self._waiting: dict[str, set[str]] = {}  # reference -> keys of the workloads held back for it
        self._failed: dict[str, str] = {}  # reference -> the problem, until it is asked again
        self._failed_keys: dict[str, set[str]] = {}  # reference -> keys queued with its problem
        self._lookups: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(LOOKUPS_IN_FLIGHT)
        self._references: dict[str, ImageReference | str | None] = {}
        self._hits = metrics.IMAGE_RESOLUTIONS.labels("hit")

    def asks(self, image: ImageReference) -> bool:
        registries = self.config.registries
        return EVERY_REGISTRY in registries or image.registry in registries or image.registry_host in registries

    def annotate(self, info: WorkloadInfo) -> WorkloadInfo | None:
        """``info`` with what its images offer; None when a lookup is under way (``on_resolved``
        names the workload when it ends). VMs and workloads without asked images pass as they are."""
        if info.is_vm or not info.images:
            return info
        answers: list[ResolvedImage] = []
        problems: list[str] = []
        pending = False
        for text in info.images:
            image = self._parsed(text)
            if isinstance(image, str):
                problems.append(image)
                continue
            if image is None:
                continue  # not on a registry this scheduler asks
            key = str(image)
            failure = self._failed.get(key)
            if failure is not None:
                problems.append(failure)
                self._failed_keys.setdefault(key, set()).add(info.key)
                continue
            hit = self.resolver.cached(image)
            if hit is not None:
                self._hits.inc()
                answers.append(hit)
                continue
            self._start(image, info.key)
            pending = True
        if pending:
            return None
        if problems:
            return dataclasses.replace(info, image_problem="; ".join(problems))
        if not answers:
            return info
        # The registry's os.version replaces a build guessed from a tag; an explicit one still wins.
        build = None if info.image_build_from_tag else info.image_build
        return dataclasses.replace(info, image_platforms=tuple(answers), image_build=build, image_build_from_tag=False)

    def _parsed(self, text: str) -> ImageReference | str | None:
        """``text`` parsed (an error line for a bad reference), None when not on an asked registry;
        remembered, since every replica of a Deployment names the same few images."""
        known = self._references.get(text, _UNKNOWN)
        if known is not _UNKNOWN:
            return known  # type: ignore[return-value]
        parsed: ImageReference | str | None
        try:
            image = parse_image_reference(text)
            parsed = image if self.asks(image) else None
        except ReferenceError as err:
            parsed = str(err)
        if len(self._references) >= MAX_REMEMBERED_REFERENCES:
            self._references.clear()
        self._references[text] = parsed
        return parsed

    def _start(self, image: ImageReference, workload_key: str) -> None:
        key = str(image)
        waiting = self._waiting.get(key)
        if waiting is not None:
            waiting.add(workload_key)  # one lookup per reference, however many workloads wait
            return
        self._waiting[key] = {workload_key}
        task = asyncio.get_running_loop().create_task(self._lookup(image), name=f"resolve {bounded(key, 100)}")
        self._lookups.add(task)
        task.add_done_callback(self._lookups.discard)

    async def _lookup(self, image: ImageReference) -> None:
        key = str(image)
        started = time.perf_counter()
        stale_before = self.resolver.stale_answers
        try:
            async with self._slots:
                await asyncio.to_thread(self.resolver.resolve, image)
            stale = self.resolver.stale_answers > stale_before
            metrics.IMAGE_RESOLUTIONS.labels("stale" if stale else "miss").inc()
            metrics.IMAGE_RESOLUTION_DURATION.observe(time.perf_counter() - started)
        except (RegistryError, PlatformError) as err:
            metrics.IMAGE_RESOLUTIONS.labels("error").inc()
            problem = f"image {bounded(key, 200)}: {bounded(str(err), 500)}"
            self._failed[key] = problem
            asyncio.get_running_loop().call_later(self.config.retry_seconds, self._retry, key)
            log.info("%s", problem)
        keys = self._waiting.pop(key, set())
        self.on_resolved(keys)

    def _retry(self, key: str) -> None:
        """A failed reference is asked again: its workloads are annotated anew (which starts the lookup)."""
        self._failed.pop(key, None)
        self.on_resolved(self._failed_keys.pop(key, set()))

    async def close(self) -> None:
        for task in list(self._lookups):
            task.cancel()
        for task in list(self._lookups):
            with contextlib.suppress(asyncio.CancelledError):
                await task
