"""``wait --for`` and ``--timeout`` parsing, and ``diff``'s prediction of what apply would change."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from atoll import kinds
from atoll.cli.diff import unified
from atoll.cli.duration import parse_duration
from atoll.cli.wait import parse_for
from tests.support.objects import make_pod

READY: dict[str, Any] = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


@pytest.mark.parametrize(
    ("text", "document", "met"),
    [
        pytest.param("condition=Ready", READY, True, id="a true condition"),
        pytest.param("condition=ready", READY, True, id="condition names are case-insensitive"),
        pytest.param("condition=Ready=False", READY, False, id="another value"),
        pytest.param("condition=Ready", None, False, id="a deleted object meets no condition"),
        pytest.param("delete", None, True, id="delete: gone"),
        pytest.param("delete", READY, False, id="delete: still there"),
        pytest.param("jsonpath={.status.phase}=Running", READY, True, id="jsonpath with braces"),
        pytest.param("jsonpath=.status.phase=Pending", READY, False, id="jsonpath without braces"),
        pytest.param("jsonpath={.status.phase}", READY, True, id="jsonpath: a non-empty value"),
        pytest.param("jsonpath={.status.nope}", READY, False, id="jsonpath: no value"),
    ],
)
def test_wait_for(text: str, document: dict[str, Any] | None, met: bool) -> None:
    assert parse_for(text).met(document) is met


@pytest.mark.parametrize("text", ["ready", "condition=", "jsonpath={.a", "jsonpath={.a}x", "jsonpath={range .a}"])
def test_bad_wait_for_is_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_for(text)


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("2m", 120), ("1h30m", 5400), ("500ms", 0.5), ("7", 7), ("0", 0)]
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["xs", "5d", "-1", "1m-"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_duration(text)


def test_diff_of_an_unchanged_object_is_empty_and_of_a_change_names_it() -> None:
    live = make_pod("web")
    kinds.apply_defaults(live)  # as the server stores it
    live.pod.metadata.resource_version = 7
    live.pod.metadata.uid = "u-1"
    live.pod.spec.node_name = "n1"  # bound: an apply without nodeName keeps it
    live.pod.status.phase = "Running"
    desired = make_pod("web")
    assert unified(desired, live) == ""
    desired.pod.metadata.labels["tier"] = "front"
    changed = unified(desired, live)
    assert "--- live/pod/web" in changed and "+    tier: front" in changed


def test_diff_of_a_new_object_adds_every_line() -> None:
    text = unified(make_pod("new"), None)
    assert text.startswith("--- live/pod/new\n+++ applied/pod/new\n") and "+  name: new" in text
