"""SMS through AWS End User Messaging SMS (the `pinpoint-sms-voice-v2` API), from an origination identity (a phone
number or pool) whose opt-out list AWS checks before it sends: each org's identity has its org's own list, which a
recipient's STOP lands on."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern.aws import error_code, sending
from tern.errors import DefinitionError, OptedOut, Problem, SendRejected, StoreError

THROTTLED = {"ThrottlingException", "Throttling"}
# This text will never go as it is (a number AWS will not take, an identity that cannot send there): the step records why.
REJECTED = {
    "ValidationException",
    "ResourceNotFoundException",
    "AccessDeniedException",
    "ServiceQuotaExceededException",
    "ConflictException",
}


class EndUserMessagingSms:
    def __init__(self, client: Any, origination: str | None = None, configuration_set: str | None = None):
        self._sms = client
        self.origination = origination  # the stack's own identity, for orgs without one of their own
        self.configuration_set = configuration_set

    def send(self, phone: str, text: str, origination: str | None = None, context: dict[str, str] | None = None) -> str:
        if not (origination or self.origination):  # IAM grants SendTextMessage on numbers and pools, never on "*"
            raise SendRejected("no SMS number to send from: set the organisation's (Sending), or the stack's SmsOriginationIdentity")
        request: dict[str, Any] = {
            "DestinationPhoneNumber": phone,
            "MessageBody": text,
            "MessageType": "PROMOTIONAL",
            "Context": context or {},
        }
        request["OriginationIdentity"] = origination or self.origination
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        with sending("End User Messaging SMS", THROTTLED, REJECTED):
            try:
                return str(self._sms.send_text_message(**request)["MessageId"])
            except ClientError as e:  # AWS did not attempt it: the number is on the identity's opt-out list
                if error_code(e) == "ConflictException" and e.response.get("Reason") == "DESTINATION_PHONE_NUMBER_OPTED_OUT":
                    raise OptedOut(f"opted out of texts from {request.get('OriginationIdentity', 'this account')} (replied STOP)") from None
                raise


class SmsOrigins:
    """The orgs' SMS origination identities, each given its org's own opt-out list (`<prefix>-<org>`)."""

    def __init__(self, client: Any):
        self._sms = client

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        try:
            return dict(getattr(self._sms, operation)(**request))
        except ClientError as e:
            message = e.response.get("Error", {}).get("Message") or error_code(e)
            if error_code(e) in ("ResourceNotFoundException", "ValidationException", "AccessDeniedException", "ConflictException"):
                raise DefinitionError([Problem("origination_identity", f"AWS End User Messaging refused it: {message}")]) from None
            raise StoreError(f"End User Messaging {operation}: {error_code(e)}: {message}") from None
        except BotoCoreError as e:
            raise StoreError(f"End User Messaging {operation}: {e}") from None

    def assign(self, identity: str, opt_out_list: str) -> str:
        """Give the identity (a phone number's or a pool's id or ARN) the opt-out list, made if missing; its number."""
        try:
            self._sms.create_opt_out_list(OptOutListName=opt_out_list)
        except ClientError as e:
            if error_code(e) != "ConflictException":
                raise StoreError(f"End User Messaging CreateOptOutList: {e}") from None
        if identity.rsplit("/", 1)[-1].startswith("pool-"):
            self._call("update_pool", PoolId=identity, OptOutListName=opt_out_list)
            return identity
        found = self._call("update_phone_number", PhoneNumberId=identity, OptOutListName=opt_out_list)
        return str(found.get("PhoneNumber") or identity)

    def end_user_opt_outs(self, opt_out_list: str) -> Iterator[tuple[str, dt.datetime]]:
        """Every number on the list that opted out itself (a STOP, not an API call), with when: a page at a time."""
        request: dict[str, Any] = {
            "OptOutListName": opt_out_list,
            "MaxResults": 100,
            "Filters": [{"Name": "end-user-opted-out", "Values": ["true"]}],
        }
        while True:
            page = self._call("describe_opted_out_numbers", **request)
            for entry in page.get("OptedOutNumbers") or []:
                yield str(entry["OptedOutNumber"]), entry["OptedOutTimestamp"]
            if not page.get("NextToken"):
                return
            request["NextToken"] = page["NextToken"]
