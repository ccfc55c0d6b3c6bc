"""The segment compiler: a definition becomes one SQL statement, built from sqlglot expressions.

Shape of a statement (one org):

    WITH e AS (SELECT contact_id, <one conditional aggregate per measured criterion>
               FROM events WHERE org_id = ORG AND <dt bounds> AND (<any needed event>)
               GROUP BY contact_id)
    SELECT ... FROM (<the org's contacts with the overlay applied>) AS c LEFT JOIN e ON e.contact_id = c.contact_id
    WHERE <the tree of criteria>

`c` is effective_contacts(): the contacts table with tags, categories and consents overlaid by Tern's
changes (bulk actions, journeys), the latest change of a value winning; everything else reads it as-is.

Measured criteria (sums, distinct counts, counts against a bound, latest event, score change) share
the one pass over events in `e`. "Did" / "did not" criteria are semi-joins on events, each pruning its
own dt partitions: measured faster on DuckDB than folding them into the shared aggregate.
Counting puts each criterion in a column p0..pN of a `base` CTE and counts them all in one pass.

Every leaf predicate is two-valued (NULL folds to FALSE), so `not` is the exact complement.
Values only ever enter as literals the builder escapes; names come from the data contract.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlglot import exp

from tern import lake
from tern.errors import UnresolvedReference
from tern.segments.criteria import (
    ActivityCriterion,
    AgeCriterion,
    AttributeCriterion,
    Criterion,
    DistanceCriterion,
    GenderCriterion,
    JourneyOutcomeCriterion,
    LeadTimeCriterion,
    ListCriterion,
    ListMembershipCriterion,
    RecencyCriterion,
    ScoreChangeCriterion,
    SegmentMembershipCriterion,
    Window,
    attribute_type,
    event_filter_column,
)
from tern.segments.definition import AllGroup, AnyGroup, NotGroup, SegmentDefinition
from tern.segments.values import parse_time

Dialect = Literal["duckdb", "athena"]
DIALECTS: tuple[Dialect, ...] = ("duckdb", "athena")
EARTH_RADIUS_KM = 6371.0
PEOPLE = ("first_name", "last_name", "email", "city")  # what a marketer recognises a member by (an export's summary)
DAY = dt.timedelta(days=1)


# -------------------------------------------------------------------------------------- literals


def _literal(value: Any) -> exp.Expr:
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, (int, float)):
        return exp.Literal.number(repr(value) if isinstance(value, float) else str(value))
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f" if value.microsecond else "%Y-%m-%d %H:%M:%S")
        return exp.cast(exp.Literal.string(text), "TIMESTAMP")
    if isinstance(value, dt.date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    return exp.Literal.string(str(value))


def _dt(value: dt.date) -> exp.Expr:
    # dt is a string partition key (YYYY-MM-DD), so string order is date order.
    return exp.Literal.string(value.isoformat())


literal = _literal  # for the other statements built over the lake (tern.exports.query)


def _never_null(predicate: exp.Expr) -> exp.Expr:
    return exp.func("COALESCE", predicate, exp.false())


def _any(predicates: list[exp.Expr]) -> exp.Expr:
    return exp.or_(*predicates) if predicates else exp.false()


def _all(predicates: list[exp.Expr]) -> exp.Expr:
    return exp.and_(*predicates) if predicates else exp.true()


def _compare(left: exp.Expr, op: str, right: exp.Expr) -> exp.Expr:
    cls = {"eq": exp.EQ, "ne": exp.NEQ, "gt": exp.GT, "gte": exp.GTE, "lt": exp.LT, "lte": exp.LTE}[op]
    return cls(this=left, expression=right)


# -------------------------------------------------------------------------------------- event pass


@dataclass
class _EventPass:
    """The conditional aggregates behavioural criteria need, computed in one scan of events."""

    aggregates: dict[str, tuple[str, exp.Expr]] = field(default_factory=dict)
    conditions: dict[str, exp.Expr] = field(default_factory=dict)
    # (low, high) dt bounds of each needed event; None where an event may lie in any partition.
    bounds: list[tuple[dt.date, dt.date] | None] = field(default_factory=list)

    def need(self, aggregate: exp.Expr, condition: exp.Expr, bound: tuple[dt.date, dt.date] | None) -> exp.Expr:
        """A reference to `aggregate` (over events meeting `condition`), shared when asked twice."""
        key = aggregate.sql()
        if key not in self.aggregates:
            self.aggregates[key] = (f"m{len(self.aggregates)}", aggregate)
            cond_key = condition.sql()
            if cond_key not in self.conditions:
                self.conditions[cond_key] = condition
                self.bounds.append(bound)
        return exp.column(self.aggregates[key][0], table="e")

    def dt_bounds(self) -> tuple[dt.date, dt.date] | None:
        if not self.bounds or any(b is None for b in self.bounds):
            return None
        bounds = [b for b in self.bounds if b is not None]
        return min(b[0] for b in bounds), max(b[1] for b in bounds)


def _ev(name: str) -> exp.Column:
    return exp.column(name)


# ------------------------------------------------------------------------- contacts with the overlay


def _empty_list() -> exp.Cast:
    """CAST(ARRAY[] AS ARRAY(VARCHAR)): what a list column without values reads as."""
    varchar = exp.DataType(this=exp.DataType.Type.VARCHAR, nested=False)
    return exp.Cast(
        this=exp.Array(value_constructor=False), to=exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[varchar], nested=True)
    )


def _without(values: exp.Expr, excluded: exp.Expr) -> exp.ArrayFilter:
    """FILTER(values, x -> NOT CONTAINS(excluded, x))."""
    x = exp.to_identifier("x")
    kept = exp.Lambda(this=exp.Not(this=exp.ArrayContains(this=excluded, expression=x.copy())), expressions=[x.copy()])
    return exp.ArrayFilter(this=values, expression=kept)


def _effective_list(column: str) -> exp.Expr:
    """The column's base values, minus the values whose latest overlay change removes them, plus those it adds."""
    base = exp.Coalesce(this=exp.column(column, table="c"), expressions=[_empty_list()])
    adds = exp.Coalesce(this=exp.column(f"{column}_add", table="o"), expressions=[_empty_list()])
    removes = exp.Coalesce(this=exp.column(f"{column}_remove", table="o"), expressions=[_empty_list()])
    unchanged = exp.Is(this=exp.column("contact_id", table="o"), expression=exp.Null())
    merged = exp.Concat(expressions=[_without(base, removes), _without(adds, base.copy())])
    return exp.alias_(exp.Case(ifs=[exp.If(this=unchanged, true=exp.column(column, table="c"))], default=merged), column)


