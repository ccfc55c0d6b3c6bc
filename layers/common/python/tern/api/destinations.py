"""Webhook destination routes (the secret is write-only: it lives in Secrets Manager, never shown again)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from tern.api.context import org_id, services
from tern.api.contract import answers, array_of, ref
from tern.errors import ConflictError
from tern.exports.model import DestinationRequest, SecretRotation

router = Router()


@router.post("/destinations", responses=answers(201, ref("Destination"), 409))
def add_destination(request: Annotated[DestinationRequest, Body()]) -> tuple[dict[str, Any], int]:
    return services(router).webhook_destinations(org_id(router)).add(request).public(), 201


@router.get("/destinations", responses=answers(200, array_of("destinations", ref("Destination"))))
def list_destinations() -> dict[str, Any]:
    return {"destinations": [d.public() for d in services(router).webhook_destinations(org_id(router)).all()]}


@router.get("/destinations/<destination_id>", responses=answers(200, ref("Destination")))
def get_destination(destination_id: str) -> dict[str, Any]:
    return services(router).webhook_destinations(org_id(router)).get(destination_id).public()


@router.post(
    "/destinations/<destination_id>/secret",
    responses=answers(200, ref("Destination"), description="Rotated: both secrets sign until previous_secret_until"),
)
def rotate_secret(destination_id: str, rotation: Annotated[SecretRotation, Body()]) -> dict[str, Any]:
    """A new signing secret; deliveries carry a signature under the previous one too for `overlap_hours`."""
    return services(router).webhook_destinations(org_id(router)).rotate(destination_id, rotation).public()


@router.delete("/destinations/<destination_id>", responses=answers(200, ref("Destination"), 409, description="Removed, with its secret"))
def remove_destination(destination_id: str) -> dict[str, Any]:
    s, org = services(router), org_id(router)
    destinations = s.webhook_destinations(org)
    destinations.get(destination_id)  # 404 first: another org's is not found
    using = s.journeys(org).delivering_to(destination_id)
    if using:
        raise ConflictError(f"journeys {', '.join(using)} deliver to it: stop them first")
    return destinations.remove(destination_id).public()
