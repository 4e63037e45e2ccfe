"""``atoll run`` and ``atoll create ...``: the objects built for given flags (those kubectl builds
for the same flags, in atoll's shapes), printed by ``--dry-run=client`` without a server, and each
usage mistake one line, exit 1, nothing printed on stdout."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from atoll.cli.main import main
from atoll.image_credentials import parse_docker_config
from atoll.image_registry import Credentials

NO_SERVER = "127.0.0.1:1"  # nothing listens: a dry run must not need the server


def with_flags(argv: tuple[str, ...], *flags: str) -> list[str]:
    """``argv`` with ``flags`` added before its ``--`` (after it they would be the container's args)."""
    end = argv.index("--") if "--" in argv else len(argv)
    return [*argv[:end], *flags, *argv[end:]]


def dry_run(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, Any]:
    code = main(with_flags(argv, "--dry-run=client", "-o", "yaml", "--server", NO_SERVER))
    out, err = capsys.readouterr()
    assert (code, err) == (0, ""), err
    document: dict[str, Any] = yaml.safe_load(out)
    return document


def refused(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    try:
        code = main(with_flags(argv, "--server", NO_SERVER))
    except SystemExit as exit:  # a usage mistake argparse found
        code = int(exit.code or 0)
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def test_run_builds_kubectls_pod(capsys: pytest.CaptureFixture[str]) -> None:
    # kubectl run web --image=nginx --port=80 --env=MODE=prod -- --verbose 3
    pod = dry_run(capsys, "run", "web", "--image=nginx", "--port=80", "--env=MODE=prod", "--", "--verbose", "3")
    assert pod["metadata"] == {"name": "web", "namespace": "default", "labels": {"run": "web"}}
    assert pod["spec"] == {
        "containers": [
            {
                "name": "web",
                "image": "nginx",
                "args": ["--verbose", "3"],
                "env": [{"name": "MODE", "value": "prod"}],
                "ports": [{"containerPort": 80}],
            }
        ],
        "restartPolicy": "Always",
    }


def test_run_with_command_labels_restart_and_namespace(capsys: pytest.CaptureFixture[str]) -> None:
    pod = dry_run(
        capsys,
        "run",
        "job",
        "--image=busybox",
        "--restart=Never",
        "--labels=app=job,tier=batch",
        "-n",
        "prod",
        "--command",
        "--",
        "sh",
        "-c",
        "echo hi",
    )
    assert pod["metadata"] == {"name": "job", "namespace": "prod", "labels": {"app": "job", "tier": "batch"}}
    container = pod["spec"]["containers"][0]
    assert container["command"] == ["sh", "-c", "echo hi"] and "args" not in container
    assert pod["spec"]["restartPolicy"] == "Never"


def test_run_expose_builds_the_service_first_selecting_the_pod(capsys: pytest.CaptureFixture[str]) -> None:
    # kubectl run web --image=nginx --port=80 --expose: a Service web (selector run=web, 80 -> 80), then the Pod
    code = main(["run", "web", "--image=nginx", "--port=80", "--expose", "--dry-run=client", "-o", "yaml"])
    service, pod = yaml.safe_load_all(capsys.readouterr().out)
    assert code == 0 and (service["kind"], pod["kind"]) == ("Service", "Pod")
    assert service["metadata"]["labels"] == service["spec"]["selector"] == pod["metadata"]["labels"] == {"run": "web"}
    assert service["spec"]["ports"] == [{"protocol": "TCP", "port": 80, "targetPort": "80"}]
    assert main(["run", "web", "--image=nginx", "--port=80", "--expose", "--dry-run=client"]) == 0
    assert capsys.readouterr().out == "service/web created (dry run)\npod/web created (dry run)\n"


def test_create_deployment_builds_kubectls_deployment(capsys: pytest.CaptureFixture[str]) -> None:
    # kubectl create deployment web --image=registry:5000/team/my_app:1.2 --image=redis --replicas=3 --port=80
    # (the port on the first container only, as kubectl puts it)
    deployment = dry_run(
        capsys,
        "create",
        "deployment",
        "web",
        "--image=registry:5000/team/my_app:1.2",
        "--image=redis",
        "--replicas=3",
        "--port=80",
    )
    assert deployment["metadata"]["labels"] == {"app": "web"}
    assert deployment["spec"]["replicas"] == 3
    assert deployment["spec"]["selector"] == {"matchLabels": {"app": "web"}}
    template = deployment["spec"]["template"]["pod"]
    assert template["metadata"] == {"labels": {"app": "web"}}
    assert template["spec"]["containers"] == [
        {"name": "my-app", "image": "registry:5000/team/my_app:1.2", "ports": [{"containerPort": 80}]},
        {"name": "redis", "image": "redis"},
    ]


def test_create_deployment_with_a_command(capsys: pytest.CaptureFixture[str]) -> None:
    # kubectl create deployment sleeper --image=busybox --image=alpine -- sleep 3600: the command in each container
    deployment = dry_run(
        capsys, "create", "deployment", "sleeper", "--image=busybox", "--image=alpine", "--", "sleep", "3600"
    )
    containers = deployment["spec"]["template"]["pod"]["spec"]["containers"]
    assert [c["command"] for c in containers] == [["sleep", "3600"], ["sleep", "3600"]]


def test_two_images_of_one_name_get_distinct_containers(capsys: pytest.CaptureFixture[str]) -> None:
    deployment = dry_run(capsys, "create", "deploy", "web", "--image=nginx:1", "--image=other/nginx:2")
    names = [c["name"] for c in deployment["spec"]["template"]["pod"]["spec"]["containers"]]
    assert names == ["nginx", "nginx-2"]


def test_create_namespace_and_its_alias(capsys: pytest.CaptureFixture[str]) -> None:
    assert dry_run(capsys, "create", "namespace", "prod")["metadata"] == {"name": "prod"}
    assert dry_run(capsys, "create", "ns", "prod")["kind"] == "Namespace"


def test_create_configmap_puts_text_in_data_and_bytes_in_binary_data(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "app.ini").write_text("[main]\nmode = prod\n")
    (tmp_path / "logo.bin").write_bytes(b"\xff\xfe\x00")
    config_map = dry_run(
        capsys,
        "create",
        "configmap",
        "app",
        "--from-literal=level=debug",
        f"--from-file={tmp_path / 'app.ini'}",
        f"--from-file=logo={tmp_path / 'logo.bin'}",
    )
    assert config_map["data"] == {"level": "debug", "app.ini": "[main]\nmode = prod\n"}
    assert config_map["binaryData"] == {"logo": "//4A"}


def test_create_secret_generic_holds_base64_data(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    env_file = tmp_path / "db.env"
    env_file.write_text("# the database\nuser=app\n\npassword=s3cret=x\n")
    secret = dry_run(capsys, "create", "secret", "generic", "db", f"--from-env-file={env_file}")
    assert secret["type"] == "Opaque"
    assert secret["data"] == {"user": "YXBw", "password": "czNjcmV0PXg="}
    typed = dry_run(capsys, "create", "secret", "generic", "t", "--from-literal=a=b", "--type=kubernetes.io/tls")
    assert typed["type"] == "kubernetes.io/tls"


def test_create_service_clusterip(capsys: pytest.CaptureFixture[str]) -> None:
    # kubectl create service clusterip web --tcp=80:8080: selector and labels app=web, targetPort written out
    one = dry_run(capsys, "create", "service", "clusterip", "web", "--tcp=80:8080")
    assert one["metadata"]["labels"] == {"app": "web"}
    assert one["spec"] == {
        "selector": {"app": "web"},
        "ports": [{"protocol": "TCP", "port": 80, "targetPort": "8080"}],
        "type": "ClusterIP",
    }
    headless = dry_run(capsys, "create", "service", "clusterip", "db", "--tcp=5432", "--clusterip=None")
    assert headless["spec"]["clusterIP"] == "None"
    two = dry_run(capsys, "create", "svc", "clusterip", "web", "--tcp=80", "--tcp=443:https")
    assert [(p["name"], p["port"], p["targetPort"]) for p in two["spec"]["ports"]] == [
        ("tcp-80", 80, "80"),
        ("tcp-443", 443, "https"),
    ]


def test_output_name_and_json_and_the_plain_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "web", "--image=nginx", "--dry-run=client", "-o", "name"]) == 0
    assert capsys.readouterr().out == "pod/web\n"
    assert main(["create", "ns", "prod", "--dry-run=client", "-o", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "Namespace"
    assert main(["create", "ns", "prod", "--dry-run=client"]) == 0
    assert capsys.readouterr().out == "namespace/prod created (dry run)\n"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["run", "web"], "--image"),
        (["run", "web", "--image="], "give an image"),
        (["run", "web", "--image=nginx", "-t"], "-t gives the container a terminal to attach to: use it with -i"),
        (["run", "web", "--image=nginx", "--command"], "--command needs the command"),
        (["run", "web", "--image=nginx", "--rm"], "use it with -i"),
        (["run", "Web", "--image=nginx", "--dry-run=client"], "pod/Web: metadata.name: invalid name"),
        (["create", "ns", "n" * 100], "metadata.name: must be at most 63 characters"),
        (["create", "svc", "clusterip", "db", "--tcp=1", "--clusterip=1.2.3"], "spec.clusterIP: must be an IPv4"),
        (["run", "web", "--image=nginx", "--expose"], "--expose needs --port"),
        (["run", "web", "--image=nginx", "--expose", "--port=80", "-i"], "--expose does not go with -i"),
        (["run", "web", "--image=nginx", "-i", "--dry-run=client"], "does not go with --dry-run or -o"),
        (["run", "web", "--image=nginx", "-i", "--pod-running-timeout=soon"], "invalid duration"),
        (["run", "web", "--image=nginx", "--restart=Nevr"], 'did you mean "Never"'),
        (["run", "web", "--image=nginx", "--port=0"], "port number between 1 and 65535"),
        (["run", "web", "--image=nginx", "--labels=app"], "--labels 'app': expected KEY=VALUE"),
        (["run", "web", "--image=nginx", "--labels=a b=c"], "--labels 'a b=c'"),
        (["run", "web", "--image=nginx", "--env=NOVALUE"], "expected NAME=VALUE"),
        (["run", "web", "--image=nginx", "--dry-run=server"], "no server-side dry run"),
        (["run", "web", "--image=nginx", "--dry-run=yes"], "invalid choice"),
        (["run", "web", "--image=nginx", "-o", "wide"], "-o wide: a created object is printed as"),
        (["create", "deploymnt", "web"], 'did you mean "deployment"'),
        (["create", "deployment", "web", "--image=x", "--replicas=-1"], "must not be negative"),
        (["create", "configmap", "empty"], "give the data"),
        (["create", "configmap", "c", "--from-literal=novalue"], "expected KEY=VALUE"),
        (["create", "configmap", "c", "--from-literal=../x=1"], "invalid key"),
        (["create", "configmap", "c", "--from-literal=a=1", "--from-literal=a=2"], "given twice"),
        (["create", "secret", "db"], "choose from generic"),
        (["create", "service", "clusterip", "web", "--tcp=http"], "the port must be a port number"),
        (["create", "service", "clusterip", "web", "--tcp=80:Bad_Name"], "the target"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else value,
)
def test_usage_mistakes_are_one_line(capsys: pytest.CaptureFixture[str], argv: list[str], expected: str) -> None:
    assert expected in refused(capsys, *argv)


def test_a_refused_create_never_reaches_the_server(capsys: pytest.CaptureFixture[str]) -> None:
    """With nothing listening, a flag mistake is reported as itself, not as an unreachable server."""
    err = refused(capsys, "create", "configmap", "c", "--from-literal=.=1")
    assert "cannot reach" not in err and "may not be" in err


def docker_config_of(secret: dict[str, Any]) -> Any:
    assert secret["type"] == "kubernetes.io/dockerconfigjson" and list(secret["data"]) == [".dockerconfigjson"]
    return json.loads(base64.b64decode(secret["data"][".dockerconfigjson"]))


def test_create_secret_docker_registry_builds_kubectls_config_json(capsys: pytest.CaptureFixture[str]) -> None:
    # kubectl create secret docker-registry pull --docker-server=reg.example:5000 --docker-username=ci
    #   --docker-password=s3cret --docker-email=ci@example.com
    secret = dry_run(
        capsys,
        "create",
        "secret",
        "docker-registry",
        "pull",
        "--docker-server=reg.example:5000",
        "--docker-username=ci",
        "--docker-password=s3cret",
        "--docker-email=ci@example.com",
    )
    config = docker_config_of(secret)
    assert config == {
        "auths": {
            "reg.example:5000": {
                "username": "ci",
                "password": "s3cret",
                "email": "ci@example.com",
                "auth": "Y2k6czNjcmV0",
            }
        }
    }
    credentials = parse_docker_config(json.dumps(config).encode(), "test")  # what image pulls read
    assert credentials["reg.example:5000"] == Credentials("ci", "s3cret")
    hub = docker_config_of(
        dry_run(capsys, "create", "secret", "docker-registry", "hub", "--docker-username=u", "--docker-password=p")
    )
    assert list(hub["auths"]) == ["https://index.docker.io/v1/"]


def test_create_secret_docker_registry_from_a_config_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = {"auths": {"reg.example": {"auth": "dTpw"}}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    for source in (str(path), f".dockerconfigjson={path}"):
        secret = dry_run(capsys, "create", "secret", "docker-registry", "pull", f"--from-file={source}")
        assert docker_config_of(secret) == config
    path.write_text('{"auths": {"reg.example": {"auth": "not base64 of s3cret"}}}')
    err = refused(capsys, "create", "secret", "docker-registry", "pull", f"--from-file={path}")
    assert "auth is not base64 of user:password" in err and "s3cret" not in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--docker-username=ci"], "give --docker-username and --docker-password"),
        (["--docker-password=s3cret", "--from-file=x"], "either --from-file or"),
        (["--from-file=key=x"], "holds one key, .dockerconfigjson"),
        (["--from-file=/dev/zero"], "not a regular file"),
    ],
    ids=["no password", "credentials and a file", "another key", "a device"],
)
def test_docker_registry_mistakes_are_one_line_without_credentials(
    capsys: pytest.CaptureFixture[str], argv: list[str], expected: str
) -> None:
    err = refused(capsys, "create", "secret", "docker-registry", "pull", *argv)
    assert expected in err and "s3cret" not in err