def _effective_contacts() -> exp.Select:
    """The contacts with the overlay applied, for the org bound later (`:org`): one row per contact, every contract
    column, the overlaid list columns merged with each value's latest change."""
    org = exp.Placeholder(this="org")
    latest = (
        exp.select(
            "contact_id", "kind", "value", exp.alias_(exp.ArgMax(this=exp.column("action"), expression=exp.column("changed_at")), "action")
        )
        .from_("overlay")
        .where(exp.EQ(this=exp.column("org_id"), expression=org.copy()))
        .group_by("contact_id", "kind", "value")
    )
    changes = [
        exp.alias_(
            exp.Filter(
                this=exp.ArrayAgg(this=exp.column("value")),
                expression=exp.Where(
                    this=exp.and_(exp.column("kind").eq(exp.Literal.string(kind)), exp.column("action").eq(exp.Literal.string(action)))
                ),
            ),
            f"{column}_{action}",
        )
        for kind, column in lake.OVERLAY_KINDS.items()
        for action in ("add", "remove")
    ]
    per_contact = exp.select(exp.column("contact_id"), *changes).from_(latest.subquery("latest")).group_by("contact_id")
    overlaid = set(lake.OVERLAY_KINDS.values())
    columns = [_effective_list(name) if name in overlaid else exp.column(name, table="c") for name in lake.CONTACTS]
    return (
        exp.select(*columns, exp.column("org_id", table="c"))
        .from_(exp.alias_(exp.table_("contacts"), "c", table=True))
        .join(per_contact.subquery("o"), on=exp.column("contact_id", table="o").eq(exp.column("contact_id", table="c")), join_type="left")
        .where(exp.column("org_id", table="c").eq(org.copy()))
    )


_EFFECTIVE_CONTACTS = _effective_contacts()


def attribute_value(key: exp.Expr, dialect: str) -> exp.Expr:
    """A contact's custom attribute `key` (c.attributes), null when it has none: Athena's ELEMENT_AT, DuckDB's [key]."""
    column = exp.column("attributes", table="c")
    return exp.func("ELEMENT_AT", column, key) if dialect == "athena" else exp.Bracket(this=column, expressions=[key])


