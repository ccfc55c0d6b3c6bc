"""Import routes: definitions saved from Amazon Pinpoint (tern.imports.pinpoint), and its endpoint files."""

from __future__ import annotations

import json
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from tern.api.context import org_id, services
from tern.api.contract import answers, obj
from tern.imports.pinpoint.endpoints import as_list_csv
from tern.lists.importing import import_list
from tern.text import OneLine

router = Router()
IMPORT_REPORT = obj("dry_run", "objects", "findings", "summary")


@router.post("/imports/pinpoint", responses=answers(200, IMPORT_REPORT, 413, description="The import's report"))
def import_pinpoint(dry_run: Annotated[bool, Query()] = False) -> dict[str, Any]:
    """The body is one Pinpoint document (JSON or YAML: a get-journey, get-segment, get-campaign, get-email-template
    or get-sms-template output, a list response, or a CloudFormation template), a JSON list of them, or
    `{"files": {"NAME": "TEXT", ...}}`. `dry_run`: the report, nothing created."""
    body = router.current_event.decoded_body or ""
    return services(router).pinpoint(org_id(router)).run(_texts(body), dry_run)


@router.post(
    "/imports/pinpoint/endpoints", responses=answers(201, obj("id", "matched", "segment"), 502, description="The endpoints as a list")
)
def import_endpoints(
    segment: Annotated[str, Query(min_length=1, max_length=200), OneLine],
    name: Annotated[str, Query(min_length=1, max_length=200), OneLine] = "Pinpoint endpoints",
) -> tuple[dict[str, Any], int]:
    """The body is the endpoint file (CSV or newline-delimited JSON) of the IMPORT segment `segment` (its Pinpoint
    id): it becomes a static list, which the segment's import then reads."""
    s = services(router)
    org = org_id(router)
    csv_text, without = as_list_csv(router.current_event.decoded_body or "")
    report = import_list(csv_text, name, org, s.queries(org), s.lake_files, s.lists, s.clock())
    s.pinpoint(org).link_list(segment, report.record.id)
    record = report.record.model_dump(mode="json", exclude={"version"})
    return {
        **record,
        "segment": segment,
        "endpoints_without_contact": without,
        "unknown_rows": report.unknown,
        "bad_row_details": report.bad_rows,
    }, 201


def _texts(body: str) -> list[tuple[str, str]]:
    try:
        found = json.loads(body)
    except json.JSONDecodeError:
        return [("body", body)]
    if (
        isinstance(found, dict)
        and set(found) == {"files"}
        and isinstance(found["files"], dict)
        and all(isinstance(v, str) for v in found["files"].values())
    ):
        return [(str(name), text) for name, text in found["files"].items()]
    return [("body", body)]
