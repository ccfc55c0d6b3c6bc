"""The org's settings: the frequency cap every journey's sends count against (`null`: none), what its messages say of
it (postal address, the consent topics of its preference page), and its own SMS sender."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from tern.api.context import org_id, services
from tern.api.contract import answers, ref
from tern.journeys.caps import FrequencyCap, MessageSettings
from tern.journeys.senders import SmsSender, SmsSenderDraft

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


@router.get("/settings/messages", responses=answers(200, ref("MessageSettings")))
def get_messages() -> dict[str, Any]:
    return services(router).org_settings.messages(org_id(router)).model_dump(mode="json")


@router.put("/settings/messages", responses=answers(200, ref("MessageSettings"), description="Saved: the next messages and pages show it"))
def set_messages(settings: Annotated[MessageSettings, Body()]) -> dict[str, Any]:
    services(router).org_settings.set_messages(org_id(router), settings)
    return settings.model_dump(mode="json")


SMS = {"type": "object", "properties": {"sms_sender": {"anyOf": [ref("SmsSender"), {"type": "null"}]}}, "required": ["sms_sender"]}


def _sms(sender: SmsSender | None) -> dict[str, Any]:
    return {"sms_sender": sender.model_dump(mode="json") if sender else None}


@router.get("/settings/sms-sender", responses=answers(200, SMS))
def get_sms_sender() -> dict[str, Any]:
    return _sms(services(router).sms_senders(org_id(router)).get())


@router.put(
    "/settings/sms-sender", responses=answers(200, SMS, 409, description="Set: the org's texts go from it, and a STOP to it is the org's")
)
def set_sms_sender(draft: Annotated[SmsSenderDraft, Body()]) -> dict[str, Any]:
    return _sms(services(router).sms_senders(org_id(router)).set(draft))


@router.delete("/settings/sms-sender", responses=answers(200, SMS, description="Removed: the org's texts go from the stack's own number"))
def remove_sms_sender() -> dict[str, Any]:
    services(router).sms_senders(org_id(router)).remove()
    return _sms(None)
