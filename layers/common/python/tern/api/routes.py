"""Admin API routes (Powertools APIGatewayRestResolver, pydantic validation, generated OpenAPI).

The org comes only from the authorizer's claims (`custom:org_id` of the Cognito user); another org's
objects are simply not found. Domain errors map to HTTP here and nowhere else:
400 bad input (with field paths), 403 no org claim, 404 not found, 409 wrong state, 502 lake, 503 store.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Body, Query

from tern import __version__
from tern.errors import (
    ConflictError,
    DataError,
    DefinitionError,
    NotFoundError,
    Problem,
    QueryError,
    StoreError,
    TernError,
)
from tern.segments.evaluate import count, members
from tern.segments.lifecycle import SegmentDraft
from tern.segments.model import SegmentDefinition, format_loc
from tern.segments.record import Segment
from tern.services import Services
from tern.static_lists import import_list

logger = Logger(service="tern", child=True)
app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="Tern admin API", version=__version__, description="Segments over your customer data lake.")
ORG_CLAIMS = ("custom:org_id", "org_id")
ORG_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
PREVIEW_SAMPLE = 50


class NoOrgError(TernError):
    """The caller's claims name no org."""


_services: Services | None = None


def configure(services: Services) -> None:
    """Set what the routes work with: once per process, at cold start (or by the local stack)."""
    global _services
    _services = services


def services() -> Services:
    if _services is None:
        raise RuntimeError("tern.api.routes.configure() was not called")
    return _services


def org_id() -> str:
    authorizer = app.current_event.request_context.authorizer
    claims: dict[str, Any] = (authorizer.claims if authorizer else None) or {}
    for name in ORG_CLAIMS:
        if claims.get(name):
            org = str(claims[name])
            if not ORG_ID.fullmatch(org):  # it names folders in the lake: no slashes, no '='
                raise NoOrgError("the caller's org id is not usable (letters, digits, . _ - only)")
            return org
    raise NoOrgError("the caller's claims name no org")


def _json(segment: Segment) -> dict[str, Any]:
    body = segment.model_dump(mode="json", by_alias=True, exclude={"pending_manifests", "where"})
    # the where-tree as the marketer wrote it: no unset options
    return {**body, "where": segment.model_dump(mode="json", by_alias=True, include={"where"}, exclude_none=True)["where"]}


# ----------------------------------------------------------------------------------------- segments


@app.post("/segments")
def create_segment(draft: Annotated[SegmentDraft, Body()]) -> tuple[dict[str, Any], int]:
    s = services()
    return _json(s.segments(org_id()).create(draft, s.clock())), 201


@app.get("/segments")
def list_segments(include_deleted: Annotated[bool, Query()] = False) -> dict[str, Any]:
    s = services()
    found = s.segments(org_id()).list_segments(s.clock(), include_deleted=include_deleted)
    return {"segments": [_json(segment) for segment in found]}


@app.post("/segments/preview")
def preview_segment(definition: Annotated[SegmentDefinition, Body()]) -> dict[str, Any]:
    s = services()
    org, now = org_id(), s.clock()
    segments = s.segments(org)
    segments.check_references(definition)  # 400 naming the criterion that refers to nothing
    memberships = segments.memberships_for(definition)  # 409 if a referred segment has no membership yet
    counts = count(definition, s.engine, org, now, memberships=memberships)
    sample = members(definition, s.engine, org, now, limit=PREVIEW_SAMPLE, memberships=memberships)
    return {"total": counts.total, "criteria": [c.__dict__ for c in counts.criteria], "sample": sample}


@app.get("/segments/<segment_id>")
def get_segment(segment_id: str) -> dict[str, Any]:
    s = services()
    return _json(s.segments(org_id()).get(segment_id, s.clock()))


@app.put("/segments/<segment_id>")
def update_segment(segment_id: str, draft: Annotated[SegmentDraft, Body()]) -> dict[str, Any]:
    s = services()
    return _json(s.segments(org_id()).update(segment_id, draft, s.clock()))


@app.delete("/segments/<segment_id>")
def delete_segment(segment_id: str) -> dict[str, Any]:
    s = services()
    return _json(s.segments(org_id()).delete(segment_id, s.clock()))


@app.post("/segments/<segment_id>/restore")
def restore_segment(segment_id: str) -> dict[str, Any]:
    s = services()
    return _json(s.segments(org_id()).restore(segment_id, s.clock()))


@app.post("/segments/<segment_id>/copy")
def copy_segment(segment_id: str) -> tuple[dict[str, Any], int]:
    s = services()
    return _json(s.segments(org_id()).copy(segment_id, s.clock())), 201


@app.post("/segments/<segment_id>/go-live")
def go_live(segment_id: str) -> dict[str, Any]:
    s = services()
    return _json(s.segments(org_id()).go_live(segment_id, s.clock()))


@app.post("/segments/<segment_id>/archive")
def archive_segment(segment_id: str) -> dict[str, Any]:
    s = services()
    return _json(s.segments(org_id()).archive(segment_id, s.clock()))


