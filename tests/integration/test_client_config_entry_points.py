"""Every component's real console script with a stale client config in the user's home (the quick
start's, naming a CA and certificates that are gone): one line naming the file, no traceback; and
``--server`` naming another (plaintext) server borrows nothing from it, says so, and works."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from atoll.config import CONFIG_ENV, SERVER_ENV
from tests.support.up_process import UpProcess, start_up

BIN = Path(sys.executable).parent
STALE_SERVER = "127.0.0.1:7443"
COMPONENTS = {
    "atoll": ["get", "pods"],
    "atoll-scheduler": ["--metrics-listen", "127.0.0.1:0"],
    "atoll-controller": ["--metrics-listen", "127.0.0.1:0"],
    "atoll-agent": ["--node-name", "cfg-node", "--metrics-listen", "127.0.0.1:0"],
    "atoll-agent hollow": ["--nodes", "1", "--metrics-listen", "127.0.0.1:0"],
}
DEPLOYMENT = """apiVersion: atoll.dev/v1
kind: Deployment
metadata: {name: cfg, namespace: default}
spec:
  replicas: 1
  selector: {matchLabels: {app: cfg}}
  template:
    pod:
      metadata: {labels: {app: cfg}}
      spec: {os: linux, containers: [{name: main, image: busybox}]}
"""


@pytest.fixture
def stale_home(tmp_path: Path) -> Path:
    """A home whose client config names server 127.0.0.1:7443 and PKI files that do not exist."""
    home = tmp_path / "home"
    config = home / ".config" / "atoll" / "config.yaml"
    config.parent.mkdir(parents=True)
    pki = home / "old-data" / "pki"
    config.write_text(yaml.safe_dump({
        "server": STALE_SERVER, "ca": str(pki / "ca.pem"), "cert": str(pki / "admin.pem"),
        "key": str(pki / "admin-key.pem"),
    }))
    return home


def env_for(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in (CONFIG_ENV, SERVER_ENV)}
    return {**env, "HOME": str(home), "PYTHONUNBUFFERED": "1"}


def command(component: str, *extra: str) -> list[str]:
    script, *sub = component.split()
    return [str(BIN / script), *sub, *extra, *COMPONENTS[component]]


@pytest.mark.parametrize("component", list(COMPONENTS))
@pytest.mark.parametrize("server", [[], ["--server", STALE_SERVER]], ids=["no --server", "--server of the config"])
def test_a_stale_config_is_one_line_naming_the_file_and_the_missing_certificate(
    stale_home: Path, component: str, server: list[str]
) -> None:
    result = subprocess.run(
        command(component, *server), env=env_for(stale_home), capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    config = stale_home / ".config" / "atoll" / "config.yaml"
    assert f"client config {config}: ca {stale_home}/old-data/pki/ca.pem: No such file or directory" in lines[0]


@pytest.fixture
def plaintext_up(tmp_path: Path) -> Iterator[UpProcess]:
    up = start_up(tmp_path / "up", "--sim-nodes", "0", "--no-scheduler", "--no-controllers")
    yield up
    up.kill(signal.SIGTERM)


def test_server_flag_borrows_nothing_from_a_config_for_another_server(
    stale_home: Path, plaintext_up: UpProcess
) -> None:
    """Agent, controllers and scheduler, each its own console script, run a Deployment's pod on a
    plaintext server with the stale config present; each says it did not use that config."""
    env = env_for(stale_home)
    server = ["--server", plaintext_up.address]
    cli = [str(BIN / "atoll"), *server]
    processes = {
        name: subprocess.Popen(command(name, *server), env=env, stderr=subprocess.PIPE, text=True)
        for name in ("atoll-agent", "atoll-controller", "atoll-scheduler")
    }
    try:
        applied = subprocess.run([*cli, "apply", "-f", "-"], input=DEPLOYMENT, env=env, capture_output=True,
                                 text=True, timeout=60)
        assert applied.returncode == 0, applied.stderr
        deadline = time.monotonic() + 90
        listing = ""
        while "Running" not in listing:
            assert time.monotonic() < deadline, f"the Deployment's pod never ran: {listing}"
            for name, process in processes.items():
                assert process.poll() is None, f"{name} exited {process.returncode}"
            time.sleep(0.5)
            listing = subprocess.run([*cli, "get", "pods"], env=env, capture_output=True, text=True,
                                     timeout=60).stdout
        assert "cfg-node" in subprocess.run([*cli, "get", "pods", "-o", "wide"], env=env, capture_output=True,
                                            text=True, timeout=60).stdout
    finally:
        for process in processes.values():
            process.send_signal(signal.SIGTERM)
        errors = {name: process.communicate(timeout=30)[1] for name, process in processes.items()}
    for name, stderr in errors.items():
        assert f"{name}: note: not using the credentials of client config" in stderr, stderr
        assert "Traceback" not in stderr, stderr
