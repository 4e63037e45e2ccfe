"""The simulated pre-copy model (agent/drivers/sim/migration_model.py) and the controller's
limits (controller/controllers/migration/policy.py)."""

from __future__ import annotations

import itertools

import pytest

from agent.drivers.migration import MigrationParams
from agent.drivers.sim.migration_model import THROTTLE_MAX, GuestModel, passes
from agent.workloads.migration_runner import params_of
from atoll import migrations
from atoll.v1 import migration_pb2
from controller.controllers.migration.policy import MigrationPolicy, admitted, policy_from
from controller.main import build_parser

GIB, MIB = 1024**3, 1024**2


def test_a_quiet_guest_converges_in_a_few_passes_within_the_downtime_limit() -> None:
    steps = list(passes(GuestModel(GIB, 32 * MIB, GIB), downtime_limit_ms=300, auto_converge=False))
    final = steps[-1]
    assert final.downtime_ms and final.downtime_ms <= 300
    assert len(steps) <= 4
    assert final.transferred >= GIB
    assert sum(step.seconds for step in steps) == pytest.approx(final.transferred / GIB)


def test_a_guest_dirtying_faster_than_the_link_never_converges_without_auto_converge() -> None:
    steps = list(itertools.islice(passes(GuestModel(GIB, 2 * GIB, GIB), 300, auto_converge=False), 50))
    assert len(steps) == 50 and not any(step.downtime_ms for step in steps)
    assert not any(step.progressed for step in steps[1:])


def test_auto_converge_throttles_the_guest_until_it_converges() -> None:
    steps = list(itertools.islice(passes(GuestModel(GIB, 2 * GIB, GIB), 300, auto_converge=True), 200))
    assert steps[-1].downtime_ms, "converged"
    throttles = [step.throttle for step in steps]
    assert throttles == sorted(throttles) and 0 < max(throttles) <= THROTTLE_MAX


def migration(name: str, source: str, phase: str) -> migration_pb2.VirtualMachineMigration:
    found = migration_pb2.VirtualMachineMigration()
    found.metadata.name, found.metadata.uid = name, f"uid-{name}"
    found.status.source_node, found.status.phase = source, phase
    return found


@pytest.mark.parametrize(
    ("others", "waits_for"),
    [
        ([], ""),
        ([migration("a", "n1", migrations.RUNNING)], ""),
        ([migration("a", "n1", migrations.RUNNING), migration("b", "n1", migrations.SCHEDULING)], "leave node n1"),
        ([migration(f"m{i}", f"n{i + 2}", migrations.RUNNING) for i in range(5)], "run in the cluster (limit 5)"),
        ([migration(f"m{i}", "n1", migrations.PENDING) for i in range(9)], ""),
        ([migration(f"m{i}", "n1", migrations.SUCCEEDED) for i in range(9)], ""),
    ],
    ids=["nothing else runs", "one more from its node", "two leave its node already", "five run in the cluster",
         "others only wait", "others ended"],
)
def test_limits_on_migrations_at_once(others: list[migration_pb2.VirtualMachineMigration], waits_for: str) -> None:
    candidate = migration("new", "n1", migrations.PENDING)
    why = admitted(candidate, others, MigrationPolicy())
    assert (waits_for in why) if waits_for else why == ""


def test_completion_timeout_grows_with_memory() -> None:
    policy = MigrationPolicy()
    assert policy.completion_timeout("256Mi") == 150.0
    assert policy.completion_timeout("4Gi") == 600.0


def test_migrations_this_controller_started_count_before_its_cache_shows_them() -> None:
    candidate = migration("new", "n1", migrations.PENDING)
    cached = [migration(f"m{i}", f"n{i + 2}", migrations.PENDING) for i in range(5)]
    started_here = frozenset(m.metadata.uid for m in cached)
    assert admitted(candidate, cached, MigrationPolicy()) == ""
    assert "limit 5" in admitted(candidate, cached, MigrationPolicy(), started_here)
    cached[0].status.phase = migrations.FAILED  # ended: its slot is free again
    assert admitted(candidate, cached, MigrationPolicy(), started_here) == ""


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--migration-bandwidth", "fast"], "--migration-bandwidth: not a quantity: 'fast'"),
        (["--migrations-per-cluster", "0"], "--migrations-per-cluster: must be at least 1, got 0"),
        (["--migration-progress-timeout", "-1"], "--migration-progress-timeout: must be more than 0, got -1"),
    ],
    ids=["a bandwidth that is no quantity", "no migration at a time", "a negative progress timeout"],
)
def test_bad_migration_flags_are_one_line_naming_the_flag(flags: list[str], message: str) -> None:
    with pytest.raises(ValueError) as err:
        policy_from(build_parser().parse_args(flags))
    assert str(err.value) == message


def test_migration_flags_become_the_policy_and_the_parameters_agents_apply() -> None:
    policy = policy_from(build_parser().parse_args(["--migration-bandwidth", "64Mi", "--migrations-per-node", "1"]))
    assert (policy.bandwidth, policy.parallel_outbound_per_node) == (64 * MIB, 1)
    given = policy.parameters()
    params = params_of(given, MigrationParams())
    assert (params.bandwidth, params.downtime_limit_ms, params.auto_converge) == (64 * MIB, 300, True)
    assert params_of(migration_pb2.MigrationParameters(), MigrationParams(bandwidth=7)).bandwidth == 7
