"""``atoll run``, ``atoll create ...`` and ``atoll expose`` through the real command against
``atoll up --dev`` on a simulated fleet: what they create runs (a pod Running, a Service with
endpoints, a ConfigMap's file keys resolved by a pod), every command run a second time says
AlreadyExists and changes nothing, and every refusal leaves the cluster as it was."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.atoll_cli import run_atoll
from tests.support.eventually import until
from tests.support.up_process import UpProcess, start_up

BIN = Path(sys.executable).parent
# The kinds these verbs write: what "changes nothing" is checked over.
WRITTEN_KINDS = "pods,deployments,services,configmaps,secrets,namespaces"
CONSUMER = """
apiVersion: atoll.dev/v1
kind: Pod
metadata: {name: consumer, namespace: imp}
spec:
  containers:
  - name: main
    image: busybox
    env:
    - name: SETTINGS
      valueFrom: {configMapKeyRef: {name: app, key: app.ini}}
    - name: RENAMED
      valueFrom: {configMapKeyRef: {name: app, key: main}}
    - name: MODE
      valueFrom: {configMapKeyRef: {name: app, key: mode}}
"""


@pytest.fixture(scope="module")
def up(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UpProcess]:
    process = start_up(tmp_path_factory.mktemp("up"), "--sim-nodes", "2")
    created = atoll(process, "create", "namespace", "imp")
    assert created.returncode == 0, created.stderr
    yield process
    process.kill(signal.SIGTERM)


def atoll(up: UpProcess, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ATOLL_CONFIG="/nonexistent/config.yaml", PATH=f"{BIN}:{os.environ['PATH']}")
    env["ATOLL_SERVER"] = up.address
    return run_atoll(args, env=env, stdin=stdin)


def get(up: UpProcess, what: str, *args: str) -> Any:
    result = atoll(up, "get", what, "-o", "json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def written(up: UpProcess) -> set[tuple[str, str, str, str]]:
    """(kind, namespace, name, uid) of every object of the kinds these verbs write."""
    items = get(up, WRITTEN_KINDS, "-A")["items"]
    return {(i["kind"], i["metadata"].get("namespace", ""), i["metadata"]["name"], i["metadata"]["uid"]) for i in items}


def succeeds(up: UpProcess, *args: str) -> str:
    result = atoll(up, *args)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return result.stdout


def refused_changing_nothing(up: UpProcess, *args: str) -> str:
    """Runs a command that must fail: exit 1, one line on stderr, no traceback, nothing written."""
    before = written(up)
    result = atoll(up, *args)
    assert result.returncode == 1, result.stdout
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr, result.stderr
    assert written(up) == before
    return result.stderr


def has_pod(up: UpProcess, name: str) -> bool:
    return any(item["metadata"]["name"] == name for item in get(up, "pods", "-n", "imp")["items"])


def phase(up: UpProcess, name: str) -> str:
    return str(get(up, "pod", name, "-n", "imp").get("status", {}).get("phase", ""))


def test_a_run_pod_reaches_running_and_a_second_run_says_already_exists(up: UpProcess) -> None:
    out = succeeds(up, "run", "web", "--image=nginx", "--port=80", "-n", "imp", "--", "--verbose")
    assert out == "pod/web created\n"
    until(lambda: phase(up, "web") == "Running", what="pod/web Running")
    pod = get(up, "pod", "web", "-n", "imp")
    assert pod["metadata"]["labels"] == {"run": "web"}
    assert pod["spec"]["containers"][0]["args"] == ["--verbose"]
    err = refused_changing_nothing(up, "run", "web", "--image=other", "-n", "imp")
    assert err.startswith("Error from server (AlreadyExists):"), err
    assert get(up, "pod", "web", "-n", "imp")["spec"]["containers"][0]["image"] == "nginx"


def test_run_i_sends_stdin_prints_the_whole_log_returns_the_exit_code_and_rm_deletes(up: UpProcess) -> None:
    """A simulated container with stdin echoes what it reads into its log; the log is followed
    from its start, so a line written before the attach began is there too."""
    for _ in range(2):  # --rm leaves nothing behind: the same command works again
        result = atoll(
            up,
            "run",
            "-i",
            "--rm",
            "--restart=Never",
            "talk",
            "--image=busybox",
            "-n",
            "imp",
            "--command",
            "--",
            "sh",
            "-c",
            "echo early; sleep 2; echo late; exit 3",
            stdin="hello\n",
        )
        assert result.returncode == 3, result.stderr
        lines = result.stdout.splitlines()
        assert [line for line in lines if line in ("early", "hello", "late")] == ["early", "hello", "late"], lines
        assert result.stderr == "pod/talk deleted\n"
        until(lambda: not has_pod(up, "talk"), what="pod/talk gone")


def test_run_it_gives_a_shell_on_the_containers_terminal_and_its_exit_ends_the_pod(up: UpProcess) -> None:
    """``atoll run -it --rm demo -- sh``: the container gets stdin and a terminal, the session is
    that terminal (a simulated shell: a prompt, echoed typing, CRLF line ends), ``exit 3`` ends
    the container and is atoll's exit code; --rm leaves nothing, so it works twice."""
    for _ in range(2):
        result = atoll(
            up,
            "run",
            "-it",
            "--rm",
            "--restart=Never",
            "demo",
            "--image=busybox",
            "-n",
            "imp",
            "--",
            "sh",
            stdin="echo hi there\nexit 3\n",
        )
        assert result.returncode == 3, result.stderr
        assert "# echo hi there\nhi there\n# exit 3" in result.stdout, result.stdout  # text mode: CRLF read as LF
        assert result.stderr == "If you don't see a command prompt, try pressing enter.\npod/demo deleted\n"
        until(lambda: not has_pod(up, "demo"), what="pod/demo gone")


