"""ingest_events: engagement events from SES (through EventBridge) and SMS receipts, made useful.

Each event becomes a row of the events dataset (email_delivered, email_opened, email_clicked with its
link, email_bounced with hard / soft, email_complained, sms_delivered, ...), and for messages a journey
sent, a journey_step outcome at the sending step. A hard bounce or a complaint suppresses the address for
later sends. Contacts waiting at a branch for this event on this message are resumed, each exactly once
(the token is taken by a conditional delete before it is completed).

The same event delivered twice is noted once (keyed by message, kind, link and the event's own time), so
duplicates are harmless; events arriving out of order are each handled on their own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from tern.clock import Clock, naive_utc, utc_now
from tern.journeys.engagement import Engagement
from tern.journeys.matching import ContactEvent
from tern.journeys.steps import complete
from tern.journeys.tasks import JourneyRef, StepRequest, journey_event
from tern.journeys.triggers import Triggers
from tern.lake import ORG_ID
from tern.ports import Events, TaskTokens
from tern.segments.problems import problems_of

# SES eventType -> (events dataset event_type, journey outcome at the sending step, branch event it answers)
SES_EVENTS: dict[str, tuple[str, str | None, str | None]] = {
    "Send": ("email_sent", None, None),
    "Delivery": ("email_delivered", None, None),
    "Open": ("email_opened", "opened", "opened"),
    "Click": ("email_clicked", "clicked", "clicked"),
    "Bounce": ("email_bounced", "bounced", "bounced"),
    "Complaint": ("email_complained", None, None),
    "Reject": ("email_rejected", None, None),
    "DeliveryDelay": ("email_delayed", None, None),
}


@dataclass(frozen=True)
class Engaged:
    message_id: str
    kind: str  # SES eventType, or SMS status
    event_type: str
    at: dt.datetime  # naive UTC
    event_at: str  # the provider's own timestamp, as sent (the duplicate key)
    link: str | None = None
    bounce_type: str | None = None
    outcome: str | None = None
    answers: str | None = None  # the branch event this is: clicked / opened / bounced


def parse(event: dict[str, Any]) -> Engaged | None:
    """An EventBridge event from SES (or an SMS receipt); None for anything else."""
    detail = event.get("detail") or {}
    if event.get("source") == "aws.ses" or "eventType" in detail:
        kind = str(detail.get("eventType") or detail.get("notificationType") or "")
        if kind not in SES_EVENTS:
            return None
        mail = detail.get("mail") or {}
        section = detail.get(kind[0].lower() + kind[1:]) or {}
        stamp = str(section.get("timestamp") or mail.get("timestamp") or event.get("time") or "")
        event_type, outcome, answers = SES_EVENTS[kind]
        bounce = None
        if kind == "Bounce":
            bounce = "hard" if section.get("bounceType") == "Permanent" else "soft"
            if bounce == "soft":  # only a hard bounce answers "bounced" and marks the step bounced
                outcome = answers = None
        return Engaged(
            message_id=str(mail.get("messageId") or ""), kind=kind, event_type=event_type, at=_time(stamp), event_at=stamp,
            link=section.get("link") if kind == "Click" else None, bounce_type=bounce, outcome=outcome, answers=answers,
        )  # fmt: skip
    if event.get("source") in ("aws.sms-voice", "tern.sms") and detail.get("messageId"):
        status = str(detail.get("messageStatus") or "").upper()
        stamp = str(detail.get("timestamp") or event.get("time") or "")
        event_type = {"DELIVERED": "sms_delivered", "SUCCESSFUL": "sms_delivered"}.get(status, "sms_failed")
        return Engaged(message_id=str(detail["messageId"]), kind=status, event_type=event_type, at=_time(stamp), event_at=stamp)
    return None


def _org(detail: dict[str, Any]) -> str:
    org_id = detail.get("org_id")
    if not isinstance(org_id, str) or not org_id:
        raise ValueError("org_id: the org the contact belongs to is required")
    if not ORG_ID.fullmatch(org_id):  # as the API holds its callers' (tern.api.context): it names the org's folders
        raise ValueError("org_id: not an org id (1-64 letters, digits, '.', '_', '-')")
    return org_id


def _time(stamp: str) -> dt.datetime:
    try:
        return naive_utc(dt.datetime.fromisoformat(stamp.replace("Z", "+00:00")))
    except ValueError:
        return utc_now()


CONTACT_EVENTS = "tern.contact-events"  # the EventBridge source of customers' own contact events


@dataclass
class Ingest:
    engagement: Engagement
    events: Events
    tokens: TaskTokens
    clock: Clock = utc_now
    triggers: Triggers | None = None

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        if event.get("source") == CONTACT_EVENTS and self.triggers is not None:
            return self.contact_event(event.get("detail"))
        engaged = parse(event)
        if engaged is None or not engaged.message_id:
            return {"ignored": True}
        message = self.engagement.message(engaged.message_id)
        if message is None:
            return {"ignored": True, "reason": "not a message Tern sent"}
        noted_as = engaged.answers or engaged.event_type  # a branch looks for "clicked", "opened", "bounced" (hard)
        if not self.engagement.seen(engaged.message_id, noted_as, engaged.link, engaged.event_at, self.clock()):
            return {"duplicate": True}
        key = hashlib.sha256(f"{engaged.message_id}\n{engaged.kind}\n{engaged.link or ''}\n{engaged.event_at}".encode()).hexdigest()[:32]
        at = max(engaged.at, message.at)  # nothing happens to a message before it was sent (a provider's clock a little behind ours)
        row = {
            "event_id": f"eng-{key}", "contact_id": message.contact_id, "event_type": engaged.event_type, "ts": at,
            "channel": message.channel, "journey_id": message.journey_id, "step_id": message.step_id,
            "message_id": engaged.message_id, "link": engaged.link, "url": engaged.link, "bounce_type": engaged.bounce_type,
        }  # fmt: skip
        rows = [row]
        request = StepRequest(
            step=message.step_id, journey=JourneyRef(org_id=message.org_id, id=message.journey_id, version=message.journey_version),
            contact_id=message.contact_id, execution=f"{engaged.kind}-{key}",
        )  # fmt: skip
        if engaged.outcome:
            rows.append(journey_event(request, message.step_id, engaged.outcome, at))
        if engaged.bounce_type == "hard" or engaged.kind == "Complaint":
            reason = "hard bounce" if engaged.bounce_type == "hard" else "complaint"
            self.engagement.suppress(message.org_id, message.channel, message.address, reason, at)
        self.events.write(message.org_id, rows)
        resumed = 0
        if engaged.answers:
            for waiting in self.engagement.waiting(engaged.message_id, engaged.answers):
                if waiting.get("link") and waiting["link"] != engaged.link:
                    continue
                if self.engagement.take(engaged.message_id, engaged.answers, str(waiting["token"])):
                    complete(
                        self.tokens, self.events, json.loads(str(waiting["context"])), engaged.answers, str(waiting["token"]), self.clock()
                    )
                    resumed += 1
        return {"event_type": engaged.event_type, "contact_id": message.contact_id, "resumed": resumed}

    def contact_event(self, detail: Any) -> dict[str, Any]:
        """One contact event from the customer's apps (detail: org_id and the event's fields, as POST /events takes
        them). A malformed one is refused here, named in the answer and the log, never retried."""
        assert self.triggers is not None
        try:
            if not isinstance(detail, dict):
                raise ValueError("detail: expected an object")
            org_id = _org(detail)
            event = ContactEvent.model_validate({k: v for k, v in detail.items() if k != "org_id"})
        except (ValueError, ValidationError) as e:
            problem = "; ".join(f"{p.path}: {p.message}" for p in problems_of(e)) if isinstance(e, ValidationError) else str(e)
            return {"ignored": True, "problem": problem}
        return self.triggers.take(org_id, [event])
