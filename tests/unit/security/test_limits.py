"""Token buckets, the audit budget for refused calls and the wrong-token limiter, on a fake clock."""

from __future__ import annotations

import grpc
import pytest

from atoll.clock import ManualClock
from controller.apiserver import metrics
from controller.apiserver.auth.audit_budget import AuditBudget
from controller.apiserver.auth.buckets import TokenBuckets
from controller.apiserver.auth.identity import Peer
from controller.apiserver.auth.limits import FailedAuthLimiter
from controller.apiserver.errors import StatusError


def test_buckets_allow_a_burst_then_refill_at_the_rate() -> None:
    clock = ManualClock(start=100.0)
    buckets = TokenBuckets(3, 0.5, clock=clock)
    assert [buckets.take("a") for _ in range(4)] == [True, True, True, False]
    assert buckets.take("b"), "each key has its own bucket"
    assert buckets.seconds_until_available("a") == pytest.approx(2.0)
    clock.advance(2.0)
    assert buckets.take("a") and not buckets.take("a")
    clock.advance(1000)
    assert [buckets.take("a") for _ in range(4)] == [True, True, True, False], "never more than the burst"


def test_buckets_forget_the_longest_idle_key_past_max_keys() -> None:
    buckets = TokenBuckets(1, 0, max_keys=2, clock=ManualClock(start=100.0))
    assert buckets.take("a") and buckets.take("b") and buckets.take("c")
    assert buckets.take("a"), "a was forgotten (its bucket starts full again)"
    assert not buckets.take("c")


def _sampled(result: str) -> float:
    return metrics.REGISTRY.get_sample_value("atoll_apiserver_audit_records_sampled_total", {"result": result}) or 0.0


def test_audit_budget_samples_refused_records_after_a_burst_and_reports_the_gap() -> None:
    clock = ManualClock(start=100.0)
    budget = AuditBudget(TokenBuckets(2, 0.1, clock=clock), TokenBuckets(100, 10, clock=clock))
    before = _sampled("PERMISSION_DENIED")
    decisions = [budget.admit("node-1", "PERMISSION_DENIED") for _ in range(5)]
    assert decisions == [0, 0, None, None, None]
    assert _sampled("PERMISSION_DENIED") - before == 3
    assert budget.admit("admin", "PERMISSION_DENIED") == 0, "another caller still has its budget"
    assert budget.admit("node-1", "OK") == 3, "a successful call is always recorded and reports the gap"
    assert budget.admit("node-1", "OK") == 0
    clock.advance(10)
    budget.admit("node-1", "PERMISSION_DENIED")
    assert budget.admit("node-1", "PERMISSION_DENIED") is None


def test_audit_budget_bounds_all_callers_together() -> None:
    clock = ManualClock(start=100.0)
    budget = AuditBudget(TokenBuckets(5, 0, clock=clock), TokenBuckets(3, 0, clock=clock))
    assert [budget.admit(f"node-{i}", "UNAUTHENTICATED") for i in range(5)] == [0, 0, 0, None, None]


def test_failed_authentications_are_limited_per_peer() -> None:
    clock = ManualClock(start=100.0)
    limiter = FailedAuthLimiter(TokenBuckets(2, 0.5, clock=clock))
    node = Peer("system:node:n1", "ipv4:10.0.0.1:5000")
    other = Peer("", "ipv4:10.0.0.2:6000")
    for _ in range(2):
        limiter.check(node)
        limiter.failed(node)
    with pytest.raises(StatusError) as err:
        limiter.check(node)
    assert err.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert err.value.message == (
        "too many failed authentications from certificate 'system:node:n1'; no token is checked for it for 2 s"
    )
    limiter.check(other)
    clock.advance(2)
    limiter.check(node)


@pytest.mark.parametrize(
    ("peer", "key"),
    [
        (Peer("alice", "ipv4:10.0.0.1:5000"), "certificate:alice"),
        (Peer("", "ipv4:10.0.0.1:5000"), "ipv4:10.0.0.1"),
        (Peer("", "ipv6:[::1]:5000"), "ipv6:[::1]"),
        (Peer("", "unix:/run/atoll.sock"), "unix:/run/atoll.sock"),
    ],
    ids=["a certificate names the caller", "else the address without its port", "ipv6 too", "a unix socket"],
)
def test_peer_key(peer: Peer, key: str) -> None:
    assert peer.key == key
