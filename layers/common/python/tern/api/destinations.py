"""Webhook destination routes (the secret is write-only)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from tern.api.context import org_id, services
from tern.api.contract import answers, array_of, ref
from tern.exports.model import DestinationRequest

router = Router()


@router.post("/destinations", responses=answers(201, ref("Destination"), 409))
def add_destination(request: Annotated[DestinationRequest, Body()]) -> tuple[dict[str, Any], int]:
    s = services(router)
    return s.jobs(org_id(router)).add_destination(request, s.clock()).public(), 201


@router.get("/destinations", responses=answers(200, array_of("destinations", ref("Destination"))))
def list_destinations() -> dict[str, Any]:
    return {"destinations": [d.public() for d in services(router).jobs(org_id(router)).list_destinations()]}
