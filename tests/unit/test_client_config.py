"""Where the client finds the server: flag, environment, config file; and the file's format."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from atoll.config import (
    ClientConfig,
    ClientFlags,
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


@pytest.fixture
def pki(tmp_path: Path) -> Path:
    directory = tmp_path / "pki"
    directory.mkdir()
    for name in ("ca.pem", "c.pem", "k.pem", "other-ca.pem"):
        (directory / name).write_text("PEM")
    return directory


def creds(pki: Path, prefix: str = "") -> dict[str, str]:
    return {"ca": str(pki / f"{prefix}ca.pem"), "cert": str(pki / "c.pem"), "key": str(pki / "k.pem")}


@pytest.mark.parametrize(
    ("flags", "env_server", "expected_server", "credentials_from", "noticed"),
    [
        pytest.param(ClientFlags(), None, "file:3", "file", False, id="nothing explicit: all from the file"),
        pytest.param(ClientFlags(server="file:3"), None, "file:3", "file", False,
                     id="--server naming the file's own server keeps the file's credentials"),
        pytest.param(ClientFlags(server="flag:1"), None, "flag:1", "none", True,
                     id="--server naming another server borrows nothing from the file, and says so"),
        pytest.param(ClientFlags(), "env:2", "env:2", "none", True,
                     id="$ATOLL_SERVER naming another server borrows nothing from the file either"),
        pytest.param(ClientFlags(server="flag:1", ca="FLAG"), None, "flag:1", "flags", False,
                     id="--server with credential flags takes the flags only"),
        pytest.param(ClientFlags(ca="FLAG"), None, "file:3", "flags", False,
                     id="a credential flag replaces the file's whole set, never mixed"),
    ],
)
def test_credentials_precedence(
    config_path: Path,
    pki: Path,
    monkeypatch: pytest.MonkeyPatch,
    flags: ClientFlags,
    env_server: str | None,
    expected_server: str,
    credentials_from: str,
    noticed: bool,
) -> None:
    write_client_config("file:3", token="t0k", **creds(pki))
    if env_server:
        monkeypatch.setenv("ATOLL_SERVER", env_server)
    if flags.ca == "FLAG":
        flags = ClientFlags(server=flags.server, ca=str(pki / "other-ca.pem"))
    notices: list[str] = []
    resolved = resolve_client_config(flags, notice=notices.append)
    expected = {
        "file": ClientConfig(server=expected_server, token="t0k", **creds(pki)),
        "flags": ClientConfig(server=expected_server, ca=str(pki / "other-ca.pem")),
        "none": ClientConfig(server=expected_server),
    }[credentials_from]
    assert resolved == expected
    assert len(notices) == int(noticed)
    if noticed:
        assert str(config_path) in notices[0] and "file:3" in notices[0] and "\n" not in notices[0]


def test_atoll_config_names_the_file_whose_credentials_are_used(
    config_path: Path, pki: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_client_config("file:3", **creds(pki))
    other = write_client_config("other:4", tmp_path / "other.yaml", **creds(pki, "other-"))
    monkeypatch.setenv("ATOLL_CONFIG", str(other))
    assert resolve_client_config(ClientFlags(server="other:4")) == ClientConfig(
        server="other:4", **creds(pki, "other-")
    )


@pytest.mark.parametrize(
    ("flags", "complaint"),
    [
        pytest.param(ClientFlags(), "client config {config}: ca {pki}/ca.pem: No such file or directory",
                     id="the config's own server"),
        pytest.param(ClientFlags(server="file:3"), "client config {config}: ca {pki}/ca.pem: No such file",
                     id="--server naming the config's server"),
        pytest.param(ClientFlags(server="flag:1", ca="{pki}/gone.pem"), "--ca {pki}/gone.pem: No such file",
                     id="a --ca flag"),
        pytest.param(ClientFlags(server="flag:1", cert="{pki}/c.pem"), "--key is missing: cert and key go together",
                     id="--cert without --key"),
        pytest.param(ClientFlags(server="flag:1", cert="{pki}/c.pem", key="{pki}/k.pem"),
                     "--ca is missing: a client certificate needs the server's ca", id="--cert and --key without --ca"),
    ],
)
def test_credential_files_that_cannot_work_are_one_line_naming_them(
    config_path: Path, pki: Path, flags: ClientFlags, complaint: str
) -> None:
    write_client_config("file:3", **creds(pki))
    (pki / "ca.pem").unlink()
    for name in ("c.pem", "k.pem"):
        (pki / name).write_text("PEM")
    filled = ClientFlags(**{
        field: None if value is None else value.format(pki=pki) for field, value in vars(flags).items()
    })
    with pytest.raises(ConfigError) as caught:
        resolve_client_config(filled)
    message = str(caught.value)
    assert message.startswith(complaint.format(config=config_path, pki=pki))
    assert "\n" not in message


def test_a_config_for_another_server_with_missing_files_is_no_obstacle_to_server(config_path: Path, pki: Path) -> None:
    write_client_config("file:3", **creds(pki))
    (pki / "ca.pem").unlink()
    assert resolve_client_config("flag:1") == ClientConfig(server="flag:1")


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
        pytest.param("server: 7443\n", "server must be HOST:PORT or a list of them", id="wrong type"),
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
