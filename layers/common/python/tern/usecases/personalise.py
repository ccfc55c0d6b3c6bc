"""Content as one contact would get it: the contact's snapshot read as a journey's entry reads it (every contacts
column, Tern's overlay applied), rendered by the code a send step renders with."""

from __future__ import annotations

from typing import Any

from tern.errors import NotFoundError
from tern.journeys.content import ContentDraft, personalised
from tern.journeys.entry import SNAPSHOT
from tern.segments.compiler import compile_segment
from tern.segments.definition import parse_definition
from tern.services import Services


def preview_content(services: Services, org_id: str, content: ContentDraft, contact_id: str) -> dict[str, Any]:
    """{contact_id, subject, body, text}; NotFoundError when the org has no such contact."""
    one = parse_definition({"name": "preview", "where": {"kind": "attribute", "field": "contact_id", "op": "eq", "value": contact_id}})
    engine = services.queries(org_id)
    compiled = compile_segment(one, org_id, services.clock(), dialect=engine.dialect, database=engine.database)  # type: ignore[arg-type]
    rows = engine.run(compiled.contact_rows_sql(SNAPSHOT)).rows
    if not rows:
        raise NotFoundError(f"no contact {contact_id}")
    return {"contact_id": contact_id, **personalised(content, rows[0][1])}
