"""The second half of `make demo`: segments as living things, through the admin API of the local stack.

The local stack (`tern serve`) starts in this process on free ports; every call below is a real HTTP
request to it, as a marketer's browser or a script would make.
"""

from __future__ import annotations

import datetime as dt
import json
import socket
import time
import urllib.error
import urllib.request
import zlib
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq

from tern_local.generator import EVENTS_SCHEMA
from tern_local.stack import ACCOUNT, REGION, LocalStack

LAUNCH_LINK = "https://shop.example.com/new"
# A day of the journey is 48 s: long enough that the local stack, which runs journey_step one invocation at a time
# (one warm container), reaches every contact's branch well within its day, so every run tells the same story.
DEMO_SCALE = 1800
ADDED_EVENTS = "demo-added-clicks.parquet"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Client:
    def __init__(self, url: str, org: str):
        self.url = url
        self.org = org

    def __call__(self, method: str, path: str, body: Any = None, raw: str | None = None) -> Any:
        data = raw.encode() if raw is not None else json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "X-Tern-Org": self.org}
        request = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as e:
            raise SystemExit(f"demo: {method} {path} answered {e.code}: {e.read().decode()}") from None


def ses_click(events_client: Any, message_id: str, link: str) -> None:
    """A click as SES publishes it to EventBridge (through the configuration set's event destination)."""
    at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    detail = {"eventType": "Click", "mail": {"messageId": message_id, "timestamp": at, "tags": {}},
              "click": {"link": link, "timestamp": at, "ipAddress": "192.0.2.1"}}  # fmt: skip
    events_client.put_events(Entries=[{"Source": "aws.ses", "DetailType": "Email Clicked", "Detail": json.dumps(detail)}])


def add_clicks(lake: Path, org: str, contact_ids: list[str], now: dt.datetime) -> None:
    """New events land in the lake, as the event pipeline would write them: clicks on the launch link."""
    n = len(contact_ids)
    at = now - dt.timedelta(minutes=5)
    given = {
        "event_id": pa.array([f"demo-click-{i}" for i in range(n)]),
        "contact_id": pa.array(contact_ids),
        "event_type": pa.array(["email_clicked"] * n),
        "ts": pa.array([at] * n, pa.timestamp("us")),
        "channel": pa.array(["email"] * n),
        "link": pa.array([LAUNCH_LINK] * n),
        "url": pa.array([LAUNCH_LINK] * n),
    }
    arrays = [given[f.name].cast(f.type) if f.name in given else pa.nulls(n, f.type) for f in EVENTS_SCHEMA]
    folder = lake / "events" / f"org_id={org}" / f"dt={at.date().isoformat()}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_arrays(arrays, schema=EVENTS_SCHEMA), folder / ADDED_EVENTS)


