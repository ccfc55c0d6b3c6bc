"""How much a contact may be sent: the org's frequency cap across journeys and channels, and a journey's limits.

    PUT /settings/frequency-cap   {"messages": 3, "days": 7, "channels": ["email", "sms"]}
    journey "limits":             {"messages_per_contact": 5, "messages_per_contact_per_day": 1,
                                   "messages_per_contact_in": {"messages": 2, "days": 7},
                                   "entries_per_day": 1000, "messages_per_second": 50}

Every send reserves its place in the contact's ledger before it goes: one item per contact listing the
messages sent to it recently (when, on which channel, by which journey, and the reservation's key), written
with a condition on the version read. Of two journeys sending to the same contact at the same moment, one
writes first and the other's write is refused, re-reads and counts the first's message, so the cap is never
exceeded however many sends race (tested with threads on the local stack's DynamoDB). A reservation is keyed
by (journey version, contact, step, execution): a retried send finds its own reservation and goes on.

    ORG#<org>#LEDGER#<contact>    LEDGER    version, sends: [[at, channel, journey, key], ...]

Windows: "days" and "per day" are rolling (the last 7 × 24 hours, the last 24 hours), as Pinpoint's
TimeframeCap and DailyCap are. The ledger keeps what the longest window needs (the org's days, a journey's
whole life for messages_per_contact) and drops the rest as it writes.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tern.aws.dynamodb import Table
from tern.errors import ConflictError, RetryLater, StoreError
from tern.text import MultiLine, OneLine

Channel = Literal["email", "sms"]
CHANNELS: tuple[Channel, ...] = ("email", "sms")
Count = Annotated[int, Field(strict=True, ge=1, le=1_000_000)]
KEEP = dt.timedelta(days=366)  # a journey's path lasts at most a year: older sends count for no limit


class FrequencyCap(BaseModel):
    """At most `messages` messages on `channels` to one contact in any `days` × 24 hours, all journeys together."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    messages: Annotated[int, Field(strict=True, ge=1, le=1000)]
    days: Annotated[int, Field(strict=True, ge=1, le=365)]
    channels: Annotated[list[Channel], Field(min_length=1, max_length=2)] = Field(default_factory=lambda: list(CHANNELS))

    @field_validator("channels")
    @classmethod
    def _distinct(cls, channels: list[Channel]) -> list[Channel]:
        if len(set(channels)) != len(channels):
            raise ValueError("each channel at most once")
        return channels


class Timeframe(BaseModel):
    """At most `messages` messages in any `days` x 24 hours (Pinpoint's TimeframeCap)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    messages: Count
    days: Annotated[int, Field(strict=True, ge=1, le=365)]


class Limits(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    messages_per_contact: Count | None = None  # this journey's messages to one contact, ever
    messages_per_contact_per_day: Count | None = None  # ... in any 24 hours
    entries_per_day: Count | None = None  # contacts entering this journey per day (the journey's time zone)
    messages_per_second: Count | None = None  # this journey's sends, all contacts together
    messages_per_contact_in: Timeframe | None = None  # this journey's messages to one contact in any `days` x 24 hours


@dataclass(frozen=True)
class Sent:
    at: dt.datetime
    channel: str
    journey_id: str
    key: str


def _pk(org_id: str, contact_id: str) -> str:
    return f"ORG#{org_id}#LEDGER#{contact_id}"


class Ledger:
    def __init__(self, table: Table):
        self.table = table

    def sends(self, org_id: str, contact_id: str) -> tuple[list[Sent], int | None]:
        item = self.table.get(_pk(org_id, contact_id), "LEDGER")
        if item is None:
            return [], None
        return [Sent(dt.datetime.fromisoformat(a), c, j, k) for a, c, j, k in json.loads(str(item["sends"]))], int(item["version"])

    def reserve(
        self, org_id: str, contact_id: str, key: str, channel: str, journey_id: str, now: dt.datetime,
        cap: FrequencyCap | None, limits: Limits | None,
    ) -> str | None:  # fmt: skip
        """Record a message about to go unless a cap forbids it; None when recorded (or recorded before under the
        same key), else which cap refused it. `now` is naive UTC."""
        for _ in range(20):
            sends, version = self.sends(org_id, contact_id)
            if any(s.key == key for s in sends):
                return None
            refused = over(sends, channel, journey_id, now, cap, limits)
            if refused:
                return refused
            kept = [s for s in sends if now - s.at < KEEP] + [Sent(now, channel, journey_id, key)]
            item = {"PK": _pk(org_id, contact_id), "SK": "LEDGER", "version": (version or 0) + 1,
                    "sends": json.dumps([[s.at.isoformat(), s.channel, s.journey_id, s.key] for s in kept])}  # fmt: skip
            try:
                if version is None:
                    self.table.put(item, condition="attribute_not_exists(PK)")
                else:
                    self.table.put(item, condition="version = :read", values={":read": version})
                return None
            except ConflictError:  # another send to this contact wrote first: count it and try again
                continue
        raise RetryLater(f"the send ledger of {contact_id} kept changing; trying again")

    def release(self, org_id: str, contact_id: str, key: str) -> None:
        """Take back a reservation whose message did not go (refused by the provider)."""
        for _ in range(20):
            sends, version = self.sends(org_id, contact_id)
            kept = [s for s in sends if s.key != key]
            if version is None or len(kept) == len(sends):
                return
            item = {"PK": _pk(org_id, contact_id), "SK": "LEDGER", "version": version + 1,
                    "sends": json.dumps([[s.at.isoformat(), s.channel, s.journey_id, s.key] for s in kept])}  # fmt: skip
            try:
                self.table.put(item, condition="version = :read", values={":read": version})
                return
            except ConflictError:
                continue
        raise StoreError(f"releasing a reservation of {contact_id}: the ledger kept changing")


def over(sends: list[Sent], channel: str, journey_id: str, now: dt.datetime, cap: FrequencyCap | None, limits: Limits | None) -> str | None:
    """Which cap one more message on `channel` from `journey_id` would exceed, if any."""
    if cap is not None and channel in cap.channels:
        since = now - dt.timedelta(days=cap.days)
        if sum(1 for s in sends if s.channel in cap.channels and s.at > since) >= cap.messages:
            return f"frequency cap: {cap.messages} in {cap.days} days"
    if limits is not None:
        mine = [s for s in sends if s.journey_id == journey_id]
        if limits.messages_per_contact is not None and len(mine) >= limits.messages_per_contact:
            return f"messages_per_contact: {limits.messages_per_contact}"
        per_day = limits.messages_per_contact_per_day
        if per_day is not None and sum(1 for s in mine if s.at > now - dt.timedelta(days=1)) >= per_day:
            return f"messages_per_contact_per_day: {per_day}"
        frame = limits.messages_per_contact_in
        if frame is not None and sum(1 for s in mine if s.at > now - dt.timedelta(days=frame.days)) >= frame.messages:
            return f"messages_per_contact_in: {frame.messages} in {frame.days} days"
    return None


Language = Annotated[str, Field(pattern=r"^[a-z]{2}(-[A-Z]{2})?$", description="a language code: en, pl, pt-BR")]


class ConsentTopic(BaseModel):
    """A consent as recipients see it on the preference page: its value in contacts' consents, and its names."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    consent: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:-]+$")]
    channel: Literal["email", "sms"] = "email"
    names: Annotated[dict[Language, Annotated[str, Field(min_length=1, max_length=100), OneLine]], Field(min_length=1, max_length=20)]
    descriptions: Annotated[dict[Language, Annotated[str, Field(max_length=300), OneLine]], Field(max_length=20)] = {}


