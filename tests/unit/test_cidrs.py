"""atoll/cidrs.py: the CIDR flags are checked with one clear line, and addresses against a range."""

from __future__ import annotations

import pytest

from atoll.cidrs import (
    DEFAULT_CLUSTER_CIDR,
    DEFAULT_SERVICE_CIDR,
    CidrError,
    check_cluster_cidr,
    check_disjoint,
    check_service_cidr,
    host_addresses,
    in_cidr,
)


@pytest.mark.parametrize(
    ("cidr", "mask", "message"),
    [
        ("10.244.0.0", 24, '--cluster-cidr "10.244.0.0"'),
        ("10.244.0.1/16", 24, "is not a CIDR"),
        ("banana", 24, "is not a CIDR"),
        ("fd00::/48", 64, "only IPv4"),
        ("10.244.0.0/16", 12, "--node-cidr-mask-size 12"),
        ("10.244.0.0/16", 31, "--node-cidr-mask-size 31"),
    ],
    ids=["no prefix", "host bits set", "not an address", "IPv6", "mask wider than the cluster", "mask too narrow"],
)
def test_bad_cluster_cidr_flags_are_one_line_naming_the_flag(cidr: str, mask: int, message: str) -> None:
    with pytest.raises(CidrError) as caught:
        check_cluster_cidr(cidr, mask)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_a_good_cluster_cidr_passes() -> None:
    assert str(check_cluster_cidr("10.244.0.0/16", 24)) == "10.244.0.0/16"


def test_overlapping_ranges_are_named() -> None:
    with pytest.raises(CidrError, match=r"--cluster-cidr 10\.0\.0\.0/8 overlaps --service-cidr 10\.96\.0\.0/12"):
        check_disjoint({"--cluster-cidr": "10.0.0.0/8", "--service-cidr": "10.96.0.0/12"})
    check_disjoint({"--cluster-cidr": "10.244.0.0/16", "--service-cidr": "10.96.0.0/12"})


def test_host_addresses_skip_network_gateway_and_broadcast() -> None:
    first, count = host_addresses("10.244.3.0/24")
    assert (str(first), count) == ("10.244.3.2", 253)
    assert in_cidr("10.244.3.254", "10.244.3.0/24")
    assert not in_cidr("10.244.4.1", "10.244.3.0/24")
    assert not in_cidr("10.128.9.0.3", "10.128.0.0/16")


@pytest.mark.parametrize(
    ("cidr", "message"),
    [
        ("10.0.0.0/8", "the prefix length must be between /12 and /30"),
        ("10.96.0.0/31", "the prefix length must be between /12 and /30"),
        ("10.96.0.1/16", '--service-cidr "10.96.0.1/16"'),
        ("fd00::/112", "only IPv4 ranges are supported"),
    ],
    ids=["wider than a /12", "narrower than a /30", "host bits set", "IPv6"],
)
def test_bad_service_cidr_flags_are_one_line_naming_the_flag(cidr: str, message: str) -> None:
    with pytest.raises(CidrError) as caught:
        check_service_cidr(cidr)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert "--service-cidr" in str(caught.value)


def test_the_default_service_cidr_is_usable_and_apart_from_the_default_cluster_cidr() -> None:
    assert check_service_cidr(DEFAULT_SERVICE_CIDR).num_addresses == 65536
    check_disjoint({"--cluster-cidr": DEFAULT_CLUSTER_CIDR, "--service-cidr": DEFAULT_SERVICE_CIDR})