def test_ctrl_c_on_run_i_rm_deletes_the_pod(up: UpProcess) -> None:
    env = dict(os.environ, ATOLL_CONFIG="/nonexistent/config.yaml", ATOLL_SERVER=up.address)
    argv = [str(BIN / "atoll"), "run", "-i", "--rm", "forever", "--image=nginx", "-n", "imp"]
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        until(lambda: has_pod(up, "forever") and phase(up, "forever") == "Running", what="pod/forever Running")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130 and b"pod/forever deleted" in err, err
    until(lambda: not has_pod(up, "forever"), what="pod/forever gone")


def test_run_expose_creates_a_service_with_the_pods_endpoint_and_leaves_nothing_half_made(up: UpProcess) -> None:
    assert succeeds(up, "run", "exposed", "--image=nginx", "--port=80", "--expose", "-n", "imp") == (
        "service/exposed created\npod/exposed created\n"
    )

    def endpoint() -> bool:
        subsets = get(up, "endpoints", "exposed", "-n", "imp").get("subsets", [])
        return any(s.get("addresses") for s in subsets)

    until(endpoint, what="an endpoint for service/exposed")
    assert "AlreadyExists" in refused_changing_nothing(
        up, "run", "exposed", "--image=nginx", "--port=80", "--expose", "-n", "imp"
    )
    # The Pod's name is taken but not the Service's: the Service made first is deleted again.
    succeeds(up, "run", "lonely", "--image=nginx", "-n", "imp")
    err = refused_changing_nothing(up, "run", "lonely", "--image=nginx", "--port=80", "--expose", "-n", "imp")
    assert "pod/imp/lonely already exists" in err


def test_an_exposed_deployment_gets_endpoints(up: UpProcess) -> None:
    succeeds(up, "create", "deployment", "api", "--image=nginx", "--replicas=2", "--port=8080", "-n", "imp")
    exposed = succeeds(up, "expose", "deploy/api", "--port=80", "--target-port=8080", "-n", "imp", "-o", "name")
    assert exposed == "service/api\n"
    service = get(up, "service", "api", "-n", "imp")
    assert service["spec"]["selector"] == {"app": "api"}
    assert service["spec"]["ports"][0] | {"port": 80, "targetPort": "8080"} == service["spec"]["ports"][0]

    def addresses() -> list[str]:
        subsets = get(up, "endpoints", "api", "-n", "imp").get("subsets", [])
        found = [
            a["ip"] for s in subsets for a in s.get("addresses", []) if s.get("ports", [{}])[0].get("port") == 8080
        ]
        return found if len(found) == 2 else []

    until(addresses, what="two endpoints for service/api")
    err = refused_changing_nothing(up, "expose", "deploy/api", "--port=80", "-n", "imp")
    assert "AlreadyExists" in err


