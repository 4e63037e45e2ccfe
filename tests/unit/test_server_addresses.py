"""Server address rules (atoll/server_addresses.py) and several servers in the client config."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atoll.config import ConfigError, load_client_config, resolve_client_config, write_client_config
from atoll.server_addresses import (
    APISERVER_TLS_NAME,
    ServerAddressError,
    channel_target,
    parse_servers,
)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        pytest.param("10.0.0.1:7443", ("10.0.0.1:7443",), id="one address"),
        pytest.param("127.0.0.1", ("127.0.0.1:7443",), id="no port means atoll's 7443"),
        pytest.param("a:1, b:2 ,c:3", ("a:1", "b:2", "c:3"), id="comma list with spaces"),
        pytest.param(["a:1", "b"], ("a:1", "b:7443"), id="yaml list"),
        pytest.param("a:1,a:1", ("a:1",), id="duplicates dropped"),
        pytest.param("[::1]:9", ("[::1]:9",), id="bracketed ipv6"),
        pytest.param("::1", ("[::1]:7443",), id="bare ipv6 gets brackets and the default port"),
    ],
)
def test_addresses_users_write_are_normalized(given: str | list[str], expected: tuple[str, ...]) -> None:
    assert parse_servers(given) == expected


@pytest.mark.parametrize(
    ("given", "named"),
    [
        pytest.param("a:1,,b:2", "empty", id="empty entry"),
        pytest.param("host:http", "'http'", id="port not a number"),
        pytest.param("host:70000", "'70000'", id="port out of range"),
        pytest.param("unix:/run/atoll.sock", "unix:/run/atoll.sock", id="grpc target syntax"),
        pytest.param("[zz]:1", "[zz]:1", id="brackets around a non-address"),
        pytest.param("x" * 5000 + ":1:2", "xxx", id="huge input is cut"),
    ],
)
def test_bad_addresses_are_one_line_naming_them(given: str, named: str) -> None:
    with pytest.raises(ServerAddressError) as caught:
        parse_servers(given)
    message = str(caught.value)
    assert named in message
    assert "\n" not in message and len(message) < 400


def test_one_server_is_dialed_as_written() -> None:
    assert channel_target(("h:1",), tls=True) == ("h:1", [])


def test_several_servers_share_one_health_checked_round_robin_channel() -> None:
    target, options = channel_target(("127.0.0.1:1", "localhost:2"), tls=True)
    assert target.startswith(("ipv4:127.0.0.1:1,", "ipv6:[::ffff:127.0.0.1]:1,"))
    settings = dict(options)
    config = json.loads(str(settings["grpc.service_config"]))
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    assert config["healthCheckConfig"] == {"serviceName": "atoll.v1.Objects"}
    assert settings["grpc.ssl_target_name_override"] == APISERVER_TLS_NAME


def test_plaintext_channel_over_several_servers_overrides_no_name() -> None:
    _, options = channel_target(("127.0.0.1:1", "127.0.0.2:2"), tls=False)
    assert "grpc.ssl_target_name_override" not in dict(options)


def test_an_unknown_host_among_several_is_named() -> None:
    with pytest.raises(ServerAddressError, match=r"no-such-host\.invalid:1"):
        channel_target(("127.0.0.1:1", "no-such-host.invalid:1"), tls=False)


def test_client_config_keeps_a_list_of_servers(tmp_path: Path) -> None:
    path = write_client_config("a:1,b:2", tmp_path / "config.yaml")
    assert "- a:1" in path.read_text()
    stored = load_client_config(path)
    assert stored is not None and stored.servers == ("a:1", "b:2")


def test_client_config_with_a_bad_server_in_its_list_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text("server: [a:1, 'b:x']\n")
    with pytest.raises(ConfigError, match=r"config.yaml: server address 'b:x'"):
        load_client_config(path)


def test_server_flag_list_is_normalized_and_a_bad_one_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ATOLL_CONFIG", str(tmp_path / "none.yaml"))
    monkeypatch.delenv("ATOLL_SERVER", raising=False)
    assert resolve_client_config("a:1, b").server == "a:1,b:7443"
    with pytest.raises(ConfigError, match=r"--server: server address 'b:0'"):
        resolve_client_config("a:1,b:0")


def test_credentials_of_a_file_written_for_the_same_servers_are_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token_only = write_client_config("a:1,b:2", tmp_path / "config.yaml", token="t")
    monkeypatch.setenv("ATOLL_CONFIG", str(token_only))
    monkeypatch.delenv("ATOLL_SERVER", raising=False)
    assert resolve_client_config("a:1, b:2").token == "t"
