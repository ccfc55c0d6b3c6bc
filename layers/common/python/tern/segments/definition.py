"""The segment definition model: groups (all / any / not) over criteria, as SEGMENT-FORMAT.md fixes them.

`parse_definition` is the one way in: it returns a validated `SegmentDefinition` or raises
`DefinitionError` naming each offending field path (`where.all[0].value`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Iterator
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from tern import lake
from tern.errors import DefinitionError, Problem, TooLarge
from tern.text import MultiLine, OneLine, one_line

# Limits checked at the door (docs/SEGMENT-FORMAT.md, "Limits"): what Tern accepts it can store, read back,
# list, evaluate and delete, and no definition runs an unbounded query.
MAX_DEPTH = 10  # groups inside groups; `where` itself is level 1
MAX_CRITERIA = 200
MAX_VALUES = 1000  # per criterion (values, filter values)
MAX_TEXT = 1000  # characters in a value, a field name, an event type
MAX_DEFINITION_BYTES = 64 * 1024  # the definition as compact JSON; DynamoDB holds 400 KB per item
EARLIEST = dt.date(1800, 1, 1)
LATEST = dt.date(2199, 12, 31)
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?)?(Z|[+-]\d{2}:?\d{2})?")


def check_date_range(day: dt.date) -> None:
    """ValueError unless `day` lies between EARLIEST and LATEST (what every date Tern takes must)."""
    if not EARLIEST <= day <= LATEST:
        raise ValueError(f"dates must lie between {EARLIEST} and {LATEST}")


def parse_day(value: Any) -> dt.date:
    """A date written YYYY-MM-DD within the supported range, or ValueError saying what was expected."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        day = value
    elif isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{json.dumps(value)} is not a calendar date") from None
    else:
        raise ValueError(f"expected a date YYYY-MM-DD, got {_shown(value)}")
    check_date_range(day)
    return day


def parse_time(text: str) -> dt.datetime:
    """An ISO date-time as a naive UTC datetime (a zone-less time is UTC), within the supported range."""
    if not _ISO_TIME.fullmatch(text):
        raise ValueError(f"expected an ISO date-time, e.g. 2026-11-22T09:30:00Z, got {json.dumps(text)}")
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    check_date_range(value.date())  # before any offset is applied: year 1 minus an hour does not exist
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    check_date_range(value.date())
    return value


