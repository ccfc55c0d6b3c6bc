"""The org's settings: the frequency cap every journey's sends count against (`null`: none)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from tern.api.context import org_id, services
from tern.api.contract import answers, ref
from tern.journeys.caps import FrequencyCap

router = Router()
CAP = {"type": "object", "properties": {"frequency_cap": {"anyOf": [ref("FrequencyCap"), {"type": "null"}]}}, "required": ["frequency_cap"]}


def _shown(cap: FrequencyCap | None) -> dict[str, Any]:
    return {"frequency_cap": cap.model_dump() if cap else None}


@router.get("/settings/frequency-cap", responses=answers(200, CAP))
def get_frequency_cap() -> dict[str, Any]:
    return _shown(services(router).org_settings.frequency_cap(org_id(router)))


@router.put("/settings/frequency-cap", responses=answers(200, CAP))
def set_frequency_cap(cap: Annotated[FrequencyCap, Body()]) -> dict[str, Any]:
    services(router).org_settings.set_frequency_cap(org_id(router), cap)
    return _shown(cap)


@router.delete("/settings/frequency-cap", responses=answers(200, CAP, description="Removed: journeys send within their own limits only"))
def remove_frequency_cap() -> dict[str, Any]:
    services(router).org_settings.set_frequency_cap(org_id(router), None)
    return _shown(None)
