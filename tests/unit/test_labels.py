"""Label selectors: kubectl syntax, Kubernetes matching semantics, canonical text, proto selectors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from atoll.labels import (
    LabelSelector,
    SelectorError,
    label_key_problem,
    label_value_problem,
    parse_label_selector,
    selector_from_proto,
)
from atoll.v1 import scheduling_pb2

MATCHING = [
    ("app=web", {"app": "web"}, True, "equality matches the same value"),
    ("app==web", {"app": "web"}, True, "double equals is equality"),
    ("app=web", {"app": "db"}, False, "equality rejects another value"),
    ("app=web", {}, False, "equality rejects a missing key"),
    ("tier!=db", {"tier": "web"}, True, "inequality matches another value"),
    ("tier!=db", {}, True, "inequality matches a missing key"),
    ("tier!=db", {"tier": "db"}, False, "inequality rejects the value"),
    ("env in (prod,staging)", {"env": "staging"}, True, "in matches a listed value"),
    ("env in (prod,staging)", {"env": "dev"}, False, "in rejects an unlisted value"),
    ("env in (prod)", {}, False, "in rejects a missing key"),
    ("env notin (dev)", {}, True, "notin matches a missing key"),
    ("env notin (dev)", {"env": "dev"}, False, "notin rejects a listed value"),
    ("gpu", {"gpu": ""}, True, "a bare key matches when the key exists even with an empty value"),
    ("gpu", {}, False, "a bare key rejects a missing key"),
    ("!legacy", {}, True, "a negated key matches a missing key"),
    ("!legacy", {"legacy": "x"}, False, "a negated key rejects a present key"),
    ("tier=", {"tier": ""}, True, "an empty value after = selects the empty value"),
    ("", {"anything": "x"}, True, "the empty selector matches everything"),
    ("a=b,c!=d,e in (x,y),f notin (z),g,!h", {"a": "b", "e": "y", "g": "1"}, True, "all requirements hold"),
    (
        "a=b,c!=d,e in (x,y),f notin (z),g,!h",
        {"a": "b", "e": "y", "g": "1", "h": ""},
        False,
        "one failing fails",
    ),
    (
        "app.kubernetes.io/name = web",
        {"app.kubernetes.io/name": "web"},
        True,
        "prefixed keys and spaces work",
    ),
]


@pytest.mark.parametrize(
    ("text", "labels", "expected"), [(t, lab, e) for t, lab, e, _ in MATCHING], ids=[i for *_, i in MATCHING]
)
def test_selector_matches_like_kubernetes(text: str, labels: dict[str, str], expected: bool) -> None:
    assert parse_label_selector(text).matches(labels) is expected


CANONICAL = [
    ("b=1,a=2", "a=2,b=1", "requirements are sorted by key"),
    ("a==b", "a=b", "double equals prints as single equals"),
    ("e in ( y , x, x )", "e in (x,y)", "values are sorted and deduplicated"),
    ("  g ,  !h  ", "g,!h", "whitespace is dropped"),
    ("a=b,a=b", "a=b", "duplicate requirements collapse"),
]


@pytest.mark.parametrize(
    ("text", "canonical"), [(t, c) for t, c, _ in CANONICAL], ids=[i for *_, i in CANONICAL]
)
def test_str_is_canonical(text: str, canonical: str) -> None:
    assert str(parse_label_selector(text)) == canonical
    assert parse_label_selector(canonical) == parse_label_selector(text)


INVALID = [
    ("a=b,,c", 'invalid label selector "a=b,,c": expected a label key, found ","', "an empty requirement"),
    (
        "a b",
        'invalid label selector "a b": expected =, ==, !=, in or notin after "a", found "b"',
        "two words",
    ),
    (
        "x in ()",
        'invalid label selector "x in ()": label "x": operator "in" needs at least one value',
        "an empty set",
    ),
    ("x in (a", "invalid label selector \"x in (a\": expected ',' or ')', found the end", "an unclosed set"),
    (
        "x in a",
        'invalid label selector "x in a": expected \'(\' after in/notin, found "a"',
        "a set without parens",
    ),
    ("!", "invalid label selector \"!\": expected a label key after '!', found the end", "a lone negation"),
    (
        "Bad_/x=1",
        'invalid label selector "Bad_/x=1": invalid label key "Bad_/x": prefix must be a DNS subdomain '
        "(lowercase letters, digits, '-' and '.')",
        "an invalid key prefix",
    ),
    (
        "a=no spaces",
        'invalid label selector "a=no spaces": expected \',\' between requirements, found "spaces"',
        "a value with a space",
    ),
    (
        "a=-x",
        'invalid label selector "a=-x": invalid value "-x" for label "a": must consist of letters, '
        "digits, '-', '_' or '.', and start and end with a letter or digit",
        "a value starting with a dash",
    ),
    (
        "a=b=c",
        'invalid label selector "a=b=c": expected \',\' between requirements, found "="',
        "two operators",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [(t, m) for t, m, _ in INVALID], ids=[f"rejects {i}" for *_, i in INVALID]
)
def test_bad_selector_text_raises_a_message_naming_the_text(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as raised:
        parse_label_selector(text)
    assert str(raised.value) == message


KEYS = [
    ("app", None, "a plain name"),
    ("app.kubernetes.io/name", None, "a prefixed name"),
    ("a" * 63, None, "a 63-character name"),
    ("a" * 64, "name part must be at most 63 characters", "a 64-character name"),
    ("", "must not be empty", "the empty key"),
    ("/x", "prefix before '/' must not be empty", "an empty prefix"),
    ("x/", "name part must not be empty", "an empty name after the prefix"),
    (
        "_x",
        "name part must consist of letters, digits, '-', '_' or '.', "
        "and start and end with a letter or digit",
        "a leading underscore",
    ),
]


@pytest.mark.parametrize(("key", "problem"), [(k, p) for k, p, _ in KEYS], ids=[i for *_, i in KEYS])
def test_label_key_rules_follow_kubernetes(key: str, problem: str | None) -> None:
    assert label_key_problem(key) == problem


@pytest.mark.parametrize(
    ("value", "valid"),
    [("", True), ("v1.2_3-x", True), ("a" * 63, True), ("a" * 64, False), ("-x", False), ("a b", False)],
    ids=[
        "empty is valid",
        "letters digits dots",
        "63 characters",
        "64 characters",
        "leading dash",
        "a space",
    ],
)
def test_label_value_rules_follow_kubernetes(value: str, valid: bool) -> None:
    assert (label_value_problem(value) is None) is valid


def test_proto_selector_combines_match_labels_and_expressions() -> None:
    proto = scheduling_pb2.LabelSelector(
        match_labels={"app": "web"},
        match_expressions=[
            scheduling_pb2.LabelSelectorRequirement(key="env", operator="In", values=["prod", "staging"]),
            scheduling_pb2.LabelSelectorRequirement(key="legacy", operator="DoesNotExist"),
        ],
    )
    selector = selector_from_proto(proto)
    assert str(selector) == "app=web,env in (prod,staging),!legacy"
    assert selector.matches({"app": "web", "env": "prod"})
    assert not selector.matches({"app": "web", "env": "prod", "legacy": "1"})


def test_empty_proto_selector_matches_everything() -> None:
    selector = selector_from_proto(scheduling_pb2.LabelSelector())
    assert selector == LabelSelector()
    assert selector.matches({"any": "thing"})


def test_proto_selector_with_an_unknown_operator_is_rejected() -> None:
    proto = scheduling_pb2.LabelSelector(
        match_expressions=[
            scheduling_pb2.LabelSelectorRequirement(key="env", operator="Equals", values=["x"])
        ]
    )
    with pytest.raises(
        SelectorError,
        match='label "env": unknown operator "Equals" \\(use In, NotIn, Exists, DoesNotExist\\)',
    ):
        selector_from_proto(proto)


_NAMES = st.from_regex(r"\A[a-z0-9]([a-z0-9._-]{0,10}[a-z0-9])?\Z")
_REQUIREMENT_TEXT = st.one_of(
    st.builds(lambda k, v: f"{k}={v}", _NAMES, _NAMES),
    st.builds(lambda k, v: f"{k}!={v}", _NAMES, _NAMES),
    st.builds(lambda k, vs: f"{k} in ({','.join(vs)})", _NAMES, st.lists(_NAMES, min_size=1, max_size=3)),
    st.builds(lambda k, vs: f"{k} notin ({','.join(vs)})", _NAMES, st.lists(_NAMES, min_size=1, max_size=3)),
    _NAMES,
    st.builds(lambda k: f"!{k}", _NAMES),
)


@given(st.lists(_REQUIREMENT_TEXT, max_size=5), st.dictionaries(_NAMES, _NAMES, max_size=4))
def test_canonical_text_parses_back_to_the_same_selector_with_the_same_matches(
    requirements: list[str], labels: dict[str, str]
) -> None:
    selector = parse_label_selector(",".join(requirements))
    again = parse_label_selector(str(selector))
    assert again == selector
    assert again.matches(labels) == selector.matches(labels)
