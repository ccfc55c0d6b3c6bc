"""A page of a segment's current members as a marketer reads it: each with its name, e-mail and city from the lake
(one statement per page, through the org's query slots)."""

from __future__ import annotations

from typing import Any

from tern.segments.people import known, people_sql
from tern.services import Services


def members_page(services: Services, org_id: str, segment_id: str, limit: int, cursor: str | None) -> dict[str, Any]:
    """{"members": [{contact_id, joined_at, name, email, city}], "cursor": the next page's, or None}."""
    page, next_cursor = services.segments(org_id).members(segment_id, services.clock(), limit, cursor)
    people: dict[str, dict[str, str | None]] = {}
    if page:
        engine = services.queries(org_id)
        people = known(engine.run(people_sql(org_id, [m["contact_id"] for m in page], engine.dialect, engine.database)).rows)
    nobody = {"name": None, "email": None, "city": None}  # a member the lake no longer has
    return {"members": [{**m, **people.get(m["contact_id"], nobody)} for m in page], "cursor": next_cursor}
