"""Contact events (what customers' apps send Tern) and what a journey matches them with: goals and exits.

    POST /events  {"events": [{"contact_id": "c1", "event_type": "purchase", "ts": "2026-11-23T10:00:00Z",
                               "order_id": "o-17", "amount": 120.5, "event_start": "2026-12-05T19:00:00+01:00",
                               "properties": {"device": "mobile"}}]}

or on EventBridge, `{"source": "tern.contact-events", "detail-type": "Contact Event", "detail": {"org_id": ...,
...one event...}}`. An event's fields are the events dataset's (docs/DESIGN.md, data contracts); `event_id`,
when given, makes a repeated delivery recognisably the same event (otherwise a digest of its content).

A match is `{"event_type": "purchase", "filters": {...}}` with an activity criterion's filters
(docs/SEGMENT-FORMAT.md): each named field equals the value, or one of the values of a list;
`properties.KEY` reads the event's properties as text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tern.journeys.times import Duration
from tern.segments.criteria import FilterValue, check_event_filters, event_filter_column
from tern.segments.values import MAX_VALUES, parse_time
from tern.text import OneLine

OWN_EVENT_TYPES = ("journey_step",)  # written by Tern only
OWN_PREFIXES = ("email_", "sms_")  # engagement Tern records from SES and SMS receipts
EventType = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.:-]*$")]
MAX_EVENTS = 500  # a POST /events batch
MAX_PROPERTIES = 50


class EventMatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    event_type: EventType
    filters: Annotated[dict[str, FilterValue], Field(max_length=50)] = Field(default_factory=dict)

    @field_validator("filters")
    @classmethod
    def _known(cls, filters: dict[str, Any]) -> dict[str, Any]:
        return check_event_filters(filters)

    def matches(self, event: dict[str, Any]) -> bool:
        return event.get("event_type") == self.event_type and filters_hold(self.filters, event)


class Goal(EventMatch):
    """A contact who does this within `within` of entering converts; with `exit`, it then leaves at its next step."""

    within: Duration
    exit: Annotated[bool, Field(strict=True)] = False


class Exits(BaseModel):
    """When a contact leaves before its path ends (at its next step): it left the audience, or did an event."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    when_not_in_audience: Annotated[bool, Field(strict=True)] = False
    on_event: EventMatch | None = None


def filters_hold(filters: dict[str, Any], event: dict[str, Any]) -> bool:
    """An activity criterion's filters on one event, as the compiler's SQL reads them."""
    for name, wanted in filters.items():
        column = event_filter_column(name)
        values: list[Any] = wanted if isinstance(wanted, list) else [wanted]
        actual: Any
        if column.startswith("properties."):
            actual = _properties(event).get(column[len("properties.") :])
            values = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
        else:  # filterable columns are text and numbers (tern.lake.EVENT_FILTER_COLUMNS)
            actual = event.get(column)
        if actual is None or actual not in values:
            return False
    return True


def _properties(event: dict[str, Any]) -> dict[str, str]:
    found = event.get("properties") or {}
    return dict(found) if not isinstance(found, dict) else found


class ContactEvent(BaseModel):
    """One event about a contact, as an app sends it (POST /events, or the detail of an EventBridge event)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    contact_id: Annotated[str, Field(min_length=1, max_length=200), OneLine]
    event_type: EventType
    ts: Annotated[str, Field(max_length=40)] | None = None  # ISO 8601; default: when Tern receives it
    event_id: Annotated[str, Field(min_length=1, max_length=200), OneLine] | None = None
    channel: Annotated[str, Field(max_length=200), OneLine] | None = None
    campaign_id: Annotated[str, Field(max_length=200), OneLine] | None = None
    link: Annotated[str, Field(max_length=2000), OneLine] | None = None
    url: Annotated[str, Field(max_length=2000), OneLine] | None = None
    search_query: Annotated[str, Field(max_length=1000), OneLine] | None = None
    order_id: Annotated[str, Field(max_length=200), OneLine] | None = None
    product_id: Annotated[str, Field(max_length=200), OneLine] | None = None
    event_ref: Annotated[str, Field(max_length=200), OneLine] | None = None
    production_ref: Annotated[str, Field(max_length=200), OneLine] | None = None
    event_start: Annotated[str, Field(max_length=40)] | None = None  # ISO 8601: when the ticketed event takes place
    quantity: Annotated[int, Field(strict=True, ge=-(2**31), lt=2**31)] | None = None
    amount: Annotated[float, Field(strict=True, allow_inf_nan=False)] | None = None
    sales_channel: Annotated[str, Field(max_length=200), OneLine] | None = None
    score_delta: Annotated[int, Field(strict=True, ge=-(2**31), lt=2**31)] | None = None
    properties: Annotated[dict[Annotated[str, Field(min_length=1, max_length=200), OneLine], Annotated[str, Field(max_length=MAX_VALUES), OneLine]],
                          Field(max_length=MAX_PROPERTIES)] = Field(default_factory=dict)  # fmt: skip

    @field_validator("event_type")
    @classmethod
    def _theirs(cls, value: str) -> str:
        if value in OWN_EVENT_TYPES or value.startswith(OWN_PREFIXES):
            raise ValueError(f"{value!r} is an event type Tern records itself (journey_step, email_*, sms_*)")
        return value

    @field_validator("ts", "event_start")
    @classmethod
    def _time(cls, value: str | None) -> str | None:
        if value is not None:
            parse_time(value)
        return value

    def row(self, received: dt.datetime) -> dict[str, Any]:
        """The events dataset's row (naive UTC times); its event_id stable for the same event."""
        fields = self.model_dump(exclude_none=True)
        ts = parse_time(self.ts) if self.ts else received
        event_id = (
            self.event_id or "ev-" + hashlib.sha256(json.dumps({**fields, "ts": ts.isoformat()}, sort_keys=True).encode()).hexdigest()[:32]
        )
        return {
            **fields, "event_id": event_id, "ts": ts, "event_start": parse_time(self.event_start) if self.event_start else None,
            "properties": sorted(self.properties.items()),
        }  # fmt: skip
