"""Contact events, goals and exits: events as the events dataset holds them, filters as the compiler reads
them, conversions once per contact within the goal's window (held-out contacts included), exit marks, and
the lift of a conversion rate over the control group with its interval."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pytest
from pydantic import ValidationError

from tern.journeys.analytics import lift
from tern.journeys.matching import ContactEvent, EventMatch, filters_hold
from tern.journeys.model import Journey, Reentry, execution_name
from tern.journeys.repository import JourneyRepository
from tern.journeys.triggers import Triggers
from tern.segments.repository import SegmentRepository

from fakes import MemoryEvents, MemoryTable

MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:journey-j1"

NOW = dt.datetime(2026, 11, 23, 12)


def event(**fields: Any) -> dict[str, Any]:
    return ContactEvent.model_validate({"contact_id": "c1", "event_type": "purchase", "ts": "2026-11-23T10:00:00Z", **fields}).row(NOW)


def test_an_event_becomes_a_row_of_the_events_dataset() -> None:
    row = event(amount=120.5, event_start="2026-12-05T19:00:00+01:00", properties={"device": "mobile"})
    assert row["ts"] == dt.datetime(2026, 11, 23, 10) and row["event_start"] == dt.datetime(2026, 12, 5, 18)
    assert row["properties"] == [("device", "mobile")] and row["event_id"].startswith("ev-")
    assert event(amount=120.5, event_start="2026-12-05T19:00:00+01:00", properties={"device": "mobile"})["event_id"] == row["event_id"]
    assert ContactEvent(contact_id="c1", event_type="x").row(NOW)["ts"] == NOW  # no time: when it arrived


@pytest.mark.parametrize(("fields", "problem"), [
    ({"event_type": "journey_step"}, "Tern records itself"), ({"event_type": "email_clicked"}, "Tern records itself"),
    ({"event_type": "Purchase!"}, "pattern"), ({"amount": "12"}, "valid number"), ({"ts": "yesterday"}, "ISO date-time"),
    ({"colour": "red"}, "Extra inputs"), ({"contact_id": ""}, "at least 1"),
])  # fmt: skip
def test_bad_events_are_refused(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        ContactEvent.model_validate({"contact_id": "c1", "event_type": "purchase", **fields})


def test_filters_read_an_event_as_the_compiler_does() -> None:
    row = event(
        sales_channel="online", amount=99.0, event_start="2026-12-05T19:00:00+01:00", properties={"device": "mobile", "vip": "true"}
    )
    assert filters_hold({"sales_channel": ["online", "app"], "properties.device": "mobile", "properties.vip": True}, row)
    assert filters_hold({"amount": 99}, row) and not filters_hold({"amount": [98, 100]}, row)
    assert not filters_hold({"sales_channel": "boxoffice"}, row)
    assert not filters_hold({"order_id": "o1"}, row)  # absent: no match
    assert not EventMatch(event_type="refund").matches(row)
    with pytest.raises(ValidationError, match="unknown event field"):
        EventMatch(event_type="purchase", filters={"colour": "red"})


def journey(**changes: Any) -> Journey:
    return Journey.model_validate({
        "id": "j1", "org_id": "acme", "name": "A/B", "audience": "s1", "start": "s", "status": "running", "published_version": 1,
        "steps": [{"id": "s", "kind": "end"}], "created_at": NOW, "updated_at": NOW,
        "goal": {"event_type": "purchase", "filters": {"sales_channel": "online"}, "within": "P14D", "exit": True}, **changes,
    })  # fmt: skip


def test_a_goal_converts_once_within_its_window_after_entry_and_marks_the_exit() -> None:
    table, events = MemoryTable(), MemoryEvents()
    journeys = JourneyRepository(table)  # type: ignore[arg-type]
    journeys.create(journey())
    for contact in ("c1", "c2", "c3"):
        journeys.enter("acme", "j1", contact, dt.datetime(2026, 11, 20, 12))
    triggers = Triggers(journeys, SegmentRepository(table), events, lambda: NOW)  # type: ignore[arg-type]
    batch = [
        ContactEvent(contact_id="c1", event_type="purchase", ts="2026-11-22T10:00:00Z", sales_channel="online"),
        ContactEvent(contact_id="c1", event_type="purchase", ts="2026-11-22T11:00:00Z", sales_channel="online"),  # again: counted once
        ContactEvent(contact_id="c2", event_type="purchase", ts="2026-11-19T10:00:00Z", sales_channel="online"),  # before entering
        ContactEvent(contact_id="c3", event_type="purchase", ts="2026-12-05T10:00:00Z", sales_channel="online"),  # after 14 days
        ContactEvent(contact_id="c3", event_type="purchase", ts="2026-11-22T10:00:00Z", sales_channel="boxoffice"),  # not the goal
        ContactEvent(contact_id="c9", event_type="purchase", ts="2026-11-22T10:00:00Z", sales_channel="online"),  # never entered
    ]
    assert triggers.take("acme", batch) == {"accepted": 6, "entering": 0, "converted": 1, "exits": 0}
    conversions = [r for r in events.rows if r["event_type"] == "journey_step"]
    assert [(r["contact_id"], r["outcome"], r["reason"]) for r in conversions] == [("c1", "converted", "purchase")]
    assert len([r for r in events.rows if r["event_type"] == "purchase"]) == 6  # every event recorded for segments
    assert journeys.exit_reason("acme", "j1", "c1") == "goal" and journeys.exit_reason("acme", "j1", "c2") is None


def test_an_exit_event_marks_the_contact_to_leave() -> None:
    table, events = MemoryTable(), MemoryEvents()
    journeys = JourneyRepository(table)  # type: ignore[arg-type]
    journeys.create(journey(goal=None, exit={"on_event": {"event_type": "unsubscribe_page"}}))
    journeys.enter("acme", "j1", "c1", dt.datetime(2026, 11, 20, 12))
    triggers = Triggers(journeys, SegmentRepository(table), events, lambda: NOW)  # type: ignore[arg-type]
    assert triggers.take("acme", [ContactEvent(contact_id="c1", event_type="unsubscribe_page")])["exits"] == 1
    assert journeys.exit_reason("acme", "j1", "c1") == "event unsubscribe_page"


def test_lift_and_its_interval() -> None:
    found = lift(120, 1000, 80, 1000)  # 12% against 8%
    assert found["lift"] == pytest.approx(0.5)
    se = math.sqrt(1 / 120 - 1 / 1000 + 1 / 80 - 1 / 1000)
    assert found["lift_low"] == pytest.approx(1.5 * math.exp(-1.959964 * se) - 1) and found["lift_low"] > 0.1
    assert found["lift_high"] == pytest.approx(1.5 * math.exp(1.959964 * se) - 1)
    assert lift(0, 1000, 80, 1000) == {"lift": None, "lift_low": None, "lift_high": None}
    small = lift(12, 100, 8, 100)  # the same rates from a tenth of the contacts: the interval spans no change
    assert small["lift"] == pytest.approx(0.5) and small["lift_low"] < 0 < small["lift_high"]  # type: ignore[operator]


def test_contact_events_on_eventbridge_reach_the_triggers_and_bad_ones_are_dropped_with_the_reason() -> None:
    from tern.journeys.engagement import Engagement
    from tern.journeys.ingest import CONTACT_EVENTS, Ingest

    from fakes import MemoryTokens

    table, events = MemoryTable(), MemoryEvents()
    journeys = JourneyRepository(table)  # type: ignore[arg-type]
    journeys.create(journey())
    journeys.enter("acme", "j1", "c1", dt.datetime(2026, 11, 20, 12))
    ingest = Ingest(
        Engagement(table), events, MemoryTokens(), lambda: NOW, Triggers(journeys, SegmentRepository(table), events, lambda: NOW)
    )  # type: ignore[arg-type]
    detail = {"org_id": "acme", "contact_id": "c1", "event_type": "purchase", "sales_channel": "online", "ts": "2026-11-22T10:00:00Z"}
    assert ingest.handle({"source": CONTACT_EVENTS, "detail-type": "Contact Event", "detail": detail}) == {
        "accepted": 1,
        "entering": 0,
        "converted": 1,
        "exits": 0,
    }
    bad = ingest.handle({"source": CONTACT_EVENTS, "detail": {**detail, "amount": "lots"}})
    assert bad["ignored"] and "amount" in bad["problem"]
    assert ingest.handle({"source": CONTACT_EVENTS, "detail": {k: v for k, v in detail.items() if k != "org_id"}})["problem"].startswith(
        "org_id"
    )
    for hostile in ("../globex", "acme/contacts", "org_id=globex", "x" * 65):  # it would name another org's folders
        refused = ingest.handle({"source": CONTACT_EVENTS, "detail": {**detail, "org_id": hostile}})
        assert refused["ignored"] and refused["problem"].startswith("org_id: not an org id")


def test_reentry_counts_entries_and_their_interval_and_a_new_entry_clears_the_exit_mark() -> None:
    journeys = JourneyRepository(MemoryTable())  # type: ignore[arg-type]
    day, twice = dt.timedelta(days=1), Reentry.model_validate({"max_entries": 2, "min_interval": "P30D"})
    assert journeys.enter_again("acme", "j1", "c1", NOW, twice, machine=MACHINE) == 1
    journeys.mark_exit("acme", "j1", "c1", "goal", NOW)
    assert journeys.enter_again("acme", "j1", "c1", NOW + 10 * day, twice, machine=MACHINE) is None  # too soon
    assert journeys.enter_again("acme", "j1", "c1", NOW + 31 * day, twice, machine=MACHINE) == 2
    assert journeys.exit_reason("acme", "j1", "c1") is None  # the second entry starts afresh
    assert journeys.enter_again("acme", "j1", "c1", NOW + 90 * day, twice, machine=MACHINE) is None  # twice at most
    assert journeys.entered_times("acme", "j1", "c1") == (2, NOW + 31 * day)
    assert journeys.totals("acme", "j1") == {"contacts": 1, "entries": 2}


def test_a_contact_on_its_way_does_not_enter_again_and_a_retried_run_reuses_its_entry() -> None:
    journeys = JourneyRepository(MemoryTable())  # type: ignore[arg-type]
    unlimited, asked = Reentry.model_validate({"max_entries": None}), []

    def on_its_way(execution: str) -> bool:
        asked.append(execution)
        return execution.endswith(execution_name("c1", 2))

    assert journeys.enter_again("acme", "j1", "c1", NOW, unlimited, machine=MACHINE, run_id="r1", on_its_way=on_its_way) == 1
    assert asked == []  # a first entry asks nothing
    assert (
        journeys.enter_again("acme", "j1", "c1", NOW, unlimited, machine=MACHINE, run_id="r1", on_its_way=on_its_way) == 1
    )  # the run, retried
    assert journeys.enter_again("acme", "j1", "c1", NOW, unlimited, machine=MACHINE, run_id="r2", on_its_way=on_its_way) == 2
    assert asked == [f"arn:aws:states:eu-west-1:123456789012:execution:journey-j1:{execution_name('c1')}"]
    assert (
        journeys.enter_again("acme", "j1", "c1", NOW, unlimited, machine=MACHINE, run_id="r3", on_its_way=on_its_way) is None
    )  # entry 2 runs
    assert journeys.totals("acme", "j1") == {"contacts": 1, "entries": 2}
    assert journeys.enter("acme", "j2", "c1", NOW) and not journeys.enter("acme", "j2", "c1", NOW)
    assert journeys.totals("acme", "j2") == {"contacts": 1, "entries": 1}
