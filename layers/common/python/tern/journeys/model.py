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
"""

from __future__ import annotations

import datetime as dt
import hashlib
import zoneinfo
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from tern.clock import Instant
from tern.journeys.caps import Limits
from tern.journeys.conditions import Condition
from tern.journeys.matching import EventMatch, Exits, Goal
from tern.journeys.times import Duration, Moment, SignedDuration
from tern.journeys.windows import SendWindow
from tern.segments.segment import Every
from tern.segments.values import Day
from tern.text import MultiLine, OneLine

StepId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
Text = Annotated[str, Field(min_length=1, max_length=500), OneLine]


class _Step(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    id: StepId


class SendEmail(_Step):
    kind: Literal["send_email"]
    content_id: Text
    address_field: Literal["email"] = "email"
    next: StepId | None = None


class SendSms(_Step):
    kind: Literal["send_sms"]
    content_id: Text
    phone_field: Literal["phone"] = "phone"
    next: StepId | None = None


class BranchOnEvent(_Step):
    """Wait for an engagement event on an earlier message; `yes` when it comes, `no` when the timeout passes."""

    kind: Literal["branch_on_event"]
    message_step: StepId
    event: Literal["clicked", "opened", "bounced"]
    link: Annotated[str, Field(min_length=1, max_length=2000), OneLine] | None = None
    timeout: Duration
    yes: StepId | None = None
    no: StepId | None = None


# where a wait_until may read its time: the entry event's fields, the contact's date and time columns, its attributes
TIME_FIELDS = r"^(entry_event\.(ts|event_start)|entry_event\.properties\.[^.]{1,200}|contact\.(birth_date|created_at|updated_at)|contact\.attributes\.[^.]{1,200})$"


class WaitUntil(_Step):
    """Hold the contact until `at`, or until the time `from` one of its fields (plus `offset`, which may be
    negative); a contact whose field holds no time goes to `no_value`, or its path ends (recorded no_date)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    kind: Literal["wait_until"]
    at: Moment | None = None
    from_: Annotated[str, Field(pattern=TIME_FIELDS)] | None = Field(default=None, alias="from")
    offset: SignedDuration | None = None
    no_value: StepId | None = None
    next: StepId | None = None

    @model_validator(mode="after")
    def _one_time(self) -> WaitUntil:
        if (self.at is None) == (self.from_ is None):
            raise ValueError("a wait_until needs either at (a time) or from (a field holding one)")
        if self.at is not None and (self.offset is not None or self.no_value is not None):
            raise ValueError("offset and no_value go with from, not at")
        return self


class WaitFor(_Step):
    kind: Literal["wait_for"]
    duration: Duration
    next: StepId | None = None


class UpdateContact(_Step):
    """Add or remove a tag, category or consent (recorded in Tern's overlay, never in the customer's data)."""

    kind: Literal["update_contact"]
    field: Literal["tags", "categories", "consents"]
    action: Literal["add", "remove"]
    value: Annotated[str, Field(min_length=1, max_length=200), OneLine]
    next: StepId | None = None


class Webhook(_Step):
    """POST the contact (its snapshot and entry event) to a webhook destination, signed as exports are; a delivery
    that fails for good is recorded `failed` and the path goes on."""

    kind: Literal["webhook"]
    destination_id: Text
    next: StepId | None = None


class End(_Step):
    kind: Literal["end"]


class SplitBranch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    percent: Annotated[int, Field(strict=True, ge=1, le=99)]
    next: StepId | None = None


class RandomSplit(_Step):
    """Contacts divided among up to 5 branches by percent; which branch is a hash of (journey, step, contact), so
    a retry, a re-run or a copy of the execution never moves a contact (see `bucket`)."""

    kind: Literal["random_split"]
    branches: Annotated[list[SplitBranch], Field(min_length=2, max_length=5)]

    @field_validator("branches")
    @classmethod
    def _whole(cls, branches: list[SplitBranch]) -> list[SplitBranch]:
        if sum(b.percent for b in branches) != 100:
            raise ValueError(f"the branches' percents add up to {sum(b.percent for b in branches)}, not 100")
        return branches


class Holdout(_Step):
    """`percent` of the contacts leave here, recorded as held_out (the control group); the others go on."""

    kind: Literal["holdout"]
    percent: Annotated[int, Field(strict=True, ge=1, le=99)]
    next: StepId | None = None


class Split(_Step):
    """Evaluate `condition` for the contact (after waiting `after`, if given): `yes` when it holds, else `no`."""

    kind: Literal["split"]
    condition: Condition
    after: Duration | None = None
    yes: StepId | None = None
    no: StepId | None = None


class ConditionBranch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    condition: Condition
    next: StepId | None = None


class MultiSplit(_Step):
    """The first branch whose condition holds (in their order), else `else` (after waiting `after`, if given)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    kind: Literal["multi_split"]
    branches: Annotated[list[ConditionBranch], Field(min_length=1, max_length=5)]
    else_: StepId | None = Field(default=None, alias="else")
    after: Duration | None = None


Step = Annotated[
    Union[SendEmail, SendSms, BranchOnEvent, WaitUntil, WaitFor, UpdateContact, End, RandomSplit, Holdout, Split, MultiSplit, Webhook],
    Field(discriminator="kind"),
]
DECISIONS = (RandomSplit, Holdout, Split, MultiSplit)  # steps whose Task answers which way the contact goes
Mode = Literal["one_time", "one_time_with_joiners", "recurring"]


def successors(step: Step) -> list[tuple[str, StepId]]:
    """(edge, step id) for each way out of a step; the edge names the outcome that takes it."""
    if isinstance(step, BranchOnEvent):
        return [(edge, target) for edge, target in (("yes", step.yes), ("no", step.no)) if target]
    if isinstance(step, End):
        return []
    if isinstance(step, RandomSplit):
        return [(f"branches[{i}]", b.next) for i, b in enumerate(step.branches) if b.next]
    if isinstance(step, Split):
        return [(edge, target) for edge, target in (("yes", step.yes), ("no", step.no)) if target]
    if isinstance(step, WaitUntil):
        return [(edge, target) for edge, target in (("next", step.next), ("no_value", step.no_value)) if target]
    if isinstance(step, MultiSplit):
        edges = [(f"branches[{i}]", b.next) for i, b in enumerate(step.branches)] + [("else", step.else_)]
        return [(edge, target) for edge, target in edges if target]
    return [("next", step.next)] if step.next else []


def bucket(journey_id: str, step_id: str, contact_id: str) -> int:
    """The contact's bucket 0..99 at a split or holdout: the same for the same journey, step and contact, always
    (a digest, not a random draw), and independent between steps."""
    digest = hashlib.sha256(f"{journey_id}\n{step_id}\n{contact_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def branch_of(step: RandomSplit, bucket_number: int) -> int:
    """Which branch (index) a bucket falls in: branches take consecutive runs of buckets in their order."""
    upper = 0
    for index, branch in enumerate(step.branches):
        upper += branch.percent
        if bucket_number < upper:
            return index
    raise ValueError("a bucket is 0..99")


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
        for _, target in successors(definition.step(step_id)):
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
