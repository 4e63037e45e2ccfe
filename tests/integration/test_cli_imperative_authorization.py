"""``atoll run``, ``create`` and ``expose`` write through the one Create path: against a server with
mutual TLS and roles, a user without a binding is refused (one line, Forbidden, nothing written,
the refusal audited) and an editor's writes are audited under their name."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

from atoll import kinds
from atoll.config import ClientConfig
from tests.support.atoll_cli import run_atoll
from tests.support.secure_cluster import SecureCluster, secure_cluster

ATTEMPTS = (
    ("run", "web", "--image=nginx", "--port=80"),
    ("create", "deployment", "api", "--image=nginx", "--port=8080"),
    ("expose", "deploy/api", "--port=80"),
)


def as_user(config: ClientConfig, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    flags = ["--server", config.server, "--ca", str(config.ca), "--cert", str(config.cert), "--key", str(config.key)]
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "ATOLL_CONFIG": str(home / "none.yaml")}
    return run_atoll([*args, *flags], env=env)


async def names(cluster: SecureCluster) -> set[tuple[str, str]]:
    """(kind, name) of every object of the kinds these verbs write, read as admin."""
    admin = cluster.admin()
    found = set()
    for kind in ("pods", "configmaps", "deployments", "services"):
        listed, _ = await admin.list_all(kind, "default")
        found |= {(kind, kinds.unwrap(obj).metadata.name) for obj in listed}
    return found


async def test_without_a_role_every_verb_is_forbidden_and_audited_and_nothing_is_written(tmp_path: Path) -> None:
    async with secure_cluster(tmp_path) as cluster:
        mallory = cluster.user_config("mallory")
        before = await names(cluster)
        for argv in (*ATTEMPTS[:2], ("create", "configmap", "settings", "--from-literal=mode=prod")):
            result = await asyncio.to_thread(as_user, mallory, tmp_path, *argv)
            assert result.returncode == 1 and result.stderr.startswith("Error from server (Forbidden)"), result.stderr
            assert result.stderr.count("\n") == 1
        assert await names(cluster) == before
        denied = [r["verb"] for r in cluster.audit_records() if r["user"] == "mallory"]
        assert denied == ["create", "create", "create"]


async def test_an_editors_creates_are_audited_under_their_name(tmp_path: Path) -> None:
    async with secure_cluster(tmp_path) as cluster:
        await cluster.bind("alice-edits", "editor", users=["alice"], namespaces=["default"])
        alice = cluster.user_config("alice")
        for argv in ATTEMPTS:
            result = await asyncio.to_thread(as_user, alice, tmp_path, *argv)
            assert result.returncode == 0, result.stderr
        created = [(r["verb"], r["name"], r["result"]) for r in cluster.audit_records() if r["user"] == "alice"]
        assert [entry for entry in created if entry[0] == "create"] == [
            ("create", "web", "OK"),
            ("create", "api", "OK"),
            ("create", "api", "OK"),
        ]
