"""List continue tokens: the snapshot revision and the last key returned, opaque to clients."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

from controller.apiserver.errors import InvalidError


@dataclass(frozen=True)
class ContinueToken:
    revision: int
    last_key: str

    def encode(self) -> str:
        raw = json.dumps({"rv": self.revision, "k": self.last_key}, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode()


def decode_continue(text: str, prefix: str) -> ContinueToken:
    """Parses a token; a malformed one, or one from another list, is INVALID_ARGUMENT."""
    try:
        data = json.loads(base64.urlsafe_b64decode(text.encode()))
        token = ContinueToken(int(data["rv"]), str(data["k"]))
    except (ValueError, KeyError, TypeError, RecursionError) as exc:  # nested JSON: RecursionError
        raise InvalidError(f"continue: malformed token ({exc.__class__.__name__})") from None
    if not token.last_key.startswith(prefix):
        raise InvalidError("continue: the token belongs to a different list request")
    return token
