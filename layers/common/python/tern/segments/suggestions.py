"""What the segment editor offers while a marketer builds: the fields there are, each with its type, and the values
that occur most, each with how many contacts have it.

- Fields: the data contract's contact columns (their types are the contract's), and the custom attribute keys the
  org's contacts hold, each typed by what its values look like (every non-empty value a number: a number; a date;
  true / false: yes / no; else text), from one statement over the attributes column.
- Values: for a text field (a column, an attribute, a list column such as tags) the 20 values most contacts have;
  for a number or a date, its smallest and largest; for an event field (event types, the links people clicked,
  bounce types), the values most contacts did in the last 90 days, optionally of one event type.
Each answer is one statement reading one or two columns of one table (Parquet reads just those columns), kept
for SUGGESTIONS_KEPT so picking the same field again reads nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import asdict, dataclass
from dataclasses import field as _field
from typing import Any, Literal

from sqlglot import exp

from tern import lake
from tern.aws.dynamodb import Table
from tern.errors import DefinitionError, Problem
from tern.segments.compiler import attribute_value, effective_contacts

FieldType = Literal["text", "number", "date", "time", "yes_no", "list"]
TOP = 20
EVENT_DAYS = 90  # how far back event values are read: the recent partitions only
ATTRIBUTE_KEYS = 200
SUGGESTIONS_KEPT = 15 * 60  # seconds an answer is kept before the lake is read again
KEPT_SECONDS = 86_400  # DynamoDB's TTL removes an item a day later

_TYPES: dict[lake.ColumnType, FieldType] = {
    lake.ColumnType.STRING: "text", lake.ColumnType.INT: "number", lake.ColumnType.DOUBLE: "number",
    lake.ColumnType.BOOL: "yes_no", lake.ColumnType.DATE: "date", lake.ColumnType.TIMESTAMP: "time",
    lake.ColumnType.STRING_LIST: "list",
}  # fmt: skip
# Contact columns a marketer picks in an attribute criterion (an id, the map and the coordinates have their own ways)
PICKED = [name for name in lake.CONTACTS if name not in ("contact_id", "attributes", "latitude", "longitude")]
# Event fields whose values are worth offering (what a filter or an activity criterion compares)
EVENT_FIELDS = ("event_type", "channel", "link", "url", "bounce_type", "product_id", "production_ref", "event_ref", "sales_channel",
                "search_query", "campaign_id")  # fmt: skip
_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,200}")
_NUMBER = r"^\s*-?[0-9]+([.][0-9]+)?\s*$"
_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
_YES_NO = r"(?i)^(true|false)$"


@dataclass(frozen=True)
class FieldInfo:
    """A field the editor offers: `field` as a criterion names it (city, tags, attributes.genre), its type."""

    field: str
    type: FieldType
    custom: bool = False
    contacts: int | None = None  # for a custom attribute: how many contacts hold it


def contract_fields() -> list[FieldInfo]:
    """The data contract's contact fields a criterion compares, with their types."""
    return [FieldInfo(name, _TYPES[lake.CONTACTS[name]]) for name in PICKED]


@dataclass(frozen=True)
class Asked:
    """What the editor asked values of: a contact field or attribute, or an event field (of one event type)."""

    field: str
    event_type: str | None = None

    @property
    def key(self) -> str:
        return f"{self.field}#{self.event_type or ''}"

    def kind(self) -> FieldType:
        if self.field.startswith(("attributes.", "events.")):
            return "text"
        return _TYPES[lake.CONTACTS[self.field]]


def asked(field_name: str, event_type: str | None) -> Asked:
    """The request checked: a known contact field, attributes.KEY, or events.FIELD (DefinitionError naming it)."""
    if field_name.startswith("attributes."):
        ok = bool(_KEY.fullmatch(field_name[len("attributes.") :]))
    elif field_name.startswith("events."):
        ok = field_name[len("events.") :] in EVENT_FIELDS
    else:
        ok = field_name in PICKED
    if not ok:
        raise DefinitionError([Problem("field", f"there are no values to suggest for {field_name!r}")])
    if event_type is not None and not field_name.startswith("events."):
        raise DefinitionError([Problem("event_type", "an event type narrows an event field's values only")])
    return Asked(field_name, event_type)