def first_evaluation(api: Client, segment: dict[str, Any]) -> dict[str, Any]:
    """Going live schedules the refresh, and the schedule's first run evaluates the segment: wait for it."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        latest = api("GET", f"/segments/{segment['id']}")["latest"]
        if latest:
            return dict(latest)
        time.sleep(0.2)
    raise SystemExit(f"demo: segment {segment['name']!r} was not evaluated by its schedule within 5 minutes")


def evaluate_now(api: Client, segment: dict[str, Any]) -> dict[str, Any]:
    """POST .../evaluate starts the refresh workflow (202); poll the evaluation until it is done."""
    started = api("POST", f"/segments/{segment['id']}/evaluate")
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        status = api("GET", started["poll"])
        if status["status"] == "done":
            return dict(status)
        if status["status"] != "running":
            raise SystemExit(f"demo: evaluating {segment['name']!r} ended {status['status']}: {status.get('reason')}")
        time.sleep(0.2)
    raise SystemExit(f"demo: evaluating {segment['name']!r} took more than 5 minutes")


def _history(api: Client, segment: dict[str, Any]) -> None:
    print(f"   {segment['name']}")
    print(f"     {'evaluated at':<21} {'members':>8} {'joined':>8} {'left':>8}")
    for row in reversed(api("GET", f"/segments/{segment['id']}/history")["history"]):
        print(f"     {row['at'][:19]:<21} {row['members']:>8,} {row['joined']:>8,} {row['left']:>8,}")


def living_segments(lake: Path, org: str, now: dt.datetime) -> list[str]:
    """The segments story; returns some members of the last segment, the VIPs of the journey that follows."""
    stack = LocalStack(lake, port=free_port(), aws_port=free_port(), log_level="WARNING", start=now)
    stack.start()
    try:
        print(f"\n== Living segments, through the admin API of the local stack at http://127.0.0.1:{stack.port}")
        print(f"   (moto at {stack.endpoint}, deployed from template.yaml; `make serve` keeps one running)")
        api = Client(f"http://127.0.0.1:{stack.port}", org)
        clicked = api("POST", "/segments", {
            "name": "Clicked the launch link this week",
            "where": {"all": [{"kind": "activity", "event_type": "email_clicked", "filters": {"link": LAUNCH_LINK}, "window": {"last_days": 7}}]},
            "refresh": {"every": 1, "unit": "days"},
        })  # fmt: skip
        warm = api("POST", "/segments", {
            "name": "Warm leads in Warszawa",
            "where": {"all": [{"kind": "attribute", "field": "lead_score", "op": "gt", "value": 20},
                              {"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"}]},
            "refresh": {"every": 1, "unit": "days"},
        })  # fmt: skip
        for segment in (clicked, warm):
            api("POST", f"/segments/{segment['id']}/go-live")
            evaluation = first_evaluation(api, segment)
            print(f"   POST /segments, POST .../go-live, first scheduled refresh: {segment['name']!r}: {evaluation['members']:,} members")
        # A segment built on the other two: by their stored membership, never by inlining their queries.
        to_nudge = api("POST", "/segments", {
            "name": "Warm leads in Warszawa who have not clicked",
            "where": {"all": [{"kind": "in_segment", "segment_id": warm["id"]}, {"kind": "not_in_segment", "segment_id": clicked["id"]}]},
            "refresh": {"every": 1, "unit": "days"},
        })  # fmt: skip
        api("POST", f"/segments/{to_nudge['id']}/go-live")
        first = first_evaluation(api, to_nudge)
        print(f"   {to_nudge['name']!r} (in_segment + not_in_segment): {first['members']:,} members")

        page = api("GET", f"/segments/{to_nudge['id']}/members?limit=1000")["members"]
        movers = [m["contact_id"] for m in page][: max(1, len(page) // 10)]
        now = stack.clock()
        add_clicks(lake, org, movers, now)
        print(f"\n   The lake changes: {len(movers):,} of them click the launch link ({ADDED_EVENTS} under events/dt={now.date()})")
        for segment in (clicked, warm, to_nudge):  # "refresh now", in dependency order
            evaluation = evaluate_now(api, segment)
            print(
                f"   POST /segments/{segment['id']}/evaluate (202), polled: {evaluation['members']:,} members, +{evaluation['joined']:,} -{evaluation['left']:,} in {evaluation['elapsed_ms']:.0f} ms"
            )
        print("\n   Each evaluation wrote only the difference to the stored membership (GET .../history):\n")
        for segment in (clicked, warm, to_nudge):
            _history(api, segment)
        print()
        for listed in api("GET", "/segments")["segments"]:
            latest = listed.get("latest") or {}
            print(f"   GET /segments: {listed['name']:<46} {listed['status']:<6} {latest.get('members', 0):>8,} members")
        return [m["contact_id"] for m in page[len(movers) :][:100]]
    finally:
        stack.stop()


def classic_journey(lake: Path, org: str, vips: list[str], now: dt.datetime) -> None:
    """The classic journey, on a stack whose clock runs DEMO_SCALE times faster than the wall from `now`."""
    stack = LocalStack(lake, port=free_port(), aws_port=free_port(), time_scale=DEMO_SCALE, log_level="WARNING", start=now)
    stack.start()
    try:
        _classic_journey(stack, Client(f"http://127.0.0.1:{stack.port}", org), vips)
    finally:
        stack.stop()


def _classic_journey(stack: LocalStack, api: Client, vips: list[str]) -> None:
    """Announce by e-mail, wait up to a day for a click on the link, hold the clickers until the launch, text them."""
    from moto.ses.models import ses_backends

    from tern_local.sms import sent as texts_sent

    print(
        f"\n== The classic journey (Step Functions in moto, a fresh local stack whose clock runs x{DEMO_SCALE:,}: a day is {86400 / DEMO_SCALE:.0f} s)"
    )
    listed = api("POST", "/lists?name=Launch%20VIPs", raw="contact_id\n" + "\n".join(vips) + "\n")
    print(f"   POST /lists: {listed['matched']} contacts on the 'Launch VIPs' list")
    audience = api("POST", "/segments", {"name": "Launch VIPs", "where": {"all": [{"kind": "in_list", "list_id": listed["id"]}]},
                                         "refresh": {"every": 7, "unit": "days"}})  # fmt: skip
    api("POST", f"/segments/{audience['id']}/go-live")
    first_evaluation(api, audience)
    email = api("POST", "/content", {"name": "Announcement", "channel": "email", "subject": "{{first_name|Hello}}, something new is coming",
                                     "body": f"<p>Be the first to see it: <a href='{LAUNCH_LINK}'>the launch</a></p>", "status": "ready"})  # fmt: skip
    sms = api(
        "POST",
        "/content",
        {"name": "It is out", "channel": "sms", "text": "{{first_name|Hi}}, it is out: shop.example.com/new", "status": "ready"},
    )
    launch = (stack.clock() + dt.timedelta(hours=30)).replace(tzinfo=dt.UTC)
    journey = api("POST", "/journeys", {
        "name": "Product launch", "audience": audience["id"], "start": "announce", "steps": [
            {"id": "announce", "kind": "send_email", "content_id": email["id"], "next": "clicked"},
            {"id": "clicked", "kind": "branch_on_event", "message_step": "announce", "event": "clicked", "link": LAUNCH_LINK,
             "timeout": "P1D", "yes": "launch", "no": "end"},
            {"id": "launch", "kind": "wait_until", "at": launch.isoformat(), "next": "text"},
            {"id": "text", "kind": "send_sms", "content_id": sms["id"], "next": "end"},
            {"id": "end", "kind": "end"},
        ]})  # fmt: skip
    published = api("POST", f"/journeys/{journey['id']}/publish")
    api("POST", f"/journeys/{journey['id']}/start")
    print(f"   POST /journeys, .../publish (state machine {published['state_machine_arn'].rsplit(':', 1)[-1]}), .../start")

    ses = ses_backends[ACCOUNT][REGION]
    events = boto3.client("events", endpoint_url=stack.endpoint, region_name=REGION)
    clicked: set[str] = set()
    seen = 0
    deadline = time.monotonic() + 60
    checked = 0.0
    # About one recipient in six clicks the link as soon as the e-mail arrives, well within the day the branch
    # waits: which ones follows from their address, not from the order the sends happened to run in, so every
    # run of the demo clicks for the same contacts.
    while time.monotonic() < deadline:
        sent = list(ses.sent_messages)
        for message in sent[seen:]:
            seen += 1
            if zlib.crc32(message.destinations["ToAddresses"][0].encode()) % 6 == 0:
                ses_click(events, message.id, LAUNCH_LINK)
                clicked.add(message.id)
        if time.monotonic() - checked > 1:
            checked = time.monotonic()
            done = api("GET", f"/journeys/{journey['id']}/analytics")["steps"][0]
            if done["processed"] >= listed["matched"] and len(ses.sent_messages) >= done["sent"] == seen:
                break
        time.sleep(0.05)
    print(f"   {len(clicked)} recipients click the launch link (SES click events put on the local EventBridge bus, as SES does)")
    sfn = boto3.client("stepfunctions", endpoint_url=stack.endpoint, region_name=REGION)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        executions = sfn.list_executions(stateMachineArn=published["state_machine_arn"])["executions"]
        if executions and all(e["status"] != "RUNNING" for e in executions):
            break
        time.sleep(0.5)
    analytics = api("GET", f"/journeys/{journey['id']}/analytics")
    print(f"\n   GET /journeys/{journey['id']}/analytics ({len(ses.sent_messages)} e-mails and {len(texts_sent())} SMS sent):\n")
    columns = ["processed", "sent", "opened", "clicked", "bounced", "stopped", "blocked", "exited", "waiting"]
    print(f"     {'step':<10} {'kind':<16}" + "".join(f"{c:>10}" for c in columns))
    for step in analytics["steps"]:
        print(f"     {step['step_id']:<10} {step['kind']:<16}" + "".join(f"{step[c]:>10,}" for c in columns))
    saved = api("POST", f"/journeys/{journey['id']}/steps/clicked/segments", {"outcome": "clicked"})
    preview = api("POST", "/segments/preview", {"name": saved["name"], "where": saved["where"]})
    print(f"\n   POST .../steps/clicked/segments: draft segment {saved['name']!r}: {preview['total']} contacts")
    act_on(stack, api, saved)
    after_a_purchase(stack, api, audience)
    ab_test(stack, api)
    from_pinpoint(stack, api)


def _until(check: Any, what: str, seconds: float = 180) -> None:
    """Poll `check` (an analytics query over the whole lake's events: every 2 s, not to starve the steps)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(2)
    raise SystemExit(f"demo: {what} did not happen within {seconds:.0f} s")


def after_a_purchase(stack: LocalStack, api: Client, vips: dict[str, Any]) -> None:
    """An event-triggered journey: a purchase enters its buyer; thanks at once, a reminder a day before the show."""
    from moto.ses.models import ses_backends

    print("\n== An event-triggered journey: a purchase enters the buyer (POST /events, or EventBridge source tern.contact-events)")
    thanks = api("POST", "/content", {"name": "Thanks", "channel": "email", "subject": "{{first_name|Hello}}, see you at {{entry_event.production_ref|the show}}",
                                      "body": "<p>Your tickets for {{entry_event.production_ref}} are ready.</p>", "status": "ready"})  # fmt: skip
    reminder = api("POST", "/content", {"name": "Reminder", "channel": "email", "subject": "Tomorrow: {{entry_event.production_ref|your show}}",
                                        "body": "<p>Doors open an hour before.</p>", "status": "ready"})  # fmt: skip
    journey = api("POST", "/journeys", {
        "name": "After a purchase", "entry": {"kind": "event", "event_type": "purchase", "filters": {"sales_channel": "online"}, "audience": vips["id"]},
        "start": "thanks", "steps": [
            {"id": "thanks", "kind": "send_email", "content_id": thanks["id"], "next": "day_before"},
            {"id": "day_before", "kind": "wait_until", "from": "entry_event.event_start", "offset": "-P1D", "next": "reminder"},
            {"id": "reminder", "kind": "send_email", "content_id": reminder["id"]},
        ]})  # fmt: skip
    api("POST", f"/journeys/{journey['id']}/publish")
    api("POST", f"/journeys/{journey['id']}/start")
    members = sorted(m["contact_id"] for m in api("GET", f"/segments/{vips['id']}/members?limit=1000")["members"])
    show = (stack.clock() + dt.timedelta(days=1, hours=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    buyers = members[:20]
    sent = len(ses_backends[ACCOUNT][REGION].sent_messages)
    answer = api("POST", "/events", {"events": [
        {"contact_id": c, "event_type": "purchase", "sales_channel": "online", "production_ref": "Hamlet", "event_start": show, "amount": 89.0}
        for c in buyers]})  # fmt: skip
    print(
        f"   POST /events: {answer['accepted']} purchases of Hamlet (the show on {show[:16].replace('T', ' ')} UTC): {answer['entering']} buyers entering"
    )

    def figures() -> dict[str, dict[str, Any]]:
        return {s["step_id"]: s for s in api("GET", f"/journeys/{journey['id']}/analytics")["steps"]}

    _until(
        lambda: (f := figures())["reminder"]["sent"] + f["reminder"]["blocked"] + f["thanks"]["blocked"] >= len(buyers), "every reminder"
    )
    api("POST", f"/journeys/{journey['id']}/stop")
    found = figures()
    print(f"   thanks: {found['thanks']['sent']} sent, {found['thanks']['blocked']} blocked (no consent or address); "
          f"reminder a day before the show (wait_until from entry_event.event_start, -P1D): {found['reminder']['sent']} sent")  # fmt: skip
    subjects = sorted({m.subject for m in list(ses_backends[ACCOUNT][REGION].sent_messages)[sent:]})
    print(f"   e.g. {subjects[0]!r} / {subjects[-1]!r}")


def ab_test(stack: LocalStack, api: Client) -> None:
    """A/B test with a holdout and a goal: conversion per group and the lift over the holdout."""
    from tern.journeys.kinds import RandomSplit, branch_of, bucket
    from tern.journeys.model import JourneyDefinition

    print("\n== An A/B test with a 10% holdout and a goal (a purchase within 14 days)")
    audience = api("POST", "/segments", {"name": "Gdańsk, lead score 50+", "refresh": {"every": 7, "unit": "days"}, "where": {"all": [
        {"kind": "attribute", "field": "city", "op": "eq", "value": "Gdańsk"}, {"kind": "attribute", "field": "lead_score", "op": "gte", "value": 50}]}})  # fmt: skip
    api("POST", f"/segments/{audience['id']}/go-live")
    size = first_evaluation(api, audience)["members"]
    body = {"name": "Autumn offer A/B", "audience": audience["id"], "start": "hold",
            "goal": {"event_type": "purchase", "within": "P14D"}, "steps": [
                {"id": "hold", "kind": "holdout", "percent": 10, "next": "ab"},
                {"id": "ab", "kind": "random_split", "branches": [{"percent": 50}, {"percent": 50}]}]}  # fmt: skip
    journey = api("POST", "/journeys", body)
    api("POST", f"/journeys/{journey['id']}/publish")
    api("POST", f"/journeys/{journey['id']}/start")
    _until(lambda: (s := api("GET", f"/journeys/{journey['id']}/analytics")["steps"])[1]["branched"] + s[0]["held_out"] >= size,
           "every contact's split", seconds=420)  # two steps a contact, about 7 a second on the local stack  # fmt: skip
    # The customers buy as if offer A works best: 12% of group A, 8% of B, 5% of the held-out (who got nothing);
    # who buys follows from the contact id, so only the split (a digest of the journey's new id) varies between runs.
    split = JourneyDefinition.model_validate(body).step("ab")
    assert isinstance(split, RandomSplit)
    members = sorted(m["contact_id"] for m in api("GET", f"/segments/{audience['id']}/members?limit=1000")["members"])

    def rate(contact: str) -> int:
        if bucket(journey["id"], "hold", contact) < 10:
            return 5
        return 12 if branch_of(split, bucket(journey["id"], "ab", contact)) == 0 else 8

    buyers = [c for c in members if zlib.crc32(c.encode()) % 100 < rate(c)]
    answer = api(
        "POST",
        "/events",
        {"events": [{"contact_id": c, "event_type": "purchase", "sales_channel": "online", "amount": 120.0} for c in buyers]},
    )
    print(f"   {size} contacts split; POST /events: {answer['accepted']} purchases, {answer['converted']} conversions")
    report = api("GET", f"/journeys/{journey['id']}/analytics")["experiment"]
    control = report["control"]
    print(f"\n     {'group':<22} {'contacts':>9} {'converted':>10} {'rate':>7}   lift over the holdout (95% interval)")
    print(f"     {'holdout (control)':<22} {control['contacts']:>9} {control['converted']:>10} {control['conversion_rate']:>7.1%}")
    for variant in report["variants"]:
        name = {"next": "treated (not held out)", "branches[0]": "offer A", "branches[1]": "offer B"}[variant["way"]]
        lift = (
            f"{variant['lift']:+.0%} ({variant['lift_low']:+.0%} to {variant['lift_high']:+.0%})" if variant["lift"] is not None else "n/a"
        )
        print(f"     {name:<22} {variant['contacts']:>9} {variant['converted']:>10} {variant['conversion_rate']:>7.1%}   {lift}")
    print("   (each run splits anew: the buckets are a digest of the journey's id, its step and the contact)")


def _finished(fetch: Any, what: str) -> dict[str, Any]:
    """Poll a job (an export or an action) until it ends; a failed one ends the demo with its reason."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        job = fetch()
        if job and job["status"] in ("done", "failed"):
            if job["status"] == "failed":
                raise SystemExit(f"demo: the {what} failed: {job['error']}")
            return dict(job)
        time.sleep(0.2)
    raise SystemExit(f"demo: the {what} did not finish within 5 minutes")


def act_on(stack: LocalStack, api: Client, segment: dict[str, Any]) -> None:
    """Export the clickers to CSV and XLSX, tag them all, and find them again by that tag."""
    api("POST", f"/segments/{segment['id']}/go-live")
    first_evaluation(api, segment)
    clickers = [m["contact_id"] for m in api("GET", f"/segments/{segment['id']}/members?limit=1000")["members"]]
    print(f"\n== Acting on {segment['name']!r} ({len(clickers)} members)")
    out = stack.data / "exports"
    out.mkdir(exist_ok=True)
    for export_format in ("csv", "xlsx"):
        asked = api("POST", f"/segments/{segment['id']}/exports", {"format": export_format})
        done = _finished(lambda asked=asked: api("GET", f"/exports/{asked['id']}"), f"{export_format} export")
        with urllib.request.urlopen(done["url"], timeout=60) as response:  # the presigned URL, served by moto's S3
            body = response.read()
        (out / done["filename"]).write_bytes(body)
        print(f"   POST .../exports {{format: {export_format}}}: {done['rows']} rows, {len(body):,} bytes -> {out / done['filename']}")
        if export_format == "csv":
            for line in body.decode().splitlines()[:3]:
                print(f"     {line}")
    asked = api("POST", f"/segments/{segment['id']}/actions", {"kind": "tag", "value": "launch-clicker", "action": "add"})
    done = _finished(
        lambda: next((a for a in api("GET", f"/segments/{segment['id']}/actions")["actions"] if a["id"] == asked["id"]), None), "tag action"
    )
    print(
        f"   POST .../actions {{kind: tag, value: launch-clicker, action: add}}: {done['changed']} contacts changed, {done['already']} already had it"
    )
    found = api(
        "POST", "/segments/preview", {"name": "Tagged", "where": {"all": [{"kind": "tags", "op": "has_any", "values": ["launch-clicker"]}]}}
    )
    same = found["total"] == len(clickers) and found["sample"] == sorted(clickers)[:50]
    print(
        f"   a segment on tags has_any [launch-clicker] now finds {found['total']} contacts: {'exactly the clickers' if same else 'NOT the clickers'}"
    )
    if not same:
        raise SystemExit("demo: the tagged segment does not match the clickers")


PINPOINT_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "pinpoint"


def from_pinpoint(stack: LocalStack, api: Client) -> None:
    """What a Pinpoint user saved (examples/pinpoint), imported, put live, published and run."""
    from moto.ses.models import ses_backends

    print("\n== Moving from Amazon Pinpoint: templates, a segment and a journey as `aws pinpoint get-...` saved them (examples/pinpoint)")
    files = {f.name: f.read_text(encoding="utf-8") for f in sorted(PINPOINT_EXAMPLE.glob("*.json"))}
    report = api("POST", "/imports/pinpoint", {"files": files})
    for made in report["objects"]:
        print(f"   {made['kind']:<8} {made['name']!r}: {made['action']}")
    for finding in report["findings"]:
        if finding["status"] != "mapped":
            print(f"     {finding['status']}: {finding['element']}: {finding['note']}")
    summary = report["summary"]
    print(f"   POST /imports/pinpoint: {summary['mapped']} elements mapped, {summary['mapped with a difference']} with a difference, "
          f"{summary['not mapped']} not mapped (docs/MIGRATING-FROM-PINPOINT.md)")  # fmt: skip
    made = {o["kind"]: o["tern_id"] for o in report["objects"] if o["kind"] in ("segment", "journey")}
    api("POST", f"/segments/{made['segment']}/go-live")
    size = first_evaluation(api, {"id": made["segment"]})["members"]
    published = api("POST", f"/journeys/{made['journey']}/publish")
    api("POST", f"/journeys/{made['journey']}/start")
    ses = ses_backends[ACCOUNT][REGION]
    events = boto3.client("events", endpoint_url=stack.endpoint, region_name=REGION)
    since = len(ses.sent_messages)
    steps = lambda: {s["step_id"]: s for s in api("GET", f"/journeys/{made['journey']}/analytics")["steps"]}  # noqa: E731
    _until(lambda: steps()["announce"]["processed"] >= size, "the imported journey's e-mails")
    clicked = 0
    for message in list(ses.sent_messages)[since:]:
        if zlib.crc32(message.destinations["ToAddresses"][0].encode()) % 4 == 0:
            ses_click(events, message.id, LAUNCH_LINK)
            clicked += 1
    sfn = boto3.client("stepfunctions", endpoint_url=stack.endpoint, region_name=REGION)
    _until(lambda: all(e["status"] != "RUNNING" for e in sfn.list_executions(stateMachineArn=published["state_machine_arn"])["executions"]),
           "the imported journey's 12-hour evaluation")  # fmt: skip
    found = steps()
    ways = {w["way"]: w["contacts"] for w in found["clicked"]["ways"]}
    print(f"   {size} members; {found['announce']['sent']} e-mails, {clicked} clicked; after 12 hours the split found "
          f"{ways['yes']} clickers (texted: {found['text']['sent']}) and {ways['no']} others (the PUSH step left out: their path ends)")  # fmt: skip
