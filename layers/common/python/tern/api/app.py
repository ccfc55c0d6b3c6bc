"""The admin API: one Powertools resolver (pydantic validation, generated OpenAPI), a router per resource,
and the one place domain errors become HTTP answers:
400 bad input (with field paths), 403 no org claim, 404 not found, 409 wrong state, 410 gone, 502 lake, 503 store.
"""

from __future__ import annotations

import logging
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError

from tern import __version__
from tern.api import content, destinations, exports, journeys, lists, segments
from tern.api.context import NoOrgError
from tern.api.responses import problem
from tern.errors import (
    ConflictError,
    DataError,
    DefinitionError,
    GoneError,
    NotFoundError,
    Problem,
    QueryError,
    StoreError,
    TernError,
)
from tern.segments.definition import format_loc
from tern.services import Services

logger = Logger(service="tern", child=True, level=logging.NOTSET)  # the level is the function logger's
app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="Tern admin API", version=__version__, description="Segments over your customer data lake.")
app.include_router(segments.router)
app.include_router(lists.router)


@app.get("/openapi.json")
def openapi() -> Response[str]:
    return Response(200, content_types.APPLICATION_JSON, app.get_openapi_json_schema())


app.include_router(journeys.router)
app.include_router(content.router)
app.include_router(exports.router)
app.include_router(destinations.router)


def handle(event: dict[str, Any], context: Any, services: Services) -> dict[str, Any]:
    """Answer one API Gateway request with `services`."""
    app.append_context(services=services)  # the resolver clears its context after each request
    return app.resolve(event, context)


# ------------------------------------------------------------------------------------------- errors


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
    return problem(400, "invalid request: " + "; ".join(str(p) for p in problems.values()), list(problems.values()))


@app.exception_handler(DefinitionError)
def bad_definition(error: DefinitionError) -> Response[dict[str, Any]]:
    return problem(400, f"invalid definition: {error}", error.problems)


@app.exception_handler(NoOrgError)
def no_org(error: NoOrgError) -> Response[dict[str, Any]]:
    return problem(403, str(error))


@app.exception_handler(NotFoundError)
def not_found(error: NotFoundError) -> Response[dict[str, Any]]:
    return problem(404, str(error))


@app.exception_handler(ConflictError)
def conflict(error: ConflictError) -> Response[dict[str, Any]]:
    return problem(409, str(error))


@app.exception_handler(GoneError)
def gone(error: GoneError) -> Response[dict[str, Any]]:
    return problem(410, str(error))


@app.exception_handler([DataError, QueryError])
def lake_failed(error: TernError) -> Response[dict[str, Any]]:
    logger.error("the lake could not answer", extra={"detail": str(error)})
    return problem(502, "the data lake could not answer; try again, and tell your administrator if it persists")


@app.exception_handler(StoreError)
def store_failed(error: StoreError) -> Response[dict[str, Any]]:
    logger.error("the store failed", extra={"detail": str(error)})
    return problem(503, "Tern's store is unavailable; try again shortly")
