"""Contact events from the customer's apps: recorded for segments, and matched with journeys' goals and exits."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, ConfigDict, Field

from tern.api.context import org_id, services
from tern.api.contract import answers, obj
from tern.journeys.matching import MAX_EVENTS, ContactEvent

router = Router()


class EventBatch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    events: Annotated[list[ContactEvent], Field(min_length=1, max_length=MAX_EVENTS)]


@router.post("/events", responses=answers(202, obj("accepted", "entering", "converted", "exits"), description="Recorded"))
def post_events(batch: Annotated[EventBatch, Body()]) -> tuple[dict[str, Any], int]:
    """Up to 500 events about the org's contacts: each goes to the events dataset; a journey's goal it meets
    converts the contact, an exit event marks it to leave at its next step."""
    return services(router).triggers().take(org_id(router), list(batch.events)), 202
