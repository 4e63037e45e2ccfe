"""The `atoll` CLI as kubectl users type it, through the real command against `atoll up --dev`:
flags anywhere, several names, KIND/NAME, mixed kinds, did-you-mean, output shapes, completion
in a real bash (live object names), and the newer verbs, each run twice on the state it left."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.up_process import UpProcess, start_up

BIN = Path(sys.executable).parent
COMPLETE = r"""
source <(atoll completion bash)
COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}
read -ra COMP_WORDS <<< "$COMP_LINE"
[[ "$COMP_LINE" == *" " ]] && COMP_WORDS+=("")
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_python_argcomplete atoll "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""
PODS = """
apiVersion: atoll.dev/v1
kind: Namespace
metadata: {name: gc}
---
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: huge, namespace: gc, labels: {app: web, tier: front}}
spec: {containers: [{name: main, image: busybox}]}
---
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: win-old, namespace: gc, labels: {app: db}}
spec: {containers: [{name: main, image: busybox}]}
"""


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    process = start_up(tmp_path_factory.mktemp("up"), "--sim-nodes", "1")
    yield process
    process.kill(signal.SIGTERM)


def env_for(up: UpProcess | None, **extra: str) -> dict[str, str]:
    env = dict(os.environ, ATOLL_CONFIG="/nonexistent/config.yaml", PATH=f"{BIN}:{os.environ['PATH']}", **extra)
    env.pop("NO_COLOR", None)
    if up is not None:
        env["ATOLL_SERVER"] = up.address
    else:
        env.pop("ATOLL_SERVER", None)
    return env


def atoll(up: UpProcess | None, *args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "allinone", *args],
        input=stdin, capture_output=True, text=True, env=env_for(up, **env), timeout=60,
    )


def completions(up: UpProcess | None, line: str) -> list[str]:
    result = subprocess.run(
        ["bash", "-c", COMPLETE, "complete", line], capture_output=True, text=True, env=env_for(up), timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [word.strip() for word in result.stdout.splitlines() if word.strip()]


@pytest.fixture(scope="module")
def pods(up: UpProcess) -> UpProcess:
    applied = atoll(up, "apply", "-f", "-", stdin=PODS)
    assert applied.returncode == 0, applied.stderr
    return up


def test_a_name_after_a_flag_and_several_names(pods: UpProcess) -> None:
    for _ in range(2):
        result = atoll(pods, "get", "pod", "-n", "gc", "huge", "win-old", "-o", "name")
        assert (result.returncode, result.stdout, result.stderr) == (0, "pod/huge\npod/win-old\n", "")


def test_kind_slash_name_in_describe_and_mixed_kinds_in_get(pods: UpProcess) -> None:
    described = atoll(pods, "describe", "pod/huge", "-n", "gc")
    assert described.returncode == 0 and "Name:" in described.stdout and "huge" in described.stdout
    mixed = atoll(pods, "get", "pod/huge", "ns/gc", "-n", "gc", "-o", "name")
    assert (mixed.returncode, mixed.stdout) == (0, "pod/huge\nnamespace/gc\n")


def test_did_you_mean_for_kinds_verbs_and_flags(pods: UpProcess) -> None:
    for argv, hint in (
        (["get", "podz"], 'did you mean "pod'),
        (["gett", "pods"], 'did you mean "get"'),
        (["get", "pods", "--show-lables"], 'did you mean "--show-labels"'),
    ):
        result = atoll(pods, *argv)
        assert result.returncode == 1 and hint in result.stderr and result.stderr.count("\n") == 1, result.stderr


def test_a_server_without_a_port_names_the_address_tried() -> None:
    result = atoll(None, "get", "pods", "--server", "127.0.0.1")
    assert result.returncode == 1
    assert "cannot reach the atoll server at 127.0.0.1:7443" in result.stderr, result.stderr


def test_output_shapes(pods: UpProcess) -> None:
    jsonpath = atoll(pods, "get", "pods", "-n", "gc", "-o", "jsonpath={range .items[*]}{.metadata.name}{'\\n'}{end}")
    assert jsonpath.stdout == "huge\nwin-old\n", jsonpath.stderr
    spec = "custom-columns=NAME:.metadata.name,APP:.metadata.labels.app"
    columns = atoll(pods, "get", "pods", "-n", "gc", "-o", spec, "--sort-by", ".metadata.labels.app", "--no-headers")
    assert [line.split() for line in columns.stdout.splitlines()] == [["win-old", "db"], ["huge", "web"]]
    labels = atoll(pods, "get", "pods", "-n", "gc", "--show-labels", "-L", "tier")
    header, *rows = labels.stdout.splitlines()
    assert header.split()[-2:] == ["TIER", "LABELS"] and rows[0].split()[-2:] == ["front", "app=web,tier=front"]
    assert "\033[" not in labels.stdout  # not a terminal: no colour


def test_delete_by_selector_twice(pods: UpProcess) -> None:
    atoll(pods, "apply", "-f", "-", stdin=PODS.replace("huge", "doomed").replace("win-old", "doomed-too"))
    first = atoll(pods, "delete", "pods", "-l", "app", "-n", "gc", "--wait")
    assert first.returncode == 0, first.stderr
    assert "pod/doomed deleted" in first.stdout and "pod/doomed-too deleted" in first.stdout
    assert json.loads(atoll(pods, "get", "pods", "-n", "gc", "-o", "json").stdout)["items"] == []
    second = atoll(pods, "delete", "pods", "-l", "app", "-n", "gc")
    assert (second.returncode, second.stdout) == (0, ""), second.stderr
    assert "No resources found" in second.stderr
    atoll(pods, "apply", "-f", "-", stdin=PODS)


def test_bash_completes_verbs_flags_kinds_and_live_names(pods: UpProcess) -> None:
    assert completions(pods, "atoll ge") == ["get"]
    assert "--show-labels" in completions(pods, "atoll get pods --sh")
    assert {"pod", "pods", "po"} <= set(completions(pods, "atoll get po"))
    assert completions(pods, "atoll get pods -n gc hu") == ["huge"]
    assert completions(pods, "atoll describe -n gc pod/w") == ["pod/win-old"]
    assert "gc" in completions(pods, "atoll get pods -n g")


def test_completion_is_silent_without_a_server() -> None:
    assert completions(None, "atoll get pods --server 127.0.0.1:1 hu") == []
