"""The Graph API client for Meta's customer-file audiences (tern.exports.meta) against a stand-in that accepts exactly
the documented requests (tests/graph_standin.py): connecting, making an audience, adding, removing and replacing
members in batches of 10,000 within one session, throttling retried without a member counted twice, and what Meta
refuses named in words."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from graph_standin import GraphStandIn
from tern.exports.matching import Member, meta_row
from tern.exports.meta import BATCH_ROWS, MetaAudiences, MetaRefused

ACCOUNT = "1234567890"


@pytest.fixture
def graph() -> Iterator[GraphStandIn]:
    standin = GraphStandIn(tokens={"good"}, expired={"old"}, accounts={ACCOUNT})
    yield standin
    standin.stop()


def client(graph: GraphStandIn, token: str = "good", pauses: list[float] | None = None) -> MetaAudiences:
    return MetaAudiences(token, ACCOUNT, base_url=graph.url, sleep=(pauses if pauses is not None else []).append, jitter=lambda: 0.5)


def rows(n: int, start: int = 0) -> list[list[str]]:
    made = [meta_row(Member(email=f"member{i}@example.com", country="PL")) for i in range(start, start + n)]
    return [r for r in made if r is not None]


def test_connecting_checks_the_token_and_the_account(graph: GraphStandIn) -> None:
    assert client(graph).account()["name"] == "Tern test account"
    with pytest.raises(MetaRefused, match="access token: it has expired or was revoked") as refused:
        client(graph, "old").account()
    assert (refused.value.code, refused.value.subcode) == (190, 463)
    with pytest.raises(MetaRefused, match="does not exist"):
        MetaAudiences("good", "999", base_url=graph.url).account()


def test_members_go_in_batches_of_one_session_and_come_out_again(graph: GraphStandIn) -> None:
    meta = client(graph)
    audience = meta.create("Warsaw subscribers", "kept in step by Tern")
    assert graph.audiences[audience]["customer_file_source"] == "USER_PROVIDED_ONLY"
    sent = meta.add(audience, rows(25_000))
    assert (sent.calls, sent.received, sent.invalid) == (3, 25_000, 0)
    uploads = [fields for method, path, fields in graph.calls if path.endswith("/users")]
    sessions = [json.loads(f["session"]) for f in uploads]
    assert len({s["session_id"] for s in sessions}) == 1
    assert [(s["batch_seq"], s["last_batch_flag"]) for s in sessions] == [(1, False), (2, False), (3, True)]
    assert max(len(json.loads(f["payload"])["data"]) for f in uploads) == BATCH_ROWS
    assert len(graph.members[audience]) == 25_000
    meta.remove(audience, rows(5_000))
    assert len(graph.members[audience]) == 20_000
    meta.replace(audience, rows(3, start=100_000))
    assert graph.members[audience] == {tuple(r) for r in rows(3, start=100_000)}


def test_throttling_is_waited_out_and_no_member_arrives_twice(graph: GraphStandIn) -> None:
    pauses: list[float] = []
    meta = client(graph, pauses=pauses)
    audience = meta.create("Clickers")
    graph.fail_next = [80003, 17]  # the ad account's rate limit, then the user's
    sent = meta.add(audience, rows(12_000))
    assert sent.attempts == 4 and sent.received == 12_000  # two batches, the first tried three times
    assert pauses == [2.0, 4.0]  # exponential backoff (the jitter at its middle)
    assert len(graph.members[audience]) == 12_000


def test_what_meta_refuses_for_good_is_not_retried_and_says_what(graph: GraphStandIn) -> None:
    meta = client(graph)
    audience = meta.create("Bad rows")
    calls = len(graph.calls)
    with pytest.raises(MetaRefused, match="a field of the request: .*Data row 0 is not hashed") as refused:
        meta.add(audience, [["not-a-hash", "", "", "", "", "", ""]])
    assert refused.value.code == 100 and len(graph.calls) == calls + 1
    graph.fail_next = [17] * 5
    with pytest.raises(MetaRefused, match=r"too many calls .*\(5 attempts\)"):
        meta.add(audience, rows(1))
