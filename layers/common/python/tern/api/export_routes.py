"""Admin API routes for exports, bulk actions and webhook destinations (registered on tern.api.routes' resolver)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body

from tern.api.routes import _problem_response, app, org_id, services
from tern.errors import GoneError
from tern.exports.model import ActionRequest, DestinationRequest, ExportRequest


def _job(job: Any) -> dict[str, Any]:
    return job.model_dump(mode="json", exclude={"version", "key"})  # type: ignore[no-any-return]


@app.post("/segments/<segment_id>/exports")
def request_export(segment_id: str, request: Annotated[ExportRequest, Body()]) -> tuple[dict[str, Any], int]:
    """Export the segment's current members (CSV, XLSX, hashed audience file, or a webhook destination).
    Runs as a job: 202, then GET /exports/{id} for its status and, once done, a download URL."""
    s = services()
    return _job(s.jobs(org_id()).request_export(segment_id, request, s.clock())), 202


@app.get("/exports/<export_id>")
def get_export(export_id: str) -> dict[str, Any]:
    s = services()
    return s.jobs(org_id()).export(export_id, s.clock())


@app.post("/segments/<segment_id>/actions")
def request_action(segment_id: str, request: Annotated[ActionRequest, Body()]) -> tuple[dict[str, Any], int]:
    """Add or remove a tag, category or consent on every current member (a job: 202; counts when done)."""
    s = services()
    return _job(s.jobs(org_id()).request_action(segment_id, request, s.clock())), 202


@app.get("/segments/<segment_id>/actions")
def list_actions(segment_id: str) -> dict[str, Any]:
    s = services()
    return {"actions": [_job(a) for a in s.jobs(org_id()).actions_of(segment_id, s.clock())]}


@app.post("/destinations")
def add_destination(request: Annotated[DestinationRequest, Body()]) -> tuple[dict[str, Any], int]:
    s = services()
    return s.jobs(org_id()).add_destination(request, s.clock()).public(), 201


@app.get("/destinations")
def list_destinations() -> dict[str, Any]:
    return {"destinations": [d.public() for d in services().jobs(org_id()).list_destinations()]}


@app.exception_handler(GoneError)
def gone(error: GoneError) -> Response[dict[str, Any]]:
    return _problem_response(410, str(error))



