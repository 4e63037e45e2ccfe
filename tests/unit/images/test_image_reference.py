"""Image references normalised as Docker does, and refused with one bounded line."""

from __future__ import annotations

import pytest

from atoll.image_reference import ImageReference, ReferenceError, parse_image_reference

DIGEST = "sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("busybox", ImageReference("docker.io", "library/busybox", "latest"), id="a bare name is Hub's"),
        pytest.param("busybox:1.36", ImageReference("docker.io", "library/busybox", "1.36"), id="a tag"),
        pytest.param("team/app:v1", ImageReference("docker.io", "team/app", "v1"), id="a Hub user repository"),
        pytest.param("localhost/app", ImageReference("localhost", "app", "latest"), id="localhost is a registry"),
        pytest.param("127.0.0.1:5000/a/b:c", ImageReference("127.0.0.1:5000", "a/b", "c"), id="a registry with a port"),
        pytest.param(
            "mcr.microsoft.com/windows/servercore/iis:windowsservercore-ltsc2022",
            ImageReference("mcr.microsoft.com", "windows/servercore/iis", "windowsservercore-ltsc2022"),
            id="Microsoft's registry",
        ),
        pytest.param(f"r.io/app@{DIGEST}", ImageReference("r.io", "app", "", DIGEST), id="a digest without tag"),
        pytest.param(f"r.io/app:1@{DIGEST}", ImageReference("r.io", "app", "1", DIGEST), id="a tag and a digest"),
    ],
)
def test_references_are_normalised(text: str, expected: ImageReference) -> None:
    assert parse_image_reference(text) == expected


def test_the_text_of_a_reference_parses_to_itself() -> None:
    for text in ("docker.io/library/busybox:1.36", f"r.io:5000/a/b:1@{DIGEST}", f"r.io/app@{DIGEST}"):
        assert str(parse_image_reference(text)) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("Busybox", id="upper case name"),
        pytest.param("r.io/app@sha256:abc", id="a short digest"),
        pytest.param("r.io/app@md5:" + "0" * 32, id="an unknown digest algorithm"),
        pytest.param("r.io/../etc:1", id="dot dot"),
        pytest.param(" busybox", id="leading space"),
        pytest.param("a" * 600, id="overlong"),
        pytest.param("r.io/app:" + "t" * 200, id="an overlong tag"),
        pytest.param("r.io/app:1\nforged", id="a newline"),
    ],
)
def test_bad_references_are_one_bounded_line(text: str) -> None:
    with pytest.raises(ReferenceError) as caught:
        parse_image_reference(text)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 600