class MessageSettings(BaseModel):
    """What every marketing message says of the org: its postal address (CAN-SPAM asks for it in each), and the
    consent topics its preference page lists, in its languages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    postal_address: Annotated[str, Field(min_length=1, max_length=500), MultiLine] | None = None
    language: Language = "en"  # the page's language when the recipient's browser asks for none the topics have
    topics: Annotated[list[ConsentTopic], Field(max_length=20)] = []

    @field_validator("topics")
    @classmethod
    def _distinct(cls, topics: list[ConsentTopic]) -> list[ConsentTopic]:
        seen = [t.consent for t in topics]
        if len(seen) != len(set(seen)):
            raise ValueError("each consent is one topic: a consent is listed twice")
        return topics


class OrgSettings:
    """The org's settings in the table: the frequency cap, and what its messages say of it."""

    def __init__(self, table: Table):
        self.table = table

    def frequency_cap(self, org_id: str) -> FrequencyCap | None:
        item = self.table.get(f"ORG#{org_id}", "SETTINGS#frequency-cap")
        return FrequencyCap.model_validate_json(str(item["body"])) if item else None

    def messages(self, org_id: str) -> MessageSettings:
        item = self.table.get(f"ORG#{org_id}", "SETTINGS#messages")
        return MessageSettings.model_validate_json(str(item["body"])) if item else MessageSettings()

    def set_messages(self, org_id: str, settings: MessageSettings) -> None:
        self.table.put({"PK": f"ORG#{org_id}", "SK": "SETTINGS#messages", "body": settings.model_dump_json()})

    def set_frequency_cap(self, org_id: str, cap: FrequencyCap | None) -> None:
        if cap is None:
            self.table.take(f"ORG#{org_id}", "SETTINGS#frequency-cap")
        else:
            self.table.put({"PK": f"ORG#{org_id}", "SK": "SETTINGS#frequency-cap", "body": cap.model_dump_json()})


class Throttle:
    """A journey's messages_per_second: a counter per journey and second, added to only while under the limit."""

    def __init__(self, table: Table):
        self.table = table

    def take(self, org_id: str, journey_id: str, per_second: int, now: dt.datetime) -> None:
        """Count one send in this second, or RetryLater when the second is full (the Task retries with backoff)."""
        second = int(now.replace(tzinfo=dt.UTC).timestamp()) if now.tzinfo is None else int(now.timestamp())
        if not self.table.add_below(f"ORG#{org_id}#RATE#{journey_id}", str(second), "sent", per_second, expires_at=second + 3600):
            raise RetryLater(f"journey {journey_id} is at its {per_second} messages a second")