def test_a_configmap_from_files_is_consumed_by_a_pod(up: UpProcess, tmp_path: Path) -> None:
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "app.ini").write_text("[main]\nmode = prod\n")
    (tmp_path / "other.ini").write_text("x = 1\n")
    env_file = tmp_path / "app.env"
    env_file.write_text("mode=prod\n")
    succeeds(
        up,
        "create",
        "configmap",
        "app",
        "-n",
        "imp",
        f"--from-file={conf}",
        f"--from-file=main={tmp_path / 'other.ini'}",
        f"--from-env-file={env_file}",
    )
    data = get(up, "configmap", "app", "-n", "imp")["data"]
    assert data == {"app.ini": "[main]\nmode = prod\n", "main": "x = 1\n", "mode": "prod"}
    again = refused_changing_nothing(up, "create", "configmap", "app", "-n", "imp", "--from-literal=mode=dev")
    assert "AlreadyExists" in again and get(up, "configmap", "app", "-n", "imp")["data"] == data
    applied = atoll(up, "apply", "-f", "-", stdin=CONSUMER)
    assert applied.returncode == 0, applied.stderr
    until(lambda: phase(up, "consumer") == "Running", what="pod/consumer Running (its configmap keys resolved)")


def test_a_secret_holds_the_bytes_given(up: UpProcess, tmp_path: Path) -> None:
    key = tmp_path / "tls.key"
    key.write_bytes(b"\x00\xffsecret")
    succeeds(up, "create", "secret", "generic", "tls", "-n", "imp", f"--from-file={key}", "--from-literal=user=app")
    secret = get(up, "secret", "tls", "-n", "imp")
    assert secret["type"] == "Opaque"
    assert secret["data"] == {"tls.key": "AP9zZWNyZXQ=", "user": "YXBw"}
    succeeds(
        up,
        "create",
        "secret",
        "docker-registry",
        "pull",
        "-n",
        "imp",
        "--docker-server=reg.example:5000",
        "--docker-username=ci",
        "--docker-password=s3cret",
    )
    assert get(up, "secret", "pull", "-n", "imp")["type"] == "kubernetes.io/dockerconfigjson"


def test_a_service_created_by_flags_selects_app_name(up: UpProcess) -> None:
    succeeds(up, "create", "service", "clusterip", "front", "--tcp=80:8080", "-n", "imp")
    service = get(up, "service", "front", "-n", "imp")
    assert service["spec"]["selector"] == {"app": "front"} and service["spec"]["clusterIP"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["create", "namespace", "imp"], "Error from server (AlreadyExists)"),
        (["run", "Bad_Name", "--image=nginx", "-n", "imp"], "pod/Bad_Name: metadata.name: invalid name"),
        (["create", "deployment", "web2", "--image=", "-n", "imp"], "give an image"),
        (["create", "configmap", "big", "--from-file=/dev/zero", "-n", "imp"], "not a regular file"),
        (["create", "configmap", "empty", "-n", "imp"], "give the data"),
        (["create", "secret", "generic", "s", "--from-file=/nonexistent", "-n", "imp"], "No such file"),
        (["expose", "deploy/missing", "--port=80", "-n", "imp"], "Error from server (NotFound)"),
        (["run", "x", "--image=nginx", "-n", "imp", "--dry-run=server"], "no server-side dry run"),
        (["run", "x", "--image=nginx", "-n", "imp", "-t"], "use it with -i"),
        (["run", "x", "--image=nginx", "-n", "no-such-namespace"], "Error from server"),
    ],
    ids=[
        "an existing namespace",
        "an invalid pod name",
        "an empty image",
        "a device as a file",
        "a configmap without data",
        "a missing file",
        "exposing what does not exist",
        "a server dry run",
        "a terminal without stdin",
        "a namespace that does not exist",
    ],
)
def test_every_refusal_changes_nothing(up: UpProcess, argv: list[str], expected: str) -> None:
    for _ in range(2):
        assert expected in refused_changing_nothing(up, *argv)


def test_a_node_cannot_be_exposed(up: UpProcess) -> None:
    node = succeeds(up, "get", "nodes", "-o", "name").split()[0]
    assert "cannot expose a node" in refused_changing_nothing(up, "expose", node, "--port=80")


def test_a_client_dry_run_prints_and_writes_nothing(up: UpProcess) -> None:
    succeeds(up, "create", "deployment", "dry", "--image=nginx", "--port=8080", "-n", "imp")
    before = written(up)
    out = succeeds(up, "expose", "deploy/dry", "--name=preview", "-n", "imp", "--dry-run=client", "-o", "json")
    assert json.loads(out)["spec"]["ports"] == [{"protocol": "TCP", "port": 8080, "targetPort": "8080"}]
    assert succeeds(up, "create", "ns", "preview", "--dry-run=client") == "namespace/preview created (dry run)\n"
    assert written(up) == before


