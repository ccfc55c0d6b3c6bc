"""The conditions a journey's `split` and `multi_split` steps test, for one contact at one moment.

A condition is a subset of the segment format (docs/SEGMENT-FORMAT.md) that needs no query over the lake:

- attribute, age, gender, distance: on the contact's snapshot, taken when it entered the journey;
- tags, categories, consents: the snapshot's lists with Tern's overlay of changes applied (bulk actions,
  update_contact steps), the latest change of a value winning, read from the table at that moment;
- in_segment / not_in_segment: the other segment's stored membership at that moment;
- engagement: whether the message an earlier step of this journey sent to the contact was delivered, opened,
  clicked (on `link`, if given) or hard-bounced, by then;
- all / any / not groups.

Semantics are the compiler's (tern.segments.compiler): every criterion is two-valued, an unknown value
failing a comparison (`ne` and `not_in` keep it, as SQL's `x IS NULL OR x <> v` does), so `not` is the
exact complement. tests/unit/test_journey_conditions.py holds the evaluator to the compiler on a real lake.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag

from tern import lake
from tern.segments.compiler import EARTH_RADIUS_KM, latest_birth_date
from tern.segments.criteria import (
    AgeCriterion,
    AttributeCriterion,
    DistanceCriterion,
    GenderCriterion,
    ListCriterion,
    SegmentMembershipCriterion,
    attribute_type,
    node_tag,
)
from tern.segments.values import parse_time
from tern.text import OneLine

StepId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
# how ingest_events notes each event (tern.journeys.ingest): a branch's answer, or the events dataset's type
NOTED_AS = {"delivered": ("email_delivered", "sms_delivered"), "opened": ("opened",), "clicked": ("clicked",), "bounced": ("bounced",)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class EngagementCriterion(_Strict):
    """The message the journey's step `message_step` sent this contact had this event (a hard bounce for
    `bounced`; a click on `link` when given); false when that step sent it nothing."""

    kind: Literal["engagement"]
    message_step: StepId
    event: Literal["delivered", "opened", "clicked", "bounced"]
    link: Annotated[str, Field(min_length=1, max_length=2000), OneLine] | None = None


class AllOf(_Strict):
    all: Annotated[list[Condition], Field(max_length=200)]


class AnyOf(_Strict):
    any: Annotated[list[Condition], Field(max_length=200)]


class NoneOf(_Strict):
    not_: Condition = Field(alias="not")


CONDITION_KINDS = ("attribute", "tags", "categories", "consents", "age", "gender", "distance", "in_segment", "not_in_segment", "engagement")


Condition = Annotated[
    Union[
        Annotated[AllOf, Tag("all")],
        Annotated[AnyOf, Tag("any")],
        Annotated[NoneOf, Tag("not")],
        Annotated[AttributeCriterion, Tag("attribute")],
        Annotated[ListCriterion, Tag("tags")],
        Annotated[ListCriterion, Tag("categories")],
        Annotated[ListCriterion, Tag("consents")],
        Annotated[AgeCriterion, Tag("age")],
        Annotated[GenderCriterion, Tag("gender")],
        Annotated[DistanceCriterion, Tag("distance")],
        Annotated[SegmentMembershipCriterion, Tag("in_segment")],
        Annotated[SegmentMembershipCriterion, Tag("not_in_segment")],
        Annotated[EngagementCriterion, Tag("engagement")],
    ],
    Discriminator(
        node_tag,
        custom_error_type="condition",
        custom_error_message=f"a condition is a criterion with a kind ({', '.join(CONDITION_KINDS)}) or a group: all, any or not",
    ),
]

AllOf.model_rebuild()
AnyOf.model_rebuild()
NoneOf.model_rebuild()


@dataclass(frozen=True)
class Facts:
    """What a condition may look at for one contact: the snapshot, and lookups made at that moment."""

    contact: dict[str, Any]
    today: dt.date
    changes: Callable[[], Mapping[tuple[str, str], str]]  # (column, value) -> "add" | "remove": the overlay
    member: Callable[[str], bool]  # segment id -> is the contact a stored member
    engaged: Callable[[str, tuple[str, ...], str | None], bool]  # (message step, noted as, link) -> seen


class Evaluator:
    def __init__(self, facts: Facts):
        self.facts = facts
        self._changes: Mapping[tuple[str, str], str] | None = None

    def holds(self, condition: Any) -> bool:
        if isinstance(condition, AllOf):
            return all(self.holds(c) for c in condition.all)
        if isinstance(condition, AnyOf):
            return any(self.holds(c) for c in condition.any)
        if isinstance(condition, NoneOf):
            return not self.holds(condition.not_)
        if isinstance(condition, AttributeCriterion):
            return attribute_holds(condition, self.facts.contact)
        if isinstance(condition, ListCriterion):
            has = [v in self.effective(condition.kind) for v in condition.values]
            return all(has) if condition.op == "has_all" else any(has) if condition.op == "has_any" else not any(has)
        if isinstance(condition, AgeCriterion):
            return age_holds(condition, self.facts.contact.get("birth_date"), self.facts.today)
        if isinstance(condition, GenderCriterion):
            return condition.value == "any" or self.facts.contact.get("gender") == condition.value
        if isinstance(condition, DistanceCriterion):
            return distance_holds(condition, self.facts.contact.get("latitude"), self.facts.contact.get("longitude"))
        if isinstance(condition, SegmentMembershipCriterion):
            return self.facts.member(condition.segment_id) == (condition.kind == "in_segment")
        if isinstance(condition, EngagementCriterion):
            return self.facts.engaged(condition.message_step, NOTED_AS[condition.event], condition.link)
        raise TypeError(f"not a condition: {condition!r}")

    def effective(self, column: str) -> set[str]:
        """The contact's tags, categories or consents with the overlay's changes applied."""
        if self._changes is None:
            self._changes = self.facts.changes()
        values = set(self.facts.contact.get(column) or [])
        for (changed, value), action in self._changes.items():
            if changed == column:
                (values.add if action == "add" else values.discard)(value)
        return values


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value.date() if isinstance(value, dt.datetime) else value
    return dt.date.fromisoformat(str(value)[:10])


def _timestamp(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return parse_time(str(value).replace(" ", "T"))


def _number(text: Any) -> float | None:
    """TRY_CAST(text AS DOUBLE): a number written plainly, else unknown."""
    try:
        value = float(str(text).strip())
    except ValueError:
        return None
    return None if "_" in str(text) or math.isnan(value) or math.isinf(value) else value


def attribute_holds(c: AttributeCriterion, contact: dict[str, Any]) -> bool:
    value: Any
    typed: Callable[[Any], Any]
    if c.field.startswith("attributes."):
        value = (contact.get("attributes") or {}).get(c.field[len("attributes.") :])
        sample = c.value if c.value is not None else (c.values[0] if c.values else None)
        numeric = isinstance(sample, (int, float)) and not isinstance(sample, bool)
        if numeric and value is not None:
            value = _number(value)

        typed = _float if numeric else _same
    else:
        column_type = attribute_type(c.field)
        value = contact.get(c.field)
        if column_type is lake.ColumnType.DATE:
            value, typed = _date(value), _date
        elif column_type is lake.ColumnType.TIMESTAMP:
            value, typed = _timestamp(value), _timestamp
        else:
            typed = _same

    op = c.op
    if op in ("is_empty", "is_not_empty"):
        empty = value is None or value == ""
        return empty if op == "is_empty" else not empty
    if value is None:
        return op in ("ne", "not_in")
    if op in ("eq", "ne", "gt", "gte", "lt", "lte"):
        right = typed(c.value)
        try:
            return {"eq": value == right, "ne": value != right}[op] if op in ("eq", "ne") else _ordered(value, op, right)
        except TypeError:  # a text attribute compared with a number: unknown, as TRY_CAST makes it
            return False
    assert c.values is not None or op in ("contains", "starts_with")
    if op == "between":
        assert c.values is not None
        return bool(typed(c.values[0]) <= value <= typed(c.values[1]))
    if op in ("in", "not_in"):
        assert c.values is not None
        found = value in [typed(v) for v in c.values]
        return found if op == "in" else not found
    if op == "contains":
        return str(c.value) in str(value)
    return str(value).startswith(str(c.value))  # starts_with


def _float(value: Any) -> float:
    return float(value)


def _same(value: Any) -> Any:
    return value


def _ordered(left: Any, op: str, right: Any) -> bool:
    return bool({"gt": left > right, "gte": left >= right, "lt": left < right, "lte": left <= right}[op])


def age_holds(c: AgeCriterion, birth: Any, today: dt.date) -> bool:
    born = _date(birth)
    if born is None:
        return c.include_unknown
    if c.min is not None and not born <= latest_birth_date(today, c.min):
        return False
    return c.max is None or born > latest_birth_date(today, c.max + 1)


def distance_holds(c: DistanceCriterion, lat: Any, lon: Any) -> bool:
    if lat is None or lon is None:
        return False
    dlat, dlon = math.radians(float(lat)) - math.radians(c.lat), math.radians(float(lon)) - math.radians(c.lon)
    a = math.sin(dlat / 2) ** 2 + math.cos(math.radians(c.lat)) * math.cos(math.radians(float(lat))) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a))) <= float(c.within_km)
