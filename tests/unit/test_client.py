"""The typed client against the in-test fake servicer: verbs, paging, retries, errors, watches."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import grpc
import pytest

from atoll import kinds
from atoll.client import ApiError, Backoff, Client
from atoll.v1 import api_pb2
from atoll.watch_events import ADDED, BOOKMARK, DELETED, MODIFIED, RESYNC, SYNCED
from tests.support.objects import make_node, make_pod
from tests.unit.test_client_fake import CLOSE, Abort, batch, names, serve_fake


def event_summary(event: api_pb2.WatchEvent) -> tuple[str, str]:
    name = kinds.unwrap(event.object).metadata.name if event.HasField("object") else ""
    return (event.type, name)


async def take(events: AsyncIterator[api_pb2.WatchEvent], count: int) -> list[api_pb2.WatchEvent]:
    """The first ``count`` events, then close the stream."""
    taken: list[api_pb2.WatchEvent] = []
    async with contextlib.aclosing(events):  # type: ignore[type-var]
        async for event in events:
            taken.append(event)
            if len(taken) == count:
                break
    return taken


# -- unary verbs --------------------------------------------------------------------------------


async def test_create_then_get_by_alias_returns_the_stored_object() -> None:
    async with serve_fake() as (fake, client, _):
        created = await client.create(make_pod("web"))
        fetched = await client.get("po", "web")
    assert kinds.unwrap(fetched).metadata.resource_version == kinds.unwrap(created).metadata.resource_version
    assert fake.requests["Get"][0].kind == "Pod"


async def test_a_bare_kind_message_is_wrapped_in_an_object() -> None:
    async with serve_fake() as (fake, client, _):
        await client.create(make_pod("web").pod)
    assert fake.requests["Create"][0].object.WhichOneof("kind") == "pod"


async def test_namespace_is_not_sent_for_cluster_scoped_kinds() -> None:
    async with serve_fake() as (fake, client, _):
        fake.put(make_node("n1"))
        await client.get("nodes", "n1", namespace="prod")
        await client.delete("node", "n1", namespace="prod", propagation_policy="orphan")
    assert fake.requests["Get"][0].namespace == ""
    assert fake.requests["Delete"][0].namespace == ""
    assert fake.requests["Delete"][0].propagation_policy == "orphan"


async def test_list_all_follows_continue_tokens_across_pages() -> None:
    async with serve_fake() as (fake, client, _):
        for name in ("a", "b", "c", "d", "e"):
            fake.put(make_pod(name))
        items, revision = await client.list_all("pods", "default", limit=2)
    assert names(items) == ["a", "b", "c", "d", "e"]
    assert revision == fake.revision
    assert [getattr(r, "continue") for r in fake.requests["List"]] == ["", "2", "4"]
    assert {r.limit for r in fake.requests["List"]} == {2}


async def test_apply_reports_created_then_unchanged_then_configured() -> None:
    async with serve_fake() as (_, client, _):
        pod = make_pod("web")
        first = await client.apply(pod)
        second = await client.apply(pod)
        pod.pod.metadata.labels["tier"] = "front"
        third = await client.apply(pod)
    assert [first.result, second.result, third.result] == ["created", "unchanged", "configured"]


async def test_bind_sends_every_binding_in_one_request() -> None:
    async with serve_fake() as (fake, client, _):
        bindings = [api_pb2.Binding(kind="Pod", name=f"p{i}", node_name="n1") for i in range(3)]
        response = await client.bind(bindings)
    assert [r.code for r in response.results] == ["OK"] * 3
    assert len(fake.requests["Bind"]) == 1


async def test_batch_create_sends_bare_messages_and_envelopes_in_one_request_and_is_never_retried() -> None:
    async with serve_fake() as (fake, client, _):
        fake.fail("BatchCreate", grpc.StatusCode.UNAVAILABLE, "restarting")
        with pytest.raises(ApiError):
            await client.batch_create([make_pod("a")])
        response = await client.batch_create([make_pod("a"), make_node("n1").node, make_pod("a")])
    assert [r.code for r in response.results] == ["OK", "OK", "ALREADY_EXISTS"]
    assert len(fake.requests["BatchCreate"]) == 2, "a create is not idempotent: the failed call is not retried"


async def test_an_unknown_kind_fails_before_any_call() -> None:
    async with serve_fake() as (fake, client, _):
        with pytest.raises(kinds.UnknownKindError, match="unknown kind 'gadget'"):
            await client.get("gadget", "x")
    assert not fake.requests


# -- errors -------------------------------------------------------------------------------------

ERROR_CASES = [
    pytest.param(grpc.StatusCode.NOT_FOUND, 'pods "web" not found', "NotFound", 'pods "web" not found', id="not found"),
    pytest.param(
        grpc.StatusCode.INVALID_ARGUMENT,
        "pod/web: spec.containers[0].image: required\npod/web: spec.os: must be linux or windows\n",
        "Invalid",
        "pod/web: spec.containers[0].image: required; pod/web: spec.os: must be linux or windows",
        id="several validation problems join into one line",
    ),
    pytest.param(grpc.StatusCode.ABORTED, "stale resource_version", "Conflict", "stale resource_version", id="stale"),
    pytest.param(grpc.StatusCode.OUT_OF_RANGE, "", "Expired", "out of range", id="empty details name the code"),
    pytest.param(
        grpc.StatusCode.FAILED_PRECONDITION,
        'namespace "x" is terminating',
        "FailedPrecondition",
        'namespace "x" is terminating',
        id="terminating namespace",
    ),
]


@pytest.mark.parametrize(("code", "details", "reason", "message"), ERROR_CASES)
async def test_server_errors_become_one_line_api_errors(
    code: grpc.StatusCode, details: str, reason: str, message: str
) -> None:
    async with serve_fake() as (fake, client, _):
        fake.fail("Get", code, details)
        with pytest.raises(ApiError) as caught:
            await client.get("pod", "web")
    assert caught.value.code == code
    assert caught.value.reason == reason
    assert caught.value.message == message
    assert "\n" not in str(caught.value)


async def test_problems_keep_each_validation_line() -> None:
    async with serve_fake() as (fake, client, _):
        fake.fail("Apply", grpc.StatusCode.INVALID_ARGUMENT, "a: required\nb: too long")
        with pytest.raises(ApiError) as caught:
            await client.apply(make_pod())
    assert caught.value.problems == ("a: required", "b: too long")


# -- retries ------------------------------------------------------------------------------------


async def test_idempotent_calls_retry_unavailable_with_growing_capped_delays() -> None:
    backoff = Backoff(initial=0.1, maximum=0.3, multiplier=2.0, jitter=0.0, attempts=6)
    async with serve_fake(backoff) as (fake, client, sleep):
        fake.put(make_pod("web"))
        fake.fail("Get", grpc.StatusCode.UNAVAILABLE, "restarting", times=4)
        fetched = await client.get("pod", "web")
    assert kinds.unwrap(fetched).metadata.name == "web"
    assert len(fake.requests["Get"]) == 5
    assert sleep.delays == pytest.approx([0.1, 0.2, 0.3, 0.3])


async def test_retries_give_up_after_the_configured_attempts() -> None:
    async with serve_fake(Backoff(jitter=0.0, attempts=3)) as (fake, client, _):
        fake.fail("List", grpc.StatusCode.UNAVAILABLE, "down", times=5)
        with pytest.raises(ApiError) as caught:
            await client.list("pods")
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE
    assert len(fake.requests["List"]) == 3


@pytest.mark.parametrize("method", ["Create", "Apply"], ids=["create is not retried", "apply is not retried"])
async def test_writes_are_not_retried_on_unavailable(method: str) -> None:
    async with serve_fake() as (fake, client, sleep):
        fake.fail(method, grpc.StatusCode.UNAVAILABLE, "down")
        with pytest.raises(ApiError):
            await getattr(client, method.lower())(make_pod())
    assert len(fake.requests[method]) == 1
    assert sleep.delays == []


async def test_a_closed_port_is_unavailable_not_a_traceback() -> None:
    async with Client.connect("127.0.0.1:1", backoff=Backoff(attempts=1)) as client:
        with pytest.raises(ApiError) as caught:
            await client.get("pod", "web")
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE


def test_backoff_delays_never_exceed_the_maximum_and_jitter_only_shortens() -> None:
    backoff = Backoff(initial=0.5, maximum=4.0, multiplier=3.0, jitter=0.5)
    delays = [backoff.delay(attempt) for attempt in range(10)]
    assert all(0.0 < delay <= 4.0 for delay in delays)
    assert all(delay >= 2.0 for delay in delays[3:])


# -- watch --------------------------------------------------------------------------------------


async def test_watch_flattens_batches_into_single_events_in_order() -> None:
    async with serve_fake() as (fake, client, _):
        fake.watch_scripts.append(
            [
                batch((ADDED, make_pod("a"), 5), (ADDED, make_pod("b"), 5)),
                batch((MODIFIED, make_pod("a"), 6)),
            ]
        )
        events = await take(client.watch("pods", "default", resource_version=4), 3)
    assert [event_summary(e) for e in events] == [(ADDED, "a"), (ADDED, "b"), (MODIFIED, "a")]
    request = fake.requests["Watch"][0]
    assert (request.kind, request.namespace, request.resource_version) == ("Pod", "default", 4)


async def test_watch_resumes_after_unavailable_from_the_last_revision_seen() -> None:
    async with serve_fake() as (fake, client, sleep):
        fake.watch_scripts += [
            [batch((MODIFIED, make_pod("a"), 8)), Abort(grpc.StatusCode.UNAVAILABLE, "restarting")],
            [batch((DELETED, make_pod("a"), 9))],
        ]
        events = await take(client.watch("pods", resource_version=3), 2)
    assert [e.resource_version for e in events] == [8, 9]
    assert [r.resource_version for r in fake.requests["Watch"]] == [3, 8]
    assert len(sleep.delays) == 1


async def test_watch_from_zero_does_not_resume_once_events_were_delivered() -> None:
    async with serve_fake() as (fake, client, _):
        fake.watch_scripts.append([batch((ADDED, make_pod("a"), 2)), Abort(grpc.StatusCode.UNAVAILABLE)])
        events = client.watch("pods")
        assert (await anext(events)).type == ADDED
        with pytest.raises(ApiError) as caught:
            await anext(events)
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE


async def test_watch_from_a_compacted_revision_raises_out_of_range() -> None:
    async with serve_fake() as (fake, client, _):
        fake.watch_scripts.append([Abort(grpc.StatusCode.OUT_OF_RANGE, "revision 2 is compacted")])
        with pytest.raises(ApiError) as caught:
            await take(client.watch("pods", resource_version=2), 1)
    assert caught.value.reason == "Expired"
    assert len(fake.requests["Watch"]) == 1


async def test_watch_ends_when_the_server_closes_the_stream() -> None:
    async with serve_fake() as (fake, client, _):
        fake.watch_scripts.append([batch((ADDED, make_pod("a"), 2)), CLOSE])
        events = [event async for event in client.watch("pods", resource_version=1)]
    assert [event_summary(e) for e in events] == [(ADDED, "a")]


# -- list_then_watch ----------------------------------------------------------------------------


async def test_list_then_watch_lists_syncs_then_follows_from_the_list_revision() -> None:
    async with serve_fake() as (fake, client, _):
        fake.put(make_pod("a"))
        fake.put(make_pod("b"))
        list_revision = fake.revision
        fake.watch_scripts.append(
            [batch((BOOKMARK, None, list_revision + 1)), batch((MODIFIED, make_pod("a"), list_revision + 2))]
        )
        events = await take(client.list_then_watch("pods", "default"), 4)
    assert [event_summary(e) for e in events] == [(ADDED, "a"), (ADDED, "b"), (SYNCED, ""), (MODIFIED, "a")]
    assert events[2].resource_version == list_revision
    request = fake.requests["Watch"][0]
    assert request.resource_version == list_revision
    assert request.allow_bookmarks


async def test_list_then_watch_relists_on_out_of_range_and_reports_what_vanished() -> None:
    async with serve_fake() as (fake, client, _):
        fake.put(make_pod("a"))
        fake.put(make_pod("b"))
        first_revision = fake.revision

        def compact_while_b_is_deleted_and_c_created() -> None:
            fake.remove("Pod", "default", "b")
            fake.put(make_pod("c"))

        fake.watch_scripts += [
            [
                batch((MODIFIED, make_pod("a"), first_revision + 1)),
                compact_while_b_is_deleted_and_c_created,
                Abort(grpc.StatusCode.OUT_OF_RANGE, "compacted"),
            ],
            [batch((ADDED, make_pod("d"), 99))],
        ]
        events = await take(client.list_then_watch("pods"), 10)
    assert [event_summary(e) for e in events] == [
        (ADDED, "a"),
        (ADDED, "b"),
        (SYNCED, ""),
        (MODIFIED, "a"),
        (RESYNC, ""),
        (ADDED, "a"),
        (ADDED, "c"),
        (DELETED, "b"),
        (SYNCED, ""),
        (ADDED, "d"),
    ]
    assert [r.resource_version for r in fake.requests["Watch"]] == [first_revision, fake.revision]
    assert len(fake.requests["List"]) == 2


async def test_list_then_watch_forgets_deleted_objects_so_a_relist_does_not_delete_them_twice() -> None:
    async with serve_fake() as (fake, client, _):
        fake.put(make_pod("a"))
        revision = fake.revision
        fake.watch_scripts += [
            [
                batch((DELETED, make_pod("a"), revision + 1)),
                lambda: fake.remove("Pod", "default", "a"),
                Abort(grpc.StatusCode.OUT_OF_RANGE),
            ],
            [batch((ADDED, make_pod("z"), 50))],
        ]
        events = await take(client.list_then_watch("pods"), 6)
    assert [event_summary(e) for e in events] == [
        (ADDED, "a"),
        (SYNCED, ""),
        (DELETED, "a"),
        (RESYNC, ""),
        (SYNCED, ""),
        (ADDED, "z"),
    ]


async def test_list_then_watch_outlasts_an_unavailable_server() -> None:
    async with serve_fake(Backoff(jitter=0.0, attempts=2)) as (fake, client, sleep):
        fake.put(make_pod("a"))
        fake.fail("List", grpc.StatusCode.UNAVAILABLE, "down", times=3)
        fake.watch_scripts += [
            [Abort(grpc.StatusCode.UNAVAILABLE)],
            [Abort(grpc.StatusCode.UNAVAILABLE)],
            [batch((MODIFIED, make_pod("a"), 40))],
        ]
        events = await take(client.list_then_watch("pods"), 3)
    assert [event_summary(e) for e in events] == [(ADDED, "a"), (SYNCED, ""), (MODIFIED, "a")]
    assert len(fake.requests["List"]) == 4
    assert len(sleep.delays) >= 4


async def test_other_errors_end_list_then_watch() -> None:
    async with serve_fake() as (fake, client, _):
        fake.watch_scripts.append([Abort(grpc.StatusCode.PERMISSION_DENIED, "viewer cannot watch")])
        with pytest.raises(ApiError) as caught:
            await take(client.list_then_watch("pods"), 5)
    assert caught.value.reason == "Forbidden"
