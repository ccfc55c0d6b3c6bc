"""The journey definition a marketer writes, and the journey record Tern keeps.

A journey is a graph of steps, each with an id; `start` names the first. Steps lead on with `next`
(or `yes` / `no` for a branch); a step with no `next` ends the path there, as does an `end` step.

    {"name": "Launch", "audience": "SEGMENT_ID", "mode": "one_time",
     "start_at": "2026-12-01T09:00:00+01:00", "timezone": "Europe/Warsaw", "start": "announce",
     "steps": [
       {"id": "announce", "kind": "send_email", "content_id": "C1", "next": "clicked"},
       {"id": "clicked", "kind": "branch_on_event", "message_step": "announce", "event": "clicked",
        "link": "https://shop.example.com/new", "timeout": "P1D", "yes": "launch", "no": "end"},
       {"id": "launch", "kind": "wait_until", "at": "2026-12-08T10:00:00+01:00", "next": "text"},
       {"id": "text", "kind": "send_sms", "content_id": "C2", "next": "end"},
       {"id": "end", "kind": "end"}]}

The steps' kinds, each with everything the machinery needs of it, are in tern.journeys.kinds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tern.clock import Instant
from tern.journeys.caps import Limits
from tern.journeys.kinds import Step
from tern.journeys.kinds.base import StepId, Text
from tern.journeys.matching import EventMatch, Exits, Goal
from tern.journeys.times import Duration, Moment
from tern.journeys.windows import SendWindow
from tern.segments.segment import Every
from tern.segments.values import Day
from tern.text import MultiLine, OneLine

Mode = Literal["one_time", "one_time_with_joiners", "recurring"]


def flow_order(definition: JourneyDefinition) -> list[str]:
    """The ids of the steps reachable from the start, each after every step that leads to it (for a graph without
    loops, which publishing checks; with one, an order that visits each step once). Names of no step are skipped."""
    known = {s.id for s in definition.steps}
    order: list[str] = []
    seen: set[str] = set()

    def visit(step_id: str) -> None:  # post-order, reversed at the end
        if step_id in seen or step_id not in known:
            return
        seen.add(step_id)
        for _, target in definition.step(step_id).ways():
            visit(target)
        order.append(step_id)

    visit(definition.start)
    return order[::-1]


def execution_name(contact_id: str, entry: int = 1) -> str:
    """The name of the execution carrying a contact's `entry`-th entry into a journey (a digest: no personal data)."""
    first = "c-" + hashlib.sha256(contact_id.encode()).hexdigest()[:48]
    return first if entry == 1 else f"{first}-{entry}"


def first_execution(name: str) -> str:
    """The name of a contact's first entry's execution, from the name of any of its entries'."""
    return name[:50]


class SegmentEntry(BaseModel):
    """The audience segment's members enter (at start, as the audience refreshes, or on the schedule: `mode`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    kind: Literal["segment"] = "segment"


class EventEntry(EventMatch):
    """A contact enters when it does a matching event (POST /events, EventBridge), if then in `audience` (if set)."""

    kind: Literal["event"]
    audience: Text | None = None


class Reentry(BaseModel):
    """How often one contact may enter: at most `max_entries` times (null: no limit), `min_interval` apart, and never
    while its last entry is still on its way through the journey."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    max_entries: Annotated[int, Field(strict=True, ge=1, le=1000)] | None = 1
    min_interval: Duration | None = None

    def again(self) -> bool:
        """Whether a contact may enter more than once."""
        return self.max_entries != 1

    def allows(self, entries: int, last: dt.datetime, now: dt.datetime) -> bool:
        """Whether a contact who entered `entries` times, the last at `last`, may enter again at `now`."""
        if self.max_entries is not None and entries >= self.max_entries:
            return False
        return self.min_interval is None or now - last >= self.min_interval


class JourneyDefinition(BaseModel):
    """What a marketer sends to create or edit a journey."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=200), OneLine]
    description: Annotated[str, Field(max_length=2000), MultiLine] = ""
    entry: Annotated[Union[SegmentEntry, EventEntry], Field(discriminator="kind")] = Field(default_factory=SegmentEntry)
    audience: Text | None = None
    reentry: Reentry = Field(default_factory=Reentry)
    ends_at: Moment | None = None
    exclusions: list[Text] = Field(default_factory=list, max_length=20)
    mode: Mode = "one_time"
    every: Every | None = None
    start_at: Moment | None = None
    timezone: str = "UTC"
    send_window: SendWindow | None = None
    closed_dates: Annotated[list[Day], Field(max_length=366)] = Field(default_factory=list)
    limits: Limits | None = None
    goal: Goal | None = None
    exit: Exits | None = None
    start: StepId
    steps: Annotated[list[Step], Field(min_length=1, max_length=100)]

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @model_validator(mode="after")
    def _entry(self) -> JourneyDefinition:
        if isinstance(self.entry, SegmentEntry):
            if self.audience is None:
                raise ValueError("audience: a journey entered by a segment's members needs that segment")
            if self.reentry.again() and self.mode == "one_time":
                raise ValueError(
                    "reentry: a one_time journey enters its audience once; reentry needs mode recurring or one_time_with_joiners"
                )
        else:
            if self.audience is not None:
                raise ValueError("audience: an event-triggered journey's audience goes in entry.audience")
            if self.mode != "one_time" or self.every is not None:
                raise ValueError("mode: an event-triggered journey runs as its events come (mode one_time, no schedule)")
        return self

    def audience_id(self) -> str | None:
        """The segment a contact must be in: the entering audience, or an event-triggered journey's filter."""
        return self.audience if isinstance(self.entry, SegmentEntry) else self.entry.audience

    def by_event(self) -> bool:
        return isinstance(self.entry, EventEntry)

    def step(self, step_id: str) -> Step:
        for s in self.steps:
            if s.id == step_id:
                return s
        raise KeyError(step_id)


Status = Literal["draft", "published", "running", "stopped"]


class Journey(JourneyDefinition):
    id: str
    org_id: str
    status: Status = "draft"
    version: int = 0  # the store's optimistic lock
    published_version: int | None = None  # which published version this is (1, 2, ... across copies: 1)
    state_machine_arn: str | None = None
    created_at: Instant
    updated_at: Instant
    published_at: Instant | None = None
    started_at: Instant | None = None
    copied_from: str | None = None

    def definition(self) -> JourneyDefinition:
        return JourneyDefinition.model_validate(self.model_dump(include=set(JourneyDefinition.model_fields)))