# ----------------------------------------------------------------------------------------------- statements


def _contacts(database: str | None) -> exp.Expr:
    return exp.alias_(exp.table_("contacts", db=database), "c", table=True)


def attribute_keys_sql(org_id: str, dialect: str, database: str | None) -> str:
    """(key, contacts, numbers, dates, yes_nos) per custom attribute key of the org's contacts, the most held first."""
    key = exp.column("key", table="t")
    keys = exp.Unnest(
        expressions=[exp.func("MAP_KEYS", exp.column("attributes", table="c"))],
        alias=exp.TableAlias(this=exp.to_identifier("t"), columns=[exp.to_identifier("key")]),
    )
    value = attribute_value(key.copy(), dialect)
    looks = [exp.RegexpLike(this=value.copy(), expression=exp.Literal.string(pattern)) for pattern in (_NUMBER, _DATE, _YES_NO)]
    return (
        exp.select(key.copy(), exp.alias_(exp.Count(this=exp.Star()), "contacts"),
                   *(exp.alias_(exp.CountIf(this=look), name) for look, name in zip(looks, ("numbers", "dates", "yes_nos"), strict=True)))
        .from_(_contacts(database)).join(keys, join_type="cross")
        .where(exp.and_(exp.column("org_id", table="c").eq(exp.Literal.string(org_id)), exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))))
        .group_by(key.copy()).order_by(exp.Ordered(this=exp.column("contacts"), desc=True), key.copy()).limit(ATTRIBUTE_KEYS)
        .sql(dialect=dialect)
    )  # fmt: skip


def attribute_fields(rows: list[tuple[Any, ...]]) -> list[FieldInfo]:
    """The custom attributes from attribute_keys_sql's rows, typed by what all their values look like."""
    found = []
    for key, contacts, numbers, dates, yes_nos in rows:
        held = int(contacts)
        kind: FieldType = (
            "number" if int(numbers) == held else "date" if int(dates) == held else "yes_no" if int(yes_nos) == held else "text"
        )
        found.append(FieldInfo(f"attributes.{key}", kind, custom=True, contacts=held))
    return found


