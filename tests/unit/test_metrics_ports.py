"""Where metrics are served: `atoll up`'s base-plus-offset ports and the components'
``--metrics-listen`` rules (a taken default is skipped, an explicit address must work)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry

from allinone.metrics_ports import OFFSETS, serve_component_metrics
from atoll.metrics_flag import start_metrics
from atoll.metrics_http import MetricsListenError


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_port_zero_gives_each_component_its_own_free_port() -> None:
    registries = {name: CollectorRegistry() for name in OFFSETS}
    served = serve_component_metrics("127.0.0.1:0", registries, explicit=True)
    ports = {url.rsplit(":", 1)[1] for url in served.urls.values()}
    assert set(served.urls) == set(OFFSETS) and len(ports) == 4 and not served.warnings
    assert served.lines()[0].startswith("  metrics:")


def test_a_taken_default_port_is_skipped_with_a_warning(taken_port: int) -> None:
    served = serve_component_metrics(f"127.0.0.1:{taken_port}", {"api-server": CollectorRegistry()}, explicit=False)
    assert served.urls == {} and "api-server runs without /metrics" in served.warnings[0]


def test_a_taken_explicit_base_port_is_an_error(taken_port: int) -> None:
    with pytest.raises(MetricsListenError, match=f"cannot serve metrics on 127.0.0.1:{taken_port}"):
        serve_component_metrics(f"127.0.0.1:{taken_port}", {"api-server": CollectorRegistry()}, explicit=True)


@pytest.mark.parametrize(
    ("flag", "outcome"),
    [
        pytest.param("", None, id="an empty address serves nothing"),
        pytest.param(None, "warning", id="a taken default port warns and serves nothing"),
        pytest.param("TAKEN", MetricsListenError, id="a taken explicit address is an error"),
        pytest.param("not-an-address", MetricsListenError, id="a malformed explicit address is an error"),
        pytest.param("127.0.0.1:0", "url", id="port zero serves on any free port"),
    ],
)
def test_metrics_listen_flag(
    flag: str | None, outcome: object, taken_port: int, capsys: pytest.CaptureFixture[str]
) -> None:
    default = f"127.0.0.1:{taken_port}"
    given = default if flag == "TAKEN" else flag
    if outcome is MetricsListenError:
        with pytest.raises(MetricsListenError):
            start_metrics(given, default, CollectorRegistry(), "prog")
        return
    url = start_metrics(given, default, CollectorRegistry(), "prog")
    warning = capsys.readouterr().err
    if outcome == "url":
        assert url is not None and url.startswith("http://127.0.0.1:") and url.endswith("/metrics")
    else:
        assert url is None
        assert ("prog: warning: cannot serve metrics" in warning) == (outcome == "warning")
