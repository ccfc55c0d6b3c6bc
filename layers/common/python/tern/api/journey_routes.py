"""Admin API routes for journeys and content (registered on the one resolver of tern.api.routes)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, ConfigDict, Field

from tern.api.routes import _json as segment_json
from tern.api.routes import app, org_id, services
from tern.journeys.analytics import analytics
from tern.journeys.content import ContentDraft
from tern.journeys.model import Journey, JourneyDefinition


def _journey(journey: Journey) -> dict[str, Any]:
    return journey.model_dump(mode="json", exclude_none=True)


@app.post("/journeys")
def create_journey(definition: Annotated[JourneyDefinition, Body()]) -> tuple[dict[str, Any], int]:
    return _journey(services().journeys(org_id()).create(definition)), 201


@app.get("/journeys")
def list_journeys() -> dict[str, Any]:
    return {"journeys": [_journey(j) for j in services().journeys(org_id()).list_journeys()]}


@app.get("/journeys/<journey_id>")
def get_journey(journey_id: str) -> dict[str, Any]:
    return _journey(services().journeys(org_id()).get(journey_id))


@app.put("/journeys/<journey_id>")
def update_journey(journey_id: str, definition: Annotated[JourneyDefinition, Body()]) -> dict[str, Any]:
    return _journey(services().journeys(org_id()).update(journey_id, definition))


@app.post("/journeys/<journey_id>/publish")
def publish_journey(journey_id: str) -> dict[str, Any]:
    return _journey(services().journeys(org_id()).publish(journey_id))


@app.post("/journeys/<journey_id>/start")
def start_journey(journey_id: str) -> dict[str, Any]:
    return _journey(services().journeys(org_id()).start(journey_id))


@app.post("/journeys/<journey_id>/stop")
def stop_journey(journey_id: str) -> dict[str, Any]:
    return _journey(services().journeys(org_id()).stop(journey_id))


@app.post("/journeys/<journey_id>/copy")
def copy_journey(journey_id: str) -> tuple[dict[str, Any], int]:
    return _journey(services().journeys(org_id()).copy(journey_id)), 201


@app.get("/journeys/<journey_id>/analytics")
def journey_analytics(journey_id: str) -> dict[str, Any]:
    s = services()
    return analytics(s.journeys(org_id()).get(journey_id), s.engine)


class SaveAsSegment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    outcome: str
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None


@app.post("/journeys/<journey_id>/steps/<step_id>/segments")
def save_as_segment(journey_id: str, step_id: str, request: Annotated[SaveAsSegment, Body()]) -> tuple[dict[str, Any], int]:
    """A draft dynamic segment of the contacts with this outcome at this step (`any` for any step)."""
    journeys = services().journeys(org_id())
    segment = journeys.save_as_segment(journey_id, None if step_id == "any" else step_id, request.outcome, request.name)
    return segment_json(segment), 201


# -------------------------------------------------------------------------------------------- content


@app.post("/content")
def create_content(draft: Annotated[ContentDraft, Body()]) -> tuple[dict[str, Any], int]:
    return services().journeys(org_id()).create_content(draft).model_dump(mode="json"), 201


@app.get("/content")
def list_content() -> dict[str, Any]:
    s = services()
    assert s.content is not None
    return {"content": [c.model_dump(mode="json") for c in s.content.list_content(org_id())]}


@app.get("/content/<content_id>")
def get_content(content_id: str) -> dict[str, Any]:
    s = services()
    assert s.content is not None
    return s.content.get(org_id(), content_id).model_dump(mode="json")


@app.put("/content/<content_id>")
def update_content(content_id: str, draft: Annotated[ContentDraft, Body()]) -> dict[str, Any]:
    return services().journeys(org_id()).update_content(content_id, draft).model_dump(mode="json")


@app.delete("/content/<content_id>")
def delete_content(content_id: str) -> dict[str, Any]:
    return services().journeys(org_id()).delete_content(content_id).model_dump(mode="json")
