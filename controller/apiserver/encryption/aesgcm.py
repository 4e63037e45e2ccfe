"""The stored form of an encrypted value, as Kubernetes' aesgcm provider writes it::

    atoll:enc:aesgcm:v1:KEYNAME:NONCE(12 bytes)CIPHERTEXT+TAG

The store key is the authenticated data, so a value copied under another key does not decrypt.
Values without the prefix are plaintext (written before encryption was on) and read as they are.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from controller.apiserver.encryption.config import EncryptionConfig
from controller.store.protocol import StoreUnavailableError

PREFIX = b"atoll:enc:aesgcm:v1:"
_NONCE_BYTES = 12


class DecryptionError(StoreUnavailableError):
    """A stored value this server cannot decrypt (a key the config no longer lists, or tampering).
    The message names the store key and the key name, never data."""


class Transformer:
    """Encrypts with the config's first key; decrypts with whichever key a value names."""

    def __init__(self, config: EncryptionConfig) -> None:
        self._write_name = config.write_key.name
        self._write = AESGCM(config.write_key.secret)
        self._readers = {key.name: AESGCM(key.secret) for key in config.keys}

    def encrypt(self, store_key: str, plaintext: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._write.encrypt(nonce, plaintext, store_key.encode())
        return PREFIX + self._write_name.encode() + b":" + nonce + sealed

    def decrypt(self, store_key: str, value: bytes) -> bytes:
        """The plaintext of ``value`` (returned unchanged when it is not encrypted)."""
        if not value.startswith(PREFIX):
            return value
        name, sealed = self._split(store_key, value)
        cipher = self._readers.get(name)
        if cipher is None:
            raise DecryptionError(
                f"{store_key} is encrypted with key {name!r}, which the encryption config no longer lists; "
                "put that key back (after the first) and restart"
            )
        try:
            return cipher.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], store_key.encode())
        except InvalidTag:
            raise DecryptionError(f"{store_key}: the stored value does not decrypt with key {name!r}") from None

    def is_current(self, value: bytes) -> bool:
        """Whether ``value`` is encrypted with the write key (nothing to rewrite)."""
        return value.startswith(PREFIX + self._write_name.encode() + b":")

    @staticmethod
    def _split(store_key: str, value: bytes) -> tuple[str, bytes]:
        rest = value[len(PREFIX) :]
        name, colon, sealed = rest.partition(b":")
        if not colon or len(sealed) < _NONCE_BYTES + 16:
            raise DecryptionError(f"{store_key}: the stored value is not a valid encrypted value")
        return name.decode("ascii", "replace"), sealed
