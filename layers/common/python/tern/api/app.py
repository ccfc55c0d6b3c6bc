"""The admin API: one Powertools resolver (pydantic validation, generated OpenAPI), a router per resource,
and the one place domain errors become HTTP answers:
400 bad input (with field paths), 403 no org claim, 404 not found, 409 wrong state, 410 gone, 502 lake, 503 store.
"""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestUnsupportedContentType, RequestValidationError

from tern import __version__
from tern.api import (
    audiences,
    content,
    destinations,
    events,
    exports,
    imports,
    journeys,
    lake,
    lists,
    recipients,
    segments,
    senders,
    settings,
)
from tern.api.context import NoOrgError
from tern.api.contract import document
from tern.api.responses import problem
from tern.errors import (
    ConflictError,
    DataError,
    DefinitionError,
    GoneError,
    NotFoundError,
    PlatformUnavailable,
    Problem,
    QueryError,
    StoreError,
    TernError,
    TooBusy,
    TooLarge,
)
from tern.segments.problems import problems_from
from tern.services import Services

logger = Logger(service="tern", child=True, level=logging.NOTSET)  # the level is the function logger's
app = APIGatewayRestResolver(enable_validation=True)
app.configure_openapi(title="Tern admin API", version=__version__, description="Segments over your customer data lake.")
app.include_router(segments.router)
app.include_router(lake.router)
app.include_router(lists.router)


