"""When and how much journeys send, on the local stack: a send window read in each contact's own time zone
(quiet hours hold a send until the contact's morning), and the org's frequency cap across two journeys.
The clock runs 600 times faster (an hour is 6 seconds)."""

from __future__ import annotations

import collections
import datetime as dt
import zoneinfo
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from stack_client import http, lake_contacts, live, local_stack, ok, ses_sent, wait_for
from tern_local.generator import generate
from tern_local.stack import LocalStack

SCALE = 600
AUDIENCE = {"name": "London and Warsaw", "where": {"all": [{"kind": "attribute", "field": "city", "op": "in", "values": ["London", "Warszawa"]}]},
            "refresh": {"every": 365, "unit": "days"}}  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    lake: Path = tmp_path_factory.mktemp("timing-lake")
    generate(lake, contacts=150, events_per_contact=2, days=10, org="acme", seed=21)
    with local_stack(lake, time_scale=SCALE) as running:
        yield running


@pytest.fixture(scope="module")
def contacts(stack: LocalStack) -> dict[str, dict[str, Any]]:
    return lake_contacts(stack)


@pytest.fixture(scope="module")
def email(stack: LocalStack) -> str:
    return str(
        ok(stack, "POST", "/content", {"name": "hello", "channel": "email", "subject": "Hello", "body": "<p>Hi</p>", "status": "ready"})[
            "id"
        ]
    )


def journey_events(stack: LocalStack, journey_id: str) -> list[dict[str, Any]]:
    files = sorted((stack.data / "events" / "org_id=acme").rglob("*.parquet"))  # whole files only: never a .partial being written
    rows = [row for f in files for row in pq.read_table(f).to_pylist()]
    return [r for r in rows if r["event_type"] == "journey_step" and r["journey_id"] == journey_id]


def run(stack: LocalStack, body: dict[str, Any]) -> dict[str, Any]:
    journey = ok(stack, "POST", "/journeys", body)
    ok(stack, "POST", f"/journeys/{journey['id']}/publish")
    return dict(ok(stack, "POST", f"/journeys/{journey['id']}/start"))


def test_quiet_hours_hold_each_send_until_the_contacts_own_morning(
    stack: LocalStack, contacts: dict[str, dict[str, Any]], email: str
) -> None:
    audience = live(stack, AUDIENCE)
    members = [m["contact_id"] for m in ok(stack, "GET", f"/segments/{audience['id']}/members?limit=1000")["members"]]
    eligible = {c for c in members if contacts[c]["email"] and "email_marketing" in (contacts[c]["consents"] or [])}
    # the window opens at a full hour of Warsaw's clock 120 to 180 minutes away (the run starts everyone before), for one hour
    now = stack.clock().replace(tzinfo=dt.UTC)
    warsaw = zoneinfo.ZoneInfo("Europe/Warsaw")
    opens_local = (now.astimezone(warsaw) + dt.timedelta(minutes=180)).replace(minute=0, second=0, microsecond=0)
    window = {"start": f"{opens_local.hour:02d}:00", "end": f"{(opens_local.hour + 1) % 24 or 24:02d}:00"}
    journey = run(stack, {"name": "Morning", "audience": audience["id"], "timezone": "UTC", "start": "hello", "send_window": window,
                          "steps": [{"id": "hello", "kind": "send_email", "content_id": email}]})  # fmt: skip

    def done() -> bool:
        outcomes = collections.Counter(e["outcome"] for e in journey_events(stack, journey["id"]))
        return outcomes["sent"] + outcomes["blocked"] >= len(members)

    wait_for(done, timeout=120, every=1, what="every contact sent or blocked")
    events = journey_events(stack, journey["id"])
    deferred = {e["contact_id"]: dt.datetime.fromisoformat(e["reason"]) for e in events if e["outcome"] == "deferred"}
    sent_at = {e["contact_id"]: e["ts"] for e in events if e["outcome"] == "sent"}
    assert set(sent_at) == eligible
    by_zone: dict[str, set[dt.datetime]] = collections.defaultdict(set)
    for contact_id, at in sent_at.items():
        zone = zoneinfo.ZoneInfo(contacts[contact_id]["timezone"] or "UTC")
        if contact_id not in deferred:  # entered once its window had opened (a slow machine): sent at once, inside it
            local = at.replace(tzinfo=dt.UTC).astimezone(zone).strftime("%H:%M")
            assert window["start"] <= local < window["end"], (contact_id, at)
            continue
        opening = deferred[contact_id]  # entered before its window opened: it waited for its own morning
        assert opening.astimezone(zone).strftime("%H:%M") == window["start"], (contact_id, opening)
        assert at >= opening.astimezone(dt.UTC).replace(tzinfo=None) - dt.timedelta(minutes=1)  # never before it opened
        by_zone[zone.key].add(opening)
    (london_opening,) = by_zone["Europe/London"]  # London opens an hour after Warsaw: its contacts always waited
    if by_zone["Europe/Warsaw"]:
        (warsaw_opening,) = by_zone["Europe/Warsaw"]
        assert london_opening - warsaw_opening == dt.timedelta(hours=1)  # the same hour of the clock, an hour later in London
    figures = {s["step_id"]: s for s in ok(stack, "GET", f"/journeys/{journey['id']}/analytics")["steps"]}
    assert figures["hello"]["deferred"] == len(deferred) and figures["hello"]["sent"] == len(eligible)


