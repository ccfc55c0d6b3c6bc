"""Connected ad accounts and segments' audiences on the ad platforms (the credentials are write-only: they live in
Secrets Manager, never shown again)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body

from tern.api.context import org_id, services
from tern.api.contract import answers, array_of, ref
from tern.audiences.model import AccountRequest, AudienceRequest, SyncRequest

router = Router()


@router.post("/ad-accounts", responses=answers(201, ref("AdAccount"), description="Connected: the platform took the credentials"))
def connect_account(request: Annotated[AccountRequest, Body()]) -> tuple[dict[str, Any], int]:
    """Connect a Meta ad account or a Google Ads account; the platform is asked first (400 naming what it refused)."""
    return services(router).connected_accounts(org_id(router)).add(request).public(), 201


@router.get("/ad-accounts", responses=answers(200, array_of("accounts", ref("AdAccount"))))
def list_accounts() -> dict[str, Any]:
    return {"accounts": [a.public() for a in services(router).connected_accounts(org_id(router)).all()]}


@router.get("/ad-accounts/<account_id>", responses=answers(200, ref("AdAccount")))
def get_account(account_id: str) -> dict[str, Any]:
    return services(router).connected_accounts(org_id(router)).get(account_id).public()


@router.put(
    "/ad-accounts/<account_id>/credentials",
    responses=answers(200, ref("AdAccount"), description="Checked with the platform, then kept in place of the old ones"),
)
def replace_credentials(account_id: str, request: Annotated[AccountRequest, Body()]) -> dict[str, Any]:
    """New credentials for the same account (an expired or revoked token); its audiences sync with them from now on."""
    return services(router).connected_accounts(org_id(router)).replace_credentials(account_id, request).public()


@router.delete("/ad-accounts/<account_id>", responses=answers(200, ref("AdAccount"), 409, description="Removed, with its credentials"))
def remove_account(account_id: str) -> dict[str, Any]:
    return services(router).connected_accounts(org_id(router)).remove(account_id).public()


@router.post("/segments/<segment_id>/audiences", responses=answers(201, ref("Audience"), 409))
def attach_audience(segment_id: str, request: Annotated[AudienceRequest, Body()]) -> tuple[dict[str, Any], int]:
    """Fill an audience on an ad platform with the segment's members who have `consent`, kept in step after each refresh."""
    return services(router).audiences(org_id(router)).attach(segment_id, request).public(), 201


@router.get("/segments/<segment_id>/audiences", responses=answers(200, array_of("audiences", ref("Audience"))))
def list_audiences(segment_id: str) -> dict[str, Any]:
    return {"audiences": [a.public() for a in services(router).audiences(org_id(router)).of_segment(segment_id)]}


@router.get("/segments/<segment_id>/audiences/<audience_id>", responses=answers(200, ref("Audience")))
def get_audience(segment_id: str, audience_id: str) -> dict[str, Any]:
    return services(router).audiences(org_id(router)).get(segment_id, audience_id).public()


@router.delete(
    "/segments/<segment_id>/audiences/<audience_id>",
    responses=answers(200, ref("Audience"), description="Tern stops syncing it; the platform's audience stays"),
)
def detach_audience(segment_id: str, audience_id: str) -> dict[str, Any]:
    return services(router).audiences(org_id(router)).detach(segment_id, audience_id).public()


@router.post("/segments/<segment_id>/audiences/<audience_id>/syncs", responses=answers(202, ref("Sync"), 409))
def request_sync(segment_id: str, audience_id: str, request: Annotated[SyncRequest, Body()]) -> tuple[dict[str, Any], int]:
    """Sync now: the changes since the last sync, or with `replace` the platform's audience made exactly the members."""
    return services(router).audiences(org_id(router)).sync(segment_id, audience_id, request.replace).public(), 202


@router.get("/segments/<segment_id>/audiences/<audience_id>/syncs/<sync_id>", responses=answers(200, ref("Sync")))
def get_sync(segment_id: str, audience_id: str, sync_id: str) -> dict[str, Any]:
    return services(router).audiences(org_id(router)).get_sync(segment_id, audience_id, sync_id).public()
