"""``tty: true`` in a Pod's container (Kubernetes' field): a manifest carries it, validation admits
it with or without stdin (the Kubernetes API server does too: its doc says tty "also requires
'stdin' to be true", but only ``kubectl run -t`` enforces that, and a container like ``top`` only
draws on its terminal), it prints back in ``-o yaml`` and ``explain`` describes it."""

from __future__ import annotations

import pytest

from atoll import kinds, manifest
from atoll.cli.explain import explain
from atoll.kinds.checks import validate

POD = """
apiVersion: atoll.dev/v1
kind: Pod
metadata: {{name: shell, namespace: default}}
spec:
  containers:
  - name: main
    image: busybox
    command: [sh]
{extra}
"""


@pytest.mark.parametrize(
    "extra",
    [
        pytest.param("    tty: true\n    stdin: true", id="a terminal with stdin (atoll run -it)"),
        pytest.param("    tty: true", id="a terminal alone (a program that only draws, as top)"),
    ],
)
def test_a_pod_with_a_terminal_loads_validates_and_prints_back(extra: str) -> None:
    (document,) = manifest.load_text(POD.format(extra=extra), "pod.yaml")
    obj = document.object
    assert validate(obj) == []
    container = kinds.unwrap(obj).spec.containers[0]
    assert container.tty
    assert manifest.to_manifest(obj)["spec"]["containers"][0]["tty"] is True


def test_explain_describes_the_field() -> None:
    text = explain("pod.spec.containers.tty")
    assert "FIELD: tty <boolean>" in text and "atoll attach -t" in text