def _shown(value: Any) -> str:
    try:
        shown = json.dumps(value)
    except (TypeError, ValueError):
        shown = repr(value)
    return shown if len(shown) <= 60 else shown[:57] + "..."


Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT), OneLine]
Scalar = Union[Annotated[str, Field(max_length=MAX_TEXT), OneLine], bool, int, float]
Day = Annotated[dt.date, BeforeValidator(parse_day)]
Days = Annotated[int, Field(strict=True, ge=0, le=36500)]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Comparison = Literal["eq", "ne", "gt", "gte", "lt", "lte"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# ---------------------------------------------------------------------------------------- criteria

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
            raise ValueError(f"expected an ISO date-time, e.g. 2026-11-22T09:30:00Z, got {_shown(value)}")
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


class AttributeCriterion(_Strict):
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


class ListCriterion(_Strict):
    """tags, categories or consents: has any / all / none of the values."""

    kind: Literal["tags", "categories", "consents"]
    op: Literal["has_any", "has_all", "has_none"]
    values: Annotated[list[Text], Field(min_length=1, max_length=MAX_VALUES)]


class AgeCriterion(_Strict):
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


class GenderCriterion(_Strict):
    kind: Literal["gender"]
    value: Literal["female", "male", "any"]


class DistanceCriterion(_Strict):
    kind: Literal["distance"]
    lat: Annotated[float, Field(strict=True, ge=-90, le=90)]
    lon: Annotated[float, Field(strict=True, ge=-180, le=180)]
    within_km: Annotated[float, Field(strict=True, ge=0, le=20038)]


class Window(_Strict):
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


class ActivityCriterion(_Strict):
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


class RecencyCriterion(_Strict):
    kind: Literal["recency"]
    event_types: Annotated[list[Text], Field(min_length=1, max_length=MAX_VALUES)] | None = None
    op: Literal["within", "not_within", "days_ago"]
    days: Days


class LeadTimeCriterion(_Strict):
    kind: Literal["lead_time"]
    max_days: Days
    event_type: Text = "purchase"
    window: Window | None = None


class ScoreChangeCriterion(_Strict):
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


class JourneyOutcomeCriterion(_Strict):
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


class SegmentMembershipCriterion(_Strict):
    """Members (in_segment) or non-members (not_in_segment) of another segment, by its stored membership."""

    kind: Literal["in_segment", "not_in_segment"]
    segment_id: Text


class ListMembershipCriterion(_Strict):
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

# ------------------------------------------------------------------------------------------ groups

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


class AllGroup(_Strict):
    all: list[Node]


class AnyGroup(_Strict):
    any: list[Node]


class NotGroup(_Strict):
    not_: Node = Field(alias="not")


Node = Annotated[
    Union[
        Annotated[AllGroup, Tag("all")],
        Annotated[AnyGroup, Tag("any")],
        Annotated[NotGroup, Tag("not")],
        Annotated[AttributeCriterion, Tag("attribute")],
        Annotated[ListCriterion, Tag("tags")],
        Annotated[ListCriterion, Tag("categories")],
        Annotated[ListCriterion, Tag("consents")],
        Annotated[AgeCriterion, Tag("age")],
        Annotated[GenderCriterion, Tag("gender")],
        Annotated[DistanceCriterion, Tag("distance")],
        Annotated[ActivityCriterion, Tag("activity")],
        Annotated[RecencyCriterion, Tag("recency")],
        Annotated[LeadTimeCriterion, Tag("lead_time")],
        Annotated[ScoreChangeCriterion, Tag("score_change")],
        Annotated[JourneyOutcomeCriterion, Tag("journey_outcome")],
        Annotated[SegmentMembershipCriterion, Tag("in_segment")],
        Annotated[SegmentMembershipCriterion, Tag("not_in_segment")],
        Annotated[ListMembershipCriterion, Tag("in_list")],
    ],
    Discriminator(node_tag),
]

AllGroup.model_rebuild()
AnyGroup.model_rebuild()
NotGroup.model_rebuild()


class SegmentDefinition(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=200), OneLine]
    description: Annotated[str, Field(max_length=5000), MultiLine] = ""
    where: Node

    @model_validator(mode="before")
    @classmethod
    def _within_limits(cls, data: Any) -> Any:
        if isinstance(data, dict):
            check_limits(data)
        return data

    @model_validator(mode="after")
    def _fits(self) -> SegmentDefinition:
        size = len(self.model_dump_json(by_alias=True, exclude_none=True, exclude_defaults=True).encode("utf-8"))
        if size > MAX_DEFINITION_BYTES:  # after the fields: a bad field says what is wrong before the size does
            raise TooLarge([Problem("", f"the definition is {size:,} bytes; the limit is {MAX_DEFINITION_BYTES:,} bytes")])
        return self

    def criteria(self) -> list[tuple[str, Criterion]]:
        """Every criterion leaf with its path (`where.all[0]`), in document order."""
        return list(walk_criteria(self.where, "where"))

    def segments_referenced(self) -> list[tuple[str, str]]:
        """(path, segment id) of every in_segment / not_in_segment criterion."""
        return [(path, c.segment_id) for path, c in self.criteria() if isinstance(c, SegmentMembershipCriterion)]

    def lists_referenced(self) -> list[tuple[str, str]]:
        return [(path, c.list_id) for path, c in self.criteria() if isinstance(c, ListMembershipCriterion)]


def check_limits(data: dict[str, Any]) -> None:
    """DefinitionError when a raw definition nests deeper than MAX_DEPTH or holds more than MAX_CRITERIA criteria
    (checked before validation, which would recurse that deep); looks no deeper than MAX_DEPTH."""
    criteria = 0
    pending: list[tuple[Any, str, int]] = [(data.get("where"), "where", 1)]
    while pending:
        node, path, depth = pending.pop()
        if not isinstance(node, dict):
            continue
        groups = [key for key in GROUP_KEYS if key in node and "kind" not in node]
        if not groups:
            criteria += 1
            continue
        if depth > MAX_DEPTH:
            raise DefinitionError([Problem(path, f"groups nest at most {MAX_DEPTH} deep")])
        for key in groups:
            children = node[key]
            if key == "not":
                pending.append((children, f"{path}.not", depth + 1))
            elif isinstance(children, list):
                pending.extend((child, f"{path}.{key}[{i}]", depth + 1) for i, child in enumerate(children))
    if criteria > MAX_CRITERIA:
        raise DefinitionError([Problem("where", f"{criteria} criteria; a definition holds at most {MAX_CRITERIA}")])


