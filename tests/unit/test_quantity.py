"""Kubernetes quantities: exact parsing, CPU millicores and bytes, rejection of bad text."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atoll.quantity import QuantityError, cpu_millis, parse_quantity, to_bytes

PARSED = [
    ("250m", Fraction(1, 4), "millicores are thousandths"),
    ("1.5", Fraction(3, 2), "a decimal fraction is exact"),
    ("64Mi", 64 * 2**20, "Mi is a binary mebibyte"),
    ("1Gi", 2**30, "Gi is a binary gibibyte"),
    ("2G", 2 * 10**9, "G is a decimal gigabyte"),
    ("1e3", 1000, "a lowercase exponent multiplies by a power of ten"),
    ("1E3", 1000, "an uppercase E followed by digits is an exponent"),
    ("1E", 10**18, "a bare E is exa"),
    ("2.5e-3", Fraction(1, 400), "a negative exponent divides"),
    ("100k", 100_000, "k is a thousand"),
    ("5n", Fraction(5, 10**9), "n is nano"),
    ("7u", Fraction(7, 10**6), "u is micro"),
    ("+3Ki", 3072, "an explicit plus sign is allowed"),
    ("-1", -1, "a negative number parses (validation rejects it where it matters)"),
    (".5", Fraction(1, 2), "a leading dot is allowed"),
    ("0", 0, "zero is a quantity"),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for t, e, _ in PARSED], ids=[i for *_, i in PARSED])
def test_parse_quantity_returns_the_exact_value(text: str, expected: Fraction | int) -> None:
    assert parse_quantity(text) == expected


INVALID = [
    ("12Gx", "an unknown suffix"),
    ("", "the empty string"),
    ("Gi", "a suffix without a number"),
    ("1 Gi", "a space before the suffix"),
    ("1.2.3", "two decimal points"),
    ("1gi", "a lowercase binary suffix"),
    ("1e", "an exponent without digits"),
    ("0x10", "hexadecimal"),
    ("1_000", "digit separators"),
]


@pytest.mark.parametrize("text", [t for t, _ in INVALID], ids=[f"rejects {i}" for _, i in INVALID])
def test_parse_quantity_rejects_bad_text_with_a_quoted_message(text: str) -> None:
    with pytest.raises(QuantityError) as raised:
        parse_quantity(text)
    assert str(raised.value) == f'invalid quantity "{text}"'


CPU = [("250m", 250), ("2", 2000), ("0.5", 500), ("0.0001", 1), ("1500u", 2), ("0", 0)]


@pytest.mark.parametrize(("text", "millis"), CPU, ids=[f"{t} is {m} millicores (rounded up)" for t, m in CPU])
def test_cpu_millis_rounds_up(text: str, millis: int) -> None:
    assert cpu_millis(text) == millis


BYTES = [("64Mi", 67_108_864), ("1Gi", 1_073_741_824), ("1.5k", 1500), ("100m", 1), ("2G", 2_000_000_000)]


@pytest.mark.parametrize(("text", "count"), BYTES, ids=[f"{t} is {c} bytes (rounded up)" for t, c in BYTES])
def test_to_bytes_rounds_up(text: str, count: int) -> None:
    assert to_bytes(text) == count


SUFFIXES: dict[str, int | Fraction] = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "m": Fraction(1, 1000),
}


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(sorted(SUFFIXES)))
def test_any_integer_with_any_suffix_parses_to_its_product(number: int, suffix: str) -> None:
    assert parse_quantity(f"{number}{suffix}") == number * SUFFIXES[suffix]


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=999))
def test_decimal_text_parses_to_the_same_value_as_its_millis(whole: int, thousandths: int) -> None:
    assert parse_quantity(f"{whole}.{thousandths:03d}") == parse_quantity(f"{whole * 1000 + thousandths}m")