@app.post("/segments/<segment_id>/evaluate")
def evaluate_segment(segment_id: str) -> dict[str, Any]:
    s = services()
    org = org_id()
    from tern.segments.scheduled import evaluation_ended

    try:
        done = s.segments(org).evaluate(segment_id, s.engine, s.manifests, s.clock())
    finally:
        evaluation_ended(s, org, segment_id)  # exports and actions asked for meanwhile start now
    from tern.journeys.run_job import joiners_after_refresh

    joined = joiners_after_refresh(s, org, segment_id)  # journeys taking later joiners run for the newcomers
    return {**done.evaluation.model_dump(mode="json"), "write_requests": done.write_requests, "journeys_run": joined}


@app.get("/segments/<segment_id>/members")
def list_members(
    segment_id: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=1000)] = None,
) -> dict[str, Any]:
    s = services()
    org = org_id()
    s.segments(org).get(segment_id, s.clock())  # 404 for what the org cannot see
    page, next_cursor = s.repository.members(org, segment_id, limit, cursor)
    return {"members": page, "cursor": next_cursor}


@app.get("/segments/<segment_id>/history")
def segment_history(segment_id: str, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> dict[str, Any]:
    s = services()
    org = org_id()
    s.segments(org).get(segment_id, s.clock())
    return {"history": [e.model_dump(mode="json") for e in s.repository.history(org, segment_id, limit)]}


# -------------------------------------------------------------------------------------------- lists


@app.post("/lists")
def create_list(name: Annotated[str, Query(min_length=1, max_length=200)] = "imported list") -> tuple[dict[str, Any], int]:
    """The body is CSV (text/csv) whose first row names a contact_id or email column."""
    s = services()
    body = app.current_event.decoded_body or ""
    report = import_list(body, name, org_id(), s.engine, s.manifests.files, s.lists, s.clock())
    return {**report.record.model_dump(mode="json", exclude={"version"}), "unknown_rows": report.unknown, "bad_row_details": report.bad_rows}, 201


@app.get("/lists/<list_id>")
def get_list(list_id: str) -> dict[str, Any]:
    return services().lists.get(org_id(), list_id).model_dump(mode="json", exclude={"version"})


@app.get("/openapi.json")
def openapi() -> Response[str]:
    return Response(200, content_types.APPLICATION_JSON, app.get_openapi_json_schema())


# ------------------------------------------------------------------------------------------- errors


def _problem_response(status: int, message: str, problems: list[Problem] | None = None) -> Response[dict[str, Any]]:
    body: dict[str, Any] = {"message": message}
    if problems is not None:
        body["problems"] = [{"path": p.path, "message": p.message} for p in problems]
    return Response(status, content_types.APPLICATION_JSON, body)


@app.exception_handler(RequestValidationError)
def bad_request(error: RequestValidationError) -> Response[dict[str, Any]]:
    problems: dict[str, Problem] = {}
    for item in error.errors():
        loc = tuple(item.get("loc", ()))
        where, rest = (loc[0], loc[1:]) if loc and loc[0] in ("body", "query", "path") else ("body", loc)
        path = format_loc(rest) if rest else str(where)
        message = str(item.get("msg", "invalid")).removeprefix("Value error, ")
        if item.get("type") == "union_tag_invalid":
            what = "step" if "steps" in loc else "criterion"
            message = f"unknown {what} kind {item.get('ctx', {}).get('tag')!r}"
        elif item.get("type") == "extra_forbidden":
            message = "unknown field"
        elif item.get("type") == "json_invalid":
            path, message = "body", "the body is not valid JSON"
        problems.setdefault(path, Problem(path, message))
    return _problem_response(400, "invalid request: " + "; ".join(str(p) for p in problems.values()), list(problems.values()))


@app.exception_handler(DefinitionError)
def bad_definition(error: DefinitionError) -> Response[dict[str, Any]]:
    return _problem_response(400, f"invalid definition: {error}", error.problems)


@app.exception_handler(NoOrgError)
def no_org(error: NoOrgError) -> Response[dict[str, Any]]:
    return _problem_response(403, str(error))


@app.exception_handler(NotFoundError)
def not_found(error: NotFoundError) -> Response[dict[str, Any]]:
    return _problem_response(404, str(error))


@app.exception_handler(ConflictError)
def conflict(error: ConflictError) -> Response[dict[str, Any]]:
    return _problem_response(409, str(error))


@app.exception_handler([DataError, QueryError])
def lake_failed(error: TernError) -> Response[dict[str, Any]]:
    logger.error("the lake could not answer", extra={"detail": str(error)})
    return _problem_response(502, "the data lake could not answer; try again, and tell your administrator if it persists")


@app.exception_handler(StoreError)
def store_failed(error: StoreError) -> Response[dict[str, Any]]:
    logger.error("the store failed", extra={"detail": str(error)})
    return _problem_response(503, "Tern's store is unavailable; try again shortly")


from tern.api import export_routes, journey_routes  # noqa: E402, F401 - register the journey, content, export, action and destination routes
