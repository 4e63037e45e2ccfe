"""Building blocks of validation: FieldError, name rules and small checks that append to a list.

Every check appends FieldErrors to the ``errors`` list it is given and returns nothing (or the
parsed value), so a validator reports every problem instead of stopping at the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction

from atoll.manifest_codec import describe
from atoll.memo import short_memo
from atoll.quantity import QuantityError, parse_quantity

DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_MAX = 253
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_WINDOWS_BUILD = re.compile(r"^10\.0\.\d+(\.\d+)?$")


@dataclass(frozen=True)
class FieldError:
    """One problem at one field path in manifest form (``spec.containers[0].image``)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# Pure, and called for the namespace of every write: the same few recur.
@short_memo(maxsize=8192, max_chars=DNS_LABEL_MAX)
def dns_label_problem(value: str) -> str | None:
    """Why ``value`` is not a DNS-1123 label (namespace, container and disk names), or None."""
    if len(value) > DNS_LABEL_MAX:
        return f"must be at most {DNS_LABEL_MAX} characters (DNS-1123 label)"
    if not _DNS_LABEL.match(value):
        return (
            f"invalid name {describe(value)}: use lowercase letters, digits and '-', "
            "starting and ending with a letter or digit (DNS-1123 label)"
        )
    return None


def dns_subdomain_problem(value: str) -> str | None:
    """Why ``value`` is not a DNS-1123 subdomain (object and node names), or None."""
    if len(value) > DNS_SUBDOMAIN_MAX:
        return f"must be at most {DNS_SUBDOMAIN_MAX} characters (DNS-1123 subdomain)"
    if not _DNS_SUBDOMAIN.match(value):
        return (
            f"invalid name {describe(value)}: use lowercase letters, digits, '-' and '.', "
            "starting and ending with a letter or digit (DNS-1123 subdomain)"
        )
    return None


def check_name(value: str, path: str, errors: list[FieldError], *, label: bool, required: bool) -> None:
    """A DNS-1123 label (``label``) or subdomain name; empty is an error only when ``required``."""
    if not value:
        if required:
            errors.append(FieldError(path, "required"))
        return
    problem = dns_label_problem(value) if label else dns_subdomain_problem(value)
    if problem:
        errors.append(FieldError(path, problem))


def check_one_of(
    value: str, allowed: Iterable[str], path: str, errors: list[FieldError], *, required: bool = False
) -> None:
    """``value`` is one of ``allowed``; empty passes unless ``required`` (defaults fill it)."""
    choices = tuple(allowed)
    if not value:
        if required:
            errors.append(FieldError(path, f"required: one of {', '.join(choices)}"))
        return
    if value not in choices:
        errors.append(
            FieldError(path, f"unsupported value {describe(value)}: must be one of {', '.join(choices)}")
        )


def check_at_least(value: int, minimum: int, path: str, errors: list[FieldError]) -> None:
    if value < minimum:
        wording = "must not be negative" if minimum == 0 else f"must be at least {minimum}"
        errors.append(FieldError(path, f"{wording}, got {value}"))


def check_quantity(
    text: str, path: str, errors: list[FieldError], *, positive: bool = False
) -> Fraction | None:
    """The parsed quantity, or None after recording why it is invalid or negative (or zero)."""
    try:
        value = parse_quantity(text)
    except QuantityError as error:
        errors.append(FieldError(path, str(error)))
        return None
    if value < 0:
        errors.append(FieldError(path, f"must not be negative, got {describe(text)}"))
        return None
    if positive and value == 0:
        errors.append(FieldError(path, f"must be greater than zero, got {describe(text)}"))
        return None
    return value


def check_windows_build(value: str, path: str, errors: list[FieldError]) -> None:
    """Windows builds are 10.0.BUILD or 10.0.BUILD.REVISION (10.0.20348, 10.0.17763.5458)."""
    if value and not _WINDOWS_BUILD.match(value):
        errors.append(
            FieldError(
                path, f"invalid Windows build {describe(value)}: use 10.0.BUILD or 10.0.BUILD.REVISION"
            )
        )


def check_port(value: int, path: str, errors: list[FieldError], *, required: bool) -> None:
    if value == 0 and not required:
        return
    if not 1 <= value <= 65535:
        errors.append(FieldError(path, f"must be between 1 and 65535, got {value}"))
