"""The SQL an export or a bulk action reads: one evaluation's members (its manifest), with their contacts as
segments see them (the overlay applied) and, for the summary columns, their purchases."""

from __future__ import annotations

from sqlglot import exp

from tern import lake
from tern.segments.compiler import effective_contacts, literal

SUMMARY = ["contact_id", "first_name", "last_name", "email", "phone", "city", "last_purchase_date", "total_spent", "tickets"]
FULL = [name for name in lake.CONTACTS]
AUDIENCE = ["contact_id", "email", "phone", "country"]

_PURCHASES: exp.Expr = (  # each member's purchases in one pass over the org's events
    exp.select(
        exp.column("contact_id"),
        exp.alias_(
            exp.Cast(this=exp.Max(this=exp.column("ts")), to=exp.DataType(this=exp.DataType.Type.DATE, nested=False)), "last_purchase_date"
        ),
        exp.alias_(exp.Sum(this=exp.column("amount")), "total_spent"),
        exp.alias_(
            exp.Cast(this=exp.Sum(this=exp.column("quantity")), to=exp.DataType(this=exp.DataType.Type.BIGINT, nested=False)), "tickets"
        ),
    )
    .from_("events")
    .where(exp.and_(exp.column("org_id").eq(exp.Placeholder(this="org")), exp.column("event_type").eq(exp.Literal.string("purchase"))))
    .group_by(exp.column("contact_id"))
)
_PURCHASE_COLUMNS = {
    "last_purchase_date": exp.column("last_purchase_date", table="p"),
    "total_spent": exp.func("COALESCE", exp.column("total_spent", table="p"), exp.Literal.number(0)),
    "tickets": exp.func("COALESCE", exp.column("tickets", table="p"), exp.Literal.number(0)),
}


def _on(alias: str) -> exp.Expr:
    return exp.EQ(this=exp.column("contact_id", table=alias), expression=exp.column("contact_id", table="m"))


def members(
    org_id: str,
    segment_id: str,
    evaluation_id: str,
    columns: list[str],
    database: str | None,
    dialect: str,
    has: tuple[str, str] | None = None,
) -> str:
    """One row per member of the evaluation, in contact_id order, with `columns` (contacts columns and the
    purchase summary); with `has` = (contacts list column, value), a boolean column `has` too."""
    projection: list[exp.Expr] = []
    for name in columns:
        if name == "contact_id":
            projection.append(exp.alias_(exp.column("contact_id", table="m"), "contact_id"))
        elif name in _PURCHASE_COLUMNS:
            projection.append(exp.alias_(_PURCHASE_COLUMNS[name].copy(), name))
        elif name in lake.CONTACTS:
            projection.append(exp.column(name, table="c"))
        else:
            raise ValueError(f"not an export column: {name}")
    if has is not None:
        contains = exp.ArrayContains(this=exp.column(has[0], table="c"), expression=literal(has[1]))
        projection.append(exp.alias_(exp.func("COALESCE", contains, exp.false()), "has"))
    select = (
        exp.select(*projection)
        .from_(exp.alias_(exp.table_("memberships", db=database), "m", table=True))
        .join(effective_contacts(org_id, database).subquery("c"), on=_on("c"), join_type="left")
    )
    if any(name in _PURCHASE_COLUMNS for name in columns):
        purchases: exp.Select = _PURCHASES.copy().transform(  # type: ignore[assignment]
            lambda n: (
                literal(org_id)
                if isinstance(n, exp.Placeholder)
                else (exp.table_("events", db=database) if isinstance(n, exp.Table) else n)
            )
        )
        select = select.join(purchases.subquery("p"), on=_on("p"), join_type="left")
    for column, value in (("org_id", org_id), ("segment_id", segment_id), ("evaluation_id", evaluation_id)):
        select = select.where(exp.EQ(this=exp.column(column, table="m"), expression=literal(value)))
    return select.order_by(exp.column("contact_id", table="m")).sql(dialect=dialect)
