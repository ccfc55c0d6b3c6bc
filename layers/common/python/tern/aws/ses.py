"""E-mail through SES v2: messages (each org's through its own tenant and configuration set, which publishes
engagement events to EventBridge), and the orgs' sending domains (tern.journeys.senders)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern.aws import error_code, sending
from tern.errors import ConflictError, DefinitionError, Problem, SendRejected, StoreError
from tern.ports import IdentityState, OrgSending, SendAs

THROTTLED = {"TooManyRequestsException", "Throttling", "ThrottlingException", "LimitExceededException", "SendingPausedException"}
# This message will never go as it is (the sandbox's unverified recipients, an address SES refuses, a From not
# verified, an org's tenant missing or not holding its identity): not worth a retry; the step records why.
REJECTED = {"MessageRejected", "BadRequestException", "MailFromDomainNotVerifiedException", "NotFoundException", "AccessDeniedException"}


class SesEmail:
    def __init__(self, sesv2_client: Any, sender: str | None, configuration_set: str | None = None):
        self._ses = sesv2_client
        self.sender = sender
        self.configuration_set = configuration_set

    def send(
        self,
        to: str,
        subject: str,
        html: str | None,
        text: str | None,
        tags: dict[str, str],
        headers: dict[str, str],
        sender: SendAs | None = None,
    ) -> str:
        from_address = sender.from_address if sender else self.sender
        if not from_address:
            raise SendRejected("the content has no From address, and the stack has no sender of its own (SenderAddress)")
        body: dict[str, Any] = {}
        if html:
            body["Html"] = {"Data": html, "Charset": "UTF-8"}
        if text:
            body["Text"] = {"Data": text, "Charset": "UTF-8"}
        request: dict[str, Any] = {
            "FromEmailAddress": from_address,
            "Destination": {"ToAddresses": [to]},
            # Headers (at most 15) go into the message SES signs with DKIM, as RFC 8058 asks of List-Unsubscribe
            "Content": {
                "Simple": {
                    "Subject": {"Data": subject, "Charset": "UTF-8"},
                    "Body": body,
                    "Headers": [{"Name": k, "Value": v} for k, v in headers.items()],
                }
            },
            # SES tag values allow [A-Za-z0-9_-.@]; ids are kept to that
            "EmailTags": [{"Name": k, "Value": v} for k, v in tags.items()],
        }
        configuration_set = sender.configuration_set if sender else self.configuration_set
        if configuration_set:
            request["ConfigurationSetName"] = configuration_set
        if sender and sender.tenant:  # SES counts reputation, and pauses sending, per tenant: one org's, not all
            request["TenantName"] = sender.tenant
        with sending("SES", THROTTLED, REJECTED):
            return str(self._ses.send_email(**request)["MessageId"])


ENGAGEMENT = ["SEND", "DELIVERY", "OPEN", "CLICK", "BOUNCE", "COMPLAINT", "REJECT", "DELIVERY_DELAY"]


class SesIdentities:
    """The orgs' sending domains as SES v2 identities, each org's under its own tenant (tern.ports.SendingIdentities).

    `arn_prefix` is `arn:<partition>:ses:<region>:<account>` (the stack's), `event_bus` the default bus's ARN."""

    def __init__(self, sesv2_client: Any, arn_prefix: str, event_bus: str):
        self._ses = sesv2_client
        self.arn_prefix = arn_prefix
        self.event_bus = event_bus

    def _call(self, operation: str, quiet: frozenset[str] | set[str] = frozenset(), **request: Any) -> dict[str, Any] | None:
        try:
            return dict(getattr(self._ses, operation)(**request))
        except ClientError as e:
            code = error_code(e)
            if code in quiet:
                return None
            message = e.response.get("Error", {}).get("Message") or code
            if code in ("BadRequestException", "InvalidParameterValue"):
                raise DefinitionError([Problem("domain", f"Amazon SES refused it: {message}")]) from None
            if code == "AlreadyExistsException":
                raise ConflictError(f"Amazon SES already has it: {message}") from None
            raise StoreError(f"SES {operation}: {code}: {message}") from None
        except BotoCoreError as e:
            raise StoreError(f"SES {operation}: {e}") from None

    def prepare_org(self, name: str) -> OrgSending:
        self._call("create_configuration_set", {"AlreadyExistsException"}, ConfigurationSetName=name,
                   DeliveryOptions={"TlsPolicy": "REQUIRE"}, Tags=[{"Key": "tern:org-sending", "Value": name}])  # fmt: skip
        self._call("create_configuration_set_event_destination", {"AlreadyExistsException"}, ConfigurationSetName=name, EventDestinationName="eventbridge",
                   EventDestination={"Enabled": True, "MatchingEventTypes": ENGAGEMENT, "EventBridgeDestination": {"EventBusArn": self.event_bus}})  # fmt: skip
        self._call("create_tenant", {"AlreadyExistsException"}, TenantName=name, Tags=[{"Key": "tern:org-sending", "Value": name}])
        self._call("create_tenant_resource_association", {"AlreadyExistsException"}, TenantName=name,
                   ResourceArn=f"{self.arn_prefix}:configuration-set/{name}")  # fmt: skip
        return OrgSending(tenant=name, configuration_set=name)

    def add_domain(self, sending: OrgSending, domain: str, mail_from_domain: str) -> IdentityState:
        self._call("create_email_identity", EmailIdentity=domain, ConfigurationSetName=sending.configuration_set,
                   DkimSigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"}, Tags=[{"Key": "tern:tenant", "Value": sending.tenant}])  # fmt: skip
        try:
            # Until its MX is found, SES sends with its own MAIL FROM: DMARC still passes on the aligned DKIM signature
            self._call(
                "put_email_identity_mail_from_attributes",
                EmailIdentity=domain,
                MailFromDomain=mail_from_domain,
                BehaviorOnMxFailure="USE_DEFAULT_VALUE",
            )
            self._call(
                "create_tenant_resource_association",
                {"AlreadyExistsException"},
                TenantName=sending.tenant,
                ResourceArn=f"{self.arn_prefix}:identity/{domain}",
            )
        except Exception:
            self._call("delete_email_identity", {"NotFoundException"}, EmailIdentity=domain)
            raise
        return self.state(domain)

    def state(self, domain: str) -> IdentityState:
        found = self._call("get_email_identity", EmailIdentity=domain) or {}
        dkim = found.get("DkimAttributes") or {}
        mail_from = found.get("MailFromAttributes") or {}
        return IdentityState(
            verified=bool(found.get("VerifiedForSendingStatus")), dkim_status=str(dkim.get("Status") or "NOT_STARTED"),
            dkim_tokens=tuple(dkim.get("Tokens") or ()), mail_from_status=mail_from.get("MailFromDomainStatus"),
        )  # fmt: skip

    def remove_domain(self, sending: OrgSending, domain: str) -> None:
        self._call(
            "delete_tenant_resource_association",
            {"NotFoundException"},
            TenantName=sending.tenant,
            ResourceArn=f"{self.arn_prefix}:identity/{domain}",
        )
        self._call("delete_email_identity", {"NotFoundException"}, EmailIdentity=domain)
