"""docs/http-api.md's curl examples work as written: every ``sh`` block of its curl section runs,
in order, in one bash with ``set -e`` against a secure API server (TLS, a bearer token)."""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

from tests.support.http_api import API
from tests.support.secure_cluster import secure_cluster
from tests.support.system import require_binary

DOC = Path(__file__).resolve().parents[2] / "docs" / "http-api.md"
_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)


def curl_script() -> str:
    section = DOC.read_text().split("## curl", 1)[1]
    return "\n".join(_BLOCK.findall(section))


def test_the_doc_has_a_curl_example_for_every_verb() -> None:
    script = curl_script()
    for verb in ("-X POST", "-X PUT", "-X PATCH", "-X DELETE", "watch=true", "/status", "selfsubjectaccessreviews"):
        assert verb in script, verb


async def test_the_curl_examples_run_as_written(tmp_path: Path) -> None:
    require_binary("curl", "curl")
    require_binary("jq", "jq")
    async with secure_cluster(tmp_path, http_listen="127.0.0.1:0") as cluster:
        assert cluster.api.http is not None
        env = dict(
            os.environ, CA=str(cluster.security.client_ca), TOKEN="tok-root", API=cluster.api.http.url + API
        )
        process = await asyncio.create_subprocess_exec(
            "bash",
            "-c",
            "set -euo pipefail\n" + curl_script(),
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(process.communicate(), 120)
        text = output.decode()
        assert process.returncode == 0, text
        pod = (await cluster.admin().get("pod", "web")).pod
        remaining = [item.pod.metadata.name for item in (await cluster.admin().list("pod")).items]
    assert pod.metadata.labels["tier"] == "front" and pod.status.phase == "Running", "PUT and PUT /status wrote"
    assert remaining == ["web"], "apply created db, DELETE removed it"
    assert '"allowed":true' in text