def values_sql(request: Asked, org_id: str, dialect: str, database: str | None, today: dt.date) -> str:
    """The statement answering `request`: (value, contacts) rows, or one (smallest, largest) row for a number or date."""
    org = exp.column("org_id", table="c").eq(exp.Literal.string(org_id))
    count = exp.alias_(exp.Count(this=exp.Star()), "contacts")
    if request.field.startswith("events."):
        column = exp.column(request.field[len("events.") :], table="c")
        since = exp.GTE(
            this=exp.column("dt", table="c"), expression=exp.Literal.string((today - dt.timedelta(days=EVENT_DAYS)).isoformat())
        )
        where = [org, since, exp.Not(this=exp.Is(this=column.copy(), expression=exp.Null()))]
        if request.event_type:
            where.append(exp.column("event_type", table="c").eq(exp.Literal.string(request.event_type)))
        people = exp.alias_(exp.Count(this=exp.Distinct(expressions=[exp.column("contact_id", table="c")])), "contacts")
        statement = (exp.select(exp.alias_(column.copy(), "value"), people)
                     .from_(exp.alias_(exp.table_("events", db=database), "c", table=True)).where(exp.and_(*where)).group_by(column.copy()))  # fmt: skip
    elif request.field.startswith("attributes."):
        value = attribute_value(exp.Literal.string(request.field[len("attributes.") :]), dialect)
        statement = (exp.select(exp.alias_(value.copy(), "value"), count).from_(_contacts(database))
                     .where(exp.and_(org, exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null())))).group_by(value.copy()))  # fmt: skip
    elif request.kind() == "list":  # tags, categories, consents: as segments see them, Tern's overlay of changes applied
        value = exp.column("value", table="t")
        each = exp.Unnest(expressions=[exp.column(request.field, table="c")],
                          alias=exp.TableAlias(this=exp.to_identifier("t"), columns=[exp.to_identifier("value")]))  # fmt: skip
        statement = (exp.select(value.copy(), count).from_(effective_contacts(org_id, database).subquery("c"))
                     .join(each, join_type="cross").group_by(value.copy()))  # fmt: skip
    elif request.kind() in ("number", "date", "time"):
        column = exp.column(request.field, table="c")
        return (exp.select(exp.alias_(exp.Min(this=column.copy()), "smallest"), exp.alias_(exp.Max(this=column.copy()), "largest"),
                           exp.alias_(exp.Count(this=column.copy()), "contacts"))
                .from_(_contacts(database)).where(org).sql(dialect=dialect))  # fmt: skip
    else:
        column = exp.column(request.field, table="c")
        statement = (exp.select(exp.alias_(exp.cast(column.copy(), "VARCHAR"), "value"), count).from_(_contacts(database))
                     .where(exp.and_(org, exp.Not(this=exp.Is(this=column.copy(), expression=exp.Null())))).group_by(column.copy()))  # fmt: skip
    return statement.order_by(exp.Ordered(this=exp.column("contacts"), desc=True), exp.column("value")).limit(TOP).sql(dialect=dialect)


@dataclass(frozen=True)
class Suggestions:
    """GET /lake/values, answered: the most common values (with their contacts), or a number's or date's range."""

    field: str
    type: FieldType
    event_type: str | None = None
    values: list[dict[str, Any]] = _field(default_factory=list)  # {"value", "contacts"}, most contacts first
    smallest: Any = None
    largest: Any = None


def suggestions(request: Asked, rows: list[tuple[Any, ...]]) -> Suggestions:
    """The answer from values_sql's rows."""
    kind = request.kind()
    if kind in ("number", "date", "time"):
        smallest, largest, _ = rows[0] if rows else (None, None, 0)
        return Suggestions(request.field, kind, smallest=_plain(smallest), largest=_plain(largest))
    values = [{"value": str(value), "contacts": int(contacts)} for value, contacts in rows if value is not None and str(value).strip()]
    return Suggestions(request.field, kind, request.event_type, values)


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


# -------------------------------------------------------------------------------------------------- keeping


class SuggestionStore:
    """Answers (and the queries still running for them), one item per org and question, for SUGGESTIONS_KEPT."""

    def __init__(self, table: Table):
        self.table = table

    def get(self, org_id: str, key: str, now_epoch: int) -> dict[str, Any] | None:
        """{"query_id"} while its statement runs, {"answer"} once read and still fresh; None: ask the lake."""
        item = self.table.get(f"ORG#{org_id}", f"SUGGEST#{key}")
        if item is None or now_epoch - int(item["at"]) > SUGGESTIONS_KEPT:
            return None
        return dict(json.loads(item["body"]))

    def put(self, org_id: str, key: str, body: dict[str, Any], now_epoch: int) -> None:
        self.table.put({"PK": f"ORG#{org_id}", "SK": f"SUGGEST#{key}", "body": json.dumps(body, default=str), "at": now_epoch,
                        "expires_at": now_epoch + KEPT_SECONDS})  # fmt: skip

    def forget(self, org_id: str, key: str) -> None:
        self.table.put({"PK": f"ORG#{org_id}", "SK": f"SUGGEST#{key}", "body": "{}", "at": 0, "expires_at": KEPT_SECONDS})


def answer_json(found: Suggestions) -> dict[str, Any]:
    return asdict(found)
