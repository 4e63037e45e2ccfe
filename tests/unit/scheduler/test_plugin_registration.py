"""Plugin registration: every shipped plugin keeps the extension-point contract, and a plugin
that breaks it (a point declared but not implemented, a point implemented but not declared, a
misspelt method) is refused when the registry is built, naming the plugin and the method."""

from __future__ import annotations

import pytest

from scheduler.arrays import FloatArray, I64Array
from scheduler.framework.cycle_state import CycleState
from scheduler.framework.interfaces import EXTENSION_POINTS, NoArgs, Plugin, Score, VectorFilter
from scheduler.framework.plugin_args import PluginArgs
from scheduler.framework.registry import PluginRegistrationError, build_registry, check_plugin
from scheduler.framework.status import NodeVerdict
from scheduler.plugins import REGISTRY
from scheduler.snapshot import ClusterSnapshot
from scheduler.workload import WorkloadInfo


class Scores(Score, NoArgs):
    NAME = "Scores"

    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slots: I64Array
    ) -> FloatArray:
        raise NotImplementedError


class ScoresToo(Scores):
    pass  # same NAME as Scores


class MisspeltScore(Score, NoArgs):
    NAME = "MisspeltScore"

    def scroe(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slots: I64Array
    ) -> FloatArray:
        raise NotImplementedError


class UndeclaredFilter(Scores):
    NAME = "UndeclaredFilter"

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        raise NotImplementedError


class PublicHelper(Scores):
    NAME = "PublicHelper"

    def normalise(self, scores: FloatArray) -> FloatArray:
        return scores


class NoPoint(NoArgs):
    NAME = "NoPoint"


class NoFactory(VectorFilter):
    NAME = "NoFactory"

    def filter_nodes(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, explain: bool
    ) -> NodeVerdict:
        raise NotImplementedError


class Nameless(Score, NoArgs):
    def score(
        self, state: CycleState, workload: WorkloadInfo, snapshot: ClusterSnapshot, slots: I64Array
    ) -> FloatArray:
        raise NotImplementedError


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_shipped_plugin_keeps_the_contract_and_builds_without_args(name: str) -> None:
    plugin_class = REGISTRY[name]
    check_plugin(plugin_class)
    plugin = plugin_class.from_args(PluginArgs({}))
    assert name == plugin.NAME
    assert any(isinstance(plugin, point) for point in EXTENSION_POINTS)


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        pytest.param(
            MisspeltScore,
            "plugin MisspeltScore declares Score but does not implement score",
            id="a point declared with its method misspelt is refused",
        ),
        pytest.param(
            UndeclaredFilter,
            "plugin UndeclaredFilter implements filter_nodes but does not declare VectorFilter",
            id="a point's method without the point declared is refused",
        ),
        pytest.param(
            PublicHelper,
            "plugin PublicHelper: public method normalise is no method of Score",
            id="a public method that belongs to no declared point is refused",
        ),
        pytest.param(NoPoint, "plugin NoPoint declares no extension point", id="a plugin with no point is refused"),
        pytest.param(
            NoFactory,
            "plugin NoFactory declares VectorFilter but does not implement from_args",
            id="a plugin without a factory for its args is refused",
        ),
        pytest.param(Nameless, "plugin class Nameless has no NAME", id="a plugin without a NAME is refused"),
    ],
)
def test_a_plugin_breaking_the_contract_is_refused_at_registration(plugin: type[Plugin], message: str) -> None:
    with pytest.raises(PluginRegistrationError) as err:
        build_registry(Scores, plugin)
    assert str(err.value).startswith(message)


def test_a_repeated_name_is_refused() -> None:
    with pytest.raises(PluginRegistrationError, match="'Scores' is registered twice"):
        build_registry(Scores, ScoresToo)
