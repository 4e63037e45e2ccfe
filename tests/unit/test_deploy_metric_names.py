"""The alert rules and the Grafana dashboard use only metrics some component declares (a renamed
metric must not silently empty a panel or disarm an alert)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from agent import metrics as agent_metrics
from controller.apiserver import metrics as apiserver_metrics
from controller.runtime import metrics as controller_metrics
from scheduler import metrics as scheduler_metrics

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
_NAME = re.compile(r"\batoll_[a-z0-9_]+")
_SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created")


def declared_names() -> set[str]:
    names = set()
    for registry in (apiserver_metrics.REGISTRY, scheduler_metrics.REGISTRY, controller_metrics.REGISTRY,
                     agent_metrics.REGISTRY):
        for family in registry.collect():
            names.add(family.name)
    return names


def family_of(sample_name: str) -> str:
    for suffix in _SUFFIXES:
        if sample_name.endswith(suffix):
            return sample_name.removesuffix(suffix)
    return sample_name


@pytest.mark.parametrize(
    "path",
    [pytest.param(DEPLOY / "prometheus" / "alerts.yml", id="the alert rules"),
     pytest.param(DEPLOY / "grafana" / "atoll.json", id="the grafana dashboard")],
)
def test_only_declared_metrics_are_used(path: Path) -> None:
    text = path.read_text()
    if path.suffix == ".json":
        text = " ".join(t["expr"] for p in json.loads(text)["panels"] for t in p["targets"])
    used = set(_NAME.findall(text))
    unknown = {name for name in used if name not in declared_names() and family_of(name) not in declared_names()}
    assert used and unknown == set()


def test_metric_names_follow_the_convention() -> None:
    for name in declared_names():
        assert re.fullmatch(r"atoll_(apiserver|scheduler|controller|agent)_[a-z0-9_]+", name), name
