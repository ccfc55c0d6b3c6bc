"""Journeys end to end on the local stack: the real ASL in moto's interpreter, journey_step and
ingest_events in process, SES and SNS from moto (what was sent is inspected), clicks put on EventBridge
exactly as SES puts them. The clock runs 7,200 times faster: a day is 12 seconds.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from stack_client import evaluate, http, lake_contacts, live, local_stack, ok, ses_sent, wait_for
from tern.journeys.entry import execution_name
from tern_local.demo_stack import ses_click
from tern_local.generator import generate
from tern_local.stack import REGION, LocalStack

LINK = "https://shop.example.com/new"
SCALE = 7200
AUDIENCE = {
    "name": "Kraków",
    "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Kraków"}]},
    "refresh": {"every": 365, "unit": "days"},
}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    lake: Path = tmp_path_factory.mktemp("journey-lake")
    generate(lake, contacts=400, events_per_contact=4, days=20, org="acme", seed=8)
    with local_stack(lake, time_scale=SCALE) as running:
        yield running


@pytest.fixture(scope="module")
def contacts(stack: LocalStack) -> dict[str, dict[str, Any]]:
    return lake_contacts(stack)


@pytest.fixture(scope="module")
def content(stack: LocalStack) -> dict[str, str]:
    email = ok(stack, "POST", "/content", {"name": "announce", "channel": "email", "subject": "{{first_name|Hello}}, it is coming",
                                           "body": f"<a href='{LINK}'>See it</a>", "status": "ready"})  # fmt: skip
    sms = ok(stack, "POST", "/content", {"name": "out", "channel": "sms", "text": "{{first_name|Hi}}: it is out!", "status": "ready"})
    return {"email": email["id"], "sms": sms["id"]}


def sms_sent() -> list[tuple[str, str]]:
    from tern_local.sms import sent

    return sent()


def click(stack: LocalStack, message_id: str, link: str = LINK) -> None:
    """An SES click event on the local stack's default bus."""
    ses_click(boto3.client("events", endpoint_url=stack.endpoint, region_name=REGION), message_id, link)