def effective_contacts(org_id: str, database: str | None) -> exp.Select:
    """The org's contacts as segments see them: every contract column, with tags, categories and consents
    taken from the base data with Tern's overlay of changes applied (the latest change of a value wins)."""

    def bind(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Placeholder) and node.name == "org":
            return _literal(org_id)
        if isinstance(node, exp.Table) and node.name in ("contacts", "overlay") and database:
            return exp.table_(node.name, db=database, alias=node.alias or None)
        return node

    return _EFFECTIVE_CONTACTS.copy().transform(bind)  # type: ignore[return-value]


# -------------------------------------------------------------------------------------- compiler


@dataclass(frozen=True)
class CompiledSegment:
    """A definition compiled for one org at one `now`: the statements to run and the leaves they count."""

    definition: SegmentDefinition
    dialect: Dialect
    leaves: list[tuple[str, str]]  # (path, kind) of every criterion, in the order of p0..pN
    outline: list[tuple[str, str, Any]]  # (path, kind, subtree) of every node, groups too, in document order
    _events: exp.Select | None  # the shared pass over events (conditional aggregates), if any
    _contacts: exp.Select  # FROM contacts [LEFT JOIN e] WHERE <the org>, nothing projected yet
    _predicates: list[exp.Expr]  # each criterion alone, two-valued
    _tree: Any  # the where-tree with leaf indexes, see _combine
    _ranked: bool  # a criterion ranks contacts (top K), so predicates need the whole org first

    def _with_events(self, select: exp.Select) -> exp.Select:
        return select.with_("e", as_=self._events) if self._events is not None else select

    def _base(self) -> exp.Select:
        flags = [exp.alias_(p.copy(), f"p{i}") for i, p in enumerate(self._predicates)]
        return self._contacts.copy().select(exp.column("contact_id", table="c"), *flags)

    def _filtered(self, projection: exp.Expr) -> exp.Select:
        """The org's contacts that meet the tree, projecting `projection`."""
        if self._ranked:
            select = exp.select(projection).from_("base").where(_combine(self._tree, lambda i: exp.column(f"p{i}")))
            return self._with_events(select).with_("base", as_=self._base())
        # The tree inline in WHERE: the engine can filter contacts early and turn "did" into semi-joins.
        where = _combine(self._tree, lambda i: self._predicates[i].copy())
        return self._with_events(self._contacts.copy().select(projection).where(where))

    def members_sql(self, limit: int | None = None) -> str:
        """One contact_id per row, sorted."""
        select = self._filtered(exp.column("contact_id", table=None if self._ranked else "c")).order_by("contact_id")
        if limit is not None:
            select = select.limit(limit)
        return select.sql(dialect=self.dialect)

    def sample_sql(self, limit: int) -> str:
        """The first `limit` members, sorted, each with what a person is known by (contact_id, then PEOPLE)."""
        people = [exp.column(c, table="c") for c in PEOPLE]
        if self._ranked:
            select = exp.select("contact_id", *PEOPLE).from_("base").where(_combine(self._tree, lambda i: exp.column(f"p{i}")))
            select = self._with_events(select).with_("base", as_=self._base().select(*people))
        else:
            select = self._filtered(exp.column("contact_id", table="c")).select(*people)
        return select.order_by("contact_id").limit(limit).sql(dialect=self.dialect)

    def contact_rows_sql(self, columns: list[str]) -> str:
        """The members as (contact_id, contact): `contact` one JSON object of the named contacts columns,
        typed (numbers, booleans, lists, maps; dates as ISO strings; null as null).

        One JSON cell a row reads back exactly from anything that holds Athena's CSV result (a Distributed Map
        reads it so: a journey's audience), where a column per value would blur a null into an empty string."""
        if self._ranked:
            raise ValueError("a ranked definition has no contact rows to project")
        unknown = [c for c in columns if c not in lake.CONTACTS]
        if unknown:
            raise ValueError(f"not contacts columns: {unknown}")
        row = exp.cast(
            exp.Tuple(expressions=[exp.column(c, table="c") for c in columns]),
            exp.DataType.build(f"ROW({', '.join(f'{c} {_ATHENA_TYPES[lake.CONTACTS[c]]}' for c in columns)})", dialect="athena"),
        )
        select = self._filtered(exp.column("contact_id", table="c")).select(
            exp.alias_(exp.cast(row, exp.DataType.build("JSON")), "contact")
        )
        return select.sql(dialect=self.dialect)

    def count_sql(self, per_criterion: bool = True) -> str:
        """One row: total, then (if per_criterion) the count of every node of the outline alone as n0..nK (a
        criterion: who meets it; a group: who meets the group, so a `not` counts who it keeps), in one pass."""
        if not per_criterion:
            return self._filtered(exp.alias_(exp.Count(this=exp.Star()), "total")).sql(dialect=self.dialect)
        columns: list[exp.Expr] = [exp.alias_(exp.CountIf(this=_combine(self._tree, lambda i: exp.column(f"p{i}"))), "total")]
        columns += [
            exp.alias_(exp.CountIf(this=_combine(tree, lambda i: exp.column(f"p{i}"))), f"n{n}")
            for n, (_, _, tree) in enumerate(self.outline)
        ]
        select = self._with_events(exp.select(*columns).from_("base")).with_("base", as_=self._base())
        return select.sql(dialect=self.dialect)


