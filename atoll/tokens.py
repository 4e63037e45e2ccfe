"""The bearer-token file: SHA-256 hashes of tokens, each mapped to a user and groups.

Plain tokens are never stored: ``atoll token create`` prints the token once and records its
hash. The file is YAML, private (mode 0600)::

    tokens:
    - sha256: 9f86d08...
      user: alice
      groups: [developers]
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from atoll.atomic_file import write_atomic

TOKEN_PREFIX = "atoll_"
# The token file's name inside a data dir (`atoll up` serves with DATA_DIR/tokens.yaml).
TOKEN_FILE_NAME = "tokens.yaml"


class TokenFileError(Exception):
    """The token file is unreadable or malformed; the message names the file and entry."""


@dataclass(frozen=True)
class TokenEntry:
    sha256: str
    user: str
    groups: tuple[str, ...] = ()


def hash_token(token: str) -> str:
    """Hex SHA-256 of ``token``: what the token file stores."""
    return hashlib.sha256(token.encode()).hexdigest()


def generate_token() -> str:
    """A new random token (256 bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def read_token_file(path: Path) -> list[TokenEntry]:
    """Every entry of the token file; an absent file has none. Raises TokenFileError."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise TokenFileError(f"cannot read token file {path}: {exc.strerror}") from None
    try:
        data: Any = yaml.safe_load(text) or {}
    except yaml.YAMLError:
        raise TokenFileError(f"token file {path} is not valid YAML") from None
    items = data.get("tokens", []) if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise TokenFileError(f"token file {path}: expected a mapping with a 'tokens' list")
    return [_entry(item, path, index) for index, item in enumerate(items)]


def _entry(item: Any, path: Path, index: int) -> TokenEntry:
    where = f"token file {path}: tokens[{index}]"
    if not isinstance(item, dict):
        raise TokenFileError(f"{where}: expected a mapping with sha256, user and groups")
    digest, user, groups = item.get("sha256"), item.get("user"), item.get("groups") or []
    if not isinstance(digest, str) or len(digest) != 64:
        raise TokenFileError(f"{where}.sha256: expected 64 hex characters")
    if not isinstance(user, str) or not user:
        raise TokenFileError(f"{where}.user: required")
    if not isinstance(groups, list) or not all(isinstance(group, str) and group for group in groups):
        raise TokenFileError(f"{where}.groups: expected a list of names")
    return TokenEntry(digest.lower(), user, tuple(groups))


def add_token(path: Path, user: str, groups: tuple[str, ...] = (), token: str | None = None) -> str:
    """Records a new token for ``user`` and ``groups`` in the file (created if absent); returns the
    plain token, which is not stored anywhere. The write is atomic and the file private."""
    token = token or generate_token()
    entries = read_token_file(path)
    entries.append(TokenEntry(hash_token(token), user, groups))
    data = {"tokens": [{"sha256": e.sha256, "user": e.user, "groups": list(e.groups)} for e in entries]}
    write_atomic(path, yaml.safe_dump(data, sort_keys=False).encode())
    return token
