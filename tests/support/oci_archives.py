"""Building tar layers and OCI image layouts for image-store tests, hostile ones included.

An entry is a tuple: ``("file", name, data)``, ``("dir", name)``, ``("symlink", name, target)``,
``("hardlink", name, target)``, ``("fifo", name)``, ``("chardev", name)`` or
``("huge", name, declared_size)`` (a header claiming ``declared_size`` bytes, followed by none).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

Entry = tuple[Any, ...]


def tar_bytes(entries: Sequence[Entry], compress: bool = False) -> bytes:
    """A tar archive (gzip-compressed when ``compress``) of ``entries`` in order."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for entry in entries:
            kind, name = entry[0], entry[1]
            info = tarfile.TarInfo(name)
            info.mode = 0o755
            if kind == "file":
                info.size = len(entry[2])
                archive.addfile(info, io.BytesIO(entry[2]))
                continue
            if kind == "huge":
                info.size = entry[2]
                header = info.tobuf(archive.format, archive.encoding, archive.errors)
                archive.fileobj.write(header)
                archive.offset += len(header)
                continue
            info.type = {
                "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "hardlink": tarfile.LNKTYPE,
                "fifo": tarfile.FIFOTYPE, "chardev": tarfile.CHRTYPE,
            }[kind]
            if kind in ("symlink", "hardlink"):
                info.linkname = entry[2]
            archive.addfile(info)
    data = buffer.getvalue()
    return gzip.compress(data) if compress else data


def oci_layout(directory: Path, layers: Sequence[bytes], config: dict[str, Any] | None = None,
               manifest_changes: dict[str, Any] | None = None) -> Path:
    """An OCI image-layout directory holding one linux/amd64 image of ``layers`` (bottom first)."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def blob(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    image_config = {"architecture": "amd64", "os": "linux", "config": config or {}}
    manifest: dict[str, Any] = {
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **blob(json.dumps(image_config).encode())},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **blob(layer)} for layer in layers],
        **(manifest_changes or {}),
    }
    index = {"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                                                "platform": {"os": "linux", "architecture": "amd64"},
                                                **blob(json.dumps(manifest).encode())}]}
    (directory / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    (directory / "index.json").write_text(json.dumps(index))
    return directory


def layout_tarball(layout: Path, dest: Path) -> Path:
    """``layout`` (a directory) packed as one tarball, as ``skopeo copy oci-archive:`` writes it."""
    with tarfile.open(dest, "w") as archive:
        for path in sorted(layout.rglob("*")):
            archive.add(path, arcname=str(path.relative_to(layout)), recursive=False)
    return dest
