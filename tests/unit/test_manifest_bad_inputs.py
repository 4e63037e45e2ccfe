"""Bad manifests: every problem of every document is reported as 'FILE doc N: PATH: MESSAGE'.

Each fixture in tests/unit/manifests/bad/ is loaded through ``load_paths``; the test compares the
complete list of error lines, so a missing, extra or reworded error fails.
"""


from __future__ import annotations

from pathlib import Path

import pytest

from atoll.kinds import KINDS
from atoll.manifest import ManifestErrors, load_paths

BAD = Path(__file__).parent / "manifests" / "bad"
LETTERS = "use lowercase letters, digits"
EDGES = "starting and ending with a letter or digit"
LABEL_CHARS = "must consist of letters, digits, '-', '_' or '.', and start and end with a letter or digit"
BOOLEAN_HINT = "(YAML reads unquoted yes/no/on/off/true/false as booleans: quote the value)"
AFFINITY = "spec.scheduling.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
TERM = f"{AFFINITY}.nodeSelectorTerms[0].matchExpressions"

CASES: list[tuple[str, list[str], str]] = [
    (
        "config-and-volume-errors.yaml",
        [
            'doc 1: data.password: expected base64 text (standard alphabet, padded); the value is not shown',
            'doc 1: data[..]: a key may not be ".."',
            'doc 2: data[a/b]: invalid key "a/b": use letters, digits, \'-\', \'_\' and \'.\'',
            'doc 2: binaryData["same"]: the key is also in data; a key may be in one only',
            'doc 3: spec.volumes[0].configMap.items[0].path: may not contain \'..\', got "../etc/passwd"',
            'doc 3: spec.volumes[0].configMap.items[1].path: may not start with \'..\' (reserved), got "..data/x"',
            'doc 3: spec.volumes[1].hostPath.path: must be an absolute path without \'..\', got "relative/dir"',
            'doc 3: spec.volumes[1].hostPath.type: unsupported value "Socket": '
            "must be one of Directory, DirectoryOrCreate, File, FileOrCreate",
            "doc 3: spec.volumes[2]: set exactly one source: "
            "emptyDir, configMap, secret, hostPath, persistentVolumeClaim",
            'doc 3: spec.volumes[3].emptyDir.medium: unsupported value "Disk": must be one of Memory',
            'doc 3: spec.volumes[3].emptyDir.sizeLimit: invalid quantity "12Gx"',
            'doc 3: spec.volumes[4].persistentVolumeClaim.claimName: invalid name "../db-data": use lowercase '
            "letters, digits, '-' and '.', starting and ending with a letter or digit (DNS-1123 subdomain)",
            "doc 3: spec.volumes[5].persistentVolumeClaim.claimName: required",
            'doc 3: spec.containers[0].volumeMounts[1].name: no volume named "missing" in spec.volumes',
            'doc 3: spec.containers[0].volumeMounts[1].mountPath: "/etc/web/" is mounted twice',
            'doc 3: spec.containers[0].volumeMounts[1].subPath: may not contain \'..\', got "../../x"',
            'doc 3: spec.containers[0].volumeMounts[2].mountPath: must be an absolute path without \'..\', got "data"',
            'doc 3: spec.containers[0].env[0].valueFrom: may not be set together with value',
            'doc 3: spec.containers[0].env[0].valueFrom.secretKeyRef.key: invalid key "../password": '
            "use letters, digits, '-', '_' and '.'",
            'doc 3: spec.containers[0].env[1].valueFrom: set configMapKeyRef or secretKeyRef',
            'doc 3: spec.containers[0].envFrom[0].prefix: must not contain \'=\', got "X="',
            'doc 3: spec.containers[0].envFrom[1]: set configMapRef or secretRef',
        ],
        "ConfigMap, Secret, volume, mount and env source problems, never a Secret value",
    ),
    (
        "invalid-yaml.yaml",
        [
            "doc 2: invalid YAML at line 10, column 2: expected <block end>, but found '<block mapping start>' "
            "(while parsing a block mapping)"
        ],
        "invalid YAML names the document and line",
    ),
    (
        "trailing-comma.json",
        ["doc 1: invalid JSON at line 3, column 30: Expecting property name enclosed in double quotes"],
        "invalid JSON names the line and column",
    ),
    (
        "duplicate-key.yaml",
        ['doc 1: invalid YAML at line 9, column 7: duplicate key "image"'],
        "a duplicate key is an error, not a silent override",
    ),
    (
        "not-a-mapping.yaml",
        ["doc 1: expected a mapping with apiVersion, kind, metadata and spec, got a list"],
        "a document that is a list is rejected",
    ),
    (
        "missing-kind.yaml",
        [
            "doc 1: kind: required: set kind to one of " + ", ".join(kind.name for kind in KINDS),
        ],
        "a missing kind lists the known kinds",
    ),
    (
        "unknown-kind.yaml",
        ['doc 1: kind: unknown kind "Pood"; did you mean "Pod"?'],
        "an unknown kind suggests one",
    ),
    (
        "missing-api-version.yaml",
        ["doc 1: apiVersion: required: set apiVersion: atoll.dev/v1"],
        "a missing apiVersion says what to set",
    ),
    (
        "wrong-api-version.yaml",
        ['doc 1: apiVersion: unsupported apiVersion "v1"; use atoll.dev/v1'],
        "a foreign apiVersion is rejected",
    ),
    (
        "unknown-field.yaml",
        [
            'doc 1: spec.containers[0].imagee: unknown field "imagee"; did you mean "image"?',
            "doc 1: spec.containers[0].image: required",
        ],
        "an unknown field is named with its path and the real field is still required",
    ),
    (
        "wrong-type.yaml",
        ['doc 1: spec.vcpus: expected an integer, got "two"'],
        "a string for an integer is a type error and hides the follow-on range error",
    ),
    (
        "int-out-of-range.yaml",
        ["doc 1: spec.vcpus: 4294967296 is out of range for a 32-bit integer (-2147483648 to 2147483647)"],
        "an integer too large for int32 is rejected",
    ),
    (
        "scalar-for-list.yaml",
        ['doc 1: spec.containers: expected a list, got "nginx"'],
        "a scalar where a list is required is rejected",
    ),
    (
        "scalar-for-map.yaml",
        ['doc 1: metadata.labels: expected a mapping, got "web"'],
        "a scalar where a map is required is rejected",
    ),
    (
        "null-in-list.yaml",
        ["doc 1: spec.containers[1]: expected a mapping, got null"],
        "a null list item is rejected",
    ),
    (
        "null-fields.yaml",
        ["doc 1: spec.containers: at least one container is required"],
        "a null field means unset",
    ),
    (
        "number-for-string.yaml",
        [
            "doc 1: metadata.labels.version: expected a string, got 1.1 (quote it to keep it a string)",
            f"doc 1: spec.containers[0].env[0].value: expected a string, got true {BOOLEAN_HINT}",
        ],
        "unquoted numbers and booleans in string fields are rejected with a hint",
    ),
    (
        "bad-timestamp.yaml",
        [
            'doc 1: metadata.creationTimestamp: invalid timestamp "yesterday" (use RFC 3339: "2026-11-27T09:18:00Z")'
        ],
        "a timestamp that is not RFC 3339 is rejected",
    ),
    (
        "bad-quantity-in-second-doc.yaml",
        ['doc 2: spec.containers[0].resources.requests.memory: invalid quantity "12Gx"'],
        "a bad quantity names its document and full path",
    ),
    (
        "every-document-reported.yaml",
        [
            f"doc 1: metadata.name: invalid name \"Web\": {LETTERS}, '-' and '.', {EDGES} (DNS-1123 subdomain)",
            "doc 1: spec.containers[0].image: required",
            "doc 3: spec.vcpus: must be at least 1, got 0",
            "doc 3: spec.memory: required (a quantity such as 2Gi)",
            "doc 3: spec.boot: required: set kernel (direct kernel boot) or disk (a name in disks)",
        ],
        "every problem of every document is reported and empty documents still count",
    ),
    (
        "metadata-errors.yaml",
        [
            "doc 1: metadata.name: required",
            f"doc 1: metadata.namespace: invalid name \"Demo_1\": {LETTERS} and '-', {EDGES} (DNS-1123 label)",
            f'doc 1: metadata.labels[-bad]: invalid label key "-bad": name part {LABEL_CHARS}',
            f'doc 1: metadata.labels.app: invalid label value "no spaces allowed": {LABEL_CHARS}',
        ],
        "metadata name namespace and labels follow Kubernetes rules",
    ),
    (
        "node-errors.yaml",
        [
            'doc 1: metadata.namespace: must be empty: Node is cluster-scoped, got "default"',
            'doc 1: spec.taints[0].effect: unsupported value "NoRun": must be one of NoSchedule, PreferNoSchedule, '
            "NoExecute",
            'doc 1: status.capacity.memory: invalid quantity "32Gx"',
            'doc 1: status.hypervisor.type: unsupported value "type4": must be one of type1, type2, none',
        ],
        "a node has no namespace and valid taints capacity and hypervisor type",
    ),
    (
        "scheduling-errors.yaml",
        [
            "doc 1: spec.containers[0].ports[0].containerPort: must be between 1 and 65535, got 0",
            "doc 1: spec.containers[0].ports[1].containerPort: must be between 1 and 65535, got 70000",
            f"doc 1: {TERM}[0].values: exactly one integer value is required for operator Gt",
            f'doc 1: {TERM}[1].values[0]: must be an integer for operator Lt, got "lots"',
            f"doc 1: {TERM}[2].values: must be empty for operator Exists",
            f"doc 1: {TERM}[3].values: at least one value is required for operator In",
            f'doc 1: {TERM}[4].operator: unsupported value "Like": must be one of In, NotIn, Exists, DoesNotExist, '
            "Gt, Lt",
            'doc 1: spec.scheduling.tolerations[0].effect: unsupported value "NoRun": must be one of NoSchedule, '
            "PreferNoSchedule, NoExecute",
            "doc 1: spec.scheduling.topologySpreadConstraints[0].maxSkew: must be at least 1, got 0",
            'doc 1: spec.scheduling.topologySpreadConstraints[0].whenUnsatisfiable: unsupported value "Whatever": '
            "must be one of DoNotSchedule, ScheduleAnyway",
        ],
        "ports affinity operators tolerations and spread constraints are checked",
    ),
    (
        "pod-windows-rules.yaml",
        [
            "doc 1: spec.windows: only allowed when os is windows",
            "doc 1: spec.containers[0].hostProcess: only allowed when windows.isolation is hostprocess (os: windows)",
            "doc 2: spec.hostNetwork: must be true for hostprocess isolation (it runs in the host network)",
            "doc 2: spec.containers[1].hostProcess: must be true: every container of a hostprocess pod runs on "
            "the host",
            'doc 3: spec.windows.isolation: unsupported value "container": must be one of process, hyperv, '
            "hostprocess",
            'doc 3: spec.windows.imageBuild: invalid Windows build "2022": use 10.0.BUILD or 10.0.BUILD.REVISION',
            "doc 3: spec.containers[0].resources.limits.memory: must equal the memory request (1Gi) in a Windows "
            "pod: Windows has no OOM killer, the limit is a hard job-object cap; set limit = request or omit the "
            "limit",
        ],
        "windows isolation rules are enforced",
    ),
    (
        "vm-errors.yaml",
        [
            f"doc 1: spec.powerState: expected a string, got true {BOOLEAN_HINT}",
            "doc 1: spec.vcpus: must be at least 1, got 0",
            "doc 1: spec.memory: required (a quantity such as 2Gi)",
            'doc 1: spec.disks[0].format: unsupported value "vmdk": must be one of qcow2, raw',
            'doc 1: spec.disks[1].name: duplicate name "root"',
            "doc 1: spec.boot: exactly one of kernel or disk",
            'doc 1: spec.boot.disk: no disk named "data" in spec.disks',
            'doc 1: spec.guest.os: unsupported value "plan9": must be one of linux, windows',
            'doc 1: spec.hypervisor.type: unsupported value "type3": must be one of any, type1, type2',
            'doc 1: spec.runStrategy: unsupported value "Sometimes": must be one of Always, RerunOnFailure, '
            "Manual, Halted",
        ],
        "virtual machine sizes disks boot source and lifecycle values are checked",
    ),
    (
        "both-templates.yaml",
        ["doc 1: spec.template: exactly one of pod or virtualMachine"],
        "a deployment template with both pod and virtualMachine is rejected",
    ),
    (
        "deployment-template-errors.yaml",
        [
            "doc 1: spec.replicas: must not be negative, got -1",
            "doc 1: spec.template.pod.spec.containers[0].image: required",
            'doc 1: spec.template.pod.spec.containers[0].resources.requests.memory: invalid quantity "12Gx"',
            'doc 1: spec.template.pod.metadata.labels: must match spec.selector "app=web"',
            "doc 1: spec.strategy.rollingUpdate.maxUnavailable: must not be 0 when maxSurge is 0 "
            "(the rollout could never progress)",
        ],
        "a deployment reports its own and its template's problems with template paths",
    ),
    (
        "event-and-lease-errors.yaml",
        [
            "doc 1: involvedObject.name: required",
            'doc 1: type: unsupported value "Info": must be one of Normal, Warning',
            "doc 2: spec.leaseDurationSeconds: must not be negative, got -40",
        ],
        "events and leases are validated",
    ),
]


@pytest.mark.parametrize(("fixture", "expected"), [(f, e) for f, e, _ in CASES], ids=[i for *_, i in CASES])
def test_bad_manifest_reports_every_problem_with_file_document_and_path(
    fixture: str, expected: list[str]
) -> None:
    source = str(BAD / fixture)
    with pytest.raises(ManifestErrors) as raised:
        load_paths([source])
    assert [str(error) for error in raised.value.errors] == [f"{source} {line}" for line in expected]
    assert str(raised.value) == "\n".join(f"{source} {line}" for line in expected)


def test_every_bad_fixture_has_a_case() -> None:
    assert sorted(path.name for path in BAD.iterdir()) == sorted(fixture for fixture, _, _ in CASES)


def test_loading_all_bad_fixtures_at_once_reports_all_of_them() -> None:
    with pytest.raises(ManifestErrors) as raised:
        load_paths([str(BAD)])
    assert len(raised.value.errors) == sum(len(expected) for _, expected, _ in CASES)
