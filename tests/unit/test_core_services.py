"""The core services on in-memory fakes of their ports (tests/fakes.py): no moto, no network.

Consent and suppression at send, one send per step under retries, the branch registering its token and finding
an early click, ingest resuming a waiting contact exactly once, and a webhook export resuming after a crash.
The local stack tests (tests/integration) then check the wiring of the same rules.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from tern.aws.idempotency import once_per_key
from tern.aws.ses import SesEmail
from tern.aws.sms import EndUserMessagingSms, SmsOrigins
from tern.errors import (
    ConflictError,
    ContactStopped,
    DefinitionError,
    DeliveryFailed,
    NotFoundError,
    OptedOut,
    RetryLater,
    SendRejected,
    StoreError,
)
from tern.exports.destinations import Destinations
from tern.exports.jobs import JobRequest, JobRunner, Jobs
from tern.exports.model import Destination, DestinationRequest, Export, ExportRequest, SecretRotation
from tern.exports.repository import ActionRepository, DestinationRepository, ExportRepository, Planned
from tern.exports.webhook import WebhookDeliveries, signing_secrets
from tern.journeys.caps import Ledger, OrgSettings, Throttle
from tern.journeys.content import Content
from tern.journeys.engagement import Engagement
from tern.journeys.ingest import Ingest
from tern.journeys.model import Journey
from tern.journeys.repository import ContentRepository, JourneyRepository
from tern.journeys.steps import IDEMPOTENCY_KEY, JourneySteps
from tern.journeys.tasks import StepRequest
from tern.journeys.unsubscribe import Links, Signer
from tern.lists.repository import ListRepository
from tern.segments.lifecycle import Segments
from tern.segments.repository import SegmentRepository
from tern.segments.segment import Evaluation, Segment
from tern.store.overlay import ContactOverlay

from fakes import (
    LambdaContext,
    MemoryEmail,
    MemoryEvents,
    MemoryIdempotency,
    MemoryLakeFiles,
    MemoryScheduler,
    MemorySecrets,
    MemorySms,
    MemoryTable,
    MemoryTokens,
    MemoryTrigger,
    RowsEngine,
)

NOW = dt.datetime(2026, 11, 22, 12)
LINK = "https://shop.example.com/new"
LINKS = Links(Signer(b"a test key for unsubscribe links, 32+ bytes"), "https://tern.example.com")
CLASSIC = {
    "name": "Launch", "audience": "s1", "start": "announce", "steps": [
        {"id": "announce", "kind": "send_email", "content_id": "e1", "next": "clicked"},
        {"id": "clicked", "kind": "branch_on_event", "message_step": "announce", "event": "clicked", "link": LINK,
         "timeout": "P1D", "yes": "text", "no": "end"},
        {"id": "text", "kind": "send_sms", "content_id": "t1", "next": "end"},
        {"id": "end", "kind": "end"},
    ],
}  # fmt: skip
ANNA = {
    "contact_id": "c1",
    "email": "anna@example.com",
    "phone": "+48600100200",
    "first_name": "Anna",
    "consents": ["email_marketing", "sms_marketing"],
}


class World:
    """The journey services over one in-memory table and lake."""

    def __init__(self, throttled: int = 0) -> None:
        self.table = MemoryTable()
        self.files = MemoryLakeFiles()
        self.events = MemoryEvents()
        self.tokens = MemoryTokens()
        self.email = MemoryEmail(throttled=throttled)
        self.sms = MemorySms()
        self.journeys = JourneyRepository(self.table)
        self.engagement = Engagement(self.table)
        self.overlay = ContactOverlay(self.files, self.table)
        content = ContentRepository(self.table)
        for content_id, channel in (("e1", "email"), ("t1", "sms")):
            content.create(Content(
                id=content_id, org_id="acme", name=content_id, channel=channel, status="ready", created_at=NOW, updated_at=NOW,  # type: ignore[arg-type]
                subject="{{first_name|Hello}}, news" if channel == "email" else None,
                body=f"<a href='{LINK}'>new</a>" if channel == "email" else None, text="It is out" if channel == "sms" else None,
            ))  # fmt: skip
        self.journey = self.journeys.create(Journey.model_validate({
            **CLASSIC, "id": "j1", "org_id": "acme", "status": "running", "published_version": 1, "created_at": NOW, "updated_at": NOW,
        }))  # fmt: skip
        self.steps = JourneySteps(
            self.journeys,
            content,
            self.engagement,
            self.email,
            self.sms,
            self.events,
            self.tokens,
            self.overlay,
            SegmentRepository(self.table),
            Ledger(self.table),
            OrgSettings(self.table),
            Throttle(self.table),
            WebhookDeliveries(DestinationRepository(self.table), MemorySecrets(), allow_loopback=True),
            LINKS,
            lambda: NOW,
        )  # type: ignore[arg-type]
        self.ingest = Ingest(self.engagement, self.events, self.tokens, lambda: NOW)

    def request(self, step: str, contact: dict[str, Any] = ANNA, token: str | None = None) -> StepRequest:
        return StepRequest.model_validate({
            "step": step, "journey": {"org_id": "acme", "id": "j1", "version": 1}, "contact_id": contact["contact_id"],
            "execution": "c-" + contact["contact_id"], "run_id": "r1", "contact": contact, "token": token,
        })  # fmt: skip

    def click(self, message_id: str, at: str = "2026-11-22T12:05:00.000Z") -> dict[str, Any]:
        return self.ingest.handle({"source": "aws.ses", "detail": {
            "eventType": "Click", "mail": {"messageId": message_id, "timestamp": at}, "click": {"link": LINK, "timestamp": at},
        }})  # fmt: skip


# ----------------------------------------------------------------------------------- consent and suppression


def test_a_consenting_contact_is_sent_the_personalised_email_once() -> None:
    world = World()
    answer = world.steps.run(world.request("announce"))
    assert answer["outcome"] == "sent" and [m["to"] for m in world.email.sent] == ["anna@example.com"]
    assert world.email.sent[0]["subject"] == "Anna, news" and world.email.sent[0]["tags"]["journey"] == "j1"
    assert world.events.outcomes("c1") == [("announce", "processed"), ("announce", "sent")]
    assert world.engagement.sent_by("acme", "j1", "c1", "announce") == answer["message_id"]


def test_no_consent_blocks_the_send_and_says_why() -> None:
    world = World()
    with pytest.raises(ContactStopped):
        world.steps.run(world.request("announce", {**ANNA, "consents": ["sms_marketing"]}))
    assert world.email.sent == []
    assert world.events.outcomes("c1") == [("announce", "processed"), ("announce", "blocked")]
    assert world.events.rows[-1]["reason"] == "no email_marketing consent"


def test_a_consent_removed_since_entry_wins_over_the_snapshot() -> None:
    world = World()
    world.overlay.write("acme", "action-1", "consent", "email_marketing", "remove", ["c1"], NOW)
    with pytest.raises(ContactStopped):
        world.steps.run(world.request("announce"))
    assert world.email.sent == []


def test_a_consent_given_since_entry_lets_the_send_through() -> None:
    world = World()
    world.overlay.write("acme", "action-1", "consent", "email_marketing", "add", ["c1"], NOW)
    world.steps.run(world.request("announce", {**ANNA, "consents": []}))
    assert len(world.email.sent) == 1


def test_a_send_whose_window_opens_after_the_execution_must_end_is_skipped_and_one_before_waits() -> None:
    world = World()
    world.journeys.save(world.journey.model_copy(update={"closed_dates": [(NOW + dt.timedelta(days=d)).date() for d in range(0, 3)]}))
    entered_long_ago = world.request("announce").model_copy(update={"started": (NOW - dt.timedelta(days=363, hours=12)).isoformat() + "Z"})
    assert world.steps.run(entered_long_ago)["outcome"] == "outside_window"  # opens in 3 days: past the year
    assert world.events.rows[-1]["outcome"] == "outside_window" and world.email.sent == []
    entered_lately = world.request("announce").model_copy(update={"started": (NOW - dt.timedelta(days=30)).isoformat() + "Z"})
    assert world.steps.run(entered_lately) == {"outcome": "deferred", "way": "wait", "until": "2026-11-25T00:00:00Z"}


def test_a_suppressed_address_is_never_sent_to() -> None:
    world = World()
    world.engagement.suppress("acme", "email", "Anna@Example.com ", "hard bounce", NOW)
    with pytest.raises(ContactStopped):
        world.steps.run(world.request("announce"))
    assert world.email.sent == [] and world.events.rows[-1]["reason"] == "suppressed: hard bounce"


def test_no_address_blocks_the_send() -> None:
    world = World()
    with pytest.raises(ContactStopped):
        world.steps.run(world.request("text", {**ANNA, "phone": " "}))
    assert world.sms.sent == [] and world.events.rows[-1]["reason"] == "no phone number"


# ------------------------------------------------------------------------------------- one send under retries


def test_a_throttled_send_is_retried_and_sends_once() -> None:
    world = World(throttled=1)
    with pytest.raises(RetryLater):
        world.steps.run(world.request("announce"))
    assert world.email.sent == [] and world.events.outcomes("c1") == []  # nothing recorded for the failed try
    world.steps.run(world.request("announce"))  # the state machine's retry
    assert len(world.email.sent) == 1 and world.events.outcomes("c1") == [("announce", "processed"), ("announce", "sent")]


def test_a_repeated_invocation_answers_as_the_first_and_sends_nothing_more() -> None:
    world = World()
    handler = once_per_key(lambda event: world.steps.run(StepRequest.model_validate(event)), MemoryIdempotency(), IDEMPOTENCY_KEY, 3600)
    event = world.request("announce").model_dump(mode="json")
    first, second = handler(event, LambdaContext()), handler(event, LambdaContext())
    assert first == second and len(world.email.sent) == 1
    handler({**event, "step": "text"}, LambdaContext())  # another step is another key
    assert len(world.sms.sent) == 1


def test_a_rejected_send_is_recorded_failed_and_the_path_goes_on() -> None:
    world = World()
    world.email.rejected.add("anna@example.com")
    answer = world.steps.run(world.request("announce"))  # no ContactStopped: the state machine goes on to the branch
    assert answer["outcome"] == "failed" and "not verified" in answer["reason"]
    assert world.events.outcomes("c1") == [("announce", "processed"), ("announce", "failed")]
    assert "not verified" in world.events.rows[-1]["reason"]
    assert world.steps.run(world.request("clicked", token="t-1")) == {"outcome": "waiting", "message_id": None}  # the timeout takes no


# ------------------------------------------------------------------------------------- the branch and its token


def test_the_branch_registers_its_token_and_the_click_resumes_the_contact_once() -> None:
    world = World()
    message_id = world.steps.run(world.request("announce"))["message_id"]
    assert world.steps.run(world.request("clicked", token="t-1")) == {"outcome": "waiting", "message_id": message_id}
    assert [w["token"] for w in world.engagement.waiting(message_id, "clicked")] == ["t-1"]
    assert world.click(message_id)["resumed"] == 1
    assert world.click(message_id) == {"duplicate": True}  # the same event delivered twice
    assert world.tokens.resumed == [("t-1", {"event": "clicked"})] and world.engagement.waiting(message_id, "clicked") == []
    assert ("clicked", "clicked") in world.events.outcomes("c1")


def test_a_retried_branch_registers_its_new_token() -> None:
    """Step Functions retries a failed .waitForTaskToken Task with a new token: that token must wait, not the first."""
    world = World()
    handler = once_per_key(lambda event: world.steps.run(StepRequest.model_validate(event)), MemoryIdempotency(), IDEMPOTENCY_KEY, 3600)
    message_id = handler(world.request("announce").model_dump(mode="json"), LambdaContext())["message_id"]
    handler(world.request("clicked", token="t-1").model_dump(mode="json"), LambdaContext())
    handler(world.request("clicked", token="t-2").model_dump(mode="json"), LambdaContext())  # the retry
    assert "t-2" in [w["token"] for w in world.engagement.waiting(message_id, "clicked")]
    world.tokens.gone.add("t-1")  # the first attempt's token died with it
    world.click(message_id)
    assert world.tokens.resumed == [("t-2", {"event": "clicked"})] and len(world.email.sent) == 1


def test_a_click_before_the_branch_waits_is_found_by_the_branch() -> None:
    world = World()
    message_id = world.steps.run(world.request("announce"))["message_id"]
    assert world.click(message_id)["resumed"] == 0  # nobody waits yet: the click is noted
    answer = world.steps.run(world.request("clicked", token="t-1"))
    assert answer == {"outcome": "clicked", "message_id": message_id, "early": True}
    assert world.tokens.resumed == [("t-1", {"event": "clicked"})] and world.engagement.waiting(message_id, "clicked") == []


def test_an_event_stamped_before_its_message_was_sent_counts_from_the_send() -> None:
    world = World()
    sent = world.steps.run(world.request("announce"))
    world.click(sent["message_id"], at="2026-11-22T11:59:58.000Z")  # SES's clock two seconds behind ours
    clicks = [r for r in world.events.rows if r["event_type"] == "email_clicked"]
    assert [r["ts"] for r in clicks] == [NOW]  # never before the send: analytics read the journey's days from its making


def test_a_click_on_another_link_does_not_resume() -> None:
    world = World()
    message_id = world.steps.run(world.request("announce"))["message_id"]
    world.steps.run(world.request("clicked", token="t-1"))
    at = "2026-11-22T12:05:00.000Z"
    world.ingest.handle({"source": "aws.ses", "detail": {
        "eventType": "Click", "mail": {"messageId": message_id, "timestamp": at}, "click": {"link": "https://elsewhere.example", "timestamp": at},
    }})  # fmt: skip
    assert world.tokens.resumed == [] and len(world.engagement.waiting(message_id, "clicked")) == 1


def test_a_blocked_send_leaves_the_branch_nothing_to_wait_for() -> None:
    world = World()
    with pytest.raises(ContactStopped):
        world.steps.run(world.request("announce", {**ANNA, "consents": []}))
    assert world.steps.run(world.request("clicked", {**ANNA, "consents": []}, token="t-1")) == {"outcome": "waiting", "message_id": None}


def test_a_hard_bounce_suppresses_the_address_for_later_sends() -> None:
    world = World()
    message_id = world.steps.run(world.request("announce"))["message_id"]
    at = "2026-11-22T12:01:00.000Z"
    world.ingest.handle({"source": "aws.ses", "detail": {
        "eventType": "Bounce", "mail": {"messageId": message_id, "timestamp": at}, "bounce": {"bounceType": "Permanent", "timestamp": at},
    }})  # fmt: skip
    assert world.engagement.suppressed("acme", "email", "anna@example.com") == "hard bounce"


# ----------------------------------------------------------------------------------- a webhook job after a crash


class Crash(BaseException):
    """The Lambda runtime going away mid-run: nothing in Tern catches it."""


class Receiver:
    """A webhook destination that takes batches, and may die (with the sender) after `crash_after` of them."""

    def __init__(self, crash_after: int | None = None) -> None:
        self.batches: list[dict[str, Any]] = []
        self.crash_after = crash_after

    def post(self, body: bytes, batch_key: str) -> int:
        if self.crash_after is not None and len(self.batches) == self.crash_after:
            raise Crash
        self.batches.append({**json.loads(body), "key": batch_key})
        return 1


def _jobs(table: MemoryTable, trigger: MemoryTrigger) -> Jobs:
    segments = Segments("acme", SegmentRepository(table), MemoryScheduler(), ListRepository(table))
    return Jobs(
        "acme", segments, ExportRepository(table), ActionRepository(table), DestinationRepository(table), Planned(table), None, trigger
    )  # type: ignore[arg-type]


def test_a_webhook_export_resumes_after_a_crash_without_resending() -> None:
    table, trigger = MemoryTable(), MemoryTrigger()
    latest = Evaluation(id="ev1", at=NOW, members=5, joined=5, left=0, manifest="m")
    SegmentRepository(table).create(Segment.model_validate({
        "id": "s1", "org_id": "acme", "name": "VIPs", "where": {"all": []}, "status": "live", "created_at": NOW, "updated_at": NOW,
        "latest": latest, "ready_until": NOW + dt.timedelta(days=1),
    }))  # fmt: skip
    jobs = _jobs(table, trigger)
    DestinationRepository(table).create(
        Destination(
            id="d1",
            org_id="acme",
            name="CRM",
            url="https://crm.example/hook",
            secret_name="tern-test-webhook-d1",
            batch_size=2,
            created_at=NOW,
        )
    )
    export = jobs.request_export("s1", ExportRequest(format="webhook", destination_id="d1"), NOW)
    assert trigger.invoked == [{"org_id": "acme", "kind": "export", "id": export.id, "segment_id": "s1"}]
    engine = RowsEngine([{"contact_id": f"c{i}", "email": f"c{i}@example.com"} for i in range(5)])
    request = JobRequest.model_validate(trigger.invoked[0])

    dying = Receiver(crash_after=2)
    with pytest.raises(Crash):
        JobRunner(jobs, engine, None, lambda: NOW, webhook=lambda d: dying).run(request)  # type: ignore[arg-type]
    halfway = ExportRepository(table).get("acme", export.id)
    assert halfway.status == "running" and (halfway.batches, halfway.rows) == (2, 4)

    healthy = Receiver()
    done = JobRunner(jobs, engine, None, lambda: NOW, webhook=lambda d: healthy).run(request)  # type: ignore[arg-type]  # Lambda's retry
    assert done["status"] == "done" and done["rows"] == 5 and done["batches"] == 3
    delivered = [m["contact_id"] for b in dying.batches + healthy.batches for m in b["members"]]
    assert delivered == [f"c{i}" for i in range(5)]  # every member once, in order
    assert [b["key"] for b in healthy.batches] == [f"{export.id}:3"]


def test_a_refused_batch_ends_the_export_failed_with_the_reason() -> None:
    table, trigger = MemoryTable(), MemoryTrigger()
    SegmentRepository(table).create(Segment.model_validate({
        "id": "s1", "org_id": "acme", "name": "VIPs", "where": {"all": []}, "status": "live", "created_at": NOW, "updated_at": NOW,
        "latest": Evaluation(id="ev1", at=NOW, members=1, joined=1, left=0, manifest="m"),
    }))  # fmt: skip
    jobs = _jobs(table, trigger)
    ExportRepository(table).create(
        Export(id="x1", org_id="acme", segment_id="s1", requested_at=NOW, format="webhook", columns="summary", destination_id="d1")
    )
    DestinationRepository(table).create(
        Destination(id="d1", org_id="acme", name="CRM", url="https://crm.example/hook", secret_name="tern-test-webhook-d1", created_at=NOW)
    )

    class Refusing:
        def post(self, body: bytes, batch_key: str) -> int:
            raise DeliveryFailed("the destination answered 403 Forbidden", 1)

    engine = RowsEngine([{"contact_id": "c1"}])
    done = JobRunner(jobs, engine, None, lambda: NOW, webhook=lambda d: Refusing()).run(
        JobRequest(org_id="acme", kind="export", id="x1", segment_id="s1")
    )  # type: ignore[arg-type]
    assert done["status"] == "failed" and "403" in done["error"] and engine.released == ["export-acme-x1"]


# ----------------------------------------------------------------------------- the providers' answers, mapped


@pytest.mark.parametrize(("code", "raised"), [
    ("MessageRejected", SendRejected), ("TooManyRequestsException", RetryLater), ("InternalFailure", StoreError),
])  # fmt: skip
def test_ses_answers_become_what_the_step_acts_on(code: str, raised: type[Exception]) -> None:
    client = boto3.client("sesv2", region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("send_email", service_error_code=code, service_message="Email address is not verified.")
        with pytest.raises(raised):
            SesEmail(client, "news@example.com").send("anna@example.com", "Hi", "<p>x</p>", None, {}, {})


def test_end_user_messaging_refusals_are_rejected_sends_and_a_stop_is_an_opt_out() -> None:
    client = boto3.client("pinpoint-sms-voice-v2", region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error(
            "send_text_message", service_error_code="ValidationException", service_message="Invalid DestinationPhoneNumber"
        )
        with pytest.raises(SendRejected, match="DestinationPhoneNumber"):
            EndUserMessagingSms(client, "phone-1").send("+0", "It is out")
        stub.add_client_error("send_text_message", service_error_code="ConflictException", service_message="opted out",
                              modeled_fields={"Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT"})  # fmt: skip
        with pytest.raises(OptedOut, match="phone-1"):
            EndUserMessagingSms(client, "phone-1").send("+48600100200", "It is out")


def test_the_stops_on_an_opt_out_list_are_read_every_page_and_only_the_recipients_own() -> None:
    client = boto3.client("pinpoint-sms-voice-v2", region_name="eu-central-1", aws_access_key_id="x", aws_secret_access_key="x")
    asked = {"OptOutListName": "tern-test-acme", "MaxResults": 100, "Filters": [{"Name": "end-user-opted-out", "Values": ["true"]}]}
    at = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)
    page = {"OptOutListArn": "arn:aws:sms-voice:eu-central-1:123456789012:opt-out-list/tern-test-acme", "OptOutListName": "tern-test-acme"}
    with Stubber(client) as stub:
        stub.add_response("describe_opted_out_numbers", {**page, "NextToken": "p2", "OptedOutNumbers": [
            {"OptedOutNumber": "+48600100200", "OptedOutTimestamp": at, "EndUserOptedOut": True}]}, asked)  # fmt: skip
        stub.add_response("describe_opted_out_numbers", {**page, "OptedOutNumbers": [
            {"OptedOutNumber": "+48600100201", "OptedOutTimestamp": at, "EndUserOptedOut": True}]}, {**asked, "NextToken": "p2"})  # fmt: skip
        assert list(SmsOrigins(client).end_user_opt_outs("tern-test-acme")) == [("+48600100200", at), ("+48600100201", at)]
        stub.add_client_error("describe_opted_out_numbers", service_error_code="ResourceNotFoundException", service_message="no such list")
        with pytest.raises(DefinitionError, match="no such list"):
            list(SmsOrigins(client).end_user_opt_outs("tern-test-acme"))


def test_a_stop_on_the_opt_out_list_blocks_the_text_and_tern_keeps_it() -> None:
    world = World()
    world.sms.opted_out.add(ANNA["phone"])  # Anna replied STOP: the identity's opt-out list has her number
    with pytest.raises(ContactStopped):
        world.steps.run(world.request("text", token="t"))
    assert world.sms.sent == [] and world.events.outcomes("c1")[-1] == ("text", "blocked")
    assert world.engagement.suppressed("acme", "sms", ANNA["phone"]) == "replied STOP"
    assert world.overlay.consent("acme", "c1", "sms_marketing") == "remove"
    assert any(r["event_type"] == "sms_opted_out" and r["contact_id"] == "c1" for r in world.events.rows)
    world.sms.opted_out.clear()  # Tern does not need AWS to say it again: its own check blocks the next text first
    with pytest.raises(ContactStopped):
        world.steps.run(world.request("text", token="t2").model_copy(update={"execution": "again", "run_id": "r2"}))
    assert world.sms.sent == [] and "sms_marketing" in world.events.rows[-1]["reason"]


# ----------------------------------------------------------------------------- webhook destinations and their secrets


def test_a_destinations_secret_is_kept_apart_rotated_with_an_overlap_and_removed_with_it() -> None:
    table, secrets, now = MemoryTable(), MemorySecrets(), [NOW]
    destinations = Destinations("acme", DestinationRepository(table), secrets, "tern-test-webhook", lambda: now[0])  # type: ignore[arg-type]
    with pytest.raises(DefinitionError, match="https"):
        destinations.add(DestinationRequest(name="CRM", url="http://93.184.215.14/hook", secret="the-first-secret-01"))
    added = destinations.add(
        DestinationRequest(name="CRM", url="https://93.184.215.14/hook", secret="the-first-secret-01")
    )  # a public address: no lookup
    assert "the-first-secret-01" not in json.dumps(list(table.items.values()), default=str)  # the table never holds it
    assert secrets.versions[added.secret_name] == ["the-first-secret-01"] and added.secret_name.startswith("tern-test-webhook-")
    assert signing_secrets(added, secrets, NOW.timestamp()) == ["the-first-secret-01"]

    rotated = destinations.rotate(added.id, SecretRotation(secret="the-second-secret-2", overlap_hours=24))
    during, after = (NOW + dt.timedelta(hours=23)).timestamp(), (NOW + dt.timedelta(hours=25)).timestamp()
    assert signing_secrets(rotated, secrets, during) == ["the-second-secret-2", "the-first-secret-01"]  # both sign: no delivery fails
    assert signing_secrets(rotated, secrets, after) == ["the-second-secret-2"]
    with pytest.raises(ConflictError, match="still works until"):  # a second overlap would drop the secret the receiver holds
        destinations.rotate(added.id, SecretRotation(secret="the-third-secret-33", overlap_hours=24))
    at_once = destinations.rotate(added.id, SecretRotation(secret="the-third-secret-33", overlap_hours=0))
    assert signing_secrets(at_once, secrets, during) == ["the-third-secret-33"]

    with pytest.raises(NotFoundError):
        Destinations("globex", DestinationRepository(table), secrets, "tern-test-webhook").remove(added.id)  # type: ignore[arg-type]
    destinations.remove(added.id)
    assert destinations.all() == [] and added.secret_name not in secrets.versions