_ATHENA_TYPES = {
    lake.ColumnType.STRING: "VARCHAR", lake.ColumnType.INT: "INTEGER", lake.ColumnType.DOUBLE: "DOUBLE",
    lake.ColumnType.BOOL: "BOOLEAN", lake.ColumnType.DATE: "DATE", lake.ColumnType.TIMESTAMP: "TIMESTAMP",
    lake.ColumnType.STRING_LIST: "ARRAY(VARCHAR)", lake.ColumnType.STRING_MAP: "MAP(VARCHAR, VARCHAR)",
}  # fmt: skip


def _combine(tree: Any, leaf: Any) -> exp.Expr:
    """The where-tree as one boolean expression, each leaf index turned into an expression by `leaf`."""
    kind, body = tree
    if kind == "leaf":
        return leaf(body)  # type: ignore[no-any-return]
    if kind == "not":
        return exp.not_(_combine(body, leaf))
    parts = [_combine(child, leaf) for child in body]
    return exp.paren(_all(parts) if kind == "all" else _any(parts))


class _Compiler:
    def __init__(self, org_id: str, now: dt.datetime, dialect: Dialect, database: str | None, memberships: dict[str, str]):
        self.memberships = memberships
        self.org = org_id
        self.now = now
        self.today = now.date()
        self.dialect = dialect
        self.database = database
        self.events = _EventPass()
        self.windowed = False

    def table(self, name: str) -> exp.Table:
        return exp.table_(name, db=self.database)

    # ----- contacts criteria

    def contact_value(self, field: str, numeric: bool) -> exp.Expr:
        if field.startswith("attributes."):
            value = attribute_value(exp.Literal.string(field[len("attributes.") :]), self.dialect)
            if numeric:
                value = exp.TryCast(this=value, to=exp.DataType.build("DOUBLE"))
            return value
        return exp.column(field, table="c")

    def attribute(self, c: AttributeCriterion) -> exp.Expr:
        custom = c.field.startswith("attributes.")
        sample = c.value if c.value is not None else (c.values[0] if c.values else None)
        numeric = custom and isinstance(sample, (int, float)) and not isinstance(sample, bool)
        column = self.contact_value(c.field, numeric)
        column_type = attribute_type(c.field)

        def lit(v: Any) -> exp.Expr:
            if custom:
                return _literal(float(v) if numeric else v)
            if column_type is lake.ColumnType.DATE:
                return _literal(dt.date.fromisoformat(str(v)))
            if column_type is lake.ColumnType.TIMESTAMP:
                return _literal(parse_time(str(v)))
            return _literal(v)

        op = c.op
        if op in ("eq", "ne", "gt", "gte", "lt", "lte"):
            predicate = _compare(column, op, lit(c.value))
            if op == "ne":
                predicate = exp.or_(column.is_(exp.null()), predicate)
        elif op == "between":
            assert c.values is not None
            predicate = exp.Between(this=column, low=lit(c.values[0]), high=lit(c.values[1]))
        elif op in ("in", "not_in"):
            assert c.values is not None
            predicate = column.isin(*[lit(v) for v in c.values])
            if op == "not_in":
                predicate = exp.or_(column.is_(exp.null()), exp.not_(predicate))
        elif op == "contains":
            predicate = exp.GT(this=exp.StrPosition(this=column, substr=lit(c.value)), expression=exp.Literal.number(0))
        elif op == "starts_with":
            predicate = exp.StartsWith(this=column, expression=lit(c.value))
        else:
            empty: exp.Expr = column.is_(exp.null())
            if column_type is lake.ColumnType.STRING:
                empty = exp.or_(empty, exp.EQ(this=column, expression=exp.Literal.string("")))
            predicate = empty if op == "is_empty" else exp.not_(empty)
        return _never_null(predicate)

    def list_membership(self, c: ListCriterion) -> exp.Expr:
        column = exp.column(c.kind, table="c")
        has = [_never_null(exp.ArrayContains(this=column, expression=_literal(v))) for v in c.values]
        if c.op == "has_all":
            return _all(has)
        if c.op == "has_any":
            return _any(has)
        return exp.not_(exp.paren(_any(has)))

    def age(self, c: AgeCriterion) -> exp.Expr:
        birth = exp.column("birth_date", table="c")
        bounds: list[exp.Expr] = []
        if c.min is not None:
            bounds.append(exp.LTE(this=birth, expression=_literal(latest_birth_date(self.today, c.min))))
        if c.max is not None:
            bounds.append(exp.GT(this=birth, expression=_literal(latest_birth_date(self.today, c.max + 1))))
        predicate = _all(bounds)
        if c.include_unknown:
            predicate = exp.or_(birth.is_(exp.null()), predicate)
        return _never_null(predicate)

    def gender(self, c: GenderCriterion) -> exp.Expr:
        if c.value == "any":
            return exp.true()
        return _never_null(exp.EQ(this=exp.column("gender", table="c"), expression=_literal(c.value)))

    def distance(self, c: DistanceCriterion) -> exp.Expr:
        lat = exp.column("latitude", table="c")
        lon = exp.column("longitude", table="c")

        def rad(e: exp.Expr) -> exp.Expr:
            return exp.func("RADIANS", e)

        def half_sin_sq(delta: exp.Expr) -> exp.Expr:
            return exp.Pow(
                this=exp.func("SIN", exp.Div(this=exp.paren(delta), expression=exp.Literal.number(2))), expression=exp.Literal.number(2)
            )

        dlat = exp.Sub(this=rad(lat), expression=rad(_literal(c.lat)))
        dlon = exp.Sub(this=rad(lon), expression=rad(_literal(c.lon)))
        a = exp.Add(
            this=half_sin_sq(dlat),
            expression=exp.Mul(
                this=exp.Mul(this=exp.func("COS", rad(_literal(c.lat))), expression=exp.func("COS", rad(lat))),
                expression=half_sin_sq(dlon),
            ),
        )
        root = exp.func("LEAST", exp.Literal.number(1), exp.func("SQRT", a))
        km = exp.Mul(this=exp.Literal.number(2 * EARTH_RADIUS_KM), expression=exp.func("ASIN", root))
        return _never_null(exp.LTE(this=km, expression=_literal(float(c.within_km))))

    # ----- behavioural criteria

    def window(self, w: Window | None) -> tuple[list[exp.Expr], tuple[dt.date, dt.date] | None]:
        """Conditions on the window's field, and the dt bounds they imply (None: any partition)."""
        if w is None:
            return [], None
        column = _ev(w.field)
        # [start, end) on the window's field, and the dates of ts that bound the dt partitions.
        end: dt.datetime | None
        if w.last_days is not None:
            start, end, closed = self.now - w.last_days * DAY, self.now, True
            dates = (start.date(), self.today)
        elif w.days_ago is not None:
            day = self.today - w.days_ago * DAY
            start, end, closed = _midnight(day), _midnight(day + DAY), False
            dates = (day, day)
        elif w.between is not None:
            first, last = w.between
            start, end, closed = _midnight(first), _midnight(last + DAY), False
            dates = (first, last)
        else:
            assert w.days_back is not None
            start, end, closed = self.now - w.days_back * DAY, None, False
            dates = (start.date(), dt.date.max)
        conditions: list[exp.Expr] = [exp.GTE(this=column, expression=_literal(start))]
        if end is not None:
            upper = exp.LTE if closed else exp.LT
            conditions.append(upper(this=column, expression=_literal(end)))
        return conditions, (dates if w.field == "ts" else None)

    @staticmethod
    def event_filters(filters: dict[str, Any]) -> list[exp.Expr]:
        conditions: list[exp.Expr] = []
        for name, value in sorted(filters.items()):
            column_name = event_filter_column(name)
            if column_name.startswith("properties."):
                key = exp.Literal.string(column_name[len("properties.") :])
                column: exp.Expr = exp.func("ELEMENT_AT", _ev("properties"), key)
            else:
                column = _ev(column_name)
            values = value if isinstance(value, list) else [value]
            if column_name.startswith("properties."):
                values = [str(v).lower() if isinstance(v, bool) else str(v) for v in values]
            if len(values) == 1:
                conditions.append(exp.EQ(this=column, expression=_literal(values[0])))
            else:
                conditions.append(column.isin(*[_literal(v) for v in values]))
        return conditions

    def property_access(self, expression: exp.Expr) -> exp.Expr:
        # DuckDB's element_at on a map returns a list; its bracket returns the value (or NULL).
        if self.dialect == "duckdb":
            for node in list(expression.find_all(exp.Anonymous)):
                if node.name.upper() == "ELEMENT_AT":
                    node.replace(exp.Bracket(this=node.expressions[0], expressions=[node.expressions[1]]))
        return expression

    def measured(self, measure: str, condition: exp.Expr) -> exp.Expr:
        if measure == "count":
            return exp.CountIf(this=condition)
        kind, column = measure.split(":")
        value = exp.Case(ifs=[exp.If(this=condition, true=_ev(column))])
        if kind == "sum":
            return exp.Sum(this=value)
        return exp.Count(this=exp.Distinct(expressions=[value]))

    def exists(self, condition: exp.Expr, bound: tuple[dt.date, dt.date] | None) -> exp.Expr:
        """Whether the contact has some event meeting `condition`: a semi-join with its own dt pruning.

        Measured faster than a conditional aggregate for "did" / "did not", and it scans only the
        partitions of its own window.
        """
        found = exp.select(_ev("contact_id")).from_(self.table("events")).where(exp.EQ(this=_ev("org_id"), expression=_literal(self.org)))
        found = self.bounded(found, bound).where(condition).where(_ev("contact_id").is_(exp.not_(exp.null())))
        # Never NULL: c.contact_id is not null (the contacts scan says so) and neither is any id found.
        return exp.column("contact_id", table="c").isin(query=found)

    def bounded(self, select: exp.Select, bound: tuple[dt.date, dt.date] | None) -> exp.Select:
        if bound is None:
            return select
        select = select.where(exp.GTE(this=_ev("dt"), expression=_dt(bound[0])))
        if bound[1] != dt.date.max:
            select = select.where(exp.LTE(this=_ev("dt"), expression=_dt(bound[1])))
        return select

    def activity(self, c: ActivityCriterion) -> exp.Expr:
        window, bound = self.window(c.window)
        condition = self.property_access(
            _all([exp.EQ(this=_ev("event_type"), expression=_literal(c.event_type)), *self.event_filters(c.filters), *window])
        )
        if c.measure == "count":
            existence = _existence(c.op, c.value)
            if existence is not None:
                found = self.exists(condition, bound)
                return found if existence else exp.not_(found)
        measure = self.events.need(self.measured(c.measure, condition), condition, bound)
        return _never_null(_compare(exp.func("COALESCE", measure, exp.Literal.number(0)), c.op, _literal(c.value)))

    def of_types(self, event_types: list[str] | None) -> list[exp.Expr]:
        if event_types is None:
            return []
        if len(event_types) == 1:
            return [exp.EQ(this=_ev("event_type"), expression=_literal(event_types[0]))]
        return [_ev("event_type").isin(*[_literal(t) for t in event_types])]

    def recency(self, c: RecencyCriterion) -> exp.Expr:
        types = self.of_types(c.event_types)
        not_after_now = exp.LTE(this=_ev("ts"), expression=_literal(self.now))
        if c.op == "days_ago":
            day = self.today - c.days * DAY
            condition = _all([*types, exp.GTE(this=_ev("ts"), expression=_literal(_midnight(day))), not_after_now])
            latest = self.events.need(exp.Max(this=exp.Case(ifs=[exp.If(this=condition, true=_ev("ts"))])), condition, (day, self.today))
            # Only events from that day on are looked at: the latest one falls on the day itself.
            return _never_null(exp.LT(this=latest, expression=_literal(_midnight(day + DAY))))
        low = self.now - c.days * DAY
        condition = _all([*types, exp.GTE(this=_ev("ts"), expression=_literal(low)), not_after_now])
        seen = self.exists(condition, (low.date(), self.today))
        return seen if c.op == "within" else exp.not_(seen)

    def lead_time(self, c: LeadTimeCriterion) -> exp.Expr:
        window, bound = self.window(c.window)
        start = _ev("event_start")
        earliest = exp.Sub(this=start, expression=exp.Interval(this=exp.Literal.string(str(c.max_days)), unit=exp.var("DAY")))
        condition = _all(
            [
                exp.EQ(this=_ev("event_type"), expression=_literal(c.event_type)),
                start.is_(exp.not_(exp.null())),
                exp.LTE(this=_ev("ts"), expression=start),
                exp.GTE(this=_ev("ts"), expression=earliest),
                *window,
            ]
        )
        return self.exists(condition, bound)

    def score_change(self, c: ScoreChangeCriterion) -> exp.Expr:
        low = self.now - c.days * DAY
        condition = _all(
            [
                _ev("score_delta").is_(exp.not_(exp.null())),
                exp.GTE(this=_ev("ts"), expression=_literal(low)),
                exp.LTE(this=_ev("ts"), expression=_literal(self.now)),
            ]
        )
        total = self.events.need(
            exp.Sum(this=exp.Case(ifs=[exp.If(this=condition, true=_ev("score_delta"))])), condition, (low.date(), self.today)
        )
        change = exp.func("COALESCE", total, exp.Literal.number(0))
        bound: exp.Expr = exp.true()
        if c.op is not None and c.value is not None:
            bound = _never_null(_compare(change, c.op, _literal(c.value)))
        if c.top is None:
            return bound
        self.windowed = True
        # Top K of those within the bound: rank the bound's members first, biggest change first.
        rank = exp.Window(
            this=exp.RowNumber(),
            order=exp.Order(
                expressions=[
                    exp.Ordered(this=exp.Case(ifs=[exp.If(this=bound, true=exp.Literal.number(0))], default=exp.Literal.number(1))),
                    exp.Ordered(this=change, desc=True),
                    exp.Ordered(this=exp.column("contact_id", table="c")),
                ]
            ),
        )
        return exp.and_(bound, exp.LTE(this=rank, expression=exp.Literal.number(c.top)))

    def journey_outcome(self, c: JourneyOutcomeCriterion) -> exp.Expr:
        filters: dict[str, Any] = {"journey_id": c.journey_id, "outcome": c.outcome}
        if c.step_id is not None:
            filters["step_id"] = c.step_id
        if c.way is not None:
            filters["reason"] = c.way
        return self.activity(ActivityCriterion(kind="activity", event_type="journey_step", filters=filters, window=c.window))

    def segment_membership(self, c: SegmentMembershipCriterion) -> exp.Expr:
        evaluation = self.memberships.get(c.segment_id)
        if evaluation is None:
            raise UnresolvedReference(f"segment {c.segment_id} has no stored membership to read")
        found = (
            exp.select(exp.column("contact_id"))
            .from_(self.table("memberships"))
            .where(exp.EQ(this=exp.column("org_id"), expression=_literal(self.org)))
            .where(exp.EQ(this=exp.column("segment_id"), expression=_literal(c.segment_id)))
            .where(exp.EQ(this=exp.column("evaluation_id"), expression=_literal(evaluation)))
        )
        member = _never_null(exp.column("contact_id", table="c").isin(query=found))
        return member if c.kind == "in_segment" else exp.not_(member)

    def list_membership_of(self, c: ListMembershipCriterion) -> exp.Expr:
        found = (
            exp.select(exp.column("contact_id"))
            .from_(self.table("lists"))
            .where(exp.EQ(this=exp.column("org_id"), expression=_literal(self.org)))
            .where(exp.EQ(this=exp.column("list_id"), expression=_literal(c.list_id)))
        )
        return _never_null(exp.column("contact_id", table="c").isin(query=found))

    def criterion(self, c: Criterion) -> exp.Expr:
        handlers: dict[type, Any] = {
            AttributeCriterion: self.attribute,
            ListCriterion: self.list_membership,
            AgeCriterion: self.age,
            GenderCriterion: self.gender,
            DistanceCriterion: self.distance,
            ActivityCriterion: self.activity,
            RecencyCriterion: self.recency,
            LeadTimeCriterion: self.lead_time,
            ScoreChangeCriterion: self.score_change,
            JourneyOutcomeCriterion: self.journey_outcome,
            SegmentMembershipCriterion: self.segment_membership,
            ListMembershipCriterion: self.list_membership_of,
        }
        return handlers[type(c)](c)  # type: ignore[no-any-return]

    # ----- assembly

    def outline(self, node: Any, tree: Any, path: str, out: list[tuple[str, str, Any]]) -> list[tuple[str, str, Any]]:
        """Every node with its path, kind and subtree, in document order (a group before its members)."""
        if isinstance(node, (AllGroup, AnyGroup)):
            key = "all" if isinstance(node, AllGroup) else "any"
            out.append((path, key, tree))
            for i, (child, child_tree) in enumerate(zip(getattr(node, key), tree[1], strict=True)):
                self.outline(child, child_tree, f"{path}.{key}[{i}]", out)
        elif isinstance(node, NotGroup):
            out.append((path, "not", tree))
            self.outline(node.not_, tree[1], f"{path}.not", out)
        else:
            out.append((path, node.kind, tree))
        return out

    def tree(self, node: Any, counter: list[int]) -> Any:
        """The where-tree with each criterion replaced by its index in document order."""
        if isinstance(node, AllGroup):
            return ("all", [self.tree(n, counter) for n in node.all])
        if isinstance(node, AnyGroup):
            return ("any", [self.tree(n, counter) for n in node.any])
        if isinstance(node, NotGroup):
            return ("not", self.tree(node.not_, counter))
        counter[0] += 1
        return ("leaf", counter[0] - 1)

    def compile(self, definition: SegmentDefinition) -> CompiledSegment:
        leaves = definition.criteria()
        predicates = [self.criterion(c) for _, c in leaves]
        contacts = (
            exp.select()
            .from_(effective_contacts(self.org, self.database).subquery("c"))  # bound to the org inside
            .where(exp.column("contact_id", table="c").is_(exp.not_(exp.null())))
        )
        events_select: exp.Select | None = None
        if self.events.aggregates:
            events_select = (
                exp.select(_ev("contact_id"), *[exp.alias_(agg, alias) for alias, agg in self.events.aggregates.values()])
                .from_(self.table("events"))
                .where(exp.EQ(this=_ev("org_id"), expression=_literal(self.org)))
            )
            events_select = self.bounded(events_select, self.events.dt_bounds())
            events_select = events_select.where(exp.paren(_any(list(self.events.conditions.values())))).group_by(_ev("contact_id"))
            contacts = contacts.join(
                "e",
                on=exp.EQ(this=exp.column("contact_id", table="e"), expression=exp.column("contact_id", table="c")),
                join_type="left",
            )
        tree = self.tree(definition.where, [0])
        return CompiledSegment(
            definition=definition,
            dialect=self.dialect,
            leaves=[(path, c.kind) for path, c in leaves],
            outline=self.outline(definition.where, tree, "where", []),
            _events=events_select,
            _contacts=contacts,
            _predicates=predicates,
            _tree=tree,
            _ranked=self.windowed,
        )


