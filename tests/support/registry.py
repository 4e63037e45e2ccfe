"""A throwaway CNCF distribution registry (Debian's docker-registry) on loopback, and pushing
images into it over the distribution API, for image tests and benchmarks.

``with local_registry() as registry:`` starts ``docker-registry serve`` on a free loopback port
with its storage in a temp directory, waits until ``/v2/`` answers, yields a LocalRegistry and
kills the process afterwards. Tests call ``require_binary("docker-registry", "docker-registry")``
first. Images are pushed as the spec says (monolithic blob upload, then the manifest), so any
index can be built: multi-arch, Windows-shaped (``os.version``), or broken on purpose.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.etcd_server import free_loopback_port

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
START_TIMEOUT = 20.0


class RegistryStartError(RuntimeError):
    """docker-registry did not answer; the message carries the tail of its log."""


@dataclass
class LocalRegistry:
    host: str  # 127.0.0.1:PORT
    process: subprocess.Popen[bytes]
    root: Path

    def push_blob(self, repository: str, data: bytes) -> dict[str, Any]:
        """Upload ``data`` (monolithic POST + PUT); returns its descriptor (digest, size)."""
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        start = urllib.request.Request(f"http://{self.host}/v2/{repository}/blobs/uploads/", method="POST")
        with urllib.request.urlopen(start, timeout=10) as reply:
            location = reply.headers["Location"]
        if location.startswith("/"):
            location = f"http://{self.host}{location}"
        put = urllib.request.Request(
            f"{location}{'&' if '?' in location else '?'}digest={digest}",
            data=data,
            method="PUT",
            headers={"Content-Type": "application/octet-stream"},
        )
        with urllib.request.urlopen(put, timeout=60):
            pass
        return {"digest": digest, "size": len(data)}

    def push_manifest(self, repository: str, reference: str, document: dict[str, Any], media_type: str) -> str:
        """PUT a manifest or index under ``reference`` (a tag); returns its digest."""
        body = json.dumps(document).encode()
        put = urllib.request.Request(
            f"http://{self.host}/v2/{repository}/manifests/{reference}",
            data=body,
            method="PUT",
            headers={"Content-Type": media_type},
        )
        with urllib.request.urlopen(put, timeout=10):
            pass
        return "sha256:" + hashlib.sha256(body).hexdigest()

    def push_image(
        self, repository: str, tag: str, platform: dict[str, str], layers: Sequence[bytes] = (),
        config: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        """One single-platform image (config states ``platform``); returns (manifest digest, its
        descriptor for an index). ``tag`` "" pushes it by digest only."""
        # diff_ids: the digests of the uncompressed layers, as the image spec requires (umoci checks).
        diff_ids = ["sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest() for layer in layers]
        image_config = {**platform, "rootfs": {"type": "layers", "diff_ids": diff_ids}, "config": config or {}}
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, **self.push_blob(repository, json.dumps(image_config).encode())},
            "layers": [{"mediaType": OCI_LAYER, **self.push_blob(repository, layer)} for layer in layers],
        }
        body = json.dumps(manifest).encode()
        digest = "sha256:" + hashlib.sha256(body).hexdigest()
        self.push_manifest(repository, tag or digest, manifest, OCI_MANIFEST)
        return digest, {"mediaType": OCI_MANIFEST, "digest": digest, "size": len(body), "platform": platform}

    def push_index(self, repository: str, tag: str, platforms: Sequence[dict[str, str]],
                   layers: Sequence[bytes] = ()) -> str:
        """An image index with one small image per platform (``os``, ``architecture``, optional
        ``variant`` and ``os.version``); returns the index digest."""
        descriptors = [self.push_image(repository, "", platform, layers)[1] for platform in platforms]
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": descriptors}
        return self.push_manifest(repository, tag, index, OCI_INDEX)


def directory_layer(root: Path) -> bytes:
    """``root`` as one gzip tar layer (symlinks kept), to push a rootfs as an image."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path in sorted(root.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(root)), recursive=False)
    return buffer.getvalue()


@contextlib.contextmanager
def local_registry() -> Iterator[LocalRegistry]:
    """A running registry on 127.0.0.1 (module docstring); killed and removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="atoll-registry-") as scratch:
        root = Path(scratch)
        port = free_loopback_port()
        config = root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log: {level: warn}\n"
            f"storage: {{filesystem: {{rootdirectory: {root / 'data'}}}, delete: {{enabled: true}}}}\n"
            f"http: {{addr: 127.0.0.1:{port}}}\n"
        )
        log = (root / "registry.log").open("wb")
        process = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=log, stderr=log)
        try:
            _wait_ready(f"127.0.0.1:{port}", process, root / "registry.log")
            yield LocalRegistry(f"127.0.0.1:{port}", process, root)
        finally:
            process.kill()
            process.wait()
            log.close()


def _wait_ready(host: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"http://{host}/v2/", timeout=1):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.05)
    tail = log.read_text(errors="replace")[-2000:]
    raise RegistryStartError(f"docker-registry on {host} did not answer: {tail}")
