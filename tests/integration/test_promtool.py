"""deploy/prometheus passes Prometheus' own checks: the scrape config and the alert rules are valid,
and every alert's unit tests (deploy/prometheus/tests/*.yml) pass under `promtool test rules`."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.system import require_binary

PROMETHEUS_DIR = Path(__file__).resolve().parents[2] / "deploy" / "prometheus"
RULE_TESTS = sorted((PROMETHEUS_DIR / "tests").glob("*.yml"))


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = require_binary("promtool", "prometheus")
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(("check", "config", str(PROMETHEUS_DIR / "prometheus.yml")), id="the scrape config is valid"),
        pytest.param(("check", "rules", str(PROMETHEUS_DIR / "alerts.yml")), id="the alert rules are valid"),
        *(
            pytest.param(("test", "rules", str(path)), id=f"the alert unit tests in {path.name} pass")
            for path in RULE_TESTS
        ),
    ],
)
def test_promtool_accepts(args: tuple[str, ...]) -> None:
    result = promtool(*args)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_alert_has_a_unit_test() -> None:
    rules = yaml.safe_load((PROMETHEUS_DIR / "alerts.yml").read_text())
    alerts = {rule["alert"] for group in rules["groups"] for rule in group["rules"] if "alert" in rule}
    tested = {
        case["alertname"]
        for path in RULE_TESTS
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
    }
    assert alerts - tested == set(), "alerts without a promtool unit test"
    assert RULE_TESTS, "no rule tests found"


def test_every_grafana_query_is_valid_promql(tmp_path: Path) -> None:
    """promtool parses each dashboard query, wrapped as a recording rule."""
    dashboard = json.loads((PROMETHEUS_DIR.parent / "grafana" / "atoll.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    rules = {"groups": [{"name": "grafana", "rules": [{"record": f"grafana:query_{i}", "expr": expr}
                                                       for i, expr in enumerate(exprs)]}]}
    path = tmp_path / "grafana-queries.yml"
    path.write_text(yaml.safe_dump(rules))
    result = promtool("check", "rules", str(path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(exprs) >= 20
