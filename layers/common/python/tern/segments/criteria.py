"""The criteria of a segment definition (docs/SEGMENT-FORMAT.md), each a model that checks its own fields, and the
tags a definition's tree nodes carry (a criterion's kind, or a group's one key)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, ValidationInfo, field_validator, model_validator

from tern import lake
from tern.segments.values import (
    MAX_VALUES,
    Comparison,
    Day,
    Days,
    Number,
    Scalar,
    Strict,
    Text,
    parse_day,
    parse_time,
    shown,
)
from tern.text import OneLine, one_line

AttributeOp = Literal[
    "eq", "ne", "gt", "gte", "lt", "lte", "between", "in", "not_in",
    "contains", "starts_with", "is_empty", "is_not_empty",
]  # fmt: skip
_ONE_VALUE_OPS = {"eq", "ne", "gt", "gte", "lt", "lte", "contains", "starts_with"}
_MANY_VALUE_OPS = {"between", "in", "not_in"}
_TEXT_OPS = {"contains", "starts_with"}
_ORDER_OPS = {"gt", "gte", "lt", "lte", "between"}


def _typed(value: Any, column_type: lake.ColumnType, op: str) -> Any:
    """The value converted to the column's type, or ValueError saying what was expected."""
    T = lake.ColumnType
    if column_type is T.STRING:
        if not isinstance(value, str):
            raise ValueError(f"expected text, got {json.dumps(value)}")
        return value
    if column_type in (T.INT, T.DOUBLE):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"expected a number, got {json.dumps(value)}")
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("expected a finite number")
        if isinstance(value, int) and not -(2**63) <= value < 2**63:
            raise ValueError("number out of range")
        return value
    if column_type is T.BOOL:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {json.dumps(value)}")
        if op in _ORDER_OPS:
            raise ValueError(f"operator {op} does not apply to a true/false field")
        return value
    if column_type is T.DATE:
        return parse_day(value)
    if column_type is T.TIMESTAMP:
        if not isinstance(value, str):
            raise ValueError(f"expected an ISO date-time, e.g. 2026-11-22T09:30:00Z, got {shown(value)}")
        return parse_time(value)
    raise ValueError(f"values of type {column_type.value} cannot be compared")


def attribute_type(field: str) -> lake.ColumnType:
    """The type of an attribute criterion's field; custom attributes are text."""
    if field.startswith("attributes."):
        return lake.ColumnType.STRING
    return lake.CONTACTS[field]


def _custom_value(value: Any) -> Any:
    # Custom attributes are stored as text; a number compares numerically, anything else as text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _typed(value, lake.ColumnType.DOUBLE, "eq")
    return value


class AttributeCriterion(Strict):
    kind: Literal["attribute"]
    field: Text
    op: AttributeOp
    value: Scalar | None = None
    values: Annotated[list[Scalar], Field(max_length=MAX_VALUES)] | None = None

    @field_validator("field")
    @classmethod
    def _known_field(cls, field: str) -> str:
        if field.startswith("attributes."):
            if not field[len("attributes.") :]:
                raise ValueError("a custom attribute needs a key: attributes.KEY")
            return field
        if field in lake.LIST_COLUMNS:
            raise ValueError(f"{field} is a list; use a criterion of kind {field!r}")
        if field not in lake.SCALAR_CONTACT_COLUMNS:
            raise ValueError(f"unknown contact field {field!r}; use a contacts column or attributes.KEY")
        return field

    @field_validator("value")
    @classmethod
    def _value_fits(cls, value: Any, info: ValidationInfo) -> Any:
        field, op = info.data.get("field"), info.data.get("op")
        if field is None or op is None:
            return value
        if op not in _ONE_VALUE_OPS:
            if value is not None:
                raise ValueError(f"operator {op} takes {'values' if op in _MANY_VALUE_OPS else 'no value'}")
            return value
        if value is None:
            raise ValueError(f"operator {op} needs a value")
        if op in _TEXT_OPS and not isinstance(value, str):
            raise ValueError(f"operator {op} needs text")
        if field.startswith("attributes."):
            return _custom_value(value)
        column_type = attribute_type(field)
        if op in _TEXT_OPS and column_type is not lake.ColumnType.STRING:
            raise ValueError(f"operator {op} applies to text fields; {field} is {column_type.value}")
        _typed(value, column_type, op)
        return value

    @field_validator("values")
    @classmethod
    def _values_fit(cls, values: list[Any] | None, info: ValidationInfo) -> list[Any] | None:
        field, op = info.data.get("field"), info.data.get("op")
        if field is None or op is None:
            return values
        if op not in _MANY_VALUE_OPS:
            if values is not None:
                raise ValueError(f"operator {op} takes {'a value' if op in _ONE_VALUE_OPS else 'no value'}")
            return values
        if not values:
            raise ValueError(f"operator {op} needs a non-empty list of values")
        if op == "between" and len(values) != 2:
            raise ValueError("between needs exactly two values: [low, high]")
        if field.startswith("attributes."):
            typed = [_custom_value(v) for v in values]
            if op == "between" and len({type(v) is str for v in typed}) > 1:
                raise ValueError("between needs two numbers or two texts")
        else:
            column_type = attribute_type(field)
            typed = [_typed(v, column_type, op) for v in values]
        if op == "between" and typed[0] > typed[1]:
            raise ValueError("between needs low <= high")
        return list(typed) if field.startswith("attributes.") else values

    @model_validator(mode="after")
    def _needs_values(self) -> AttributeCriterion:
        if self.op in _MANY_VALUE_OPS and self.values is None:
            raise ValueError(f"operator {self.op} needs values")
        if self.op in _ONE_VALUE_OPS and self.value is None:
            raise ValueError(f"operator {self.op} needs a value")
        return self


