"""Export and bulk action routes: jobs on a segment's current members (202, then their status)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from tern.api.context import org_id, services
from tern.api.contract import answers, array_of, ref
from tern.api.responses import job_json
from tern.exports.model import ActionRequest, ExportRequest

router = Router()


@router.post(
    "/segments/<segment_id>/exports",
    responses=answers(202, ref("Export"), 409, description="Queued (or planned while the segment computes)"),
)
def request_export(segment_id: str, request: Annotated[ExportRequest, Body()]) -> tuple[dict[str, Any], int]:
    """Export the segment's current members (CSV, XLSX, hashed audience file, or a webhook destination).
    Runs as a job: 202, then GET /exports/{id} for its status and, once done, a download URL."""
    s = services(router)
    return job_json(s.jobs(org_id(router)).request_export(segment_id, request, s.clock())), 202


@router.get("/exports/<export_id>", responses=answers(200, ref("ExportStatus"), 410))
def get_export(export_id: str) -> dict[str, Any]:
    s = services(router)
    return s.jobs(org_id(router)).export(export_id, s.clock())


@router.post(
    "/segments/<segment_id>/actions",
    responses=answers(202, ref("Action"), 409, description="Queued (or planned while the segment computes)"),
)
def request_action(segment_id: str, request: Annotated[ActionRequest, Body()]) -> tuple[dict[str, Any], int]:
    """Add or remove a tag, category or consent on every current member (a job: 202; counts when done)."""
    s = services(router)
    return job_json(s.jobs(org_id(router)).request_action(segment_id, request, s.clock())), 202


@router.get("/segments/<segment_id>/actions", responses=answers(200, array_of("actions", ref("Action"))))
def list_actions(segment_id: str) -> dict[str, Any]:
    s = services(router)
    return {"actions": [job_json(a) for a in s.jobs(org_id(router)).actions_of(segment_id, s.clock())]}