def test_a_client_dry_run_is_a_manifest_apply_takes(up: UpProcess) -> None:
    """kubectl's habit: generate with --dry-run=client -o yaml, then apply (what it creates is
    what the create would have made)."""
    manifest = succeeds(
        up, "run", "gen", "--image=nginx", "--port=80", "--expose", "-n", "imp", "--dry-run=client", "-o", "yaml"
    )
    applied = atoll(up, "apply", "-f", "-", stdin=manifest)
    assert (applied.returncode, applied.stdout) == (0, "service/gen created\npod/gen created\n"), applied.stderr
    assert get(up, "service", "gen", "-n", "imp")["spec"]["selector"] == {"run": "gen"}


def test_set_image_rolls_a_deployment_out_and_a_second_run_changes_nothing(up: UpProcess) -> None:
    succeeds(up, "create", "deployment", "roll", "--image=nginx:1.26", "--replicas=2", "-n", "imp")
    assert (
        succeeds(up, "set", "image", "deploy/roll", "nginx=nginx:1.27", "-n", "imp")
        == "deployment/roll image updated\n"
    )

    def rolled() -> bool:
        pods = get(up, "pods", "-n", "imp", "-l", "app=roll")["items"]
        images = [pod["spec"]["containers"][0]["image"] for pod in pods if "deletionTimestamp" not in pod["metadata"]]
        return images == ["nginx:1.27", "nginx:1.27"]

    until(rolled, what="both pods of deployment/roll on nginx:1.27")
    spec = get(up, "deployment", "roll", "-n", "imp")["spec"]  # status may still change: spec may not
    assert succeeds(up, "set", "image", "deployment", "roll", "*=nginx:1.27", "-n", "imp") == (
        "deployment/roll image unchanged\n"
    )
    err = refused_changing_nothing(up, "set", "image", "deploy/roll", "redis=redis:7", "-n", "imp")
    assert "no container named 'redis' (it has nginx)" in err
    assert get(up, "deployment", "roll", "-n", "imp")["spec"] == spec


def test_set_env_changes_the_template_and_a_second_run_changes_nothing(up: UpProcess) -> None:
    succeeds(up, "create", "deployment", "envy", "--image=nginx", "-n", "imp")
    assert succeeds(up, "set", "env", "deploy/envy", "MODE=prod", "LEVEL=debug", "-n", "imp") == (
        "deployment/envy env updated\n"
    )
    assert (
        succeeds(up, "set", "env", "deploy/envy", "LEVEL-", "MODE=prod", "-n", "imp") == "deployment/envy env updated\n"
    )
    assert succeeds(up, "set", "env", "deploy/envy", "LEVEL-", "MODE=prod", "-n", "imp") == (
        "deployment/envy env unchanged\n"
    )
    containers = get(up, "deployment", "envy", "-n", "imp")["spec"]["template"]["pod"]["spec"]["containers"]
    assert containers[0]["env"] == [{"name": "MODE", "value": "prod"}]
    err = refused_changing_nothing(up, "set", "env", "deploy/envy", "A=1", "-c", "sidecar", "-n", "imp")
    assert "no container named 'sidecar' (it has nginx)" in err


def test_set_resources_and_the_servers_refusal_of_a_request_over_its_limit(up: UpProcess) -> None:
    succeeds(up, "create", "deployment", "sized", "--image=nginx", "-n", "imp")
    assert (
        succeeds(
            up,
            "set",
            "resources",
            "deploy/sized",
            "--requests=cpu=100m,memory=64Mi",
            "--limits=memory=128Mi",
            "-n",
            "imp",
        )
        == "deployment/sized resource requirements updated\n"
    )
    spec = get(up, "deployment", "sized", "-n", "imp")["spec"]
    assert spec["template"]["pod"]["spec"]["containers"][0]["resources"] == {
        "requests": {"cpu": "100m", "memory": "64Mi"},
        "limits": {"memory": "128Mi"},
    }
    err = refused_changing_nothing(up, "set", "resources", "deploy/sized", "--requests=memory=1Gi", "-n", "imp")
    assert "must be less than or equal to the memory limit (128Mi)" in err
    assert get(up, "deployment", "sized", "-n", "imp")["spec"] == spec
