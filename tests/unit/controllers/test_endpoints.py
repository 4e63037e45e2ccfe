"""The endpoints controller: Ready and not-ready pods and VMs behind a Service, named target ports,
a Service selecting nothing, changes moving addresses, the Endpoints going with its Service, no
write when nothing changed, and no double create from a lagging cache."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from atoll.clock import ManualClock
from atoll.v1 import namespace_pb2, pod_pb2, service_pb2, virtualmachine_pb2
from controller.controllers.endpoints.reconciler import EndpointsController
from controller.runtime.reconciler_runner import drain
from tests.support.fake_api import FakeApi
from tests.support.objects import make_pod, make_service, make_vm


@dataclass
class Harness:
    api: FakeApi
    controller: EndpointsController

    async def settle(self) -> None:
        await drain(self.controller)

    def endpoints(self, name: str = "web") -> service_pb2.Endpoints | None:
        found = self.api.latest("Endpoints", name)
        return found.endpoints if found is not None else None

    def addresses(self, name: str = "web") -> tuple[list[str], list[str]]:
        """(ready, not ready) as ``kind/name=ip:port,...`` sorted, over every subset."""
        endpoints = self.endpoints(name)
        assert endpoints is not None
        ready: list[str] = []
        not_ready: list[str] = []
        for subset in endpoints.subsets:
            ports = ",".join(str(port.port) for port in subset.ports)
            ready += [f"{a.target_ref.kind}/{a.target_ref.name}={a.ip}:{ports}" for a in subset.addresses]
            not_ready += [f"{a.target_ref.kind}/{a.target_ref.name}={a.ip}:{ports}" for a in subset.not_ready_addresses]
        return sorted(ready), sorted(not_ready)

    def counts(self, name: str = "web") -> tuple[int, int]:
        found = self.api.latest("Service", name)
        assert found is not None
        return found.service.status.ready_endpoints, found.service.status.not_ready_endpoints


@pytest.fixture
async def harness() -> AsyncIterator[Harness]:
    api = await FakeApi(ManualClock(start=1_800_000_000.0)).setup()
    other = namespace_pb2.Namespace()
    other.metadata.name = "other"
    await api.create(other)
    controller = EndpointsController(
        api,
        api.informer(service_pb2.Service),
        api.informer(service_pb2.Endpoints),
        {"Pod": api.informer(pod_pb2.Pod), "VirtualMachine": api.informer(virtualmachine_pb2.VirtualMachine)},
        api.clock,
    )
    await api.sync_informers()
    yield Harness(api, controller)


async def pod(
    api: FakeApi,
    name: str,
    ip: str = "",
    *,
    ready: bool = True,
    phase: str = "Running",
    namespace: str = "default",
    ports: dict[str, int] | None = None,
    **labels: str,
) -> None:
    """A pod labelled ``labels`` (default app=web) with its status as an agent would write it."""
    obj = make_pod(name, namespace, **labels)
    for port_name, number in (ports or {}).items():
        obj.pod.spec.containers[0].ports.add(name=port_name, container_port=number, protocol="TCP")
    obj.pod.metadata.uid = f"uid-{name}"
    obj.pod.spec.node_name = "n1"
    obj.pod.status.phase = phase
    obj.pod.status.pod_ip = ip
    obj.pod.status.conditions.add(type="Ready", status="True" if ready else "False")
    await api.put(obj)


async def vm(api: FakeApi, name: str, ip: str, *, ready: bool | None = None, **labels: str) -> None:
    """A running VM with ``ip``; a Ready condition only when ``ready`` is given."""
    obj = make_vm(name)
    obj.virtual_machine.metadata.labels.update(labels or {"app": "web"})
    obj.virtual_machine.spec.node_name = "n2"
    obj.virtual_machine.status.phase = "Running"
    obj.virtual_machine.status.ip = ip
    if ready is not None:
        obj.virtual_machine.status.conditions.add(type="Ready", status="True" if ready else "False")
    await api.put(obj)


async def test_ready_pods_and_vms_are_addresses_and_the_rest_not_ready_ones(harness: Harness) -> None:
    api = harness.api
    await api.create(make_service())
    await pod(api, "ready", "10.244.1.2")
    await pod(api, "unready", "10.244.1.3", ready=False)
    await pod(api, "no-address")
    await pod(api, "finished", "10.244.1.4", phase="Succeeded")
    await pod(api, "other-app", "10.244.1.5", app="db")
    await pod(api, "other-namespace", "10.244.1.6", namespace="other")
    await vm(api, "vm-running", "10.244.2.2")
    await vm(api, "vm-unready", "10.244.2.3", ready=False)
    await harness.settle()
    assert harness.addresses() == (
        ["Pod/ready=10.244.1.2:8080", "VirtualMachine/vm-running=10.244.2.2:8080"],
        ["Pod/unready=10.244.1.3:8080", "VirtualMachine/vm-unready=10.244.2.3:8080"],
    )
    endpoints = harness.endpoints()
    assert endpoints is not None
    service = api.latest("Service", "web")
    assert service is not None
    (owner,) = endpoints.metadata.owner_references
    assert (owner.kind, owner.name, owner.uid, owner.controller) == (
        "Service",
        "web",
        service.service.metadata.uid,
        True,
    )
    first = endpoints.subsets[0].addresses[0]
    assert (first.node_name, first.target_ref.namespace, first.target_ref.uid) == ("n1", "default", "uid-ready")
    assert harness.counts() == (2, 2)


async def test_a_named_target_port_is_resolved_per_pod_and_never_reaches_a_vm(harness: Harness) -> None:
    api = harness.api
    service = make_service()
    service.service.spec.ports[0].target_port = "http"
    await api.create(service)
    await pod(api, "a", "10.244.1.2", ports={"http": 8080})
    await pod(api, "b", "10.244.1.3", ports={"http": 9090})
    await pod(api, "c", "10.244.1.4", ports={"metrics": 9100})
    await vm(api, "v", "10.244.2.2")
    await harness.settle()
    assert harness.addresses() == (["Pod/a=10.244.1.2:8080", "Pod/b=10.244.1.3:9090"], [])
    endpoints = harness.endpoints()
    assert endpoints is not None and len(endpoints.subsets) == 2  # one per resolved port set
    assert [(p.name, p.protocol) for p in endpoints.subsets[0].ports] == [("http", "TCP")]


async def test_a_service_selecting_nothing_has_endpoints_without_subsets(harness: Harness) -> None:
    await harness.api.create(make_service(app="nobody"))
    await harness.settle()
    endpoints = harness.endpoints()
    assert endpoints is not None and list(endpoints.subsets) == []
    assert harness.counts() == (0, 0)


async def test_changes_move_addresses_and_the_endpoints_goes_with_its_service(harness: Harness) -> None:
    api = harness.api
    await api.create(make_service())
    await pod(api, "a", "10.244.1.2")
    await pod(api, "b", "10.244.1.3")
    await harness.settle()
    assert harness.addresses() == (["Pod/a=10.244.1.2:8080", "Pod/b=10.244.1.3:8080"], [])
    await pod(api, "a", "10.244.1.2", ready=False)  # readiness lost
    await pod(api, "b", "10.244.1.3", app="elsewhere")  # relabelled away
    await pod(api, "c", "10.244.1.4")  # a new one
    await harness.settle()
    assert harness.addresses() == (["Pod/c=10.244.1.4:8080"], ["Pod/a=10.244.1.2:8080"])
    assert harness.counts() == (1, 1)
    await api.delete("Pod", "c")
    await harness.settle()
    assert harness.addresses() == ([], ["Pod/a=10.244.1.2:8080"])
    await api.delete("Service", "web")
    await harness.settle()
    assert harness.endpoints() is None


async def test_nothing_is_written_when_nothing_changed(harness: Harness) -> None:
    api = harness.api
    await api.create(make_service())
    await pod(api, "a", "10.244.1.2")
    await harness.settle()
    writes = api.count("create", "Endpoints") + api.count("update", "Endpoints") + api.count("update_status", "Service")
    await pod(api, "a", "10.244.1.2", app="web", team="x")  # a label no selector looks at: queued, nothing to write
    harness.controller.queue.add("default/web")
    await harness.settle()
    after = api.count("create", "Endpoints") + api.count("update", "Endpoints") + api.count("update_status", "Service")
    assert after == writes


async def test_a_lagging_cache_never_creates_the_endpoints_twice(harness: Harness) -> None:
    api = harness.api
    api.hold_events("Endpoints")
    await api.create(make_service())
    await harness.settle()
    await pod(api, "a", "10.244.1.2")  # queues the Service again while its Endpoints is unseen
    await harness.settle()
    assert api.count("create", "Endpoints") == 1
    await api.release_events()
    await harness.settle()
    assert harness.addresses() == (["Pod/a=10.244.1.2:8080"], [])
    assert api.count("create", "Endpoints") == 1


async def test_endpoints_of_a_service_without_selector_are_left_alone(harness: Harness) -> None:
    api = harness.api
    service = make_service()
    service.service.spec.selector.clear()
    await api.create(service)
    manual = service_pb2.Endpoints()
    manual.metadata.name, manual.metadata.namespace = "web", "default"
    manual.subsets.add(
        addresses=[service_pb2.EndpointAddress(ip="192.0.2.10")], ports=[service_pb2.EndpointPort(port=5432)]
    )
    await api.create(manual)
    await pod(api, "a", "10.244.1.2")
    await harness.settle()
    endpoints = harness.endpoints()
    assert endpoints is not None and [a.ip for a in endpoints.subsets[0].addresses] == ["192.0.2.10"]
    await api.delete("Service", "web")
    await harness.settle()
    assert harness.endpoints() is not None  # not the controller's to delete