@app.get("/openapi.json", include_in_schema=False)
def openapi() -> Response[str]:
    return Response(200, content_types.APPLICATION_JSON, json.dumps(openapi_document()))


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of the admin API, every status of every route in it (tern.api.contract)."""
    generated = json.loads(app.get_openapi_json_schema())
    return document(generated)


app.include_router(journeys.router)
app.include_router(content.router)
app.include_router(exports.router)
app.include_router(destinations.router)
app.include_router(audiences.router)
app.include_router(settings.router)
app.include_router(senders.router)
app.include_router(events.router)
app.include_router(imports.router)
app.include_router(recipients.router)


MAX_BODY_BYTES = 6 * 1000 * 1000  # Lambda's limit for a synchronous request; what is valid is far smaller
JSON_TYPES = ("application/json", "")  # a body without a Content-Type is read as JSON, as Powertools does


def _refused(status: int, message: str, problems: list[Problem] | None = None) -> dict[str, Any]:
    """An answer given before the resolver reads the request (API Gateway's proxy response shape)."""
    answer = problem(status, message, problems)
    body = json.dumps(answer.body)
    return {"statusCode": status, "headers": {"Content-Type": content_types.APPLICATION_JSON}, "body": body, "isBase64Encoded": False}


def _query_refused(event: dict[str, Any]) -> dict[str, Any] | None:
    """A blank or repeated query parameter, refused by name (Powertools would read a blank as absent and keep one
    of several values silently: `?limit=` would list the default page, `?dry_run=&dry_run=true` write nothing)."""
    for name, values in sorted((event.get("multiValueQueryStringParameters") or {}).items()):
        if len(values) > 1:
            return _refused(
                400,
                f"invalid request: query parameter {name}: given {len(values)} times",
                [Problem(f"query.{name}", f"given {len(values)} times; give it once")],
            )
        if not any(str(value).strip() for value in values):
            return _refused(
                400, f"invalid request: query parameter {name}: blank", [Problem(f"query.{name}", "blank; give it a value or leave it out")]
            )
    return None


def _takes_json(event: dict[str, Any]) -> bool:
    """Does the route this request goes to read a JSON body? (POST /lists reads CSV; an unknown route answers 404.)"""
    method, path = str(event.get("httpMethod", "")).upper(), str(event.get("path", ""))
    for route in app._static_routes + app._dynamic_routes:  # the order Powertools matches them in
        if route.method == method and route.rule.match(path):
            return bool(route.dependant.body_params)
    return False


def handle(event: dict[str, Any], context: Any, services: Services) -> dict[str, Any]:
    """Answer one API Gateway request with `services`."""
    body = event.get("body") or ""
    size = len(body) * 3 // 4 if event.get("isBase64Encoded") else len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_BODY_BYTES:  # refused before it is parsed
        return _refused(413, f"too large: the body is {size:,} bytes; the limit is {MAX_BODY_BYTES:,} bytes")
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    media_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if body and media_type not in JSON_TYPES and not media_type.endswith("+json") and _takes_json(event):
        return _refused(415, f"send the body as application/json, not {media_type} (POST /lists takes text/csv)")
    text = base64.b64decode(body).decode("utf-8", "replace") if body and event.get("isBase64Encoded") else body
    if text.lstrip().startswith("[") and _takes_json(event):  # Powertools would read a list as its first item: [{...}, x] as {...}
        return _refused(
            400,
            "invalid request: body: expected an object {...}, got an array",
            [Problem("body", "expected an object {...}, got an array")],
        )
    if refused := _query_refused(event):
        return refused
    app.append_context(services=services)  # the resolver clears its context after each request
    return app.resolve(event, context)


# ------------------------------------------------------------------------------------------- errors


@app.exception_handler(RequestValidationError)
def bad_request(error: RequestValidationError) -> Response[dict[str, Any]]:
    items = []
    for item in error.errors():
        loc = tuple(item.get("loc", ()))
        if item.get("type") == "json_invalid":
            return problem(400, "invalid request: body: the body is not valid JSON", [Problem("body", "the body is not valid JSON")])
        if loc and loc[0] == "body":
            loc = loc[1:]  # a field path inside the body reads as the user wrote it: where.all[0].value
        items.append({**item, "loc": loc})
    what = "step" if any("steps" in item["loc"] for item in items) else "criterion"
    problems = [Problem(p.path or "body", p.message) for p in problems_from(items, what=what)]
    return problem(400, "invalid request: " + "; ".join(str(p) for p in problems), problems)


@app.exception_handler(RequestUnsupportedContentType)
def unsupported_type(error: RequestUnsupportedContentType) -> Response[dict[str, Any]]:
    return problem(415, "send the body as application/json (POST /lists takes text/csv)")


@app.exception_handler(RecursionError)
def too_deep(error: RecursionError) -> Response[dict[str, Any]]:
    return problem(400, "invalid request: the body nests too deeply", [Problem("body", "nests too deeply")])


@app.exception_handler(TooLarge)
def too_large(error: TooLarge) -> Response[dict[str, Any]]:
    return problem(413, f"too large: {error}", error.problems)


@app.not_found
def no_route(error: Exception) -> Response[dict[str, Any]]:
    event = app.current_event
    # a static route wins over a dynamic one of the same shape (/segments/preview before /segments/{id})
    static = [route for route in app._static_routes if route.rule.match(event.path)]  # Powertools has no public list
    allowed = sorted({route.method for route in static or [r for r in app._dynamic_routes if r.rule.match(event.path)]})
    if allowed:
        answer = problem(405, f"{event.http_method} is not allowed on {event.path}; use {', '.join(allowed)}")
        answer.headers["Allow"] = ", ".join(allowed)
        return answer
    return problem(404, f"there is no route {event.http_method} {event.path}")


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


@app.exception_handler(TooBusy)
def too_busy(error: TooBusy) -> Response[dict[str, Any]]:
    answer = problem(429, f"{error}: try again in {error.retry_after} seconds")
    answer.headers["Retry-After"] = str(error.retry_after)
    return answer


@app.exception_handler(GoneError)
def gone(error: GoneError) -> Response[dict[str, Any]]:
    return problem(410, str(error))


@app.exception_handler([DataError, QueryError])
def lake_failed(error: TernError) -> Response[dict[str, Any]]:
    logger.error("the lake could not answer", extra={"detail": str(error)})
    return problem(502, "the data lake could not answer; try again, and tell your administrator if it persists")


@app.exception_handler(PlatformUnavailable)
def platform_unavailable(error: PlatformUnavailable) -> Response[dict[str, Any]]:
    logger.warning("an ad platform could not answer", extra={"detail": str(error)})
    return problem(503, f"{error}; try again shortly")


@app.exception_handler(StoreError)
def store_failed(error: StoreError) -> Response[dict[str, Any]]:
    logger.error("the store failed", extra={"detail": str(error)})
    return problem(503, "Tern's store is unavailable; try again shortly")
