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

from tests.support.atoll_cli import run_atoll
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
    return run_atoll(args, env=env_for(up, **env), stdin=stdin)


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


def test_bash_completes_the_imperative_verbs_and_kind_slash_name_targets(pods: UpProcess) -> None:
    assert completions(pods, "atoll create con") == ["configmap"]
    assert completions(pods, "atoll create secret ") == ["--help", "generic", "docker-registry"]
    assert completions(pods, "atoll run web --restart N") == ["Never"]
    assert completions(pods, "atoll expose -n gc pod/h") == ["pod/huge"]
    assert completions(pods, "atoll logs -n gc pod/w") == ["pod/win-old"]


def test_completion_is_silent_without_a_server() -> None:
    assert completions(None, "atoll get pods --server 127.0.0.1:1 hu") == []


DEPLOYMENT = """
apiVersion: atoll.dev/v1
kind: Deployment
metadata: {name: shop, namespace: gc}
spec:
  replicas: 2
  selector: {matchLabels: {app: shop}}
  template:
    pod:
      metadata: {labels: {app: shop}}
      spec: {containers: [{name: main, image: busybox, resources: {requests: {cpu: 100m, memory: 64Mi}}}]}
"""


def test_version_and_api_resources(pods: UpProcess) -> None:
    client = atoll(None, "version", "--client")
    assert client.returncode == 0 and client.stdout.startswith("Client Version: ") and "Server" not in client.stdout
    both = json.loads(atoll(pods, "version", "-o", "json").stdout)
    assert both["serverVersion"]["atollVersion"] == both["clientVersion"]["atollVersion"]
    resources = atoll(pods, "api-resources").stdout.splitlines()
    assert resources[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert ["pods", "po", "atoll.dev/v1", "true", "Pod"] in [line.split() for line in resources]


def test_label_and_annotate_twice(pods: UpProcess) -> None:
    first = atoll(pods, "label", "pod", "huge", "-n", "gc", "zone=a")
    second = atoll(pods, "label", "pod/huge", "zone=a", "-n", "gc")
    assert (first.stdout, second.stdout) == ("pod/huge labeled\n", "pod/huge not labeled\n")
    refused = atoll(pods, "label", "pod", "huge", "zone=b", "-n", "gc")
    assert refused.returncode == 1 and "--overwrite is false" in refused.stderr
    assert atoll(pods, "label", "pods", "-l", "app", "zone-", "-n", "gc").returncode == 0
    annotated = atoll(pods, "annotate", "pod", "huge", "owner=team a", "-n", "gc")
    assert annotated.stdout == "pod/huge annotated\n"
    template = "jsonpath={.metadata.labels.zone}|{.metadata.annotations.owner}"
    shown = atoll(pods, "get", "pod", "huge", "-n", "gc", "-o", template)
    assert shown.stdout == "|team a"


def test_patch_types_and_a_no_op(pods: UpProcess) -> None:
    label_p = '{"metadata":{"labels":{"p":"1"}}}'
    merge = atoll(pods, "patch", "pod", "huge", "-n", "gc", "--type", "merge", "-p", label_p)
    assert merge.stdout == "pod/huge patched\n", merge.stderr
    again = atoll(pods, "patch", "pod", "huge", "-n", "gc", "--type", "merge", "-p", label_p)
    assert again.stdout == "pod/huge patched (no change)\n"
    json_patch = '[{"op":"replace","path":"/metadata/labels/p","value":"2"}]'
    assert atoll(pods, "patch", "pod/huge", "-n", "gc", "--type", "json", "-p", json_patch).returncode == 0
    image = "spec: {containers: [{name: main, image: busybox:2}]}"
    strategic = atoll(pods, "patch", "pod/huge", "-n", "gc", "-p", image)
    assert strategic.returncode == 0, strategic.stderr
    template = "jsonpath={.metadata.labels.p} {.spec.containers[0].image}"
    got = atoll(pods, "get", "pod", "huge", "-n", "gc", "-o", template)
    assert got.stdout == "2 busybox:2"
    bad = atoll(pods, "patch", "pod", "huge", "-n", "gc", "-p", '{"spec":{"bogus":1}}')
    assert bad.returncode == 1 and 'spec.bogus: unknown field "bogus"' in bad.stderr and bad.stderr.count("\n") == 1


def test_edit_with_a_scripted_editor(pods: UpProcess, tmp_path: Path) -> None:
    change = tmp_path / "change.sh"
    change.write_text('#!/bin/sh\nsed -i "s/^  labels:/  labels:\\n    edited: \\"yes\\"/" "$1"\n')
    breaks = tmp_path / "breaks.sh"  # adds a bad field; leaves the re-opened file as it is
    breaks.write_text(
        '#!/bin/sh\ngrep -q "could not be saved" "$1" && exit 0\nsed -i "s/^spec:/spec:\\n  bogus: 1/" "$1"\n'
    )
    for script in (change, breaks):
        script.chmod(0o755)
    edited = atoll(pods, "edit", "pod/huge", "-n", "gc", EDITOR=str(change))
    assert (edited.returncode, edited.stdout) == (0, "pod/huge edited\n"), edited.stderr
    shown = atoll(pods, "get", "pod", "huge", "-n", "gc", "-o", "jsonpath={.metadata.labels.edited}")
    assert shown.stdout == "yes"
    unchanged = atoll(pods, "edit", "pod", "huge", "-n", "gc", EDITOR="true")
    assert (unchanged.returncode, unchanged.stderr) == (0, "Edit cancelled, no changes made.\n")
    failed = atoll(pods, "edit", "pod", "huge", "-n", "gc", EDITOR=str(breaks))
    assert failed.returncode == 1 and 'spec.bogus: unknown field "bogus"' in failed.stderr
    kept = failed.stderr.rsplit('"', 2)[1]
    assert "bogus: 1" in Path(kept).read_text()
    Path(kept).unlink()


def test_diff_exit_codes(pods: UpProcess, tmp_path: Path) -> None:
    manifest = tmp_path / "pods.yaml"
    manifest.write_text(PODS)
    atoll(pods, "apply", "-f", str(manifest))
    same = atoll(pods, "diff", "-f", str(manifest))
    changed_text = PODS.replace("tier: front", "tier: back")
    manifest.write_text(changed_text)
    different = atoll(pods, "diff", "-f", str(manifest))
    broken = atoll(pods, "diff", "-f", str(tmp_path / "missing.yaml"))
    assert (same.returncode, same.stdout) == (0, ""), same.stdout + same.stderr
    assert different.returncode == 1
    assert "-    tier: front" in different.stdout and "+    tier: back" in different.stdout
    assert broken.returncode == 2 and "no such file" in broken.stderr


def test_wait_and_apply_wait(pods: UpProcess) -> None:
    applied = atoll(pods, "apply", "-f", "-", "--wait", "--timeout", "60s", stdin=DEPLOYMENT)
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert "deployment/shop ready" in applied.stdout and "\r" not in applied.stdout  # no terminal: no progress line
    ready = atoll(pods, "wait", "pods", "-l", "app=shop", "-n", "gc", "--for=condition=Ready", "--timeout", "60s")
    assert ready.returncode == 0 and ready.stdout.count("condition met") == 2, ready.stderr
    phase = atoll(pods, "wait", "pod/huge", "-n", "gc", "--for=jsonpath={.status.phase}=Running", "--timeout", "60s")
    assert phase.stdout == "pod/huge condition met\n", phase.stderr
    late = atoll(pods, "wait", "pod/huge", "-n", "gc", "--for=condition=Ready=False", "--timeout", "1s")
    assert late.returncode == 1 and "timed out waiting for the condition on pod/huge" in late.stderr
    atoll(pods, "delete", "deploy", "shop", "-n", "gc")
    gone = atoll(pods, "wait", "deploy/shop", "-n", "gc", "--for=delete", "--timeout", "60s")
    assert gone.returncode == 0, gone.stderr


def test_top_and_explain(pods: UpProcess) -> None:
    nodes = atoll(pods, "top", "nodes")
    assert nodes.stdout.splitlines()[0].split()[:3] == ["NAME", "CPU(requests)", "CPU%"], nodes.stderr
    top_pods = atoll(pods, "top", "pods", "-n", "gc")
    assert top_pods.returncode == 0 and "huge" in top_pods.stdout
    explained = atoll(None, "explain", "pod.spec.windows")
    assert explained.returncode == 0
    assert "FIELD: windows <WindowsOptions>" in explained.stdout
    assert "Windows options of a pod; only with os: windows." in explained.stdout
    assert "process, hyperv or hostprocess." in explained.stdout


def test_one_kind_verbs_take_kind_slash_name_twice(pods: UpProcess) -> None:
    node = atoll(pods, "get", "nodes", "-o", "name").stdout.split()[0]  # node/NAME
    first = atoll(pods, "node", "cordon", node)
    second = atoll(pods, "node", "cordon", node)
    assert (first.stdout, second.stdout) == (f"{node} cordoned\n", f"{node} already cordoned\n"), first.stderr
    assert atoll(pods, "node", "uncordon", node).returncode == 0
    wrong = atoll(pods, "node", "cordon", "pod/huge")
    assert wrong.returncode == 1 and "only nodes can be used here" in wrong.stderr
