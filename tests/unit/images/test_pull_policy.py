"""imagePullPolicy defaults and the pull back-off, as kubelet has them."""

from __future__ import annotations

import pytest

from agent.images.pull_policy import ALWAYS, IF_NOT_PRESENT, NEVER, backoff_delay, effective_policy

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize(
    ("policy", "tag", "digest", "expected"),
    [
        pytest.param("", "latest", "", ALWAYS, id="latest defaults to Always"),
        pytest.param("", "", DIGEST, IF_NOT_PRESENT, id="a digest defaults to IfNotPresent"),
        pytest.param("", "latest", DIGEST, IF_NOT_PRESENT, id="a digest beside latest pins it"),
        pytest.param("", "1.36", "", IF_NOT_PRESENT, id="another tag defaults to IfNotPresent"),
        pytest.param(NEVER, "latest", "", NEVER, id="an explicit policy wins"),
        pytest.param(ALWAYS, "1.36", "", ALWAYS, id="Always on a fixed tag"),
    ],
)
def test_effective_policy(policy: str, tag: str, digest: str, expected: str) -> None:
    assert effective_policy(policy, tag, digest) == expected


def test_backoff_doubles_from_10s_to_5min() -> None:
    assert [backoff_delay(n) for n in (1, 2, 3, 4, 5, 6, 7)] == [10, 20, 40, 80, 160, 300, 300]