def _existence(op: str, value: float) -> bool | None:
    """For a count compared with a bound: True if it means "at least one", False if "none", else None."""
    at_least_one = {"gte": 0 < value <= 1, "gt": 0 <= value < 1}
    none = {"eq": value == 0, "lte": 0 <= value < 1, "lt": 0 < value <= 1}
    if at_least_one.get(op, False):
        return True
    if none.get(op, False):
        return False
    return None


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day)


def latest_birth_date(today: dt.date, years: int) -> dt.date:
    """The latest birth date of someone at least `years` whole years old on `today`."""
    year = today.year - years
    if year < dt.MINYEAR:
        return dt.date.min
    try:
        return today.replace(year=year)
    except ValueError:  # 29 February in a year without one
        return dt.date(year, 2, 28)


def compile_segment(
    definition: SegmentDefinition,
    org_id: str,
    now: dt.datetime,
    dialect: Dialect = "duckdb",
    database: str | None = None,
    memberships: dict[str, str] | None = None,
) -> CompiledSegment:
    """The definition compiled for `org_id` as of `now` (naive UTC), in `dialect`.

    `database` qualifies the lake's tables (the Glue database for Athena). `memberships` maps each segment
    an in_segment / not_in_segment criterion names to the evaluation whose members it reads; a segment
    missing there raises UnresolvedReference.
    """
    if now.tzinfo is not None:
        now = now.astimezone(dt.UTC).replace(tzinfo=None)
    return _Compiler(org_id, now, dialect, database, memberships or {}).compile(definition)