class ListCriterion(Strict):
    """tags, categories or consents: has any / all / none of the values."""

    kind: Literal["tags", "categories", "consents"]
    op: Literal["has_any", "has_all", "has_none"]
    values: Annotated[list[Text], Field(min_length=1, max_length=MAX_VALUES)]


class AgeCriterion(Strict):
    kind: Literal["age"]
    min: Annotated[int, Field(strict=True, ge=0, le=200)] | None = None
    max: Annotated[int, Field(strict=True, ge=0, le=200)] | None = None
    include_unknown: Annotated[bool, Field(strict=True)] = True

    @model_validator(mode="after")
    def _bounds(self) -> AgeCriterion:
        if self.min is None and self.max is None:
            raise ValueError("age needs min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("age needs min <= max")
        return self


class GenderCriterion(Strict):
    kind: Literal["gender"]
    value: Literal["female", "male", "any"]


class DistanceCriterion(Strict):
    kind: Literal["distance"]
    lat: Annotated[float, Field(strict=True, ge=-90, le=90)]
    lon: Annotated[float, Field(strict=True, ge=-180, le=180)]
    within_km: Annotated[float, Field(strict=True, ge=0, le=20038)]


class Window(Strict):
    """Which events count, by time. Exactly one of last_days, days_ago, between, days_back."""

    last_days: Days | None = None
    days_ago: Days | None = None
    between: tuple[Day, Day] | None = None
    days_back: Days | None = None
    field: Literal["ts", "event_start"] = "ts"

    @model_validator(mode="after")
    def _one_kind(self) -> Window:
        given = [k for k in ("last_days", "days_ago", "between", "days_back") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a window needs exactly one of last_days, days_ago, between, days_back")
        if self.between is not None and self.between[0] > self.between[1]:
            raise ValueError("between needs the first date <= the second")
        return self


Measure = Literal["count", "sum:amount", "sum:quantity", "distinct:order_id", "distinct:event_ref"]


def event_filter_column(name: str) -> str:
    """The events column a filter key names, or ValueError."""
    one_line(name)
    if name.startswith("properties."):
        if not name[len("properties.") :]:
            raise ValueError("a property filter needs a key: properties.KEY")
        return name
    column = lake.EVENT_FILTER_ALIASES.get(name, name)
    if column not in lake.EVENT_FILTER_COLUMNS:
        known = sorted(set(lake.EVENT_FILTER_ALIASES) | lake.EVENT_FILTER_COLUMNS)
        raise ValueError(f"unknown event field {name!r}; known: {', '.join(known)}, properties.KEY")
    return column


FilterValue = Union[Scalar, Annotated[list[Scalar], Field(min_length=1, max_length=MAX_VALUES)]]


def check_event_filters(filters: dict[str, Any]) -> dict[str, Any]:
    """Event filters (an activity criterion's, a journey's event match): known fields, values of their types."""
    for name, value in filters.items():
        column = event_filter_column(name)
        if column.startswith("properties."):
            continue
        column_type = lake.EVENTS[column]
        for v in value if isinstance(value, list) else [value]:
            try:
                _typed(v, column_type, "eq")
            except ValueError as e:
                raise ValueError(f"{name}: {e}") from None
    return filters


class ActivityCriterion(Strict):
    kind: Literal["activity"]
    event_type: Text
    filters: dict[str, FilterValue] = Field(default_factory=dict, max_length=50)
    window: Window | None = None
    measure: Measure = "count"
    op: Comparison = "gte"
    value: Number = 1

    @field_validator("filters")
    @classmethod
    def _known_filters(cls, filters: dict[str, Any]) -> dict[str, Any]:
        return check_event_filters(filters)

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float) -> float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("expected a finite number")
        return value


class RecencyCriterion(Strict):
    kind: Literal["recency"]
    event_types: Annotated[list[Text], Field(min_length=1, max_length=MAX_VALUES)] | None = None
    op: Literal["within", "not_within", "days_ago"]
    days: Days


class LeadTimeCriterion(Strict):
    kind: Literal["lead_time"]
    max_days: Days
    event_type: Text = "purchase"
    window: Window | None = None


class ScoreChangeCriterion(Strict):
    """Sum of score_delta over the last `days` days against a bound; `top` keeps the K biggest risers."""

    kind: Literal["score_change"]
    days: Annotated[int, Field(strict=True, ge=1, le=36500)]
    op: Comparison | None = None
    value: Number | None = None
    top: Annotated[int, Field(strict=True, ge=1, le=10_000_000)] | None = None

    @model_validator(mode="after")
    def _bound_or_top(self) -> ScoreChangeCriterion:
        if (self.op is None) != (self.value is None):
            raise ValueError("score_change needs op and value together")
        if self.op is None and self.top is None:
            raise ValueError("score_change needs op and value, or top")
        return self


class JourneyOutcomeCriterion(Strict):
    """Contacts with an outcome at a step of a journey (journey_step events)."""

    kind: Literal["journey_outcome"]
    journey_id: Text
    step_id: Text | None = None
    outcome: Literal[
        "processed",
        "sent",
        "opened",
        "clicked",
        "bounced",
        "stopped",
        "blocked",
        "exited",
        "failed",
        "held_out",
        "branched",
        "deferred",
        "capped",
        "outside_window",
        "converted",
        "no_date",
        "unsubscribed",
    ]
    way: Annotated[str, Field(min_length=1, max_length=40), OneLine] | None = None  # a decision's way: yes, no, branches[i], else
    window: Window | None = None


class SegmentMembershipCriterion(Strict):
    """Members (in_segment) or non-members (not_in_segment) of another segment, by its stored membership."""

    kind: Literal["in_segment", "not_in_segment"]
    segment_id: Text


class ListMembershipCriterion(Strict):
    """Contacts on an imported static list."""

    kind: Literal["in_list"]
    list_id: Text


Criterion = Union[
    AttributeCriterion,
    ListCriterion,
    AgeCriterion,
    GenderCriterion,
    DistanceCriterion,
    ActivityCriterion,
    RecencyCriterion,
    LeadTimeCriterion,
    ScoreChangeCriterion,
    JourneyOutcomeCriterion,
    SegmentMembershipCriterion,
    ListMembershipCriterion,
]


CRITERION_KINDS = (
    "attribute", "tags", "categories", "consents", "age", "gender", "distance",
    "activity", "recency", "lead_time", "score_change", "journey_outcome", "in_segment", "not_in_segment", "in_list",
)  # fmt: skip
GROUP_KEYS = ("all", "any", "not")
NODE_TAGS = frozenset(CRITERION_KINDS + GROUP_KEYS)


def node_tag(value: Any) -> str | None:
    """The tag of a tree node, as JSON or as a model: its criterion kind, or its one group key (all, any, not).
    Any tree of these groups reads so (segment definitions, journeys' conditions)."""
    if isinstance(value, dict):
        if "kind" in value:
            kind = value["kind"]
            return kind if isinstance(kind, str) else None
        keys = [k for k in GROUP_KEYS if k in value]
        return keys[0] if len(keys) == 1 else None
    if isinstance(value, BaseModel):
        fields = type(value).model_fields
        for key, field in (("all", "all"), ("any", "any"), ("not", "not_")):
            if field in fields:
                return key
    return getattr(value, "kind", None)
