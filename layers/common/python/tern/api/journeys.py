"""Journey routes: drafts, publish, start, stop, copy, analytics, and saving an outcome as a segment."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, ConfigDict, Field

from tern.api.context import org_id, services
from tern.api.contract import answers, array_of, ref
from tern.api.responses import journey_json, segment_json
from tern.journeys.analytics import analytics
from tern.journeys.model import JourneyDefinition
from tern.text import OneLine

router = Router()


@router.post("/journeys", responses=answers(201, ref("Journey"), 409, description="Created, as a draft"))
def create_journey(definition: Annotated[JourneyDefinition, Body()]) -> tuple[dict[str, Any], int]:
    return journey_json(services(router).journeys(org_id(router)).create(definition)), 201


@router.get("/journeys", responses=answers(200, array_of("journeys", ref("Journey"))))
def list_journeys() -> dict[str, Any]:
    return {"journeys": [journey_json(j) for j in services(router).journeys(org_id(router)).list_journeys()]}


@router.get("/journeys/<journey_id>", responses=answers(200, ref("Journey")))
def get_journey(journey_id: str) -> dict[str, Any]:
    return journey_json(services(router).journeys(org_id(router)).get(journey_id))


@router.put("/journeys/<journey_id>", responses=answers(200, ref("Journey"), 409))
def update_journey(journey_id: str, definition: Annotated[JourneyDefinition, Body()]) -> dict[str, Any]:
    return journey_json(services(router).journeys(org_id(router)).update(journey_id, definition))


@router.post("/journeys/<journey_id>/publish", responses=answers(200, ref("Journey"), 409))
def publish_journey(journey_id: str) -> dict[str, Any]:
    return journey_json(services(router).journeys(org_id(router)).publish(journey_id))


@router.post("/journeys/<journey_id>/start", responses=answers(200, ref("Journey"), 409))
def start_journey(journey_id: str) -> dict[str, Any]:
    return journey_json(services(router).journeys(org_id(router)).start(journey_id))


@router.post("/journeys/<journey_id>/stop", responses=answers(200, ref("Journey"), 409))
def stop_journey(journey_id: str) -> dict[str, Any]:
    return journey_json(services(router).journeys(org_id(router)).stop(journey_id))


@router.post("/journeys/<journey_id>/copy", responses=answers(201, ref("Journey"), 409))
def copy_journey(journey_id: str) -> tuple[dict[str, Any], int]:
    return journey_json(services(router).journeys(org_id(router)).copy(journey_id)), 201


@router.get("/journeys/<journey_id>/analytics", responses=answers(200, ref("JourneyAnalytics"), 502))
def journey_analytics(journey_id: str) -> dict[str, Any]:
    s = services(router)
    journey = s.journeys(org_id(router)).get(journey_id)
    return analytics(journey, s.queries(journey.org_id), s.journey_repository.totals(journey.org_id, journey.id))


class SaveAsSegment(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    outcome: str
    way: Annotated[str, Field(min_length=1, max_length=40), OneLine] | None = None
    name: Annotated[str, Field(min_length=1, max_length=200), OneLine] | None = None


@router.post(
    "/journeys/<journey_id>/steps/<step_id>/segments", responses=answers(201, ref("Segment"), 409, description="Created, as a draft")
)
def save_as_segment(journey_id: str, step_id: str, request: Annotated[SaveAsSegment, Body()]) -> tuple[dict[str, Any], int]:
    """A draft dynamic segment of the contacts with this outcome at this step (`any` for any step)."""
    journeys = services(router).journeys(org_id(router))
    segment = journeys.save_as_segment(journey_id, None if step_id == "any" else step_id, request.outcome, request.name, request.way)
    return segment_json(segment), 201
