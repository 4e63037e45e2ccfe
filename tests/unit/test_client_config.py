"""Where the client finds the server: flag, environment, config file; and the file's format."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from atoll.config import (
    ClientConfig,
    ConfigError,
    default_config_path,
    load_client_config,
    resolve_client_config,
    resolve_server,
    write_client_config,
)


@pytest.fixture
def config_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "atoll" / "config.yaml"
    monkeypatch.setenv("ATOLL_CONFIG", str(path))
    monkeypatch.delenv("ATOLL_SERVER", raising=False)
    return path


def test_the_default_path_is_under_the_home_config_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("ATOLL_CONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_config_path() == tmp_path / ".config" / "atoll" / "config.yaml"


def test_written_config_is_private_and_reads_back(config_path: Path) -> None:
    written = write_client_config("127.0.0.1:7443", token="t0k")
    assert written == config_path
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    assert load_client_config() == ClientConfig(server="127.0.0.1:7443", token="t0k")
    assert "ca:" not in config_path.read_text()  # unset TLS fields are left out


@pytest.mark.parametrize(
    ("flag", "env", "stored", "expected"),
    [
        pytest.param("flag:1", "env:2", "file:3", "flag:1", id="the flag wins over everything"),
        pytest.param(None, "env:2", "file:3", "env:2", id="the environment wins over the file"),
        pytest.param(None, None, "file:3", "file:3", id="the file is the fallback"),
    ],
)
def test_server_precedence(
    config_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    flag: str | None,
    env: str | None,
    stored: str,
    expected: str,
) -> None:
    write_client_config(stored)
    if env:
        monkeypatch.setenv("ATOLL_SERVER", env)
    assert resolve_server(flag) == expected


def test_tls_fields_come_from_the_file_even_when_the_flag_names_the_server(config_path: Path) -> None:
    write_client_config("file:3", ca="/ca.pem", cert="/c.pem", key="/k.pem")
    resolved = resolve_client_config("flag:1")
    assert (resolved.server, resolved.ca, resolved.cert, resolved.key) == (
        "flag:1",
        "/ca.pem",
        "/c.pem",
        "/k.pem",
    )


def test_no_server_anywhere_is_one_line_that_says_what_to_do(config_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_server(None)
    message = str(caught.value)
    assert "\n" not in message
    assert "atoll up" in message and "--server" in message and str(config_path) in message


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        pytest.param("server: [unclosed", "is not valid YAML", id="broken YAML"),
        pytest.param("- a\n- b\n", "must be a mapping", id="not a mapping"),
        pytest.param("server: 7443\n", "server must be a string", id="wrong type"),
        pytest.param("token: x\n", "has no 'server'", id="no server"),
    ],
)
def test_a_bad_config_file_is_a_one_line_error(config_path: Path, content: str, complaint: str) -> None:
    config_path.parent.mkdir(parents=True)
    config_path.write_text(content)
    with pytest.raises(ConfigError, match=complaint) as caught:
        resolve_server(None)
    assert "\n" not in str(caught.value)


def test_an_explicit_server_works_despite_a_broken_file(config_path: Path) -> None:
    config_path.parent.mkdir(parents=True)
    config_path.write_text("server: [unclosed")
    assert resolve_server("flag:1") == "flag:1"