def walk_criteria(node: Any, path: str) -> Iterator[tuple[str, Criterion]]:
    if isinstance(node, AllGroup):
        for i, child in enumerate(node.all):
            yield from walk_criteria(child, f"{path}.all[{i}]")
    elif isinstance(node, AnyGroup):
        for i, child in enumerate(node.any):
            yield from walk_criteria(child, f"{path}.any[{i}]")
    elif isinstance(node, NotGroup):
        yield from walk_criteria(node.not_, f"{path}.not")
    else:
        yield path, node


# ------------------------------------------------------------------------------------------ parsing


_UNION_MEMBERS = frozenset({"str", "bool", "int", "float", "constrained-str", "list"})


def _is_union_member(part: int | str) -> bool:
    return isinstance(part, str) and (part in _UNION_MEMBERS or (part.endswith("]") and "[" in part))


def format_loc(loc: tuple[int | str, ...]) -> str:
    """A pydantic error location as the field path a user reads: where.all[0].value."""
    out = ""
    expect_tag = False
    previous: int | str | None = None
    for position, part in enumerate(loc):
        if _is_union_member(part):
            continue  # which member of a scalar union failed is noise to the user
        if expect_tag and isinstance(part, str) and part in NODE_TAGS:
            expect_tag = False
            previous = part
            continue
        if isinstance(part, int):
            out += f"[{part}]"
            expect_tag = previous in ("all", "any")
        else:
            out += ("." if out else "") + part
            expect_tag = (part == "where" and position == 0) or part == "not"
        previous = part
    return out


_EXPECTED = {
    "float_type": "a number", "float_parsing": "a number", "int_type": "a whole number",
    "int_parsing": "a whole number", "int_from_float": "a whole number", "bool_type": "true or false",
    "bool_parsing": "true or false", "string_type": "text", "list_type": "a list [...]",
    "tuple_type": "a list [...]", "dict_type": "an object {...}", "model_type": "an object {...}",
    "model_attributes_type": "an object {...}", "date_type": "a date YYYY-MM-DD",
    "finite_number": "a finite number",
}  # fmt: skip


def problem_message(error: Any, what: str = "criterion") -> str:
    """The plain message for one pydantic error item; `what` names the tagged things (criterion, step)."""
    kind = error["type"]
    if kind == "union_tag_invalid":
        tag = error.get("ctx", {}).get("tag")
        if what == "criterion":
            return f"unknown criterion kind {tag!r}; known kinds: {', '.join(CRITERION_KINDS)}"
        return f"unknown {what} kind {tag!r}; known kinds: {error.get('ctx', {}).get('expected_tags', '')}"
    if kind == "union_tag_not_found":
        if what == "criterion":
            return 'expected a criterion with a "kind", or one group: {"all": [...]}, {"any": [...]} or {"not": ...}'
        return f'expected a {what} with a "kind"'
    if kind == "extra_forbidden":
        return "unknown field"
    if "unable to parse raw data as a unicode string" in error["msg"]:
        return "must be valid Unicode text (no lone surrogates)"
    if kind in _EXPECTED and any(_is_union_member(part) for part in error.get("loc", ())):
        return f"expected text, a number or true/false, got {_shown(error.get('input'))}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_shown(error.get('input'))}"
    message: str = error["msg"]
    return message.removeprefix("Value error, ")


def problems_from(errors: Iterable[Any], prefix: str = "", what: str = "criterion") -> list[Problem]:
    """One problem per field path (a scalar that fits no member of its union fails once per member)."""
    problems: dict[str, Problem] = {}
    for item in errors:
        path = format_loc(tuple(item["loc"]))
        if prefix:
            path = f"{prefix}.{path}" if path else prefix
        problems.setdefault(path, Problem(path, problem_message(item, what)))
    return list(problems.values())


def problems_of(error: ValidationError, prefix: str = "") -> list[Problem]:
    return problems_from(error.errors(), prefix)


def parse_definition(data: Any) -> SegmentDefinition:
    """A validated definition from parsed JSON, or DefinitionError naming every bad field."""
    if not isinstance(data, dict):
        raise DefinitionError([Problem("", "a segment definition is a JSON object")])
    try:
        return SegmentDefinition.model_validate(data)
    except ValidationError as e:
        raise DefinitionError(problems_of(e)) from None


def parse_definition_json(text: str | bytes) -> SegmentDefinition:
    try:
        data = json.loads(text)
    except (ValueError, UnicodeDecodeError) as e:
        raise DefinitionError([Problem("", f"not valid JSON: {e}")]) from None
    except RecursionError:
        raise DefinitionError([Problem("", "the JSON nests too deeply")]) from None
    return parse_definition(data)


def definition_schema() -> dict[str, Any]:
    """The JSON Schema of a segment definition."""
    return SegmentDefinition.model_json_schema(by_alias=True)