def bounce(stack: LocalStack, message_id: str, address: str) -> None:
    at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    detail = {"eventType": "Bounce", "mail": {"messageId": message_id, "timestamp": at},
              "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "bouncedRecipients": [{"emailAddress": address}], "timestamp": at}}  # fmt: skip
    boto3.client("events", endpoint_url=stack.endpoint, region_name=REGION).put_events(
        Entries=[{"Source": "aws.ses", "DetailType": "Email Bounced", "Detail": json.dumps(detail)}]
    )


def finished(stack: LocalStack, journey: dict[str, Any]) -> bool:
    sfn = boto3.client("stepfunctions", endpoint_url=stack.endpoint, region_name=REGION)
    executions = sfn.list_executions(stateMachineArn=journey["state_machine_arn"])["executions"]
    return bool(executions) and all(e["status"] != "RUNNING" for e in executions)


def steps(stack: LocalStack, journey_id: str) -> dict[str, dict[str, int]]:
    return {s["step_id"]: s for s in ok(stack, "GET", f"/journeys/{journey_id}/analytics")["steps"]}


def email_eligible(contacts: dict[str, dict[str, Any]], ids: list[str]) -> set[str]:
    return {c for c in ids if contacts[c]["email"] and "email_marketing" in (contacts[c]["consents"] or [])}


def test_the_classic_journey(stack: LocalStack, contacts: dict[str, dict[str, Any]], content: dict[str, str]) -> None:
    audience = live(stack, AUDIENCE)
    page = ok(stack, "GET", f"/segments/{audience['id']}/members?limit=1000")["members"]
    members = [m["contact_id"] for m in page]
    for m in page:  # each as a marketer knows it, from the lake
        person = contacts[m["contact_id"]]
        assert (m["email"], m["city"]) == (person.get("email") or None, person.get("city") or None)
    launch = (stack.clock() + dt.timedelta(hours=30)).replace(tzinfo=dt.UTC)  # 15 seconds away
    journey = ok(stack, "POST", "/journeys", {
        "name": "Launch", "audience": audience["id"], "start": "announce", "steps": [
            {"id": "announce", "kind": "send_email", "content_id": content["email"], "next": "clicked"},
            {"id": "clicked", "kind": "branch_on_event", "message_step": "announce", "event": "clicked", "link": LINK, "timeout": "P1D", "yes": "launch", "no": "end"},
            {"id": "launch", "kind": "wait_until", "at": launch.isoformat(), "next": "text"},
            {"id": "text", "kind": "send_sms", "content_id": content["sms"], "next": "end"},
            {"id": "end", "kind": "end"},
        ]})  # fmt: skip
    published = ok(stack, "POST", f"/journeys/{journey['id']}/publish")
    assert published["status"] == "published" and published["state_machine_arn"]
    assert ok(stack, "POST", f"/journeys/{journey['id']}/start")["status"] == "running"

    eligible = email_eligible(contacts, members)
    by_address = {contacts[c]["email"]: c for c in eligible}
    # the first eight who get the e-mail click the launch link (two of them on another link first)
    sms_ready = {c for c in eligible if contacts[c]["phone"] and "sms_marketing" in (contacts[c]["consents"] or [])}
    wanted = sorted(sms_ready)[:6] + sorted(eligible - sms_ready)[:2]
    clicked: dict[str, str] = {}

    def click_wanted() -> bool:
        for message in ses_sent():
            contact = by_address.get(message.destinations["ToAddresses"][0])
            if contact in wanted and contact not in clicked:
                click(stack, message.id, link="https://shop.example.com/other")  # not the watched link: no effect
                click(stack, message.id)
                clicked[contact] = message.id
        return len(clicked) == len(wanted)

    wait_for(click_wanted, timeout=60, every=0.05, what="the e-mails to the clickers")
    wait_for(lambda: finished(stack, published), timeout=120, every=0.5, what="every execution to finish")

    emails = collections.Counter(by_address.get(m.destinations["ToAddresses"][0]) for m in ses_sent())
    assert {c for c in emails if c} == eligible and set(emails.values()) == {1}  # every member with consent, once
    texts = {phone: text for phone, text in sms_sent()}
    expected_texts = {contacts[c]["phone"]: f"{contacts[c]['first_name'] or 'Hi'}: it is out!" for c in wanted if c in sms_ready}
    assert texts == expected_texts  # the clickers with SMS consent, and only they, personalised

    runs = boto3.client("stepfunctions", endpoint_url=stack.endpoint, region_name=REGION)
    run_machine = stack.resolver.arn("JourneyRunStateMachine")
    (run,) = runs.list_executions(stateMachineArn=run_machine)["executions"]  # the run: a state machine of its own
    report = json.loads(runs.describe_execution(executionArn=run["executionArn"])["output"])
    assert report == {"org_id": "acme", "journey_id": journey["id"], "run_id": run["name"],
                      "audience": len(members), "started": len(members), "already_entered": 0, "failed": 0, "over_daily_limit": 0}  # fmt: skip

    figures = steps(stack, journey["id"])
    assert figures["announce"]["processed"] == len(members)
    assert figures["announce"]["sent"] == len(eligible)
    assert figures["announce"]["blocked"] == len(members) - len(eligible)
    assert figures["announce"]["clicked"] == len(wanted)
    assert figures["clicked"]["processed"] == len(eligible)
    assert figures["clicked"]["clicked"] == len(wanted)
    assert figures["clicked"]["exited"] == len(eligible) - len(wanted)
    assert figures["text"]["sent"] == len(expected_texts)
    assert figures["text"]["blocked"] == len(wanted) - len(expected_texts)  # clicked, but no SMS consent
    assert all(s["waiting"] == 0 for s in figures.values())
    assert figures["launch"]["processed"] == len(wanted)  # a wait records nothing: its figure follows from the branch
    assert figures["end"]["processed"] == len(eligible) - len(wanted) + len(expected_texts)  # the timed out, and the texted

    saved = ok(stack, "POST", f"/journeys/{journey['id']}/steps/clicked/segments", {"outcome": "clicked"})
    assert saved["status"] == "draft"
    preview = ok(stack, "POST", "/segments/preview", {"name": saved["name"], "where": saved["where"]})
    assert sorted(preview["sample"]) == sorted(wanted)

    status, refused = http_put(stack, journey["id"])
    assert status == 409 and "frozen" in refused["message"]
    from stack_client import http

    assert http(stack, "DELETE", f"/content/{content['sms']}")[0] == 409  # what a published journey sends is frozen too
    assert http(stack, "PUT", f"/content/{content['sms']}", {"name": "x", "channel": "sms", "text": "changed"})[0] == 409
    spare = ok(stack, "POST", "/content", {"name": "spare", "channel": "sms", "text": "unused"})
    assert ok(stack, "DELETE", f"/content/{spare['id']}")["id"] == spare["id"]
    assert http(stack, "GET", f"/content/{spare['id']}")[0] == 404

    # what a contact costs in Step Functions: the longest path (a clicker who gets the SMS) in state transitions
    sfn = boto3.client("stepfunctions", endpoint_url=stack.endpoint, region_name=REGION)
    clicker = next(c for c in wanted if c in sms_ready)
    execution = next(
        e for e in sfn.list_executions(stateMachineArn=published["state_machine_arn"])["executions"] if e["name"] == execution_name(clicker)
    )
    history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
    entered = [e["type"] for e in history if e["type"].endswith("StateEntered")]
    assert len(entered) == 5 <= 8  # announce, clicked, launch, text, end


def http_put(stack: LocalStack, journey_id: str) -> tuple[int, Any]:
    from stack_client import http

    journey = ok(stack, "GET", f"/journeys/{journey_id}")
    definition = {k: journey[k] for k in ("name", "audience", "start", "steps")}
    return http(stack, "PUT", f"/journeys/{journey_id}", definition)


def message_of(contacts: dict[str, dict[str, Any]], contact_id: str, since: int) -> Any:
    """The e-mail sent to the contact after the first `since` messages (this journey's, not an earlier one's)."""
    address = contacts[contact_id]["email"]
    found = [m for m in ses_sent()[since:] if m.destinations["ToAddresses"][0] == address]
    return found[-1] if found else None


def test_early_clicks_a_past_launch_and_a_hard_bounce(
    stack: LocalStack, contacts: dict[str, dict[str, Any]], content: dict[str, str]
) -> None:
    audience = live(stack, {**AUDIENCE, "name": "Kraków again"})
    members = [m["contact_id"] for m in ok(stack, "GET", f"/segments/{audience['id']}/members?limit=1000")["members"]]
    eligible = sorted(email_eligible(contacts, members))
    past = (stack.clock() - dt.timedelta(days=3)).replace(tzinfo=dt.UTC)
    journey = ok(stack, "POST", "/journeys", {
        "name": "Early clicks", "audience": audience["id"], "start": "announce", "steps": [
            {"id": "announce", "kind": "send_email", "content_id": content["email"], "next": "pause"},
            {"id": "pause", "kind": "wait_for", "duration": "PT12H", "next": "clicked"},  # 6 s: clicks land before the branch waits
            # three days (36 s) to answer: the early clickers go on at once; the margin is for a loaded machine, where
            # the branch's invocation can queue behind others longer than a day's 12 s (moto then takes the click late)
            {"id": "clicked", "kind": "branch_on_event", "message_step": "announce", "event": "clicked", "timeout": "P3D", "yes": "launch"},
            {"id": "launch", "kind": "wait_until", "at": past.isoformat(), "next": "mark"},
            {"id": "mark", "kind": "update_contact", "field": "tags", "action": "add", "value": "launch-clicker"},
        ]})  # fmt: skip
    ok(stack, "POST", f"/journeys/{journey['id']}/publish")
    sent_before = len(ses_sent())
    started = ok(stack, "POST", f"/journeys/{journey['id']}/start")
    early, bounced = eligible[:3], eligible[3]

    def all_sent() -> bool:
        return all(message_of(contacts, c, sent_before) is not None for c in [*early, bounced])

    wait_for(all_sent, timeout=60, every=0.05, what="the e-mails")
    for contact in early:
        message = message_of(contacts, contact, sent_before)
        click(stack, message.id)
        click(stack, message.id)  # SES (through EventBridge) may deliver an event twice: harmless
    bounce(stack, message_of(contacts, bounced, sent_before).id, contacts[bounced]["email"])
    wait_for(lambda: steps(stack, journey["id"])["clicked"]["clicked"] >= 3, timeout=60, what="the early clicks to count")
    wait_for(lambda: finished(stack, started), timeout=120, every=0.5, what="every execution to finish")
    wait_for(
        lambda: steps(stack, journey["id"])["announce"]["bounced"] >= 1,
        timeout=60,
        what="the bounce (EventBridge delivers it when it does)",
    )

    figures = steps(stack, journey["id"])
    assert figures["clicked"]["clicked"] == 3  # clicked before the branch waited, and resumed once each
    assert figures["mark"]["processed"] == 3  # a launch time in the past let them straight through
    tagged = ok(
        stack,
        "POST",
        "/segments/preview",
        {"name": "t", "where": {"all": [{"kind": "tags", "op": "has_any", "values": ["launch-clicker"]}]}},
    )
    assert sorted(tagged["sample"]) == sorted(early)  # update_contact wrote Tern's overlay, which segments read
    assert figures["announce"]["bounced"] == 1
    assert len(ses_sent()) - sent_before == len(eligible)

    # the hard-bounced address is suppressed for later sends
    again = ok(stack, "POST", "/journeys", {"name": "Reminder", "audience": audience["id"], "start": "remind",
                                            "steps": [{"id": "remind", "kind": "send_email", "content_id": content["email"]}]})  # fmt: skip
    ok(stack, "POST", f"/journeys/{again['id']}/publish")
    reminded = ok(stack, "POST", f"/journeys/{again['id']}/start")
    wait_for(
        lambda: finished(stack, reminded) and steps(stack, again["id"])["remind"]["processed"] == len(members),
        timeout=120,
        every=0.5,
        what="the reminder",
    )
    figures = steps(stack, again["id"])
    assert figures["remind"]["sent"] == len(eligible) - 1 and figures["remind"]["blocked"] == len(members) - len(eligible) + 1
    rows = stack.engine.run(
        f"SELECT reason FROM events WHERE org_id = 'acme' AND event_type = 'journey_step' AND journey_id = '{again['id']}' "
        f"AND contact_id = '{bounced}' AND outcome = 'blocked'"
    ).rows
    assert rows == [("suppressed: hard bounce",)]


def test_journey_step_twice_sends_once_and_throttling_is_retried(
    stack: LocalStack, contacts: dict[str, dict[str, Any]], content: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from tern.aws.ses import SesEmail
    from tern.errors import RetryLater

    gdansk = {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Gdańsk"}]}
    audience = live(stack, {**AUDIENCE, "name": "Gdańsk", "where": gdansk})  # no one here bounced in another test
    members = [m["contact_id"] for m in ok(stack, "GET", f"/segments/{audience['id']}/members?limit=1000")["members"]]
    throttled: list[str] = []
    real_send = SesEmail.send

    def throttle_first(self: SesEmail, to: str, *args: Any, **kwargs: Any) -> str:
        if to not in throttled:
            throttled.append(to)
            raise RetryLater("SES throttled: Maximum sending rate exceeded")
        return real_send(self, to, *args, **kwargs)

    monkeypatch.setattr(SesEmail, "send", throttle_first)
    journey = ok(stack, "POST", "/journeys", {"name": "Once", "audience": audience["id"], "start": "hello",
                                              "steps": [{"id": "hello", "kind": "send_email", "content_id": content["email"]}]})  # fmt: skip
    published = ok(stack, "POST", f"/journeys/{journey['id']}/publish")
    before = collections.Counter(m.destinations["ToAddresses"][0] for m in ses_sent())
    ok(stack, "POST", f"/journeys/{journey['id']}/start")
    wait_for(lambda: finished(stack, published), timeout=180, every=0.5, what="every execution to finish")
    after = collections.Counter(m.destinations["ToAddresses"][0] for m in ses_sent())
    eligible = email_eligible(contacts, members)
    assert {a: after[a] - before[a] for a in after if after[a] != before[a]} == {contacts[c]["email"]: 1 for c in eligible}
    assert len(throttled) == len(eligible)  # each was throttled once, retried by the state machine, sent once

    # the same Task invocation again (a retry after a lost response): the first answer, no second e-mail
    contact = sorted(eligible)[0]
    payload = {"phase": "step", "step": "hello", "journey": {"org_id": "acme", "id": journey["id"], "version": 1},
               "contact_id": contact, "run_id": "r", "execution": execution_name(contact), "contact": {**contacts[contact], "birth_date": None, "created_at": None, "updated_at": None, "attributes": {}}}  # fmt: skip
    count = len(ses_sent())
    stack.invoke_arn("tern-journey-step-local", payload)
    stack.invoke_arn("tern-journey-step-local", payload)
    assert len(ses_sent()) == count


def move_to(stack: LocalStack, city: str, contact_ids: list[str]) -> None:
    """The customer's contacts data changes: these contacts now live in `city` (the file is replaced whole)."""
    import os

    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    path = stack.data / "contacts" / "org_id=acme" / "part-0.parquet"
    table = pq.read_table(path)
    chosen = pc.is_in(table["contact_id"], value_set=__import__("pyarrow").array(contact_ids))
    cities = pc.if_else(chosen, city, table["city"])
    table = table.set_column(table.schema.get_field_index("city"), "city", cities)
    partial = path.with_suffix(".partial")
    pq.write_table(table, partial)
    os.replace(partial, path)


def emails_to(contacts: dict[str, dict[str, Any]], contact_id: str, since: int) -> int:
    return sum(1 for m in ses_sent()[since:] if m.destinations["ToAddresses"][0] == contacts[contact_id]["email"])


def test_a_contact_who_leaves_and_rejoins_enters_once_and_recurring_runs_take_newcomers(
    stack: LocalStack, contacts: dict[str, dict[str, Any]], content: dict[str, str]
) -> None:
    reachable = sorted(c for c in email_eligible(contacts, list(contacts)) if contacts[c]["city"] not in ("Kraków", "Gdańsk"))
    a, b, c = reachable[:3]
    move_to(stack, "Testville", [a, b])
    where = {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Testville"}]}
    audience = live(stack, {"name": "Testville", "where": where, "refresh": {"every": 365, "unit": "days"}})
    since = len(ses_sent())
    joiners = ok(stack, "POST", "/journeys", {"name": "Welcome", "audience": audience["id"], "mode": "one_time_with_joiners", "start": "hi",
                                              "steps": [{"id": "hi", "kind": "send_email", "content_id": content["email"]}]})  # fmt: skip
    recurring = ok(stack, "POST", "/journeys", {"name": "Weekly", "audience": audience["id"], "mode": "recurring", "every": {"every": 1, "unit": "days"},
                                                "start": "hi", "steps": [{"id": "hi", "kind": "send_email", "content_id": content["email"]}]})  # fmt: skip
    for journey in (joiners, recurring):
        ok(stack, "POST", f"/journeys/{journey['id']}/publish")
        ok(stack, "POST", f"/journeys/{journey['id']}/start")
    wait_for(
        lambda: emails_to(contacts, a, since) == 2 and emails_to(contacts, b, since) == 2, timeout=60, what="both journeys' first e-mails"
    )

    move_to(stack, "Elsewhere", [a])  # a leaves...
    assert evaluate(stack, audience["id"])["left"] == 1
    move_to(stack, "Testville", [a, c])  # ...and comes back, with a newcomer: a refresh (as its schedule starts it)
    refreshed = evaluate(stack, audience["id"])
    assert (refreshed["joined"], refreshed["journeys_run"]) == (2, [joiners["id"]])
    wait_for(lambda: emails_to(contacts, c, since) >= 1, timeout=60, what="the newcomer's welcome")
    # the recurring journey's next run (a day later: 12 seconds here) takes the newcomer in too
    wait_for(lambda: emails_to(contacts, c, since) == 2, timeout=60, what="the recurring journey's next run")
    assert (emails_to(contacts, a, since), emails_to(contacts, b, since)) == (2, 2)  # a rejoined, but entered each journey once
    entered = {j["id"]: steps(stack, j["id"])["hi"]["processed"] for j in (joiners, recurring)}
    assert entered == {joiners["id"]: 3, recurring["id"]: 3}
    for journey in (joiners, recurring):
        assert ok(stack, "POST", f"/journeys/{journey['id']}/stop")["status"] == "stopped"


def test_a_recurring_journey_with_reentry_takes_its_members_again_as_often_as_allowed(
    stack: LocalStack, contacts: dict[str, dict[str, Any]], content: dict[str, str]
) -> None:
    """Pinpoint's EndpointReentryCap on a recurring journey: each daily run (12 seconds here) takes the members
    again until each entered twice; a third run starts nobody; analytics count contacts and entries."""
    reachable = sorted(c for c in email_eligible(contacts, list(contacts)) if contacts[c]["city"] not in ("Kraków", "Gdańsk", "Testville"))
    d, e = reachable[3:5]
    move_to(stack, "Againville", [d, e])
    audience = live(stack, {"name": "Againville", "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Againville"}]},
                            "refresh": {"every": 365, "unit": "days"}})  # fmt: skip
    since = len(ses_sent())
    again = ok(stack, "POST", "/journeys", {"name": "Twice", "audience": audience["id"], "mode": "recurring", "every": {"every": 1, "unit": "days"},
                                            "reentry": {"max_entries": 2}, "start": "hi",
                                            "steps": [{"id": "hi", "kind": "send_email", "content_id": content["email"]}]})  # fmt: skip
    ok(stack, "POST", f"/journeys/{again['id']}/publish")
    ok(stack, "POST", f"/journeys/{again['id']}/start")
    wait_for(lambda: emails_to(contacts, d, since) == 2 and emails_to(contacts, e, since) == 2, timeout=60, what="the second run's e-mails")
    second = stack.clock()
    wait_for(lambda: stack.clock() - second > dt.timedelta(days=1, hours=12), timeout=60, what="a third run")
    assert (emails_to(contacts, d, since), emails_to(contacts, e, since)) == (2, 2)
    report = ok(stack, "GET", f"/journeys/{again['id']}/analytics")
    assert report["entered"] == {"contacts": 2, "entries": 4}
    assert report["steps"][0]["entered"] == 2 and report["steps"][0]["converted"] is None  # no goal
    assert ok(stack, "POST", f"/journeys/{again['id']}/stop")["status"] == "stopped"


def test_exclusion_segments_are_applied_at_entry(stack: LocalStack, contacts: dict[str, dict[str, Any]], content: dict[str, str]) -> None:
    wroclaw = {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Wrocław"}]}
    audience = live(stack, {**AUDIENCE, "name": "Wrocław", "where": wroclaw})
    hot = live(
        stack,
        {
            "name": "Hot leads",
            "where": {"all": [{"kind": "attribute", "field": "lead_score", "op": "gt", "value": 30}]},
            "refresh": {"every": 365, "unit": "days"},
        },
    )
    members = {m["contact_id"] for m in ok(stack, "GET", f"/segments/{audience['id']}/members?limit=1000")["members"]}
    excluded = members & {m["contact_id"] for m in ok(stack, "GET", f"/segments/{hot['id']}/members?limit=1000")["members"]}
    assert members and excluded
    journey = ok(stack, "POST", "/journeys", {"name": "Not the hot ones", "audience": audience["id"], "exclusions": [hot["id"]], "start": "hi",
                                              "steps": [{"id": "hi", "kind": "send_email", "content_id": content["email"]}]})  # fmt: skip
    published = ok(stack, "POST", f"/journeys/{journey['id']}/publish")
    ok(stack, "POST", f"/journeys/{journey['id']}/start")
    wait_for(lambda: finished(stack, published), timeout=120, every=0.5, what="every execution to finish")
    sfn = boto3.client("stepfunctions", endpoint_url=stack.endpoint, region_name=REGION)
    names = {e["name"] for e in sfn.list_executions(stateMachineArn=published["state_machine_arn"])["executions"]}
    assert names == {execution_name(c) for c in members - excluded}


def test_a_consent_removed_in_bulk_stops_the_next_send(
    stack: LocalStack, contacts: dict[str, dict[str, Any]], content: dict[str, str]
) -> None:
    wroclaw = {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Wrocław"}]}
    audience = live(stack, {**AUDIENCE, "name": "Wrocław", "where": wroclaw})
    members = [m["contact_id"] for m in ok(stack, "GET", f"/segments/{audience['id']}/members?limit=1000")["members"]]
    eligible = email_eligible(contacts, members)
    assert eligible
    journey = ok(stack, "POST", "/journeys", {"name": "Later", "audience": audience["id"], "start": "pause", "steps": [
        {"id": "pause", "kind": "wait_for", "duration": "PT24H", "next": "hello"},  # 12 s: the consent goes meanwhile
        {"id": "hello", "kind": "send_email", "content_id": content["email"]},
    ]})  # fmt: skip
    published = ok(stack, "POST", f"/journeys/{journey['id']}/publish")
    sent_before = len(ses_sent())
    ok(stack, "POST", f"/journeys/{journey['id']}/start")
    sfn = boto3.client("stepfunctions", endpoint_url=stack.endpoint, region_name=REGION)
    wait_for(
        lambda: len(sfn.list_executions(stateMachineArn=published["state_machine_arn"])["executions"]) == len(members),
        timeout=60,
        what="everyone to enter",
    )
    action = ok(stack, "POST", f"/segments/{audience['id']}/actions", {"kind": "consent", "value": "email_marketing", "action": "remove"})
    done = wait_for(
        lambda: next(
            (
                a
                for a in ok(stack, "GET", f"/segments/{audience['id']}/actions")["actions"]
                if a["id"] == action["id"] and a["status"] == "done"
            ),
            None,
        ),
        timeout=30,
        what="the action",
    )
    assert done["changed"] == len({c for c in members if "email_marketing" in (contacts[c]["consents"] or [])})
    wait_for(lambda: finished(stack, published), timeout=120, every=0.5, what="every execution to finish")
    assert not [m for m in ses_sent()[sent_before:] if m.destinations["ToAddresses"][0] in {contacts[c]["email"] for c in members}]
    figures = steps(stack, journey["id"])
    assert figures["hello"]["blocked"] == len(members) and figures["hello"]["sent"] == 0


def test_a_holdout_and_a_random_split_run_in_step_functions(stack: LocalStack, content: dict[str, str]) -> None:
    """The Choice states on each contact's bucket, in moto's interpreter: the held-out contacts are exactly those
    whose bucket falls under the percent, recorded held_out; the others take the branch their bucket names."""
    from tern.journeys.kinds import RandomSplit, branch_of, bucket
    from tern.journeys.model import JourneyDefinition

    audience = live(stack, {**AUDIENCE, "name": "Kraków, split"})
    members = [m["contact_id"] for m in ok(stack, "GET", f"/segments/{audience['id']}/members?limit=1000")["members"]]
    body = {
        "name": "Split", "audience": audience["id"], "start": "hold", "steps": [
            {"id": "hold", "kind": "holdout", "percent": 20, "next": "ab"},
            {"id": "ab", "kind": "random_split", "branches": [{"percent": 50, "next": "tag_a"}, {"percent": 50, "next": "tag_b"}]},
            {"id": "tag_a", "kind": "update_contact", "field": "tags", "action": "add", "value": "variant-a"},
            {"id": "tag_b", "kind": "update_contact", "field": "tags", "action": "add", "value": "variant-b"},
        ]}  # fmt: skip
    journey = ok(stack, "POST", "/journeys", body)
    published = ok(stack, "POST", f"/journeys/{journey['id']}/publish")
    ok(stack, "POST", f"/journeys/{journey['id']}/start")
    wait_for(lambda: finished(stack, published) and len(ok(stack, "GET", f"/journeys/{journey['id']}/analytics")["steps"]) == 4,
             timeout=120, every=0.5, what="every execution to finish")  # fmt: skip

    def recorded() -> bool:
        figures = steps(stack, journey["id"])
        return figures["hold"]["held_out"] + figures["tag_a"]["processed"] + figures["tag_b"]["processed"] >= len(members)

    wait_for(recorded, timeout=60, every=0.5, what="every contact's record")
    split = JourneyDefinition.model_validate(body).step("ab")
    assert isinstance(split, RandomSplit)
    held = {c for c in members if bucket(journey["id"], "hold", c) < 20}
    variant_a = {c for c in members if c not in held and branch_of(split, bucket(journey["id"], "ab", c)) == 0}
    figures = steps(stack, journey["id"])
    assert figures["hold"]["held_out"] == len(held)
    assert figures["tag_a"]["processed"] == len(variant_a)
    assert figures["tag_b"]["processed"] == len(members) - len(held) - len(variant_a)
    assert 0 < len(held) < len(members)
    ab = ok(stack, "GET", f"/journeys/{journey['id']}/analytics")["steps"][1]
    assert {w["way"]: (w["next"], w["contacts"]) for w in ab["ways"]} == {
        "branches[0]": ("tag_a", len(variant_a)),
        "branches[1]": ("tag_b", len(members) - len(held) - len(variant_a)),
    }
    assert figures["ab"]["processed"] == figures["hold"]["processed"] - len(held) == len(members) - len(held)


def test_a_split_evaluates_its_condition_for_each_contact_when_it_gets_there(
    stack: LocalStack, contacts: dict[str, dict[str, Any]]
) -> None:
    """A split after a wait on a tag given in bulk (Tern's overlay, read from the table), then a multi_split on
    another segment's stored membership and the snapshot's gender: each contact takes exactly the way its
    facts give, first match first."""
    audience = live(stack, {**AUDIENCE, "name": "Kraków, conditions"})
    members = [m["contact_id"] for m in ok(stack, "GET", f"/segments/{audience['id']}/members?limit=1000")["members"]]
    scored = live(
        stack,
        {
            "name": "Kraków scored",
            "where": {"all": [AUDIENCE["where"], {"kind": "attribute", "field": "lead_score", "op": "gte", "value": 50}]},
        },
    )
    high = {m["contact_id"] for m in ok(stack, "GET", f"/segments/{scored['id']}/members?limit=1000")["members"]}
    action = ok(stack, "POST", f"/segments/{scored['id']}/actions", {"kind": "tag", "value": "split-vip", "action": "add"})
    wait_for(lambda: any(a["id"] == action["id"] and a["status"] == "done" for a in ok(stack, "GET", f"/segments/{scored['id']}/actions")["actions"]),
             timeout=30, what="the tag action")  # fmt: skip
    body = {
        "name": "Conditions", "audience": audience["id"], "start": "vip", "steps": [
            {"id": "vip", "kind": "split", "after": "PT1H", "condition": {"kind": "tags", "op": "has_any", "values": ["split-vip"]}, "yes": "tag_vip", "no": "tier"},
            {"id": "tier", "kind": "multi_split", "branches": [
                {"condition": {"kind": "in_segment", "segment_id": scored["id"]}, "next": "tag_never"},
                {"condition": {"kind": "gender", "value": "female"}, "next": "tag_female"}], "else": "tag_other"},
            {"id": "tag_vip", "kind": "update_contact", "field": "tags", "action": "add", "value": "took-vip"},
            {"id": "tag_never", "kind": "update_contact", "field": "tags", "action": "add", "value": "took-never"},
            {"id": "tag_female", "kind": "update_contact", "field": "tags", "action": "add", "value": "took-female"},
            {"id": "tag_other", "kind": "update_contact", "field": "tags", "action": "add", "value": "took-other"},
        ]}  # fmt: skip
    journey = ok(stack, "POST", "/journeys", body)
    published = ok(stack, "POST", f"/journeys/{journey['id']}/publish")
    ok(stack, "POST", f"/journeys/{journey['id']}/start")
    wait_for(lambda: finished(stack, published), timeout=120, every=0.5, what="every execution to finish")
    female = {c for c in members if contacts[c]["gender"] == "female"} - high
    expected = {"tag_vip": len(high), "tag_never": 0, "tag_female": len(female), "tag_other": len(members) - len(high) - len(female)}
    wait_for(
        lambda: {s: steps(stack, journey["id"])[s]["processed"] for s in expected} == expected,
        timeout=60,
        every=0.5,
        what="every way recorded",
    )
    analytics = {s["step_id"]: s for s in ok(stack, "GET", f"/journeys/{journey['id']}/analytics")["steps"]}
    assert {w["way"]: w["contacts"] for w in analytics["vip"]["ways"]} == {"yes": len(high), "no": len(members) - len(high)}
    assert {w["way"]: w["contacts"] for w in analytics["tier"]["ways"]} == {
        "branches[0]": 0,
        "branches[1]": len(female),
        "else": expected["tag_other"],
    }
    assert 0 < len(high) < len(members) and female
    saved = ok(stack, "POST", f"/journeys/{journey['id']}/steps/tier/segments", {"outcome": "branched", "way": "branches[1]"})
    assert saved["where"]["all"][0] == {
        "kind": "journey_outcome",
        "journey_id": journey["id"],
        "step_id": "tier",
        "outcome": "branched",
        "way": "branches[1]",
    }
    assert ok(stack, "POST", "/segments/preview", {"name": "female way", "where": saved["where"]})["total"] == len(female)
    status, refused = http(stack, "POST", f"/journeys/{journey['id']}/steps/tier/segments", {"outcome": "sent", "way": "yes"})
    assert status == 400 and refused["problems"][0]["path"] == "way"


def test_an_ab_test_with_a_holdout_and_a_goal_shows_conversion_and_lift_and_converters_exit(stack: LocalStack) -> None:
    """A 20% holdout, a 50/50 split (a: a wait six days on, then a tag; b: a tag at once), a purchase goal with exit.
    Purchases posted to POST /events convert their buyers (held-out ones too), buyers waiting on branch a leave
    at its next step, and the analytics give each group's conversion and the lift over the holdout."""
    from tern.journeys.kinds import RandomSplit, branch_of, bucket
    from tern.journeys.model import JourneyDefinition

    audience = live(stack, {**AUDIENCE, "name": "Kraków, A/B"})
    members = sorted(m["contact_id"] for m in ok(stack, "GET", f"/segments/{audience['id']}/members?limit=1000")["members"])
    body = {
        "name": "A/B with a goal", "audience": audience["id"], "start": "hold",
        "goal": {"event_type": "purchase", "filters": {"sales_channel": "online"}, "within": "P14D", "exit": True},
        "steps": [
            {"id": "hold", "kind": "holdout", "percent": 20, "next": "ab"},
            {"id": "ab", "kind": "random_split", "branches": [{"percent": 50, "next": "later"}, {"percent": 50, "next": "tag_b"}]},
            {"id": "later", "kind": "wait_until", "at": (stack.clock() + dt.timedelta(days=6)).strftime("%Y-%m-%dT%H:%M:%S+00:00"), "next": "tag_a"},
            {"id": "tag_a", "kind": "update_contact", "field": "tags", "action": "add", "value": "ab-a"},
            {"id": "tag_b", "kind": "update_contact", "field": "tags", "action": "add", "value": "ab-b"},
        ]}  # fmt: skip
    journey = ok(stack, "POST", "/journeys", body)
    ok(stack, "POST", f"/journeys/{journey['id']}/publish")
    ok(stack, "POST", f"/journeys/{journey['id']}/start")
    split = JourneyDefinition.model_validate(body).step("ab")
    assert isinstance(split, RandomSplit)
    held = {c for c in members if bucket(journey["id"], "hold", c) < 20}
    a = {c for c in members if c not in held and branch_of(split, bucket(journey["id"], "ab", c)) == 0}
    b = set(members) - held - a

    def past_the_split() -> bool:
        figures = steps(stack, journey["id"])
        return bool(figures["hold"]["processed"] == len(members) and figures["tag_b"]["processed"] == len(b))

    wait_for(
        past_the_split, timeout=60, every=0.5, what="everyone past the split"
    )  # branch a waits 6 days (72 s here): buyers buy meanwhile
    buyers = sorted(held | a)[::2]
    events = [{"contact_id": c, "event_type": "purchase", "sales_channel": "online", "amount": 50.0} for c in buyers]
    events += [{"contact_id": c, "event_type": "purchase", "sales_channel": "boxoffice"} for c in sorted(b)[:3]]  # not the goal
    assert ok(stack, "POST", "/events", {"events": events}) == {
        "accepted": len(events),
        "entering": 0,
        "converted": len(buyers),
        "exits": 0,
    }
    status, problem = http(stack, "POST", "/events", {"events": [{"contact_id": "c1", "event_type": "email_clicked"}]})
    assert status == 400 and problem["problems"][0]["path"] == "events[0].event_type"

    def past_the_wait() -> bool:
        figures = steps(stack, journey["id"])["tag_a"]
        return bool(figures["processed"] + figures["exits"].get("goal", 0) == len(a))

    wait_for(past_the_wait, timeout=120, every=1, what="branch a past its wait")
    report = ok(stack, "GET", f"/journeys/{journey['id']}/analytics")
    figures = {s["step_id"]: s for s in report["steps"]}
    assert report["converted"] == len(buyers)
    assert report["entered"] == {"contacts": len(members), "entries": len(members)}
    assert (figures["hold"]["entered"], figures["ab"]["entered"], figures["tag_b"]["entered"]) == (len(members), len(a | b), len(b))
    assert (figures["hold"]["converted"], figures["ab"]["converted"], figures["later"]["converted"]) == (
        len(buyers),
        len(a & set(buyers)),
        None,
    )
    assert figures["tag_a"]["exits"] == {"goal": len(a & set(buyers))} and figures["tag_a"]["processed"] == len(a - set(buyers))
    experiment = report["experiment"]
    assert experiment["control"] == {"step_id": "hold", "contacts": len(held), "converted": len(held & set(buyers)),
                                     "conversion_rate": len(held & set(buyers)) / len(held)}  # fmt: skip
    variants = {(v["step_id"], v["way"]): v for v in experiment["variants"]}
    assert (variants[("ab", "branches[0]")]["contacts"], variants[("ab", "branches[0]")]["converted"]) == (len(a), len(a & set(buyers)))
    assert variants[("ab", "branches[1]")]["converted"] == 0 and variants[("ab", "branches[1]")]["lift"] is None
    first = variants[("ab", "branches[0]")]
    expected = (len(a & set(buyers)) / len(a)) / (len(held & set(buyers)) / len(held)) - 1
    assert abs(first["lift"] - expected) < 1e-9 and first["lift_low"] < first["lift"] < first["lift_high"]
    saved = ok(stack, "POST", f"/journeys/{journey['id']}/steps/any/segments", {"outcome": "converted"})
    assert ok(stack, "POST", "/segments/preview", {"name": "buyers", "where": saved["where"]})["total"] == len(buyers)


def test_an_event_triggered_journey_reminds_before_the_show_and_asks_for_feedback_after(
    stack: LocalStack, contacts: dict[str, dict[str, Any]], content: dict[str, str]
) -> None:
    """A purchase (POST /events) enters its buyer if in the audience; thanks at once (personalised from the entry
    event), a reminder a day before the show (wait_until from entry_event.event_start), feedback three hours
    after it, and a branch on its click. A purchase without a show time skips the reminder and ends (no_date);
    a second purchase does not enter the buyer again (reentry: once)."""
    audience = live(
        stack, {**AUDIENCE, "name": "Gdańsk", "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Gdańsk"}]}}
    )
    members = sorted(m["contact_id"] for m in ok(stack, "GET", f"/segments/{audience['id']}/members?limit=1000")["members"])
    buyers = sorted(email_eligible(contacts, members))[:3]
    no_show, outsider = sorted(email_eligible(contacts, members))[3], next(c for c in contacts if c not in members)
    thanks = ok(stack, "POST", "/content", {"name": "thanks", "channel": "email", "subject": "Thanks for {{entry_event.production_ref|your tickets}}",
                                            "body": "<p>See you on {{entry_event.event_start}}</p>", "status": "ready"})  # fmt: skip
    feedback = ok(
        stack,
        "POST",
        "/content",
        {"name": "feedback", "channel": "email", "subject": "How was it?", "body": f"<a href='{LINK}'>Tell us</a>", "status": "ready"},
    )
    body = {
        "name": "After a purchase", "entry": {"kind": "event", "event_type": "purchase", "filters": {"sales_channel": "online"}, "audience": audience["id"]},
        "start": "thanks", "steps": [
            {"id": "thanks", "kind": "send_email", "content_id": thanks["id"], "next": "before"},
            {"id": "before", "kind": "wait_until", "from": "entry_event.event_start", "offset": "-P1D", "no_value": "after", "next": "reminder"},
            {"id": "reminder", "kind": "send_email", "content_id": content["email"], "next": "after"},
            {"id": "after", "kind": "wait_until", "from": "entry_event.event_start", "offset": "PT3H", "next": "feedback"},
            {"id": "feedback", "kind": "send_email", "content_id": feedback["id"], "next": "clicked"},
            {"id": "clicked", "kind": "branch_on_event", "message_step": "feedback", "event": "clicked", "timeout": "P1D", "yes": "fan"},
            {"id": "fan", "kind": "update_contact", "field": "tags", "action": "add", "value": "happy-fan"},
        ]}  # fmt: skip
    status, problem = http(stack, "POST", "/journeys", {**body, "audience": audience["id"]})
    assert status == 400 and "entry.audience" in problem["message"]
    journey = ok(stack, "POST", "/journeys", body)
    published = ok(stack, "POST", f"/journeys/{journey['id']}/publish")
    ok(stack, "POST", f"/journeys/{journey['id']}/start")
    show = (stack.clock() + dt.timedelta(days=1, hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ")
    sent_before = len(ses_sent())
    purchases = [
        {"contact_id": c, "event_type": "purchase", "sales_channel": "online", "production_ref": "Hamlet", "event_start": show}
        for c in [*buyers, outsider]
    ]
    purchases.append({"contact_id": no_show, "event_type": "purchase", "sales_channel": "online"})
    assert ok(stack, "POST", "/events", {"events": purchases})["entering"] == 4  # the outsider is not in the audience
    wait_for(lambda: steps(stack, journey["id"])["thanks"]["sent"] == 4, timeout=60, every=0.5, what="the thanks e-mails")
    assert ok(stack, "POST", "/events", {"events": purchases[:1]})["entering"] == 0  # entered once already
    first = next(m for m in ses_sent()[sent_before:] if m.destinations["ToAddresses"][0] == contacts[buyers[0]]["email"])
    assert first.subject == "Thanks for Hamlet" and show[:10] in first.body

    def feedback_to_first() -> Any:
        found = [m for m in ses_sent()[sent_before:] if m.destinations["ToAddresses"][0] == contacts[buyers[0]]["email"]]
        return found[2] if len(found) >= 3 else None  # thanks, reminder, feedback

    click(stack, wait_for(feedback_to_first, timeout=90, every=0.2, what="the first buyer's feedback e-mail").id)  # within the branch's day
    wait_for(lambda: finished(stack, published), timeout=90, every=0.5, what="every execution to finish")
    figures = steps(stack, journey["id"])
    assert figures["reminder"]["sent"] == 3 and figures["after"]["no_date"] == 1 and figures["feedback"]["sent"] == 3
    assert figures["fan"]["processed"] == 1 and figures["clicked"]["exits"] == {"timeout": 2}
    received = collections.Counter(m.destinations["ToAddresses"][0] for m in ses_sent()[sent_before:])
    assert {received[contacts[c]["email"]] for c in buyers} == {3} and received[contacts[no_show]["email"]] == 1
    assert contacts[outsider]["email"] not in received
    ok(stack, "POST", f"/journeys/{journey['id']}/stop")  # its entry schedule ends with it


def test_a_webhook_step_posts_each_contact_signed_once(stack: LocalStack) -> None:
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from tern.exports.webhook import verify

    secret, received, answers = "s3cret-journey-hook", [], [503]  # the first attempt fails: delivery retries

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            signed = verify(secret, self.headers.get("X-Tern-Signature", ""), body, time.time())
            status = answers.pop() if answers else 200
            if status == 200 and signed:
                received.append((self.headers["Idempotency-Key"], json.loads(body)))
            self.send_response(status if signed else 401)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        hook = ok(
            stack, "POST", "/destinations", {"name": "CRM", "url": f"http://127.0.0.1:{server.server_address[1]}/hook", "secret": secret}
        )
        audience = live(
            stack,
            {**AUDIENCE, "name": "Wrocław", "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Wrocław"}]}},
        )
        members = {m["contact_id"] for m in ok(stack, "GET", f"/segments/{audience['id']}/members?limit=1000")["members"]}
        body = {
            "name": "To the CRM",
            "audience": audience["id"],
            "start": "crm",
            "steps": [{"id": "crm", "kind": "webhook", "destination_id": "nope"}],
        }
        draft = ok(stack, "POST", "/journeys", body)
        status, problem = http(stack, "POST", f"/journeys/{draft['id']}/publish")
        assert status == 400 and problem["problems"][0]["path"] == "steps[0].destination_id"
        body["steps"][0]["destination_id"] = hook["id"]
        journey = ok(stack, "POST", "/journeys", body)
        published = ok(stack, "POST", f"/journeys/{journey['id']}/publish")
        ok(stack, "POST", f"/journeys/{journey['id']}/start")
        status, refused = http(stack, "DELETE", f"/destinations/{hook['id']}")  # not from under a live journey
        assert status == 409 and journey["id"] in refused["message"]
        wait_for(
            lambda: finished(stack, published) and steps(stack, journey["id"])["crm"]["sent"] == len(members),
            timeout=60,
            every=0.5,
            what="every post",
        )
    finally:
        server.shutdown()
    assert sorted(b["contact_id"] for _, b in received) == sorted(members)  # each once, the failed attempt retried
    key, first = received[0]
    assert key.startswith(f"{journey['id']}:1:crm:c-") and first["contact"]["city"] == "Wrocław" and first["entry_event"] is None
