"""Frequency caps and journey limits: what counts against which cap, reservations that a retry finds again,
and caps never exceeded when many sends to one contact race (real conditional writes, moto's DynamoDB)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from tern.aws.dynamodb import Table
from tern.errors import RetryLater, TooBusy
from tern.journeys.caps import FrequencyCap, Ledger, Limits, OrgSettings, Sent, Throttle, over
from tern.store.query_slots import QuerySlots
from tern_local.fidelity import atomic_dynamodb_writes
from tern_local.template import create_table

from fakes import MemoryTable

NOW = dt.datetime(2026, 11, 23, 12)
REGION = "eu-central-1"


def sent(hours_ago: float, channel: str = "email", journey: str = "j1") -> Sent:
    return Sent(NOW - dt.timedelta(hours=hours_ago), channel, journey, f"k{hours_ago}{channel}{journey}")


def test_the_org_cap_counts_every_journey_on_its_channels_in_a_rolling_window() -> None:
    cap = FrequencyCap(messages=2, days=7, channels=["email"])
    assert over([sent(1, journey="j2"), sent(50, journey="j3")], "email", "j1", NOW, cap, None) == "frequency cap: 2 in 7 days"
    assert over([sent(1), sent(7 * 24 + 1)], "email", "j1", NOW, cap, None) is None  # the older one is out of the window
    assert over([sent(1, "sms"), sent(2, "sms"), sent(3)], "email", "j1", NOW, cap, None) is None  # SMS is not capped
    assert over([sent(1), sent(2)], "sms", "j1", NOW, cap, None) is None  # nor counted for an SMS


def test_a_journeys_limits_count_its_own_messages() -> None:
    limits = Limits(messages_per_contact=3, messages_per_contact_per_day=1)
    assert over([sent(30), sent(60)], "email", "j1", NOW, None, limits) is None
    assert over([sent(23)], "sms", "j1", NOW, None, limits) == "messages_per_contact_per_day: 1"
    assert over([sent(23, journey="j2")], "email", "j1", NOW, None, limits) is None  # another journey's
    assert over([sent(30), sent(60), sent(90)], "email", "j1", NOW, None, limits) == "messages_per_contact: 3"
    weekly = Limits.model_validate({"messages_per_contact_in": {"messages": 2, "days": 7}})
    assert over([sent(30), sent(7 * 24 - 1)], "email", "j1", NOW, None, weekly) == "messages_per_contact_in: 2 in 7 days"
    assert over([sent(30), sent(7 * 24 + 1)], "email", "j1", NOW, None, weekly) is None  # out of the window


def test_a_reservation_is_found_again_by_its_key_and_released() -> None:
    ledger = Ledger(MemoryTable())  # type: ignore[arg-type]
    cap = FrequencyCap(messages=1, days=1)
    assert ledger.reserve("acme", "c1", "k1", "email", "j1", NOW, cap, None) is None
    assert ledger.reserve("acme", "c1", "k1", "email", "j1", NOW, cap, None) is None  # a retry: the same reservation
    assert ledger.reserve("acme", "c1", "k2", "email", "j2", NOW, cap, None) == "frequency cap: 1 in 1 days"
    ledger.release("acme", "c1", "k1")
    assert ledger.reserve("acme", "c1", "k2", "email", "j2", NOW, cap, None) is None
    assert ledger.reserve("globex", "c1", "k3", "email", "j9", NOW, cap, None) is None  # another org's contact


@pytest.mark.parametrize("cap", [{"messages": 0, "days": 7}, {"messages": 3, "days": 0}, {"messages": 3, "days": 7, "channels": ["push"]},
                                 {"messages": 3, "days": 7, "channels": ["sms", "sms"]}, {"messages": "3", "days": 7}])  # fmt: skip
def test_bad_caps_are_refused(cap: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        FrequencyCap.model_validate(cap)


@pytest.fixture()
def table() -> Iterator[Table]:
    atomic_dynamodb_writes()
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name=REGION), "TernTable", "tern")
        yield Table(boto3.resource("dynamodb", region_name=REGION).Table("tern"))


def test_racing_sends_never_exceed_the_cap(table: Table) -> None:
    """Twelve sends to one contact from six journeys at once, a cap of 3 in 7 days: exactly 3 go."""
    cap = FrequencyCap(messages=3, days=7)
    ledger = Ledger(table)
    answers: list[str | None] = []
    start = threading.Barrier(12)

    def send(n: int) -> None:
        start.wait()
        answers.append(ledger.reserve("acme", "c1", f"key-{n}", "email" if n % 2 else "sms", f"j{n % 6}", NOW, cap, None))

    threads = [threading.Thread(target=send, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers.count(None) == 3 and len(answers) == 12
    assert len(ledger.sends("acme", "c1")[0]) == 3


def test_the_org_cap_is_a_setting(table: Table) -> None:
    settings = OrgSettings(table)
    assert settings.frequency_cap("acme") is None
    settings.set_frequency_cap("acme", FrequencyCap(messages=3, days=7, channels=["email"]))
    assert settings.frequency_cap("acme") == FrequencyCap(messages=3, days=7, channels=["email"])
    assert settings.frequency_cap("globex") is None
    settings.set_frequency_cap("acme", None)
    assert settings.frequency_cap("acme") is None


def test_messages_per_second_lets_that_many_through_a_second(table: Table) -> None:
    throttle = Throttle(table)
    for _ in range(5):
        throttle.take("acme", "j1", 5, NOW)
    with pytest.raises(RetryLater):
        throttle.take("acme", "j1", 5, NOW)
    throttle.take("acme", "j1", 5, NOW + dt.timedelta(seconds=1))  # the next second
    throttle.take("acme", "j2", 5, NOW)  # another journey


def test_racing_queries_never_hold_more_than_the_orgs_slots_and_a_lease_ends(table: Table) -> None:
    """Twelve queries of one org start at once against 4 slots: exactly 4 run; the rest hear when to try again."""
    now = [1_800_000_000.0]
    slots = QuerySlots(table, limit=4, clock=lambda: now[0])
    taken: list[str] = []
    refused: list[int] = []
    start = threading.Barrier(12)

    def query(n: int) -> None:
        start.wait()
        try:
            slots.take("acme", [f"q{n}"], seconds=60)
            taken.append(f"q{n}")
        except TooBusy as e:
            refused.append(e.retry_after)

    threads = [threading.Thread(target=query, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(taken) == 4 and len(refused) == 8 and set(refused) == {60}
    slots.take("globex", ["g1"])  # another org's slots are its own
    slots.give_back("acme", taken[0])
    slots.take("acme", ["again"], seconds=60)  # a slot given back is taken again
    with pytest.raises(TooBusy):
        slots.take("acme", ["one-more"])
    now[0] += 61  # a client that never came back: its leases end
    slots.take("acme", ["after"])
    with pytest.raises(TooBusy):
        slots.take("acme", ["two-1", "two-2", "two-3", "two-4"])  # all or none: 1 held, 4 more do not fit
    slots.take("acme", ["three-1", "three-2", "three-3"])
    slots.hand_over("acme", "three-1", "query-id")
    slots.give_back("acme", "after")
    held = table.get("ORG#acme", "QUERY-SLOTS")["held"]  # type: ignore[index]
    assert set(held) == {"query-id", "three-2", "three-3"}


def test_slots_given_back_while_others_take_are_never_taken_back(table: Table) -> None:
    """A give-back lands between a taker's read and its write: the taker's stale copy must not restore it."""
    slots = QuerySlots(table, limit=50)
    slots.take("acme", [f"old{n}" for n in range(20)])
    start = threading.Barrier(20)

    def churn(n: int) -> None:
        start.wait()
        if n % 2:
            slots.give_back("acme", f"old{n}")
        else:
            slots.take("acme", [f"new{n}"])

    threads = [threading.Thread(target=churn, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    held = set(table.get("ORG#acme", "QUERY-SLOTS")["held"])  # type: ignore[index]
    assert held == {f"old{n}" for n in range(0, 20, 2)} | {f"new{n}" for n in range(0, 20, 2)}
