"""Static list routes: import a CSV, list them, read one."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from tern.api.context import org_id, services
from tern.api.contract import answers, array_of, ref
from tern.lists.importing import import_list
from tern.text import OneLine

router = Router()


@router.post("/lists", responses=answers(201, ref("ListReport"), 502, description="Imported: the list and its report"))
def create_list(name: Annotated[str, Query(min_length=1, max_length=200), OneLine] = "imported list") -> tuple[dict[str, Any], int]:
    """The body is CSV (text/csv) whose first row names a contact_id or email column."""
    s = services(router)
    body = router.current_event.decoded_body or ""
    org = org_id(router)
    report = import_list(body, name, org, s.queries(org), s.lake_files, s.lists, s.clock())
    return {
        **report.record.model_dump(mode="json", exclude={"version"}),
        "unknown_rows": report.unknown,
        "bad_row_details": report.bad_rows,
    }, 201


@router.get("/lists", responses=answers(200, array_of("lists", ref("List"))))
def list_lists() -> dict[str, Any]:
    """The org's imported lists, newest first (what the segment builder offers by name)."""
    found = sorted(services(router).lists.all(org_id(router)), key=lambda r: r.created_at, reverse=True)
    return {"lists": [r.model_dump(mode="json", exclude={"version"}) for r in found]}


@router.get("/lists/<list_id>", responses=answers(200, ref("List")))
def get_list(list_id: str) -> dict[str, Any]:
    return services(router).lists.get(org_id(router), list_id).model_dump(mode="json", exclude={"version"})
