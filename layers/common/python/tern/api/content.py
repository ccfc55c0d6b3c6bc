"""Content routes: e-mail and SMS content that journeys send (frozen once a published journey sends it)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body
from pydantic import BaseModel, ConfigDict, Field

from tern.api.context import org_id, services
from tern.api.contract import answers, array_of, ref
from tern.journeys.content import ContentDraft
from tern.text import OneLine
from tern.usecases import personalise
from tern.usecases.test_send import TestSend, send_test

router = Router()


@router.post("/content", responses=answers(201, ref("Content"), 409))
def create_content(draft: Annotated[ContentDraft, Body()]) -> tuple[dict[str, Any], int]:
    return services(router).journeys(org_id(router)).create_content(draft).model_dump(mode="json"), 201


class ContentPreview(BaseModel):
    model_config = ConfigDict(extra="forbid")
    content: ContentDraft
    contact_id: Annotated[str, Field(min_length=1, max_length=200), OneLine]


@router.post(
    "/content/preview",
    responses=answers(200, ref("RenderedContent"), 404, 502, description="Rendered for the contact"),
)
def preview_content(request: Annotated[ContentPreview, Body()]) -> dict[str, Any]:
    """Content (saved or not) as the contact would get it: a send step's rendering of the contact's snapshot."""
    return personalise.preview_content(services(router), org_id(router), request.content, request.contact_id)


@router.get("/content", responses=answers(200, array_of("content", ref("Content"))))
def list_content() -> dict[str, Any]:
    return {"content": [c.model_dump(mode="json") for c in services(router).journeys(org_id(router)).list_content()]}


@router.get("/content/<content_id>", responses=answers(200, ref("Content")))
def get_content(content_id: str) -> dict[str, Any]:
    return services(router).journeys(org_id(router)).get_content(content_id).model_dump(mode="json")


@router.put("/content/<content_id>", responses=answers(200, ref("Content"), 409))
def update_content(content_id: str, draft: Annotated[ContentDraft, Body()]) -> dict[str, Any]:
    return services(router).journeys(org_id(router)).update_content(content_id, draft).model_dump(mode="json")


@router.delete("/content/<content_id>", responses=answers(200, ref("Content"), 409))
def delete_content(content_id: str) -> dict[str, Any]:
    return services(router).journeys(org_id(router)).delete_content(content_id).model_dump(mode="json")


_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]{1,253}(:[0-9]{1,5})?")


@router.post(
    "/content/<content_id>/test",
    responses=answers(200, ref("TestSendRecord"), 409, 502, description="Sent to the addresses given, rendered for the contact"),
)
def test_content(content_id: str, request: Annotated[TestSend, Body()]) -> dict[str, Any]:
    """Send the content, rendered for a contact, to up to 5 addresses the marketer types (never to the contact; recorded,
    never counted in a journey's analytics)."""
    origin = router.current_event.headers.get("origin") or ""  # the console's page: where the test's links point
    return send_test(services(router), org_id(router), content_id, request, origin if _ORIGIN.fullmatch(origin) else None)
