"""Running ``skopeo copy``: one image of a registry, for one platform, into an OCI layout whose
blobs live in the node's shared, content-addressed blob directory (``--dest-shared-blob-dir``),
so a layer several images share is downloaded and kept once. skopeo verifies every blob against
its digest as it copies.

Credentials go in an auth file private to the call (0600 in a private temp dir, removed after),
never on a command line another user could read with ``ps``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from atoll.image_platforms import Platform
from atoll.image_registry import Credentials
from atoll.user_text import bounded

ERROR_CHARS = 600
LAYOUT_TAG = "image"


class SkopeoError(Exception):
    """skopeo failed; the message is its last words (bounded)."""


async def copy_image(
    skopeo: str,
    source: str,
    layout: Path,
    shared_blobs: Path,
    platform: Platform,
    *,
    insecure: bool,
    credentials: Mapping[str, Credentials],
    timeout: float,
) -> None:
    """Copy ``docker://source`` (platform ``platform``) into the OCI layout ``layout`` (tag
    ``LAYOUT_TAG``). SkopeoError on failure or after ``timeout`` seconds (the process is killed)."""
    overrides = ["--override-os", platform.os, "--override-arch", platform.architecture]
    if platform.variant:
        overrides += ["--override-variant", platform.variant]
    with _authfile(credentials) as authfile:
        argv = [
            skopeo, *overrides, "copy", "--quiet",
            f"--src-tls-verify={'false' if insecure else 'true'}",
            "--dest-shared-blob-dir", str(shared_blobs),
            *(["--src-authfile", str(authfile)] if authfile else []),
            f"docker://{source}", f"oci:{layout}:{LAYOUT_TAG}",
        ]
        try:
            process = await asyncio.create_subprocess_exec(
                *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )
        except OSError as err:
            raise SkopeoError(f"cannot run {skopeo}: {err.strerror or err} (Debian package skopeo)") from None
        try:
            async with asyncio.timeout(timeout):
                _, stderr = await process.communicate()
        except TimeoutError:
            raise SkopeoError(f"the pull took longer than {timeout:g}s") from None
        finally:
            if process.returncode is None:  # timed out or cancelled: no skopeo outlives its pull
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                await process.wait()
    if process.returncode != 0:
        raise SkopeoError(_last_words(stderr.decode(errors="replace")))


def _last_words(stderr: str) -> str:
    """skopeo's error line without its log prefix (``time=".." level=fatal msg="..."``)."""
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    text = lines[-1] if lines else "skopeo failed without a message"
    if 'msg="' in text:
        text = text.split('msg="', 1)[1].rstrip('"')
    return bounded(text, ERROR_CHARS)


@contextlib.contextmanager
def _authfile(credentials: Mapping[str, Credentials]) -> Iterator[Path | None]:
    if not credentials:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="atoll-auth-") as private:  # 0700
        path = Path(private) / "auth.json"
        auths = {registry: {"auth": c.basic().removeprefix("Basic ")} for registry, c in credentials.items()}
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            json.dump({"auths": auths}, handle)
        yield path
