"""`atoll up` is secure by default (mutual TLS, roles, audit) and `--dev` is plaintext on loopback only."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from atoll.client import ApiError, Backoff, Client
from atoll.config import ClientConfig
from atoll.pki import internal_client_config
from atoll.tokens import add_token
from tests.support.eventually import eventually
from tests.support.objects import make_pod
from tests.support.up_process import UpProcess, admin_config, start_up


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("secure-up")


@pytest.fixture(scope="module")
def up(data_dir: Path) -> Iterator[UpProcess]:
    process = start_up(data_dir, secure=True)
    yield process
    process.kill()


async def test_secure_up_serves_the_admin_config_it_generated_and_audits_writes(up: UpProcess, data_dir: Path) -> None:
    assert "mutual TLS" in "".join(up.output)
    async with Client.connect(admin_config(data_dir, up.address), timeout=5) as admin:
        await admin.create(make_pod("audited"))
    records = (data_dir / "audit.log").read_text().splitlines()
    assert any('"user":"admin"' in line and '"name":"audited"' in line for line in records)


async def test_secure_up_refuses_plaintext(up: UpProcess) -> None:
    async with Client.connect(ClientConfig(server=up.address), timeout=5, backoff=Backoff(attempts=1)) as plaintext:
        with pytest.raises(ApiError) as err:
            await plaintext.list("pods")
    assert err.value.code == grpc.StatusCode.UNAVAILABLE


async def test_internal_component_config_and_new_tokens_work_against_a_running_up(
    up: UpProcess, data_dir: Path
) -> None:
    node_config = internal_client_config(data_dir, up.address, "node:n7")
    async with Client.connect(node_config, timeout=5) as node:
        with pytest.raises(ApiError) as err:
            await node.create(make_pod("not-for-nodes"))
        assert err.value.code == grpc.StatusCode.PERMISSION_DENIED
    token = add_token(data_dir / "tokens.yaml", "carol", ("system:masters",))
    with_token = ClientConfig(node_config.server, node_config.ca, node_config.cert, node_config.key, token)
    async with Client.connect(with_token, timeout=5) as carol:

        async def created() -> bool:
            try:
                await carol.create(make_pod("by-carol"))
            except ApiError as exc:
                assert exc.code == grpc.StatusCode.PERMISSION_DENIED
                return False
            return True

        await eventually(created, timeout=5.0, interval=0.2)


@pytest.mark.parametrize(
    "listen",
    ["0.0.0.0:0", "192.0.2.10:7443", "example.com:7443"],
    ids=["the wildcard address", "a routable address", "a host name"],
)
def test_dev_mode_refuses_a_non_loopback_listen_address(tmp_path: Path, listen: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "allinone", "up", "--dev", "--listen", listen, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"atoll up: --dev serves plaintext, so it listens on loopback only: {listen!r} is not a loopback address; "
        "use 127.0.0.1:PORT or drop --dev"
    ]
    assert not (tmp_path / "atoll.db").exists(), "nothing was started"


async def test_secure_up_runs_workloads_on_its_simulated_fleet(up: UpProcess, data_dir: Path) -> None:
    """The in-process scheduler, controllers and fleet each use their own identity and are allowed
    exactly what running a pod needs: bind, hold the agent finalizer, write status and Events."""
    async with Client.connect(admin_config(data_dir, up.address), timeout=5) as admin:
        await admin.create(make_pod("runs-secure"))

        async def running() -> bool:
            pod = (await admin.get("pod", "runs-secure")).pod
            assert pod.status.phase == "Running", pod.status.phase or "no phase yet"
            assert "atoll.dev/agent" in pod.metadata.finalizers
            return True

        await eventually(running, timeout=20)
        await admin.delete("pod", "runs-secure")

        async def gone() -> bool:
            items, _ = await admin.list_all("pods", field_selector="metadata.name=runs-secure")
            assert not items, "the agent releases a deleted pod"
            return True

        await eventually(gone, timeout=20)


async def test_logs_reach_the_agent_over_mutual_tls_and_only_through_the_api_server(
    up: UpProcess, data_dir: Path
) -> None:
    from atoll.v1 import agent_pb2, agent_pb2_grpc

    admin_config_ = admin_config(data_dir, up.address)
    async with Client.connect(admin_config_, timeout=5) as admin:
        await admin.create(make_pod("talks"))

        async def some_lines() -> list[str]:
            lines: list[str] = []
            try:
                async for chunk in admin.logs(agent_pb2.LogsRequest(namespace="default", name="talks")):
                    lines.extend(chunk)
            except ApiError as err:  # not scheduled or not started yet
                raise AssertionError(err.message) from None
            assert lines, "no log lines yet"
            return lines

        assert await eventually(some_lines, timeout=20)
        pod = (await admin.get("pod", "talks")).pod
        node = (await admin.get("node", pod.spec.node_name, "")).node
        endpoint = node.metadata.annotations["atoll.dev/agent-endpoint"]
    request = agent_pb2.LogsRequest(kind="Pod", namespace="default", name="talks", node_name=pod.spec.node_name)
    credentials = grpc.ssl_channel_credentials(
        root_certificates=Path(admin_config_.ca or "").read_bytes(),
        private_key=Path(admin_config_.key or "").read_bytes(),
        certificate_chain=Path(admin_config_.cert or "").read_bytes(),
    )
    options = [("grpc.ssl_target_name_override", "atoll-agent")]
    async with grpc.aio.secure_channel(endpoint, credentials, options=options) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            async for _ in agent_pb2_grpc.AgentLogsStub(channel).Read(request):
                pass
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, "even admin must go through the API server"
    async with grpc.aio.insecure_channel(endpoint) as plaintext:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in agent_pb2_grpc.AgentLogsStub(plaintext).Read(request, timeout=5):
                pass
    assert refused.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
