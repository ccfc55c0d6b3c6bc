"""Journeys as marketers handle them: drafts, publishing (frozen), starting, stopping, copying; content.

A journey's status runs draft -> published -> running -> stopped. Publishing validates it, compiles it to
ASL and creates its own Step Functions state machine (published as version 1, never updated: a
published journey is frozen, and a change is a copy, a new draft). Starting hands the run to the
journey_run function: at once, at `start_at`, or on the recurring schedule; for one-time journeys that
take later joiners, every refresh of the audience segment runs it again for the newcomers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tern.clock import Clock, naive_utc, utc_now
from tern.errors import ConflictError, DefinitionError, Problem
from tern.journeys.analytics import OUTCOMES
from tern.journeys.asl import compile_journey
from tern.journeys.content import Content, ContentDraft
from tern.journeys.model import Journey, JourneyDefinition, execution_name, first_execution
from tern.journeys.repository import ContentRepository, JourneyRepository
from tern.journeys.senders import Senders, domain_of
from tern.journeys.tasks import JourneyRef, StepRequest, journey_event
from tern.journeys.validate import check_publishable, check_shape
from tern.ports import Deliveries, Events, Scheduler, StateMachines
from tern.segments.lifecycle import SegmentDraft, Segments, schedule_expression
from tern.segments.segment import Segment


@dataclass
class JourneyRuns:
    """Starts a journey's runs: the run state machine (statemachines/journey_run.asl.json) started now, or by a
    schedule (at a time, or recurring)."""

    machines: StateMachines
    run_machine_arn: str
    scheduler: Scheduler  # schedules starting the run state machine

    def run_now(self, org_id: str, journey_id: str) -> None:
        name = f"{journey_id}-{uuid.uuid4().hex[:12]}"  # the run's id: its execution's name
        self.machines.start(self.run_machine_arn, name, {"org_id": org_id, "journey_id": journey_id})

    def schedule(self, journey: Journey, now: dt.datetime) -> None:
        if journey.by_event():  # contacts in line to enter are started every minute
            expression = EVENT_ENTRY_RATE
        elif journey.mode == "recurring" and journey.every is not None:
            expression = schedule_expression(journey.every, now)
        else:
            expression = schedule_expression("once", naive_utc(journey.start_at) if journey.start_at else now)
        repeats = journey.mode == "recurring" or journey.by_event()
        ends = naive_utc(journey.ends_at) if repeats and journey.ends_at is not None else None
        if ends is not None and journey.by_event():  # the contacts in line by then still enter: a last run after it
            ends += dt.timedelta(minutes=5)
        self.scheduler.put(
            schedule_name(journey), expression, {"org_id": journey.org_id, "journey_id": journey.id},
            f"run journey {journey.id} of org {journey.org_id}", once=not repeats,
            start=journey.start_at if repeats else None, end=ends if ends is not None and ends > naive_utc(now) else None,
        )  # fmt: skip

    def unschedule(self, journey: Journey) -> None:
        self.scheduler.delete(schedule_name(journey))


EVENT_ENTRY_RATE = "rate(1 minute)"


def schedule_name(journey: Journey) -> str:
    return "journey-" + hashlib.sha256(f"{journey.org_id}\n{journey.id}".encode()).hexdigest()[:40]


def _id() -> str:
    return uuid.uuid4().hex[:12]


@dataclass
class Journeys:
    org_id: str
    repository: JourneyRepository
    content: ContentRepository
    segments: Segments
    machines: StateMachines
    runs: JourneyRuns
    events: Events
    step_function_arn: str  # what the journeys' Task states invoke
    clock: Clock = utc_now
    deliveries: Deliveries | None = None  # the org's webhook destinations (publish checks a webhook step's)
    senders: Senders | None = None  # the org's sending domains (publish and content check an e-mail's From)
    default_sender: str | None = None  # the stack's own From address (SenderAddress), for content that names none
    postal_address: Callable[[], str | None] | None = None  # the org's postal address (its own, else the stack's)
    machine_prefix: str = "tern_local"  # the stage's state machines: `<prefix>_<org digest>-<journey>` (IAM grants that much)

    # ----- drafts

    def create(self, definition: JourneyDefinition) -> Journey:
        check_shape(definition)
        now = self.clock()
        return self.repository.create(Journey(**definition.model_dump(), id=_id(), org_id=self.org_id, created_at=now, updated_at=now))

    def get(self, journey_id: str) -> Journey:
        return self.repository.get(self.org_id, journey_id)

    def list_journeys(self) -> list[Journey]:
        return sorted(self.repository.list_journeys(self.org_id), key=lambda j: j.created_at)

    def update(self, journey_id: str, definition: JourneyDefinition) -> Journey:
        journey = self.get(journey_id)
        if journey.status != "draft":
            raise ConflictError(f"journey {journey_id} is {journey.status}: a published journey is frozen; copy it to change it")
        check_shape(definition)
        fields = {name: getattr(definition, name) for name in JourneyDefinition.model_fields}  # models, not dicts
        return self.repository.save(journey.model_copy(update={**fields, "updated_at": self.clock()}))

    def copy(self, journey_id: str) -> Journey:
        journey = self.get(journey_id)
        now = self.clock()
        draft = journey.definition().model_copy(update={"name": f"Copy of {journey.name}"[:200]})
        return self.repository.create(
            Journey(**draft.model_dump(), id=_id(), org_id=self.org_id, created_at=now, updated_at=now, copied_from=journey.id)
        )

    # ----- publish, start, stop

    def publish(self, journey_id: str) -> Journey:
        journey = self.get(journey_id)
        if journey.status != "draft":
            raise ConflictError(f"journey {journey_id} is already {journey.status}")
        deliveries = self.deliveries
        destination = (lambda d: deliveries.exists(self.org_id, d)) if deliveries is not None else None
        sender = self.senders.sending_as if self.senders is not None else None
        check_publishable(journey.definition(), lambda c: self.content.get(self.org_id, c), lambda s: self.segments.get(s, self.clock()), self.clock(),
                          destination, sender, self.default_sender, self.postal_address() if self.postal_address else "unchecked")  # fmt: skip
        asl = compile_journey(journey.definition(), self.step_function_arn)
        name = f"{self.machine_prefix}_{hashlib.sha256(self.org_id.encode()).hexdigest()[:8]}-{journey.id}"
        arn = self.machines.create(name, asl, self.org_id, f"journey {journey.id}")
        now = self.clock()
        return self.repository.save(journey.model_copy(update={
            "status": "published", "state_machine_arn": arn, "published_version": 1,
            "published_at": now, "updated_at": now,
        }))  # fmt: skip

    def start(self, journey_id: str) -> Journey:
        journey = self.get(journey_id)
        if journey.status != "published":
            raise ConflictError(f"journey {journey_id} is {journey.status}: only a published journey can start")
        audience_id = journey.audience_id()
        if audience_id is not None:
            audience = self.segments.get(audience_id, self.clock())
            if audience.status != "live":
                raise ConflictError(f"the audience segment {audience_id} is {audience.status}, not live")
        now = self.clock()
        journey = self.repository.save(journey.model_copy(update={"status": "running", "started_at": now, "updated_at": now}))
        if journey.by_event() or journey.mode == "recurring" or (journey.start_at and naive_utc(journey.start_at) > now):
            self.runs.schedule(journey, now)
        else:
            self.runs.run_now(self.org_id, journey.id)
        return journey

    def stop(self, journey_id: str) -> Journey:
        """No one else enters; contacts on their way are stopped where they are (recorded as stopped)."""
        journey = self.get(journey_id)
        if journey.status != "running":
            raise ConflictError(f"journey {journey_id} is {journey.status}, not running")
        now = self.clock()
        journey = self.repository.save(journey.model_copy(update={"status": "stopped", "updated_at": now}))
        self.runs.unschedule(journey)
        stopped: set[str] = set()
        for name, execution_arn in self.machines.running(journey.state_machine_arn or ""):
            self.machines.stop(execution_arn, error="JourneyStopped", cause="the journey was stopped")
            stopped.add(first_execution(name))
        if stopped:
            ref = JourneyRef(org_id=self.org_id, id=journey.id, version=journey.published_version or 1)
            self.events.write(self.org_id, [
                journey_event(StepRequest(step="", journey=ref, contact_id=contact, execution=execution_name(contact)), "", "stopped", now, reason="journey stopped")
                for contact in self.repository.entered(self.org_id, journey.id)
                if execution_name(contact) in stopped
            ])  # fmt: skip
        return journey

    # ----- save as segment

    def save_as_segment(self, journey_id: str, step_id: str | None, outcome: str, name: str | None, way: str | None = None) -> Segment:
        journey = self.get(journey_id)
        if step_id is not None:
            try:
                journey.step(step_id)
            except KeyError:
                raise DefinitionError([Problem("step", f"journey {journey_id} has no step {step_id!r}")]) from None
        known = (*OUTCOMES, "converted")  # converted: anywhere in the journey (its goal)
        if outcome not in known:
            raise DefinitionError([Problem("outcome", f"expected one of {', '.join(known)}")])
        criterion: dict[str, Any] = {"kind": "journey_outcome", "journey_id": journey.id, "outcome": outcome}
        if step_id is not None:
            criterion["step_id"] = step_id
        if way is not None:
            if outcome not in ("branched", "held_out"):
                raise DefinitionError([Problem("way", "only a decision's outcome (branched, held_out) has a way")])
            criterion["way"] = way
        where = (f" at {step_id}" if step_id else "") + (f" ({way})" if way else "")
        draft = SegmentDraft.model_validate({
            "name": name or f"{journey.name}: {outcome}{where}"[:200],
            "description": f"contacts {outcome}{where} in journey {journey.name}"[:2000],
            "where": {"all": [criterion]},
        })  # fmt: skip
        return self.segments.create(draft, self.clock())

    # ----- content

    def list_content(self) -> list[Content]:
        return self.content.list_content(self.org_id)

    def get_content(self, content_id: str) -> Content:
        return self.content.get(self.org_id, content_id)

    def _own_sender(self, draft: ContentDraft) -> None:
        """A From address must be at one of the org's sending domains (verified or not yet: publishing checks that)."""
        if draft.from_address is None or self.senders is None:
            return
        domain = domain_of(draft.from_address)
        if domain is None or domain not in {s.domain for s in self.senders.repository.all(self.org_id)}:
            raise DefinitionError(
                [Problem("from_address", f"{domain or draft.from_address} is not one of your sending domains: add it under Senders first")]
            )

    def sending_from(self, domain: str) -> list[str]:
        """The org's published or running journeys with an e-mail step whose content is from this domain."""
        domain = domain.strip().lower()
        sending = {c.id for c in self.content.list_content(self.org_id) if c.from_address and domain_of(c.from_address) == domain}
        return [
            j.id
            for j in self.list_journeys()
            if j.status in ("published", "running") and any(getattr(s, "content_id", None) in sending for s in j.steps)
        ]

    def delivering_to(self, destination_id: str) -> list[str]:
        """The org's published or running journeys with a webhook step to this destination."""
        return [
            j.id
            for j in self.list_journeys()
            if j.status in ("published", "running") and any(getattr(s, "destination_id", None) == destination_id for s in j.steps)
        ]

    def create_content(self, draft: ContentDraft) -> Content:
        self._own_sender(draft)
        now = self.clock()
        return self.content.create(Content(**draft.model_dump(), id=_id(), org_id=self.org_id, created_at=now, updated_at=now))

    def _unused(self, content_id: str) -> None:
        """A published journey is frozen, and so is what it sends."""
        users = [
            j.id for j in self.list_journeys() if j.status != "draft" and any(getattr(s, "content_id", None) == content_id for s in j.steps)
        ]
        if users:
            raise ConflictError(f"content {content_id} is sent by published journeys ({', '.join(users)}): copy it to change it")

    def delete_content(self, content_id: str) -> Content:
        content = self.content.get(self.org_id, content_id)
        self._unused(content_id)
        self.content.delete(self.org_id, content_id)
        return content

    def update_content(self, content_id: str, draft: ContentDraft) -> Content:
        content = self.content.get(self.org_id, content_id)
        self._unused(content_id)
        self._own_sender(draft)
        return self.content.save(content.model_copy(update={**draft.model_dump(), "updated_at": self.clock()}))
