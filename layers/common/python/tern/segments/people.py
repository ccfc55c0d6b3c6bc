"""Who members are, for a marketer's eyes: a page of contact ids looked up in the lake for their name, e-mail and
city (compiler.PEOPLE), in one statement over the org's contacts."""

from __future__ import annotations

from typing import Any

from sqlglot import exp

from tern.segments.compiler import PEOPLE


def people_sql(org_id: str, contact_ids: list[str], dialect: str, database: str | None) -> str:
    """(contact_id, first_name, last_name, email, city) of these contacts of the org (at most a page of them)."""
    return (
        exp.select("contact_id", *PEOPLE)
        .from_(exp.table_("contacts", db=database))
        .where(exp.and_(exp.column("org_id").eq(exp.Literal.string(org_id)),
                        exp.column("contact_id").isin(*(exp.Literal.string(c) for c in contact_ids))))
        .sql(dialect=dialect)
    )  # fmt: skip


def known(rows: list[tuple[Any, ...]]) -> dict[str, dict[str, str | None]]:
    """contact_id -> {name, email, city} from people_sql's rows."""
    found = {}
    for contact_id, first, last, email, city in rows:
        name = " ".join(str(part).strip() for part in (first, last) if part is not None and str(part).strip())
        found[str(contact_id)] = {"name": name or None, "email": email or None, "city": city or None}
    return found
