"""What journey_step does for one contact at one step (the Lambda behind the state machine's Tasks).

- send_email / send_sms: check the contact has the channel's consent, an address, and that the address is
  not suppressed (hard bounce, complaint, unsubscribe); then personalise the content and send. A blocked
  contact is recorded (outcome blocked, with the reason) and its path ends (ContactStopped). Outside the
  journey's send window or on a closed date (in the contact's time zone, tern.journeys.windows) the send is
  `deferred`: the answer `{"way": "wait", "until": T}` sends the contact through a Wait to the opening, and
  the send's `opened` phase sends then (or, with `outside: skip`, it is recorded `outside_window` and the path
  goes on). Over a cap (the org's frequency cap, the journey's limits; tern.journeys.caps) nothing is sent:
  recorded `capped` with the cap, and the path goes on.
- branch_on_event: register the task token under the watched message and event (with a TTL after the
  timeout), then look whether that event already arrived; if so, complete the token at once.
- the branch's timeout: record that the contact left the branch on the no path.
- before any step (a branch's timeout aside): a contact marked to leave (its goal met with `exit`, an exit
  event; tern.journeys.triggers) or, with `exit.when_not_in_audience`, no longer in the audience's stored
  membership, is recorded `exited` with the reason and its path ends.
- webhook: POST the contact's snapshot and entry event to the destination, signed, with an Idempotency-Key
  of (journey version, step, execution), so a retry is recognisably the same; `sent`, or `failed` with the
  reason (the path goes on either way).
- update_contact: record the change in Tern's overlay of contact changes (tern.store.overlay).
- random_split, holdout, split, multi_split: decide the contact's way, record it (`branched` with the way as
  the reason; `held_out` for a holdout's control group) and answer `{"way": EDGE}` for the Choice after the
  Task. A random split's way is the contact's bucket (a digest of journey, step and contact), a split's the
  first condition that holds now (tern.journeys.conditions), so a retry answers the same.
- consent: the snapshot taken at entry, overridden by any overlay change of that consent since.

Every step writes journey_step events to the lake (processed, then sent / blocked / ...), which analytics
and "save as segment" read. Idempotency (one send per journey version, contact and step) is applied by the
function around `run`, so a retried invocation returns the first one's answer without sending again.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tern.clock import Clock, naive_utc, utc_now, wall_timestamp
from tern.errors import ContactStopped, DefinitionError, DeliveryFailed, OptedOut, SendRejected
from tern.journeys.caps import Ledger, OrgSettings, Throttle
from tern.journeys.conditions import Evaluator, Facts
from tern.journeys.content import personalised, with_footer
from tern.journeys.engagement import Engagement, SentMessage
from tern.journeys.kinds import BranchOnEvent, StepKind, Webhook, bucket
from tern.journeys.kinds.base import Choice
from tern.journeys.kinds.deciding import Decision
from tern.journeys.kinds.sending import Send
from tern.journeys.model import Journey
from tern.journeys.opt_outs import StopRecord
from tern.journeys.repository import ContentRepository, JourneyRepository
from tern.journeys.senders import Senders, SmsSenders
from tern.journeys.tasks import JourneyRef, StepRequest, journey_event
from tern.journeys.times import EXECUTION_LIMIT
from tern.journeys.unsubscribe import Links, Unsubscribe, held
from tern.journeys.windows import next_opening, zone_of
from tern.ports import Deliveries, Email, Events, SendAs, Sms, TaskTokens
from tern.segments.repository import SegmentRepository
from tern.store.overlay import ContactOverlay

CONSENT = {"email": "email_marketing", "sms": "sms_marketing"}
# One answer per (journey version, contact, entry, step, phase): what makes a retried invocation send nothing
# more. Each entry is its own execution (a reentry's name ends in its number), so a contact entering again is
# answered afresh. A branch's retried Task comes with a new task token, which must be registered anew: the token
# is in the key (a send has none, so its key stays the same under retries).
IDEMPOTENCY_KEY = "[journey.org_id, journey.id, journey.version, contact_id, execution, step, phase, token]"
IDEMPOTENCY_DAYS = 7


@dataclass
class JourneySteps:
    journeys: JourneyRepository
    content: ContentRepository
    engagement: Engagement
    email: Email
    sms: Sms
    events: Events
    tokens: TaskTokens
    overlay: ContactOverlay
    segments: SegmentRepository
    ledger: Ledger
    settings: OrgSettings
    throttle: Throttle
    deliveries: Deliveries
    links: Links  # every e-mail's own unsubscribe link (tern.journeys.unsubscribe)
    clock: Clock = utc_now
    senders: Callable[[str], Senders] | None = None  # an org's sending domains: content's From, its tenant and configuration set
    sms_senders: Callable[[str], SmsSenders] | None = None  # an org's own SMS number or pool, with its own opt-out list
    postal_address: str | None = None  # the stack's (PostalAddress), for an org that set none of its own
    _published: dict[tuple[str, str, int], Journey] = field(default_factory=dict)

    def journey(self, ref: JourneyRef) -> Journey:
        """The published journey (frozen, so it is read once per process)."""
        key = (ref.org_id, ref.id, ref.version)
        if key not in self._published:
            self._published[key] = self.journeys.get(ref.org_id, ref.id)
        return self._published[key]

    def run(self, request: StepRequest) -> dict[str, Any]:
        journey = self.journey(request.journey)
        step = journey.step(request.step)
        now = self.clock()
        if request.phase != "timeout" and (leaving := self._leaving(journey, request)):
            self.events.write(journey.org_id, [journey_event(request, step.id, "exited", now, reason=leaving)])
            raise ContactStopped(f"{request.contact_id} left journey {journey.id} at {step.id}: {leaving}")
        if request.phase == "no_date":  # a wait_until whose field held no time, and no no_value step: the path ends
            self.events.write(journey.org_id, [journey_event(request, step.id, "no_date", now)])
            return {"outcome": "no_date"}
        if request.phase == "timeout":
            self.events.write(journey.org_id, [journey_event(request, step.id, "exited", now, reason="timeout")])
            return {"outcome": "exited", "reason": "timeout"}
        return step.act(self, journey, request, now)

    def _leaving(self, journey: Journey, request: StepRequest) -> str | None:
        """Why the contact leaves at this step, if it does: its goal (with exit), an exit event, or the audience."""
        if (journey.goal and journey.goal.exit) or (journey.exit and journey.exit.on_event):
            reason = self.journeys.exit_reason(journey.org_id, journey.id, request.contact_id)
            if reason:
                return reason
        audience = journey.audience_id()
        if (
            journey.exit
            and journey.exit.when_not_in_audience
            and audience
            and not self.segments.is_member(journey.org_id, audience, request.contact_id)
        ):
            return "left the audience"
        return None

    # ----- sends

    def _blocked(self, journey: Journey, step: StepKind, request: StepRequest, now: dt.datetime, reason: str) -> None:
        self.events.write(
            journey.org_id,
            [journey_event(request, step.id, "processed", now), journey_event(request, step.id, "blocked", now, reason=reason)],
        )
        raise ContactStopped(f"{request.contact_id} at {step.id}: {reason}")

    def _window(self, journey: Journey, step: Send, request: StepRequest, now: dt.datetime) -> dict[str, Any] | None:
        """The answer for a send that may not go now (deferred to the opening, or skipped); None if it may."""
        if journey.send_window is None and not journey.closed_dates:
            return None
        aware = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
        opening = next_opening(
            aware, zone_of(request.contact.get("timezone"), journey.timezone), journey.send_window, frozenset(journey.closed_dates)
        )
        if opening is None:
            return None
        until = wall_timestamp(self.clock, opening)
        if (
            (journey.send_window and journey.send_window.outside == "skip")
            or opening - aware > EXECUTION_LIMIT
            or _too_late(until, request.started)
        ):
            reason = f"outside the send window (opens {opening.isoformat()})"
            self.events.write(journey.org_id, [
                journey_event(request, step.id, "processed", now), journey_event(request, step.id, "outside_window", now, reason=reason),
            ])  # fmt: skip
            return {"outcome": "outside_window", "way": "next", "until": None}
        self.events.write(journey.org_id, [journey_event(request, step.id, "deferred", now, reason=opening.isoformat())])
        return {"outcome": "deferred", "way": "wait", "until": until}

    def send(self, journey: Journey, step: Send, request: StepRequest, now: dt.datetime) -> dict[str, Any]:
        """A send step's Task: the message on the step's channel, unless the contact is blocked, capped or outside
        the window."""
        channel = step.channel or ""
        contact = {**request.contact, "entry_event": request.entry_event}
        address = step.address(contact)
        consents = set(contact.get("consents") or [])  # as the contact entered the journey
        changed = self.overlay.consent(journey.org_id, request.contact_id, CONSENT[channel])  # a bulk change since wins
        if changed == "remove" or (changed is None and CONSENT[channel] not in consents):
            self._blocked(journey, step, request, now, f"no {CONSENT[channel]} consent")
        if not address:
            self._blocked(journey, step, request, now, f"no {'e-mail address' if channel == 'email' else 'phone number'}")
        suppressed = self.engagement.suppressed(journey.org_id, channel, address)
        if suppressed:
            self._blocked(journey, step, request, now, f"suppressed: {suppressed}")
        if request.phase != "opened" and (deferred := self._window(journey, step, request, now)):
            return deferred
        limits = journey.limits
        if limits is not None and limits.messages_per_second is not None:
            self.throttle.take(journey.org_id, journey.id, limits.messages_per_second, now)  # RetryLater: the Task backs off
        key = f"{journey.id}#{request.journey.version}#{step.id}#{request.execution or request.contact_id}"
        refused = self.ledger.reserve(journey.org_id, request.contact_id, key, channel, journey.id, naive_utc(now),
                                      self.settings.frequency_cap(journey.org_id), limits)  # fmt: skip
        if refused:
            self.events.write(journey.org_id, [
                journey_event(request, step.id, "processed", now), journey_event(request, step.id, "capped", now, reason=refused),
            ])  # fmt: skip
            return {"outcome": "capped", "reason": refused, "way": "next", "until": None}
        content = self.content.get(journey.org_id, step.content_id)
        headers: dict[str, str] = {}
        marketing = channel == "email" and content.purpose == "marketing"  # transactional: no unsubscribe, not marketing
        if channel == "email":
            messages = self.settings.messages(journey.org_id)
            contact = {**contact, "org.postal_address": messages.postal_address or self.postal_address or ""}
        if marketing:  # the recipient's link, in the body and as RFC 8058's one-click header
            issued = int((now if now.tzinfo else now.replace(tzinfo=dt.UTC)).timestamp())
            topics = {t.consent for t in messages.topics if t.channel == "email"} | {CONSENT[channel]}
            holding = tuple(sorted(held(c) for c in topics if c in consents))
            url = self.links.url(
                Unsubscribe(journey.org_id, request.contact_id, CONSENT[channel], journey.id, step.id, key, issued, holding)
            )
            contact = {**contact, "unsubscribe_url": url, "preferences_url": url}
            headers = {"List-Unsubscribe": f"<{url}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
        message = personalised(content, contact)
        if marketing:  # what a part (HTML, text) does not show itself: the link, the org's postal address
            message = with_footer(message, contact["unsubscribe_url"], contact["org.postal_address"] or None)
        try:
            if channel == "email":
                tags = {
                    "org": ses_tag(journey.org_id),
                    "journey": ses_tag(journey.id),
                    "step": ses_tag(step.id),
                    "contact": ses_tag(request.contact_id),
                }
                sender = self._sender(journey.org_id, content.from_address)
                message_id = self.email.send(address, message["subject"] or "", message["body"], message["text"], tags, headers, sender)
            else:
                own = self.sms_senders(journey.org_id).get() if self.sms_senders else None
                message_id = self.sms.send(
                    address,
                    message["text"] or "",
                    own.origination_identity if own else None,
                    {"org": journey.org_id, "journey": journey.id},
                )
        except OptedOut as e:  # the recipient replied STOP: Tern knows it from now on, for every journey of the org
            self.ledger.release(journey.org_id, request.contact_id, key)
            self._opted_out(journey, request, address, str(e), now)
            self._blocked(journey, step, request, now, str(e))
        except SendRejected as e:  # this message will never go; the contact's path goes on without it
            self.ledger.release(journey.org_id, request.contact_id, key)
            self.events.write(journey.org_id, [
                journey_event(request, step.id, "processed", now), journey_event(request, step.id, "failed", now, reason=str(e)[:500]),
            ])  # fmt: skip
            return {"outcome": "failed", "reason": str(e), "way": "next", "until": None}
        self.engagement.sent(SentMessage(
            message_id=message_id, org_id=journey.org_id, journey_id=journey.id, journey_version=request.journey.version,
            step_id=step.id, contact_id=request.contact_id, channel=channel, address=address, at=now,
        ))  # fmt: skip
        self.events.write(journey.org_id, [
            journey_event(request, step.id, "processed", now),
            journey_event(request, step.id, "sent", now, channel=channel, message_id=message_id),
        ])  # fmt: skip
        return {"outcome": "sent", "message_id": message_id, "way": "next", "until": None}

    def _opted_out(self, journey: Journey, request: StepRequest, phone: str, reason: str, now: dt.datetime) -> None:
        """A STOP the provider holds, recorded where Tern looks (tern.journeys.opt_outs): the consent removed (segments
        see it), an `sms_opted_out` event, and the number suppressed for the org (checked before any later text)."""
        StopRecord(self.engagement, self.overlay, self.events).record(journey.org_id, phone, [request.contact_id], now, reason, journey.id)

    def _sender(self, org_id: str, from_address: str | None) -> SendAs | None:
        """As whom the org's e-mail goes: its content's From, at one of the org's verified domains, through the org's
        tenant (checked again at each send: a domain removed since publishing sends nothing); None: the stack's."""
        if from_address is None:
            return None
        if self.senders is None:
            raise SendRejected(f"{from_address}: this function has no sending domains")
        try:
            return self.senders(org_id).sending_as(from_address)
        except DefinitionError as e:
            raise SendRejected("; ".join(p.message for p in e.problems)) from None

    # ----- webhooks

    def webhook(self, journey: Journey, step: Webhook, request: StepRequest, now: dt.datetime) -> dict[str, Any]:
        """A webhook step's Task: the contact POSTed to the destination, `sent` or `failed` (the path goes on)."""
        key = f"{journey.id}:{request.journey.version}:{step.id}:{request.execution or request.contact_id}"
        body = json.dumps({
            "journey_id": journey.id, "step_id": step.id, "contact_id": request.contact_id, "contact": request.contact,
            "entry_event": request.entry_event or None, "at": now.isoformat(),
        }, default=str).encode()  # fmt: skip
        try:
            self.deliveries.deliver(journey.org_id, step.destination_id, body, key)
        except DeliveryFailed as e:
            self.events.write(journey.org_id, [
                journey_event(request, step.id, "processed", now), journey_event(request, step.id, "failed", now, reason=str(e)[:500]),
            ])  # fmt: skip
            return {"outcome": "failed", "reason": str(e)}
        self.events.write(
            journey.org_id,
            [journey_event(request, step.id, "processed", now), journey_event(request, step.id, "sent", now, channel="webhook")],
        )
        return {"outcome": "sent"}

    # ----- decisions: which way the contact goes

    def decide(self, journey: Journey, step: Decision, request: StepRequest, now: dt.datetime) -> dict[str, Any]:
        """A decision's Task: the way the step takes for this contact, recorded and answered for its Choice."""
        evaluator = Evaluator(self.facts(journey, request, now))
        way = step.way(Choice(bucket=bucket(journey.id, step.id, request.contact_id), holds=evaluator.holds))
        outcome = "held_out" if way == "held_out" else "branched"
        self.events.write(journey.org_id, [
            journey_event(request, step.id, "processed", now), journey_event(request, step.id, outcome, now, reason=way),
        ])  # fmt: skip
        return {"outcome": outcome, "way": way}

    def facts(self, journey: Journey, request: StepRequest, now: dt.datetime) -> Facts:
        """What a condition may look at for this contact, now (each lookup made only if a condition needs it)."""
        org, contact = journey.org_id, request.contact_id

        def engaged(message_step: str, noted_as: tuple[str, ...], link: str | None) -> bool:
            message_id = self.engagement.sent_by(org, journey.id, contact, message_step)
            return message_id is not None and any(self.engagement.was_seen(message_id, e, link) for e in noted_as)

        return Facts(
            contact=request.contact, today=now.date(), changes=lambda: self.overlay.changes(org, contact),
            member=lambda segment_id: self.segments.is_member(org, segment_id, contact), engaged=engaged,
        )  # fmt: skip

    # ----- branch on an engagement event

    def branch(self, journey: Journey, step: BranchOnEvent, request: StepRequest, now: dt.datetime) -> dict[str, Any]:
        """A branch's Task: its token registered under the watched message, completed at once if the event came."""
        if not request.token:
            raise ValueError(f"branch step {step.id} was invoked without a task token")
        self.events.write(journey.org_id, [journey_event(request, step.id, "processed", now)])
        message_id = self.engagement.sent_by(journey.org_id, journey.id, request.contact_id, step.message_step)
        if message_id is None:  # the watched send was blocked: nothing can arrive; the timeout takes the no path
            return {"outcome": "waiting", "message_id": None}
        context = {"org_id": journey.org_id, "journey_id": journey.id, "journey_version": request.journey.version, "step_id": step.id,
                   "contact_id": request.contact_id, "execution": request.execution, "run_id": request.run_id}  # fmt: skip
        self.engagement.wait(
            message_id, step.event, step.link, request.token, now + step.timeout + dt.timedelta(days=1), json.dumps(context)
        )
        # registered first, looked second: ingest_events records first and looks second, so one of us sees the other
        if self.engagement.was_seen(message_id, step.event, step.link) and self.engagement.take(message_id, step.event, request.token):
            complete(self.tokens, self.events, context, step.event, request.token, now)
            return {"outcome": step.event, "message_id": message_id, "early": True}
        return {"outcome": "waiting", "message_id": message_id}


