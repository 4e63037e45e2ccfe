"""An attacker with any certificate cannot flush the audit log, nor guess tokens at wire speed.

The probe that found it: a dozen refused Creates with 3.9 MB names (a node certificate, no
permission) rotated every earlier record out of the retained files. Now every string a caller
chose is bounded in the record and in the error, and refused calls are recorded within a budget
per caller, the rest counted.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import grpc
import pytest

from atoll.client import ApiError
from controller.apiserver import metrics
from tests.support.objects import make_pod
from tests.support.secure_cluster import SecureCluster, secure_cluster

HUGE_NAME = "x" * 3_900_000
FLOOD = 12
BURST = 5
MAX_BYTES = 256 * 1024  # one 3.9 MB record would have rotated everything out


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[SecureCluster]:
    overrides: dict[str, Any] = {
        "audit_max_bytes": MAX_BYTES,
        "audit_backups": 1,
        "audit_refused_burst": BURST,
        "audit_refused_per_second": 0,  # no refill during the test: the count is exact
        "failed_auth_burst": 3,
        "failed_auth_per_second": 0,
    }
    async with secure_cluster(tmp_path, **overrides) as running:
        yield running


def _retained(cluster: SecureCluster) -> list[dict[str, Any]]:
    assert cluster.security.audit_log is not None
    rotated = cluster.security.audit_log.with_name("audit.log.1")
    older = cluster.audit_records_of(rotated) if rotated.exists() else []
    return [*older, *cluster.audit_records()]


def _sampled(result: str) -> float:
    return metrics.REGISTRY.get_sample_value("atoll_apiserver_audit_records_sampled_total", {"result": result}) or 0.0


async def test_refused_creates_with_huge_names_leave_earlier_records_and_count_what_was_sampled(
    cluster: SecureCluster,
) -> None:
    await cluster.admin().create(make_pod("before-the-flood"))
    node = cluster.client(cluster.config("node:n1"))
    before = _sampled("PERMISSION_DENIED")
    for _ in range(FLOOD):
        with pytest.raises(ApiError) as err:
            await node.create(make_pod(HUGE_NAME))
        assert err.value.code == grpc.StatusCode.PERMISSION_DENIED
        assert len(err.value.message) < 1_000, "the error repeats a bounded name"
    records = _retained(cluster)
    assert [r["name"] for r in records if r["result"] == "OK"] == ["before-the-flood"]
    denied = [r for r in records if r["result"] == "PERMISSION_DENIED"]
    assert len(denied) == BURST
    assert {r["certificate"] for r in denied} == {"system:node:n1"}
    assert all(len(r["name"]) < 400 for r in denied)
    assert _sampled("PERMISSION_DENIED") - before == FLOOD - BURST
    assert cluster.security.audit_log is not None
    assert cluster.security.audit_log.stat().st_size < 32 * 1024


async def test_wrong_tokens_are_limited_per_certificate_and_audited_with_it(cluster: SecureCluster) -> None:
    guesser = cluster.client(replace(cluster.config("node:n1"), token="guess"))
    codes = []
    for _ in range(5):
        with pytest.raises(ApiError) as err:
            await guesser.list("pods")
        codes.append(err.value.code)
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 3 + [grpc.StatusCode.RESOURCE_EXHAUSTED] * 2
    assert "too many failed authentications from certificate 'system:node:n1'" in err.value.message
    right = cluster.client(replace(cluster.config("node:n1"), token="tok-root"))
    with pytest.raises(ApiError) as err:
        await right.list("pods")
    assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED, "a right guess is not told apart"
    other = cluster.client(replace(cluster.config("admin"), token="tok-root"))
    assert (await other.list("pods")).resource_version > 0, "another certificate's tokens are still checked"
    refused = [r for r in _retained(cluster) if r["result"] in ("UNAUTHENTICATED", "RESOURCE_EXHAUSTED")]
    assert refused and {(r["user"], r["certificate"]) for r in refused} == {("", "system:node:n1")}


async def test_batch_create_items_are_audited_with_their_own_results_and_sampled_when_refused(
    cluster: SecureCluster,
) -> None:
    before = _sampled("INVALID_ARGUMENT")
    objects = [make_pod(f"Not_Valid_{index}_" + "x" * 300_000) for index in range(FLOOD)] + [make_pod("fine")]
    response = await cluster.admin().batch_create(objects)
    assert [result.code for result in response.results] == ["INVALID_ARGUMENT"] * FLOOD + ["OK"]
    records = [r for r in _retained(cluster) if r["verb"] == "create"]
    assert [r["result"] for r in records] == ["INVALID_ARGUMENT"] * BURST + ["OK"]
    assert records[-1]["name"] == "fine" and records[-1]["suppressed"] == FLOOD - BURST
    assert _sampled("INVALID_ARGUMENT") - before == FLOOD - BURST
