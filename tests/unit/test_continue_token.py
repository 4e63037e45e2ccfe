"""List continue tokens: whatever a client sends back, a bad token is one INVALID_ARGUMENT line."""

from __future__ import annotations

import base64

import pytest

from controller.apiserver.continue_token import ContinueToken, decode_continue
from controller.apiserver.errors import InvalidError


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


def test_a_token_round_trips() -> None:
    token = ContinueToken(42, "/registry/pods/default/web")
    assert decode_continue(token.encode(), "/registry/pods/") == token


@pytest.mark.parametrize(
    "text",
    [
        "not base64!",
        _b64(b"[" * 100_000),
        _b64(b"[1, 2]"),
        _b64(b'{"rv": "' + b"9" * 5000 + b'", "k": "/registry/pods/x"}'),
        _b64(b'{"k": "/registry/pods/x"}'),
    ],
    ids=[
        "not base64",
        "JSON nested deeper than the parser recurses",
        "a list instead of an object",
        "a revision of 5,000 digits",
        "no revision",
    ],
)
def test_hostile_tokens_are_invalid_argument(text: str) -> None:
    with pytest.raises(InvalidError) as err:
        decode_continue(text, "/registry/pods/")
    assert err.value.message.startswith("continue: malformed token")


def test_a_token_of_another_list_is_refused() -> None:
    with pytest.raises(InvalidError, match="different list request"):
        decode_continue(ContinueToken(1, "/registry/nodes/n1").encode(), "/registry/pods/")
