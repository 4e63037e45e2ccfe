"""Scraping a component's /metrics in tests: free ports, parsed families, declared metric names,
and the metrics URLs `atoll up` prints."""

from __future__ import annotations

import re
import socket
import urllib.request

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from tests.support.up_process import UpProcess

Families = dict[str, dict[tuple[tuple[str, str], ...], float]]
_METRICS_LINE = re.compile(r"(api-server|scheduler|controllers|sim-nodes) (http://\S+/metrics)")


def free_port() -> int:
    """A loopback port that was free a moment ago (the usual small race is acceptable in tests)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def scrape(url: str) -> Families:
    """Family name -> {sorted label pairs: value} for every sample (counters keep their ``_total``
    sample name under the family name without it, as the text format defines). A server not
    listening yet is an AssertionError, so ``eventually`` keeps trying."""
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            text = response.read().decode()
    except OSError as err:
        raise AssertionError(f"cannot scrape {url}: {err}") from None
    families: Families = {}
    for family in text_string_to_metric_families(text):
        samples = families.setdefault(family.name, {})
        for sample in family.samples:
            samples[(("__name__", sample.name), *sorted(sample.labels.items()))] = sample.value
    return families


def value(families: Families, sample_name: str, **labels: str) -> float | None:
    """The value of the one sample named ``sample_name`` with exactly ``labels``, or None."""
    key = (("__name__", sample_name), *sorted(labels.items()))
    for samples in families.values():
        if key in samples:
            return samples[key]
    return None


def declared(registry: CollectorRegistry) -> set[str]:
    """The family names a component's registry declares (collectors included)."""
    return {family.name for family in registry.collect()}


def metrics_urls(up: UpProcess, timeout_lines: int = 40) -> dict[str, str]:
    """Component -> /metrics URL from `atoll up`'s banner (read up to "Stop with Ctrl-C.")."""
    assert up.process.stdout is not None
    urls: dict[str, str] = {}
    for line in up.output:
        urls.update(_METRICS_LINE.findall(line))
    for _ in range(timeout_lines):
        line = up.process.stdout.readline()
        if not line:
            break
        up.output.append(line)
        urls.update(_METRICS_LINE.findall(line))
        if line.startswith("Stop with Ctrl-C"):
            break
    return urls
