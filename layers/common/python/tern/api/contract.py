"""The OpenAPI document, true to what the API answers.

Powertools generates paths, parameters and request bodies from the routes. Each route names its success
(status and body) and the errors only it answers with `answers(...)`; `document` adds the errors every route
of that shape can answer (a body: 400 / 413 / 415; parameters: 400; a path id: 404; always 403, 405, 429, 503),
describes every error body as a Problem, and drops the 422 Powertools documents (Tern answers 400 instead).
Schemathesis holds the API to this document in `make test` (tests/integration/test_contract.py).
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema
from pydantic_core import core_schema

from tern.audiences.model import AdAccount, Audience, Sync
from tern.exports.model import Action, Destination, Export
from tern.journeys.analytics import JourneyAnalytics
from tern.journeys.caps import FrequencyCap, MessageSettings
from tern.journeys.content import Content
from tern.journeys.model import Journey
from tern.journeys.senders import Sender, SmsSender
from tern.lists.repository import ListRecord
from tern.segments.segment import Segment
from tern.usecases.preview import Preview, PreviewStarted, PreviewStatus

JSON = "application/json"
REF = "#/components/schemas/"

ERRORS = {
    400: "Bad input: the message names each problem, with its field path in `problems`",
    403: "The caller's claims name no usable org",
    404: "Not found for this org (another org's objects are simply not there)",
    409: "The change does not fit the object's state (or it changed meanwhile)",
    410: "Gone: the export's file is past its 7 days",
    413: "Too large: the body, a definition or a content is over its documented limit",
    415: "The body must be application/json (text/csv for POST /lists)",
    429: "Too many requests: the stage's throttling, or the org's lake queries at once (OrgQueryLimit); see Retry-After",
    502: "The data lake could not answer; try again",
    503: "Tern's store is unavailable; try again shortly",
}

PROBLEM = {
    "type": "object", "title": "Problem", "required": ["message"], "additionalProperties": False,
    "properties": {
        "message": {"type": "string"},
        "problems": {"type": "array", "items": {
            "type": "object", "required": ["path", "message"], "additionalProperties": False,
            "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
        }},
    },
}  # fmt: skip


class UnknownRow(BaseModel):
    line: int
    value: str


class BadRow(BaseModel):
    line: int
    reason: str


class ListReport(ListRecord):
    """POST /lists: the list, and the first rows it could not use and why."""

    unknown_rows: list[UnknownRow]
    bad_row_details: list[BadRow]


class ExportStatus(Export):
    """GET /exports/{id}: the export, and once its file is ready, a download URL and when the URL stops working."""

    url: str | None = None
    url_expires_at: str | None = None


class RenderedContent(BaseModel):
    """POST /content/preview: the message as a send step would make it for the contact."""

    contact_id: str
    subject: str | None
    body: str | None
    text: str | None


class TestSendRecord(BaseModel):
    """POST /content/{id}/test: the test as recorded: rendered for `contact_id`, sent to `to` (`sent`: the provider's ids)."""

    id: str
    content_id: str
    contact_id: str
    to: list[str]
    sent: list[str]
    at: str


class SegmentExample(BaseModel):
    """An example segment to start from: its definition as the editor takes it."""

    id: str
    name: str
    description: str
    where: dict[str, Any]


class MemberRow(BaseModel):
    contact_id: str
    joined_at: str
    name: str | None
    email: str | None
    city: str | None


class MembersPage(BaseModel):
    """GET /segments/{id}/members: a page of the current members, each as a marketer knows it, and the next page's cursor."""

    members: list[MemberRow]
    cursor: str | None


class LakeField(BaseModel):
    field: str  # as a criterion names it: city, tags, attributes.genre
    type: Literal["text", "number", "date", "time", "yes_no", "list"]
    custom: bool  # a custom attribute
    contacts: int | None  # for a custom attribute: how many contacts hold it


class LakeFields(BaseModel):
    """GET /lake/fields: the data contract's fields, then (once read, `status` done) the org's custom attributes."""

    status: Literal["running", "done"]
    fields: list[LakeField]


class LakeValue(BaseModel):
    value: str
    contacts: int


class LakeValues(BaseModel):
    """GET /lake/values: a text field's most common values, most contacts first; a number's or date's range."""

    status: Literal["running", "done"]
    field: str
    type: Literal["text", "number", "date", "time", "yes_no", "list"] | None = None
    event_type: str | None = None
    values: list[LakeValue] | None = None
    smallest: str | float | int | bool | None = None
    largest: str | float | int | bool | None = None


# What the API shows of each stored object (responses.py leaves these fields out)
_MODELS: dict[str, tuple[type[BaseModel], set[str]]] = {
    "Segment": (Segment, {"pending_manifests"}),
    "Journey": (Journey, set()),
    "Content": (Content, set()),
    "Destination": (Destination, {"secret", "version"}),
    "AdAccount": (AdAccount, set(AdAccount.HIDDEN)),
    "Audience": (Audience, set(Audience.HIDDEN)),
    "Sync": (Sync, set(Sync.HIDDEN)),
    "Export": (Export, {"version", "key"}),
    "Action": (Action, {"version", "key"}),
    "List": (ListRecord, {"version"}),
    "FrequencyCap": (FrequencyCap, set()),
    "Sender": (Sender, {"version"}),
    "SmsSender": (SmsSender, set()),
    "MessageSettings": (MessageSettings, set()),
    "JourneyAnalytics": (JourneyAnalytics, set()),
    "ListReport": (ListReport, {"version"}),
    "ExportStatus": (ExportStatus, {"version", "key"}),
    "RenderedContent": (RenderedContent, set()),
    "LakeFields": (LakeFields, set()),
    "MembersPage": (MembersPage, set()),
    "SegmentExample": (SegmentExample, set()),
    "TestSendRecord": (TestSendRecord, set()),
    "LakeValues": (LakeValues, set()),
    "Preview": (Preview, set()),
    "PreviewStarted": (PreviewStarted, set()),
    "PreviewStatus": (PreviewStatus, set()),
}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": REF + name}


def obj(*required: str, **properties: Any) -> dict[str, Any]:
    """An object schema with these required keys (other keys allowed)."""
    return {"type": "object", "required": list(required), "properties": properties}


def array_of(key: str, items: dict[str, Any], **more: Any) -> dict[str, Any]:
    return obj(key, **{key: {"type": "array", "items": items}}, **more)


def answers(
    status: int, body: dict[str, Any], *errors: int, description: str = "Done", also: dict[int, tuple[str, dict[str, Any]]] | None = None
) -> dict[int, OpenAPIResponse]:
    """A route's `responses=`: its success, any other success (`also`), and the errors only it answers."""
    found: dict[int, OpenAPIResponse] = {status: {"description": description, "content": {JSON: {"schema": body}}}}
    for code, (text, schema) in (also or {}).items():
        found[code] = {"description": text, "content": {JSON: {"schema": schema}}}
    for code in errors:
        found[code] = _error(code)
    return found


def _error(code: int) -> OpenAPIResponse:
    return {"description": ERRORS[code], "content": {JSON: {"schema": ref("Problem")}}}


# Tern keeps its own timestamps as UTC without an offset (2026-11-23T17:41:16.485761); times a user gave keep theirs
TIME = {
    "type": "string",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?$",
    "description": "ISO 8601; UTC when it has no offset",
}


def _times(schema: Any) -> Any:
    """The schema with every date-time string read as TIME (what the API writes)."""
    if isinstance(schema, dict):
        if schema.get("format") == "date-time":
            return {**{k: v for k, v in schema.items() if k != "format"}, **TIME}
        return {k: _times(v) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_times(v) for v in schema]
    return schema


class _Written(GenerateJsonSchema):
    """Answers' schemas: a field with a default that is never null is always written, so it is required (what a
    client may rely on); a field whose default is null may be left out (the API drops nulls from journeys)."""

    def field_is_required(
        self, field: core_schema.ModelField | core_schema.DataclassField | core_schema.TypedDictField, total: bool
    ) -> bool:
        inner = field["schema"]
        if self.mode == "serialization" and inner["type"] == "default":
            return inner.get("default") is not None and inner["schema"]["type"] != "nullable"
        return super().field_is_required(field, total)


def _model_schemas() -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for name, (model, hidden) in _MODELS.items():
        schema = _times(
            model.model_json_schema(mode="serialization", by_alias=True, ref_template=REF + "{model}", schema_generator=_Written)
        )
        for definition_name, definition in schema.pop("$defs", {}).items():
            schemas.setdefault(definition_name, definition)
        for field in hidden:
            schema.get("properties", {}).pop(field, None)
        schema["required"] = [f for f in schema.get("required", []) if f not in hidden]
        schema["additionalProperties"] = False
        schema["title"] = name
        schemas[name] = schema
    return schemas


def document(generated: dict[str, Any]) -> dict[str, Any]:
    """The generated OpenAPI document with every status each route answers."""
    components = generated.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        components.pop(name, None)
    components["Problem"] = PROBLEM
    for name, schema in _model_schemas().items():
        components.setdefault(name, schema)
    for path, operations in generated.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            parameters = operation.get("parameters", [])
            generic = {403, 429, 503}
            if parameters or "requestBody" in operation:
                generic.add(400)
            if "requestBody" in operation or (method, path) == ("post", "/lists"):
                generic.add(413)
            if any(p.get("in") == "path" for p in parameters):
                generic.add(404)
            if "requestBody" in operation and JSON in operation["requestBody"].get("content", {}):
                generic.add(415)
            for code in sorted(generic):
                responses.setdefault(str(code), _error(code))
            if method == "post" and path == "/lists":  # the route reads its CSV body itself
                operation["requestBody"] = {
                    "required": True,
                    "description": "CSV whose header names a contact_id or email column; ',' ';' or tab separated; a UTF-8 BOM is fine",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                }
    _link_created_objects(generated.get("paths", {}))
    return generated


def _link_created_objects(paths: dict[str, Any]) -> None:
    """OpenAPI links from each POST that creates an object (201 with an `id`) to the operations on that object,
    so a client (and Schemathesis' stateful phase) knows where the new id goes."""
    for path, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get("201")
        if not created:
            continue
        base = path if "{" not in path else None
        links: dict[str, Any] = {}
        for other, other_operations in paths.items():
            if base is None or not other.startswith(base):
                continue
            rest = other[len(base) :]
            if not rest.startswith("/{") or other.count("{") != 1:
                continue
            parameter = rest[2 : rest.index("}")]
            for method, operation in other_operations.items():
                links[f"{method}{other}".replace("/", "_").replace("{", "").replace("}", "")] = {
                    "operationId": operation["operationId"], "parameters": {parameter: "$response.body#/id"},
                }  # fmt: skip
        if links:
            created["links"] = links