def test_the_org_frequency_cap_holds_across_two_journeys(stack: LocalStack, contacts: dict[str, dict[str, Any]], email: str) -> None:
    assert ok(stack, "GET", "/settings/frequency-cap") == {"frequency_cap": None}
    status, problem = http(stack, "PUT", "/settings/frequency-cap", {"messages": 0, "days": 7})
    assert status == 400 and problem["problems"][0]["path"] == "messages"
    cap = {"messages": 1, "days": 7, "channels": ["email"]}
    assert ok(stack, "PUT", "/settings/frequency-cap", cap) == {"frequency_cap": cap}
    assert ok(stack, "GET", "/settings/frequency-cap", org="globex") == {"frequency_cap": None}
    audience = live(stack, {"name": "Kraków and Gdańsk", "where": {"all": [{"kind": "attribute", "field": "city", "op": "in", "values": ["Kraków", "Gdańsk"]}]},
                            "refresh": {"every": 365, "unit": "days"}})  # nobody the other test sent to  # fmt: skip
    members = [m["contact_id"] for m in ok(stack, "GET", f"/segments/{audience['id']}/members?limit=1000")["members"]]
    eligible = {c for c in members if contacts[c]["email"] and "email_marketing" in (contacts[c]["consents"] or [])}
    addresses = {contacts[c]["email"]: c for c in eligible}
    before = len(ses_sent())
    body = {"audience": audience["id"], "start": "hello", "steps": [{"id": "hello", "kind": "send_email", "content_id": email}]}
    first, second = run(stack, {**body, "name": "First"}), run(stack, {**body, "name": "Second"})

    def settled() -> bool:
        outcomes = collections.Counter(e["outcome"] for j in (first, second) for e in journey_events(stack, j["id"]))
        return outcomes["sent"] + outcomes["capped"] + outcomes["blocked"] >= 2 * len(members)

    wait_for(settled, timeout=120, every=1, what="both journeys' sends")
    received = collections.Counter(
        m.destinations["ToAddresses"][0] for m in ses_sent()[before:] if m.destinations["ToAddresses"][0] in addresses
    )
    assert set(received) == set(addresses) and set(received.values()) == {1}  # one e-mail each, never two
    outcomes = collections.Counter(
        (e["outcome"], e["reason"]) for j in (first, second) for e in journey_events(stack, j["id"]) if e["outcome"] in ("sent", "capped")
    )
    assert outcomes == {("sent", None): len(eligible), ("capped", "frequency cap: 1 in 7 days"): len(eligible)}
    assert ok(stack, "DELETE", "/settings/frequency-cap") == {"frequency_cap": None}
