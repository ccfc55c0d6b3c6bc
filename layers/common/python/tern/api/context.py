"""What a request works with: the caller's org (from the authorizer's claims only) and the services.

The org comes only from the Cognito claims (`custom:org_id`); another org's objects are simply not found.
The services are handed to the resolver for each invocation (tern.api.app.handle).
"""

from __future__ import annotations

from typing import Any, cast

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEvent

from tern.errors import TernError
from tern.lake import ORG_ID
from tern.services import Services

ORG_CLAIMS = ("custom:org_id", "org_id")


class NoOrgError(TernError):
    """The caller's claims name no usable org."""


def services(router: Router) -> Services:
    found: Services = router.context["services"]
    return found


def org_id(router: Router) -> str:
    authorizer = cast(APIGatewayProxyEvent, router.current_event).request_context.authorizer
    claims: dict[str, Any] = (authorizer.claims if authorizer else None) or {}
    for name in ORG_CLAIMS:
        if claims.get(name):
            org = str(claims[name])
            if not ORG_ID.fullmatch(org):  # it names folders in the lake: no slashes, no '='
                raise NoOrgError("the caller's org id is not usable (letters, digits, . _ - only)")
            return org
    raise NoOrgError("the caller's claims name no org")
