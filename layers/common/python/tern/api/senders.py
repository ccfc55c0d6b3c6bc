"""The org's sending domains (tern.journeys.senders): add one, see the DNS records to publish and whether Amazon SES
has verified it, remove it. Content sends from an address at a verified one (`from_address`)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from tern.api.context import org_id, services
from tern.api.contract import answers, array_of, ref
from tern.errors import ConflictError
from tern.journeys.senders import SenderDraft

router = Router()


def _shown(sender: Any) -> dict[str, Any]:
    return dict(sender.model_dump(mode="json", exclude={"version"}))


@router.get("/senders", responses=answers(200, array_of("senders", ref("Sender"))))
def list_senders() -> dict[str, Any]:
    return {"senders": [_shown(s) for s in services(router).senders(org_id(router)).list()]}


@router.post("/senders", responses=answers(201, ref("Sender"), 409, description="Added: publish its DNS records"))
def add_sender(draft: Annotated[SenderDraft, Body()]) -> tuple[dict[str, Any], int]:
    return _shown(services(router).senders(org_id(router)).add(draft)), 201


@router.get(
    "/senders/<domain>", responses=answers(200, ref("Sender"), description="The domain, its DNS records and whether SES found them")
)
def get_sender(domain: str) -> dict[str, Any]:
    return _shown(services(router).senders(org_id(router)).get(domain))


@router.delete("/senders/<domain>", responses=answers(200, ref("Sender"), 409, description="Removed: nothing sends from it any more"))
def remove_sender(domain: str) -> dict[str, Any]:
    org = org_id(router)
    using = services(router).journeys(org).sending_from(domain)
    if using:
        raise ConflictError(
            f"{domain} is the From of journeys that are published or running ({', '.join(using[:5])}): stop them, or change their content first"
        )
    return _shown(services(router).senders(org).remove(domain))
