"""The token file stores hashes only; the server's table follows edits; malformed files are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from atoll.clock import ManualClock
from atoll.tokens import TokenFileError, add_token, hash_token, read_token_file
from controller.apiserver.auth.authn import TokenTable
from controller.apiserver.auth.identity import UserInfo


def test_added_token_is_stored_as_a_hash_only(tmp_path: Path) -> None:
    path = tmp_path / "tokens.yaml"
    token = add_token(path, "alice", ("developers", "oncall"))
    assert token not in path.read_text()
    assert read_token_file(path)[0].sha256 == hash_token(token)
    assert read_token_file(path)[0].groups == ("developers", "oncall")
    assert path.stat().st_mode & 0o777 == 0o600


def test_tokens_are_random(tmp_path: Path) -> None:
    path = tmp_path / "tokens.yaml"
    assert add_token(path, "a") != add_token(path, "a")
    assert len(read_token_file(path)) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tokens: [", "is not valid YAML"),
        ("- a\n- b\n", "expected a mapping with a 'tokens' list"),
        ("tokens:\n- {sha256: abc, user: u}\n", r"tokens\[0\]\.sha256: expected 64 hex characters"),
        ("tokens:\n- {sha256: " + "a" * 64 + "}\n", r"tokens\[0\]\.user: required"),
        ("tokens:\n- {sha256: " + "a" * 64 + ", user: u, groups: g}\n", r"tokens\[0\]\.groups"),
    ],
    ids=["broken yaml", "a list at the top", "a short hash", "a missing user", "groups not a list"],
)
def test_malformed_token_file_names_file_and_entry(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(text)
    with pytest.raises(TokenFileError, match=message):
        read_token_file(path)


def test_token_table_rereads_a_changed_file_after_the_recheck_interval(tmp_path: Path) -> None:
    path = tmp_path / "tokens.yaml"
    clock = ManualClock(start=0.0)
    table = TokenTable(path, recheck_seconds=1.0, clock=clock)
    assert table.lookup("x") is None, "an absent file has no tokens"
    first = add_token(path, "alice", ("dev",))
    clock.advance(0.5)
    assert table.lookup(first) is None, "not rechecked before the interval"
    clock.advance(1.0)
    assert table.lookup(first) == UserInfo("alice", frozenset({"dev"}))
    path.write_text("tokens: [")
    clock.advance(1.5)
    assert table.lookup(first) == UserInfo("alice", frozenset({"dev"})), "a broken file keeps the last good table"
