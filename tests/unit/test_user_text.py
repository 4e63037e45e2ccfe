"""Bounding user-supplied text before it is logged or echoed, and memos that keep no huge argument."""

from __future__ import annotations

import pytest

from atoll import quantity
from atoll.kinds import by_name
from atoll.labels import label_key_problem
from atoll.memo import short_memo
from atoll.quantity import QuantityError, parse_quantity
from atoll.user_text import SHOWN_CHARS, bounded, bounded_repr, quoted
from atoll.validation.base import dns_label_problem
from controller.apiserver.errors import InvalidError
from controller.apiserver.objectref import describe

HUGE = "x" * 3_900_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("web-1", "web-1"),
        ("a" * SHOWN_CHARS, "a" * SHOWN_CHARS),
        ("a" * (SHOWN_CHARS + 5), "a" * SHOWN_CHARS + "... (5 more characters)"),
        ("two\nlines", "two\\nlines"),
        ("bell\x07", "bell\\u0007"),
    ],
    ids=[
        "a short name is shown whole",
        "a name at the limit is shown whole",
        "a longer one is cut and says how much is missing",
        "a newline cannot start a forged log line",
        "other control characters are escaped",
    ],
)
def test_bounded(text: str, expected: str) -> None:
    assert bounded(text) == expected


def test_quoted_and_repr_forms_are_bounded_and_escaped() -> None:
    assert quoted('say "hi"') == '"say \\"hi\\""'
    assert quoted(HUGE) == f'"{"x" * SHOWN_CHARS}"... ({len(HUGE) - SHOWN_CHARS} more characters)'
    assert bounded_repr("it's") == repr("it's")
    assert len(bounded_repr(HUGE)) < SHOWN_CHARS + 50


def test_every_echo_of_a_huge_name_stays_small() -> None:
    """The places a refused request's name reaches: object references, API errors, label and name problems."""
    assert len(describe(by_name("Pod"), HUGE, HUGE)) < 2 * SHOWN_CHARS + 100
    assert len(InvalidError(HUGE * 2).message) < 5_000
    problem = dns_label_problem("Bad_" + HUGE)
    assert problem is not None and len(problem) < 200
    problem = label_key_problem(HUGE)
    assert problem is not None and len(problem) < 200


def test_short_memo_caches_short_arguments_only() -> None:
    calls: list[str] = []

    @short_memo(maxsize=16, max_chars=10)
    def length(text: str) -> int:
        calls.append(text)
        return len(text)

    assert [length("abc"), length("abc"), length(HUGE), length(HUGE)] == [3, 3, len(HUGE), len(HUGE)]
    assert [len(text) for text in calls] == [3, len(HUGE), len(HUGE)], "the huge argument is never kept"


@pytest.mark.parametrize(
    "text",
    ["1" * 5000, "1e999999999", "1e-99999", "1" * 65],
    ids=[
        "thousands of digits are refused, not a ValueError from int()",
        "a huge exponent is refused before it is computed",
        "a huge negative exponent too",
        "anything longer than 64 characters",
    ],
)
def test_quantity_bounds(text: str) -> None:
    with pytest.raises(QuantityError) as err:
        parse_quantity(text)
    assert len(str(err.value)) < 200
    assert quantity.MAX_CHARS == 64