def complete(tokens: TaskTokens, events: Events, context: dict[str, Any], event: str, token: str, now: dt.datetime) -> None:
    """Resume a waiting contact down the yes path, recording the outcome at the branch step."""
    request = StepRequest(
        step=context["step_id"], journey=JourneyRef(org_id=context["org_id"], id=context["journey_id"], version=context["journey_version"]),
        contact_id=context["contact_id"], execution=context["execution"], run_id=context.get("run_id", ""),
    )  # fmt: skip
    if tokens.succeed(token, {"event": event}):  # a token that timed out meanwhile resumes nobody: record nothing
        events.write(context["org_id"], [journey_event(request, context["step_id"], event, now)])


def ses_tag(value: str) -> str:
    """SES tag values allow letters, digits, _ - . @ only: others become _."""
    return "".join(c if c.isalnum() or c in "_-.@" else "_" for c in value)[:256] or "_"


def _too_late(until: str, started: str | None) -> bool:
    """Whether a Wait until `until` would outlive the execution, which Step Functions ends a year after it
    started (an hour kept for the steps after it)."""
    if not started:
        return False
    end = dt.datetime.fromisoformat(started.replace("Z", "+00:00")) + EXECUTION_LIMIT - dt.timedelta(hours=1)
    return dt.datetime.fromisoformat(until.replace("Z", "+00:00")) > end
