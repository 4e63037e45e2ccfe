"""PodPulls: the images of one pod's containers, as kubelet's image manager does it: the pull
policy, the pod's imagePullSecrets, Events and Waiting reasons, and the back-off after failures.

    image_for(record, container) ── in back-off? ─▶ Waiting ImagePullBackOff (Event BackOff, once)
        │ credentials from imagePullSecrets (kubernetes.io/dockerconfigjson Secrets)
        │ Event Pulling ─▶ driver.ensure_image ─▶ Event Pulled ─▶ ImageReady (imageID)
        ▼ PullError
    Waiting ErrImagePull | ErrImageNeverPull | InvalidImageName, Warning Event Failed,
    retried after pull_policy.backoff_delay (10 s doubling to 5 min); no restart is counted.
    Only registry failures show ImagePullBackOff meanwhile; the others keep their own reason.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping

from agent.drivers.abilities import ImagePuller
from agent.images.pull_policy import ERR_IMAGE_PULL, IMAGE_PULL_BACKOFF, backoff_delay
from agent.images.pull_types import ImageReady, PullError, PullRequest
from agent.volumes.sources import ConfigObjects
from agent.workloads.context import NodeContext
from agent.workloads.pod_status import ContainerRecord
from atoll.image_credentials import DOCKER_CONFIG_KEY, CredentialsError, parse_docker_config
from atoll.image_registry import Credentials
from atoll.user_text import bounded, quoted
from atoll.v1 import pod_pb2

BACKOFF_SHOWN_AFTER = 1.0


class PodPulls:
    """One per PodRunner; ``wake``/``wake_at`` schedule the runner's next reconcile. A pull runs
    beside the reconciles (the pod reports Pending, ContainerCreating meanwhile) and wakes the
    runner when it ends."""

    def __init__(
        self, ctx: NodeContext, objects: ConfigObjects, wake: Callable[[], None], wake_at: Callable[[float], None]
    ) -> None:
        self.ctx = ctx
        self.objects = objects
        self.wake = wake
        self.wake_at = wake_at
        self._pulling: dict[str, asyncio.Task[ImageReady]] = {}  # container -> its pull under way
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, float] = {}
        self._last_error: dict[str, tuple[str, str]] = {}  # container -> (reason, message) of its last failure

    async def image_for(
        self, puller: ImagePuller, pod: pod_pb2.Pod, record: ContainerRecord, container: pod_pb2.Container
    ) -> ImageReady | None:
        """The image ``container`` runs, or None while it waits (``record.waiting`` says why)."""
        now = self.ctx.clock.now()
        shown = quoted(container.image, 200)
        retry_at = self._retry_at.get(record.name, 0.0)
        last = self._last_error.get(record.name)
        if now < retry_at and last is not None and last[0] != ERR_IMAGE_PULL:
            record.waiting = last  # ErrImageNeverPull, InvalidImageName: no registry to back off from
            self.wake_at(retry_at)
            return None
        if now < retry_at:
            message = f"Back-off pulling image {shown}"
            if record.waiting[0] != IMAGE_PULL_BACKOFF:
                self.ctx.event("Pod", pod.metadata, "BackOff", message, warning=True)
            record.waiting = (IMAGE_PULL_BACKOFF, message)
            self.wake_at(retry_at)
            return None
        pulling = self._pulling.get(record.name)
        try:
            if pulling is None:
                request = PullRequest(container.image, container.image_pull_policy, await self._credentials(pod))
                if not puller.pull_needed(request):
                    return self._succeeded(pod, record, shown, await puller.ensure_image(request))
                self.ctx.event("Pod", pod.metadata, "Pulling", f"Pulling image {shown}")
                pulling = self._pulling[record.name] = asyncio.get_running_loop().create_task(
                    puller.ensure_image(request), name=f"pull {bounded(container.image, 100)}"
                )
                pulling.add_done_callback(lambda _: self.wake())
            if not pulling.done():
                record.waiting = ("ContainerCreating", f"Pulling image {shown}")
                return None
            del self._pulling[record.name]
            ready = _result(pulling)
        except PullError as err:
            self._failed(pod, record, shown, err)
            return None
        return self._succeeded(pod, record, shown, ready)

    def _succeeded(self, pod: pod_pb2.Pod, record: ContainerRecord, shown: str, ready: ImageReady) -> ImageReady:
        self._failures.pop(record.name, None)
        self._retry_at.pop(record.name, None)
        self._last_error.pop(record.name, None)
        if ready.pulled:
            self.ctx.event("Pod", pod.metadata, "Pulled", f"Successfully pulled image {shown} in {ready.seconds:.2f}s")
        return ready

    async def close(self) -> None:
        """Stop waiting for pulls (the pulls themselves go on for other pods; agent/images/)."""
        for task in self._pulling.values():
            task.cancel()
        for task in list(self._pulling.values()):
            with contextlib.suppress(asyncio.CancelledError, PullError):
                await task
        self._pulling.clear()

    def _failed(self, pod: pod_pb2.Pod, record: ContainerRecord, shown: str, err: PullError) -> None:
        failures = self._failures.get(record.name, 0) + 1
        self._failures[record.name] = failures
        retry_at = self.ctx.clock.now() + backoff_delay(failures)
        self._retry_at[record.name] = retry_at
        message = bounded(f"Failed to pull image {shown}: {err}", 1024)
        self.ctx.event("Pod", pod.metadata, "Failed", message, warning=True)
        record.waiting = self._last_error[record.name] = (err.reason, message)
        # Look again within the back-off, as kubelet's next sync does: the container then shows
        # ImagePullBackOff until the retry.
        self.wake_at(min(retry_at, self.ctx.clock.now() + BACKOFF_SHOWN_AFTER))

    async def _credentials(self, pod: pod_pb2.Pod) -> Mapping[str, Credentials]:
        """Credentials by registry from the pod's imagePullSecrets, later Secrets winning; a
        missing Secret is skipped (kubelet pulls anonymously then), a malformed one fails the pull."""
        found: dict[str, Credentials] = {}
        for reference in pod.spec.image_pull_secrets:
            secret = await self.objects.get("Secret", reference.name)
            if secret is None or DOCKER_CONFIG_KEY not in secret.data:
                continue
            try:
                found.update(parse_docker_config(secret.data[DOCKER_CONFIG_KEY], f"secret {reference.name}"))
            except CredentialsError as err:
                raise PullError(ERR_IMAGE_PULL, str(err)) from None
        return found


def _result(pull: asyncio.Task[ImageReady]) -> ImageReady:
    """A finished pull's image; whatever else went wrong in it (a full disk, a bug) is an
    ErrImagePull too: the container waits and retries instead of ending the pod's reconciles."""
    try:
        return pull.result()
    except PullError:
        raise
    except Exception as err:  # any failure of a pull is a failed pull
        raise PullError(ERR_IMAGE_PULL, bounded(f"{type(err).__name__}: {err}", 500)) from None
