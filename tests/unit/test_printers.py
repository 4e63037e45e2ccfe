"""Table cells and layout of ``atoll get``, table-driven against kubectl's behaviour."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest

from atoll import kinds
from atoll.cli import printers
from atoll.kinds.columns import age, format_label_selector, human_duration
from atoll.kinds.node import node_hypervisor, node_status
from atoll.kinds.pod import pod_ready, pod_restarts, pod_status
from atoll.v1 import deployment_pb2, event_pb2, node_pb2, object_pb2, pod_pb2, scheduling_pb2
from tests.support.objects import make_node, make_pod, make_vm

NOW = 1_700_000_000.0


def created(obj: object_pb2.Object, seconds_ago: int) -> object_pb2.Object:
    kinds.unwrap(obj).metadata.creation_timestamp.FromSeconds(int(NOW) - seconds_ago)
    return obj


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        pytest.param(-5, "<invalid>", id="clock skew beyond a second is invalid"),
        pytest.param(-0.5, "0s", id="a sub-second skew is now"),
        pytest.param(5, "5s", id="seconds"),
        pytest.param(119, "119s", id="seconds up to two minutes"),
        pytest.param(120, "2m", id="whole minutes"),
        pytest.param(200, "3m20s", id="minutes and seconds under ten minutes"),
        pytest.param(61 * 60, "61m", id="minutes up to three hours"),
        pytest.param(5 * 3600 + 30 * 60, "5h30m", id="hours and minutes under eight hours"),
        pytest.param(20 * 3600, "20h", id="hours up to two days"),
        pytest.param(3 * 86400 + 4 * 3600, "3d4h", id="days and hours under eight days"),
        pytest.param(30 * 86400, "30d", id="days up to two years"),
        pytest.param(3 * 365 * 86400 + 86400, "3y1d", id="years and days under eight years"),
        pytest.param(10 * 365 * 86400, "10y", id="years"),
    ],
)
def test_ages_read_like_kubectl(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


def test_an_unset_timestamp_has_an_unknown_age() -> None:
    assert age(make_pod().pod, NOW) == "<unknown>"


def pod_with(**changes: Any) -> pod_pb2.Pod:
    pod = make_pod().pod
    for setter in changes.values():
        setter(pod)
    return pod


def container(state: str, **fields: Any) -> Callable[[pod_pb2.Pod], None]:
    def apply(pod: pod_pb2.Pod) -> None:
        status = pod.status.container_statuses.add(name="main")
        getattr(status.state, state).SetInParent()
        for name, value in fields.items():
            if name == "ready":
                status.ready = value
            else:
                setattr(getattr(status.state, state), name, value)

    return apply


def phase(value: str) -> Callable[[pod_pb2.Pod], None]:
    return lambda pod: setattr(pod.status, "phase", value)


def deleting(pod: pod_pb2.Pod) -> None:
    pod.metadata.deletion_timestamp.FromSeconds(int(NOW))


@pytest.mark.parametrize(
    ("pod", "status"),
    [
        pytest.param(pod_with(), "Pending", id="no status yet is Pending"),
        pytest.param(pod_with(p=phase("Running"), c=container("running", ready=True)), "Running", id="running"),
        pytest.param(
            pod_with(p=phase("Running"), c=container("waiting", reason="CrashLoopBackOff")),
            "CrashLoopBackOff",
            id="a waiting reason overrides the phase",
        ),
        pytest.param(
            pod_with(p=phase("Succeeded"), c=container("terminated", reason="Completed")),
            "Completed",
            id="a terminated reason overrides the phase",
        ),
        pytest.param(
            pod_with(p=phase("Failed"), c=container("terminated", signal=9)),
            "Signal:9",
            id="a signal without reason",
        ),
        pytest.param(
            pod_with(p=phase("Failed"), c=container("terminated", exit_code=3)),
            "ExitCode:3",
            id="an exit code without reason",
        ),
        pytest.param(
            pod_with(p=phase("Running"), c=container("running", ready=True), d=deleting),
            "Terminating",
            id="deletion in progress is Terminating",
        ),
    ],
)
def test_pod_status_column_follows_kubectl(pod: pod_pb2.Pod, status: str) -> None:
    assert pod_status(pod, NOW) == status


def test_pod_ready_counts_ready_containers_of_all_containers() -> None:
    pod = make_pod().pod
    pod.spec.containers.add(name="sidecar", image="busybox")
    pod.status.container_statuses.add(name="main", ready=True)
    pod.status.container_statuses.add(name="sidecar", ready=False)
    assert pod_ready(pod, NOW) == "1/2"


def test_pod_restarts_show_the_age_of_the_latest_restart() -> None:
    pod = make_pod().pod
    status = pod.status.container_statuses.add(name="main", restart_count=3)
    status.last_state.terminated.finished_at.FromSeconds(int(NOW) - 300)
    assert pod_restarts(pod, NOW) == "3 (5m ago)"
    assert pod_restarts(make_pod().pod, NOW) == "0"


def node_with(ready: str | None, cordoned: bool = False) -> node_pb2.Node:
    node = make_node().node
    del node.status.conditions[:]
    if ready is not None:
        node.status.conditions.add(type="Ready", status=ready)
    node.spec.unschedulable = cordoned
    return node


@pytest.mark.parametrize(
    ("node", "status"),
    [
        pytest.param(node_with("True"), "Ready", id="ready"),
        pytest.param(node_with("False"), "NotReady", id="not ready"),
        pytest.param(node_with(None), "Unknown", id="no Ready condition is Unknown"),
        pytest.param(node_with("True", cordoned=True), "Ready,SchedulingDisabled", id="cordoned"),
    ],
)
def test_node_status_comes_from_the_ready_condition_and_cordon(node: node_pb2.Node, status: str) -> None:
    assert node_status(node, NOW) == status


@pytest.mark.parametrize(
    ("hypervisor", "text"),
    [
        pytest.param(node_pb2.HypervisorInfo(), "<none>", id="no hypervisor"),
        pytest.param(node_pb2.HypervisorInfo(type="none"), "<none>", id="type none"),
        pytest.param(node_pb2.HypervisorInfo(type="type1", name="qemu-kvm"), "type1/qemu-kvm", id="named"),
        pytest.param(node_pb2.HypervisorInfo(type="type2"), "type2", id="unnamed"),
    ],
)
def test_node_hypervisor_column(hypervisor: node_pb2.HypervisorInfo, text: str) -> None:
    node = make_node().node
    node.status.hypervisor.CopyFrom(hypervisor)
    assert node_hypervisor(node, NOW) == text


def test_deployment_ready_defaults_to_one_desired_replica() -> None:
    deployment = deployment_pb2.Deployment()
    deployment.status.ready_replicas = 0
    deployment.spec.template.pod.spec.containers.add(name="main", image="busybox")
    obj = object_pb2.Object(deployment=deployment)
    cells = printers.rows(printers.columns_for(kinds.lookup("deploy"), wide=True), [obj], NOW)[0]
    assert cells[:2] == ["", "0/1"]
    assert cells[-2:] == ["Pod", "<none>"]


def test_label_selectors_print_in_kubectl_syntax() -> None:
    selector = scheduling_pb2.LabelSelector(match_labels={"tier": "web", "app": "shop"})
    selector.match_expressions.add(key="env", operator="In", values=["a", "b"])
    selector.match_expressions.add(key="legacy", operator="DoesNotExist")
    selector.match_expressions.add(key="gpu", operator="Exists")
    assert format_label_selector(selector) == "app=shop,tier=web,env in (a,b),!legacy,gpu"


@pytest.mark.parametrize(
    ("alias", "wide", "all_namespaces", "headers"),
    [
        pytest.param("pods", False, False, ["NAME", "READY", "STATUS", "RESTARTS", "AGE"], id="pods"),
        pytest.param(
            "po",
            True,
            True,
            ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE", "NOMINATED NODE", "OS"],
            id="pods wide across namespaces",
        ),
        pytest.param("vm", False, False, ["NAME", "PHASE", "POWER", "VCPUS", "MEMORY", "NODE", "AGE"], id="vms"),
        pytest.param(
            "vm",
            True,
            False,
            ["NAME", "PHASE", "POWER", "VCPUS", "MEMORY", "NODE", "AGE",
             "GUEST", "HYPERVISOR", "IP", "RESTARTS", "RUN"],
            id="vms wide with the current run",
        ),
        pytest.param("deploy", False, False, ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"], id="deployments"),
        pytest.param(
            "nodes",
            False,
            True,
            ["NAME", "STATUS", "OS", "BUILD", "HYPERVISOR", "AGE", "VERSION"],
            id="nodes get no namespace column even with -A",
        ),
        pytest.param("events", False, False, ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"], id="events"),
        pytest.param("ns", False, False, ["NAME", "STATUS", "AGE"], id="namespaces"),
        pytest.param("leases", False, False, ["NAME", "HOLDER", "AGE"], id="leases"),
    ],
)
def test_each_kind_has_kubectl_shaped_columns(alias: str, wide: bool, all_namespaces: bool, headers: list[str]) -> None:
    columns = printers.columns_for(kinds.lookup(alias), wide=wide, all_namespaces=all_namespaces)
    assert printers.headers(columns) == headers


def test_every_kind_has_a_table() -> None:
    assert all(kind.columns for kind in kinds.KINDS)


def test_vm_row_shows_power_vcpus_memory_and_node() -> None:
    vm = created(make_vm("db"), 3600)
    kinds.unwrap(vm).status.phase = "Running"
    kinds.unwrap(vm).status.power_state = "Running"
    kinds.unwrap(vm).spec.node_name = "n1"
    row = printers.rows(printers.columns_for(kinds.lookup("vm")), [vm], NOW)[0]
    assert row == ["db", "Running", "Running", "1", "512Mi", "n1", "60m"]


def make_event(name: str, reason: str, last_seen_ago: int, message: str = "ok") -> object_pb2.Object:
    event = event_pb2.Event(reason=reason, message=message, type="Normal")
    event.metadata.name = name
    event.involved_object.kind = "Pod"
    event.involved_object.name = "web"
    event.last_timestamp.FromSeconds(int(NOW) - last_seen_ago)
    return object_pb2.Object(event=event)


def test_events_print_oldest_first_with_their_object() -> None:
    events = [make_event("e2", "Started", 5), make_event("e1", "Scheduled", 60, "assigned\n to n1")]
    kind = kinds.lookup("events")
    rows = printers.rows(printers.columns_for(kind), printers.sort_for_display(kind, events), NOW)
    assert rows == [
        ["60s", "Normal", "Scheduled", "pod/web", "assigned to n1"],
        ["5s", "Normal", "Started", "pod/web", "ok"],
    ]


def test_resource_names_use_the_lowercase_singular_kind() -> None:
    namespace = object_pb2.Object()
    namespace.namespace.metadata.name = "prod"
    assert printers.resource_name(make_pod("web")) == "pod/web"
    assert printers.resource_name(make_vm("db")) == "virtualmachine/db"
    assert printers.resource_name(namespace) == "namespace/prod"


def test_columns_are_padded_like_tabwriter_and_the_last_is_not() -> None:
    lines = printers.align([["NAME", "AGE"], ["a-long-name", "5s"]])
    assert lines == ["NAME          AGE", "a-long-name   5s"]
    assert printers.align([["A", "B", "C"]]) == ["A     B     C"]


def test_table_writer_keeps_widths_across_writes_so_watch_rows_align() -> None:
    out = io.StringIO()
    writer = printers.TableWriter(out)
    writer.write([["NAME", "STATUS"], ["web-very-long", "Running"]])
    writer.write([["db", "Pending"]])
    assert out.getvalue().splitlines() == [
        "NAME            STATUS",
        "web-very-long   Running",
        "db              Pending",
    ]
