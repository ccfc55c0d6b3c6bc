"""Suggestions for the segment editor (tern.segments.suggestions): the fields an org's lake has, and a field's most
common values. Each reads the lake once per SUGGESTIONS_KEPT: through the quick path where the stack has one, as
previews do (tern.engines.quick), else through Athena within the org's query slots (429 when the org's lake queries
are all taken); a statement still running after WAIT_SECONDS answers "running", and the next request for the same
field picks its answer up."""

from __future__ import annotations

import time
from typing import Any

from tern.errors import NotQuick
from tern.observability import logger
from tern.segments.suggestions import (
    Asked,
    answer_json,
    attribute_fields,
    attribute_keys_sql,
    contract_fields,
    suggestions,
    values_sql,
)
from tern.services import Services

WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.1
_FIELDS = "fields#"


def lake_fields(services: Services, org_id: str) -> dict[str, Any]:
    """The contract's fields and the org's custom attributes (`status` running while those are still being read)."""
    fields = [vars(f) for f in contract_fields()]
    found = _read(services, org_id, _FIELDS, lambda engine: attribute_keys_sql(org_id, engine.dialect, engine.database))
    if found is None:
        return {"status": "running", "fields": fields}
    return {"status": "done", "fields": fields + [vars(f) for f in attribute_fields(found)]}


def lake_values(services: Services, org_id: str, request: Asked) -> tuple[dict[str, Any], bool]:
    """The field's suggestions, and whether they are ready (else {"status": "running"}: ask again)."""
    today = services.clock().date()
    found = _read(services, org_id, request.key, lambda engine: values_sql(request, org_id, engine.dialect, engine.database, today))
    if found is None:
        return {"status": "running", "field": request.field}, False
    return {"status": "done", **answer_json(suggestions(request, found))}, True


def _read(services: Services, org_id: str, key: str, statement: Any) -> list[tuple[Any, ...]] | None:
    """The rows answering `key`: kept, or from the quick path, or from the statement started in Athena now or by an
    earlier request; None: running."""
    store = services.suggestions
    now = int(services.clock().timestamp())
    kept = store.get(org_id, key, now) or {}
    if "rows" in kept:
        return [tuple(row) for row in kept["rows"]]
    pending = kept.get("query_id")
    quick = None if pending else services.quick_queries(org_id)
    if quick is not None:
        try:
            rows = [tuple(row) for row in quick.run(statement(quick)).rows]
        except NotQuick as e:
            logger.warning("suggesting through Athena", extra={"org_id": org_id, "reason": str(e)})
        else:
            store.put(org_id, key, {"rows": [list(row) for row in rows]}, now)
            return rows
    engine = services.queries(org_id, at_once=0 if pending else 1)
    query_id = str(pending) if pending else engine.start(statement(engine))
    if not pending:
        store.put(org_id, key, {"query_id": query_id}, now)
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            result = engine.poll(query_id)
        except Exception:
            store.forget(org_id, key)  # the next request asks the lake afresh
            raise
        if result is not None:
            rows = [tuple(row) for row in result.rows]
            store.put(org_id, key, {"rows": [list(row) for row in rows]}, now)
            return rows
        if time.monotonic() >= deadline:
            return None
        time.sleep(_POLL_SECONDS)
