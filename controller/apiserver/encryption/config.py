"""The encryption key file, shaped like Kubernetes' EncryptionConfiguration (aesgcm provider)::

    kind: EncryptionConfiguration
    keys:                      # the FIRST key encrypts every write; every listed key decrypts
    - name: key-20261203
      secret: BASE64 of 16, 24 or 32 random bytes

Rotation: put a new key first (keep the old one below it) and restart the API server: on start
it rewrites every Secret that is not under the first key (``store.reencrypt``). Then remove the
old key and restart again. A Secret under a key the file no longer lists stops the start with a
message naming it, so a key is never dropped while data still needs it.

``ensure_key_file`` writes a fresh file with one random 32-byte key (0600) when there is none,
and leaves an existing file alone: a second start reuses the key.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from atoll.atomic_file import write_atomic
from atoll.user_text import bounded_repr

KEY_FILE_NAME = "encryption.yaml"
KEY_SIZES = (16, 24, 32)
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_HEADER = """\
# atoll encryption at rest (Kubernetes' EncryptionConfiguration, aesgcm provider).
# The first key encrypts every Secret written; every key listed decrypts.
# Rotation: add a new key FIRST, restart (Secrets are rewritten under it), then drop the old key.
"""


class EncryptionConfigError(ValueError):
    """The key file is unreadable or malformed; the message names the file and the field."""


@dataclass(frozen=True)
class EncryptionKey:
    name: str
    secret: bytes

    def __repr__(self) -> str:  # never print the key itself
        return f"EncryptionKey(name={self.name!r})"


@dataclass(frozen=True)
class EncryptionConfig:
    """Keys in order; ``keys[0]`` encrypts."""

    keys: tuple[EncryptionKey, ...]

    @property
    def write_key(self) -> EncryptionKey:
        return self.keys[0]


def ensure_key_file(data_dir: Path) -> Path:
    """DATA_DIR/encryption.yaml, created with one random AES-256 key when missing (0600)."""
    path = data_dir / KEY_FILE_NAME
    if not path.exists():
        secret = base64.b64encode(os.urandom(32)).decode()
        body = yaml.safe_dump({"kind": "EncryptionConfiguration", "keys": [{"name": "key1", "secret": secret}]})
        write_atomic(path, (_HEADER + body).encode())
    return path


def load(path: Path) -> EncryptionConfig:
    """The keys of ``path``; EncryptionConfigError (one line) when it cannot be used."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise EncryptionConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except (yaml.YAMLError, UnicodeDecodeError):
        raise EncryptionConfigError(f"{path}: not valid YAML") from None
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list) or not document["keys"]:
        raise EncryptionConfigError(f"{path}: keys: required, a list of {{name, secret}} (the first encrypts)")
    keys: list[EncryptionKey] = []
    for index, entry in enumerate(document["keys"]):
        where = f"{path}: keys[{index}]"
        if not isinstance(entry, dict):
            raise EncryptionConfigError(f"{where}: expected a mapping with name and secret")
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            problem = f"a lowercase DNS label is required, got {bounded_repr(str(name))}"
            raise EncryptionConfigError(f"{where}.name: {problem}")
        if any(key.name == name for key in keys):
            raise EncryptionConfigError(f"{where}.name: {name!r} is listed twice")
        keys.append(EncryptionKey(name, _secret(entry.get("secret"), f"{where}.secret")))
    return EncryptionConfig(tuple(keys))


def _secret(value: object, where: str) -> bytes:
    """The key bytes; the message never shows the text (it is the key)."""
    if isinstance(value, str):
        try:
            secret = base64.b64decode(value.encode(), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            secret = b""
        if len(secret) in KEY_SIZES:
            return secret
    raise EncryptionConfigError(f"{where}: must be base64 of 16, 24 or 32 bytes (AES-128/192/256); value not shown")
