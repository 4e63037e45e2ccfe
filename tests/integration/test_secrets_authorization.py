"""Secret data through real gRPC with mutual TLS: who sees it, the node's reads, hostPath for
admins only, and what the audit log never holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from atoll.client import ApiError
from atoll.v1 import api_pb2, object_pb2, rbac_pb2
from tests.support.config_objects import make_config_map, make_pod_using, make_secret, with_host_path
from tests.support.objects import make_node, make_pod, make_vm
from tests.support.secure_cluster import SecureCluster, secure_cluster, status_of

VALUE = b"s3cr3t-value-that-must-not-leak"


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[SecureCluster]:
    async with secure_cluster(tmp_path) as running:
        admin = running.admin()
        await admin.create(make_secret("db", password=VALUE))
        await admin.create(make_config_map("web-config"))
        yield running


async def test_admin_reads_secret_data(cluster: SecureCluster) -> None:
    secret = (await cluster.admin().get("secret", "db")).secret
    assert secret.data["password"] == VALUE
    assert not secret.data_redacted
    assert secret.type == "Opaque"


async def test_viewer_lists_secrets_with_keys_but_never_data(cluster: SecureCluster) -> None:
    await cluster.bind("vera-views", "viewer", users=["vera"])
    viewer = cluster.client(cluster.user_config("vera"))
    got = (await viewer.get("secret", "db")).secret
    assert dict(got.data) == {"password": b""} and got.data_redacted
    listed = (await viewer.list("secrets", "default")).items
    assert [item.secret.data["password"] for item in listed] == [b""]
    assert (await viewer.get("configmap", "web-config")).config_map.data["index.html"] == "hello"


async def test_viewer_watch_of_secrets_is_redacted(cluster: SecureCluster) -> None:
    await cluster.bind("vera-views", "viewer", users=["vera"])
    viewer = cluster.client(cluster.user_config("vera"))
    stream = viewer.watch("secrets", "default")
    first = await asyncio.wait_for(anext(stream), 5)
    assert first.object.secret.metadata.name == "db"
    assert first.object.secret.data["password"] == b"" and first.object.secret.data_redacted
    await stream.aclose()


async def test_a_role_naming_secret_reads_data_and_a_redacted_copy_cannot_be_written_back(
    cluster: SecureCluster,
) -> None:
    role = object_pb2.Object(role=rbac_pb2.Role())
    role.role.metadata.name = "secret-reader"
    role.role.spec.rules.add(verbs=["get"], kinds=["Secret"])
    role.role.spec.rules.add(verbs=["list", "update"], kinds=["*"])
    await cluster.admin().create(role)
    await cluster.bind("sam-reads", "secret-reader", users=["sam"])
    sam = cluster.client(cluster.user_config("sam"))
    assert (await sam.get("secret", "db")).secret.data["password"] == VALUE
    listed = (await sam.list("secrets", "default")).items[0]
    assert listed.secret.data_redacted, "list is granted by '*' only: no data"
    with pytest.raises(ApiError) as refused:
        await sam.update(listed)
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "dataRedacted" in refused.value.message
    assert (await cluster.admin().get("secret", "db")).secret.data["password"] == VALUE


async def test_a_node_reads_only_what_its_pods_reference(cluster: SecureCluster) -> None:
    admin = cluster.admin()
    for node in ("n1", "n2"):
        await admin.create(make_node(node))
    await admin.create(make_secret("other", password=b"x"))
    await admin.create(make_pod_using("web"))
    await admin.bind([api_pb2.Binding(kind="Pod", namespace="default", name="web", node_name="n1")])
    n1 = cluster.client(cluster.config("node:n1"))
    n2 = cluster.client(cluster.config("node:n2"))
    assert (await n1.get("secret", "db")).secret.data["password"] == VALUE
    assert (await n1.get("configmap", "web-config")).config_map.data["index.html"] == "hello"
    assert await status_of(n1.get("secret", "other")) == grpc.StatusCode.PERMISSION_DENIED
    assert await status_of(n2.get("secret", "db")) == grpc.StatusCode.PERMISSION_DENIED
    assert await status_of(n1.list("secrets", "default")) == grpc.StatusCode.PERMISSION_DENIED
    selected = await n1.list("secrets", "default", field_selector="metadata.name=db")
    assert [item.secret.data["password"] for item in selected.items] == [VALUE]
    assert await status_of(n2.list("secrets", "default", field_selector="metadata.name=db")) == (
        grpc.StatusCode.PERMISSION_DENIED
    )


async def test_a_node_reads_the_cloud_init_secret_of_a_vm_bound_to_it_only(cluster: SecureCluster) -> None:
    admin = cluster.admin()
    for node in ("n1", "n2"):
        await admin.create(make_node(node))
    await admin.create(make_secret("seed", userdata=b"#!/bin/sh\necho hi\n"))
    vm = make_vm("seeded")
    vm.virtual_machine.spec.cloud_init.secret_name = "seed"
    await admin.create(vm)
    n1 = cluster.client(cluster.config("node:n1"))
    assert await status_of(n1.get("secret", "seed")) == grpc.StatusCode.PERMISSION_DENIED  # not bound yet
    await admin.bind([api_pb2.Binding(kind="VirtualMachine", namespace="default", name="seeded", node_name="n1")])
    assert (await n1.get("secret", "seed")).secret.data["userdata"] == b"#!/bin/sh\necho hi\n"
    n2 = cluster.client(cluster.config("node:n2"))
    assert await status_of(n2.get("secret", "seed")) == grpc.StatusCode.PERMISSION_DENIED
    assert await status_of(n1.get("secret", "db")) == grpc.StatusCode.PERMISSION_DENIED


async def test_host_path_needs_the_hostpath_permission(cluster: SecureCluster) -> None:
    await cluster.bind("eddie-edits", "editor", users=["eddie"])
    editor = cluster.client(cluster.user_config("eddie"))
    assert await status_of(editor.create(with_host_path(make_pod("logs")))) == grpc.StatusCode.PERMISSION_DENIED
    assert await status_of(editor.create(make_pod("plain"))) == grpc.StatusCode.OK
    assert await status_of(cluster.admin().create(with_host_path(make_pod("logs")))) == grpc.StatusCode.OK
    denied = [r for r in cluster.audit_records() if r["user"] == "eddie" and r["result"] == "PERMISSION_DENIED"]
    assert [(r["verb"], r["name"]) for r in denied] == [("hostpath", "logs")]


async def test_an_editor_writes_the_configuration_its_workloads_use(cluster: SecureCluster) -> None:
    """Kubernetes' edit role: ConfigMaps and Secrets (data included) are an editor's to write and read."""
    await cluster.bind("eddie-edits", "editor", users=["eddie"])
    editor = cluster.client(cluster.user_config("eddie"))
    assert await status_of(editor.create(make_config_map("eddie-config"))) == grpc.StatusCode.OK
    assert await status_of(editor.create(make_secret("eddie-token", token=VALUE))) == grpc.StatusCode.OK
    assert (await editor.get("secret", "db")).secret.data["password"] == VALUE
    assert await status_of(editor.delete("configmap", "web-config")) == grpc.StatusCode.OK
    assert await status_of(editor.create(make_pod_using("reader", secret="db"))) == grpc.StatusCode.OK


async def test_secret_values_never_reach_the_audit_log(cluster: SecureCluster) -> None:
    admin = cluster.admin()
    secret = (await admin.get("secret", "db")).secret
    secret.string_data["token"] = "another-" + VALUE.decode()
    await admin.update(object_pb2.Object(secret=secret))
    bad = make_secret("bad", password=VALUE)
    bad.secret.data["../escape"] = VALUE
    assert await status_of(admin.create(bad)) == grpc.StatusCode.INVALID_ARGUMENT
    await cluster.bind("vera-views", "viewer", users=["vera"])
    viewer = cluster.client(cluster.user_config("vera"))
    assert await status_of(viewer.create(make_secret("mine", password=VALUE))) == grpc.StatusCode.PERMISSION_DENIED
    await admin.delete("secret", "db")
    assert cluster.security.audit_log is not None
    text = cluster.security.audit_log.read_text()
    assert '"kind":"Secret"' in text, "the calls were audited"
    assert VALUE.decode() not in text
