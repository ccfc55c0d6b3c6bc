"""SES v2 on the local stack as the SES API reference has it where moto stops short: domain verification by DNS,
Easy DKIM tokens, custom MAIL FROM, configuration set event destinations, and tenants.

moto (5.2) creates an identity already verified, with no DKIM tokens, knows no MAIL FROM, no event destination of
a v2 configuration set and no tenant, and sends from any identity it has. This module fills those in on moto's own
SES v2 handlers (its URL map already routes every `/v2/` path here), keeping moto's identities and messages:

- CreateEmailIdentity (a domain): three Easy DKIM tokens (32 characters of lowercase base32, as SES's look);
  DkimAttributes.Status NOT_STARTED in the answer, PENDING from then on, SUCCESS once the three CNAMEs
  `<token>._domainkey.<domain>  ->  <token>.dkim.amazonses.com` are found in the local DNS; then the domain is
  VerifiedForSendingStatus. An address identity is verified only by its owner (SES e-mails it a link):
  `verified_by_its_owner` does that for the stack's own SenderAddress, as its deployer would.
- PutEmailIdentityMailFromAttributes: a subdomain of the identity; its MailFromDomainStatus SUCCESS once the MX
  `10 feedback-smtp.<region>.amazonses.com` is found; with REJECT_MESSAGE a send before that is refused
  (MailFromDomainNotVerifiedException).
- Tenants: Create/Get/List/DeleteTenant, Create/Delete/ListTenantResource(s), ListResourceTenants, with SES's
  name rules, ARNs (`tenant/<name>/<tn-id>`) and errors as SES answers them.
- SendEmail: an unknown TenantName is NotFoundException; a From whose identity is not verified is MessageRejected
  ("Email address is not verified. The following identities failed the check in region US-EAST-1: ..."); with a
  tenant, the From's identity and the configuration set (the one named, else the identity's default) must be
  associated with it, or AccessDeniedException ("Tenant not associated with resources [...]").

The local DNS is a text file, DIR/dns.txt: one record a line, `NAME TYPE VALUE` (`#` comments), which a user edits
as they would publish records at their DNS host. It is read at each check, as SES queries DNS.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto.core.exceptions import JsonRESTError

_zone: Path | None = None
_lock = threading.Lock()
TENANT_NAME = re.compile(r"[A-Za-z0-9_-]+")


class _Error(JsonRESTError):
    def __init__(self, status: int, kind: str, message: str):
        super().__init__(kind, message)
        self.code = status


def _bad(message: str) -> _Error:
    return _Error(400, "BadRequestException", message)


def _not_found(message: str) -> _Error:
    return _Error(404, "NotFoundException", message)


@dataclass
class _Tenant:
    name: str
    id: str
    arn: str
    created: dt.datetime
    tags: list[dict[str, str]]
    resources: dict[str, dt.datetime] = field(default_factory=dict)  # ARN -> when associated


@dataclass
class _Identity:
    """What SES keeps of an identity beside moto's own."""

    tokens: tuple[str, ...]
    dkim: str = "NOT_STARTED"
    verified: bool = False
    mail_from: str | None = None
    mail_from_behavior: str = "USE_DEFAULT_VALUE"
    mail_from_status: str | None = None
    checked: dt.datetime | None = None
    error: str | None = None


@dataclass
class _State:
    identities: dict[str, _Identity] = field(default_factory=dict)
    tenants: dict[str, _Tenant] = field(default_factory=dict)
    destinations: dict[str, dict[str, Any]] = field(default_factory=dict)  # configuration set -> name -> definition


def route_dns_to(zone: Path | None) -> None:
    """The local DNS zone file (None: no DNS, nothing verifies)."""
    global _zone
    _zone = zone
    if zone is not None and not zone.exists():
        zone.parent.mkdir(parents=True, exist_ok=True)
        zone.write_text("# The local DNS: one record a line, NAME TYPE VALUE, as you would publish them at your DNS host.\n"
                        "# Tern's sending domains show theirs (GET /senders/DOMAIN); Amazon SES on the local stack reads this file.\n")  # fmt: skip
    emulate()


def publish(zone: Path, records: list[tuple[str, str, str]]) -> None:
    """Add records to the local DNS (what a user does at their DNS host)."""
    with _lock, open(zone, "a", encoding="utf-8") as f:
        for name, kind, value in records:
            f.write(f"{name} {kind} {value}\n")


def _records() -> set[tuple[str, str, str]]:
    if _zone is None or not _zone.exists():
        return set()
    found = set()
    for line in _zone.read_text(encoding="utf-8").splitlines():
        parts = line.split("#", 1)[0].split(None, 2)
        if len(parts) == 3:
            found.add((parts[0].lower().rstrip("."), parts[1].upper(), parts[2].strip().strip('"').lower().rstrip(".")))
    return found


def _state(response: Any) -> _State:
    return _kept(response.sesv2_backend)


def _kept(backend: Any) -> _State:
    """What SES keeps beside moto's backend (kept on it: a reset of moto resets this too)."""
    if not hasattr(backend, "__tern_ses__"):
        backend.__tern_ses__ = _State()
    return backend.__tern_ses__  # type: ignore[no-any-return]


def _token() -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "".join(secrets.choice(alphabet) for _ in range(32))


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _check(name: str, identity: _Identity, region: str) -> None:
    """Look the identity's records up in the local DNS, as SES does until it finds them."""
    records = _records()
    identity.checked = _now()
    if identity.tokens and not identity.verified:
        wanted = [(f"{t}._domainkey.{name}", "CNAME", f"{t}.dkim.amazonses.com") for t in identity.tokens]
        if all(w in records for w in wanted):
            identity.dkim, identity.verified, identity.error = "SUCCESS", True, None
        else:
            identity.dkim = "PENDING"
            hosts = {(n, k) for n, k, _ in records}
            identity.error = "INVALID_VALUE" if any((n, k) in hosts for n, k, _ in wanted) else "HOST_NOT_FOUND"
    if identity.mail_from and identity.mail_from_status != "SUCCESS":
        found = (identity.mail_from, "MX", f"10 feedback-smtp.{region}.amazonses.com") in records
        identity.mail_from_status = "SUCCESS" if found else "PENDING"


def _identity_of(state: _State, address: str) -> tuple[str, _Identity | None]:
    """The identity SES checks for a From address: the address's own, else its domain's."""
    plain = re.sub(r".*<([^>]*)>.*", r"\1", address).strip().lower()
    if plain in state.identities:
        return plain, state.identities[plain]
    domain = plain.rsplit("@", 1)[-1]
    return domain, state.identities.get(domain)


def verified_by_its_owner(address: str) -> None:
    """The stack's own SenderAddress: verified, as its deployer does by following SES's e-mail."""
    from moto.sesv2.models import sesv2_backends

    from tern_local.stack import ACCOUNT, REGION

    _kept(sesv2_backends[ACCOUNT][REGION]).identities[address.lower()] = _Identity(tokens=(), dkim="NOT_STARTED", verified=True)


def _arn(response: Any, kind: str, name: str) -> str:
    return f"arn:aws:ses:{response.region}:{response.current_account}:{kind}/{name}"


def _tenant(state: _State, name: str | None) -> _Tenant:
    _tenant_name(name)
    assert name is not None
    if name not in state.tenants:
        raise _not_found(f"The requested tenant <{name}> does not exist.")
    return state.tenants[name]


def _tenant_name(name: Any) -> None:
    if name is None:
        raise _bad("1 validation error detected: Value at 'tenantName' failed to satisfy constraint: Member must not be null")
    if name == "":
        raise _bad(
            "1 validation error detected: Value at 'tenantName' failed to satisfy constraint: Member must have length greater than or equal to 1"
        )
    if not str(name).strip():
        raise _bad("TenantName cannot be empty")
    if len(name) > 64:
        raise _bad("TenantName cannot exceed 64 characters.")
    if not TENANT_NAME.fullmatch(name):
        raise _bad(f"Invalid tenant name <{name}>: only alphanumeric ASCII characters, '_', and '-' are allowed.")


def _resource(response: Any, arn: Any) -> str:
    match = re.fullmatch(r"arn:([^:]+):([^:]+):([^:]*):([^:]*):(.+)", str(arn or ""))
    if not match:
        raise _bad("Provided resource identifier is not an SES resource")
    if match[2] != "ses":
        raise _bad("Provided ARN is not in SES resource ARN format")
    kind = match[5].split("/", 1)[0]
    if kind not in ("identity", "configuration-set", "template"):
        raise _bad(f"Unsupported resource type: {kind}")
    if match[3] != response.region:
        raise _bad(f"Resource {arn} must be in the same region")
    if match[4] != response.current_account:
        raise _bad(f"Resource {arn} must be in the same account")
    return str(arn)


def _tenant_json(tenant: _Tenant) -> dict[str, Any]:
    return {"TenantName": tenant.name, "TenantId": tenant.id, "TenantArn": tenant.arn, "CreatedTimestamp": tenant.created.timestamp(),
            "Tags": tenant.tags, "SendingStatus": "ENABLED"}  # fmt: skip


def emulate() -> None:
    """Put the emulation on moto's SES v2 handlers (idempotent)."""
    from moto.sesv2.responses import SESV2Response

    if getattr(SESV2Response, "__emulated_by_tern__", False):
        return
    create_identity, get_identity, delete_identity, send_email = (
        SESV2Response.create_email_identity, SESV2Response.get_email_identity, SESV2Response.delete_email_identity, SESV2Response.send_email,
    )  # fmt: skip

    def create_email_identity(self: Any) -> str:
        name = str(self._get_param("EmailIdentity") or "").lower()
        state = _state(self)
        if name in state.identities:
            raise _Error(400, "AlreadyExistsException", f"Email identity {name} already exist.")
        answer = json.loads(create_identity(self))
        domain = "@" not in name
        identity = _Identity(tokens=tuple(_token() for _ in range(3)) if domain else ())
        state.identities[name] = identity
        answer["VerifiedForSendingStatus"] = False
        answer["DkimAttributes"] = _dkim(identity) if domain else {"SigningEnabled": False, "Status": "NOT_STARTED"}
        identity.dkim = "PENDING" if domain else "NOT_STARTED"
        return json.dumps(answer)

    def _dkim(identity: _Identity) -> dict[str, Any]:
        return {"SigningEnabled": True, "Status": identity.dkim, "Tokens": list(identity.tokens), "SigningAttributesOrigin": "AWS_SES",
                "NextSigningKeyLength": "RSA_2048_BIT", "CurrentSigningKeyLength": "RSA_2048_BIT"}  # fmt: skip

    def get_email_identity(self: Any) -> str:
        name = str(self._get_param("EmailIdentity") or "").lower()
        answer = json.loads(get_identity(self))
        identity = _state(self).identities.get(name)
        if identity is None:
            return json.dumps(answer)
        _check(name, identity, self.region)
        answer["VerifiedForSendingStatus"] = identity.verified
        answer["VerificationStatus"] = "SUCCESS" if identity.verified else "PENDING"
        if identity.tokens:
            answer["DkimAttributes"] = _dkim(identity)
        info: dict[str, Any] = {"LastCheckedTimestamp": identity.checked.timestamp() if identity.checked else None}
        if identity.verified:
            info["LastSuccessTimestamp"] = info["LastCheckedTimestamp"]
        elif identity.error:
            info["ErrorType"] = identity.error
        answer["VerificationInfo"] = info
        if identity.mail_from:
            answer["MailFromAttributes"] = {"MailFromDomain": identity.mail_from, "MailFromDomainStatus": identity.mail_from_status or "PENDING",
                                            "BehaviorOnMxFailure": identity.mail_from_behavior}  # fmt: skip
        else:
            answer["MailFromAttributes"] = {"BehaviorOnMxFailure": "USE_DEFAULT_VALUE"}
        return json.dumps(answer)

    def delete_email_identity(self: Any) -> str:
        name = str(self._get_param("EmailIdentity") or "").lower()
        state = _state(self)
        arn = _arn(self, "identity", name)
        if any(arn in t.resources for t in state.tenants.values()):
            raise _bad(f"Cannot delete {arn} because it has tenant associations. Remove all tenant associations and try again.")
        if name not in state.identities and name not in self.sesv2_backend.core_backend.email_identities:
            raise _not_found(f"Email identity {name} does not exist.")
        answer = delete_identity(self)
        state.identities.pop(name, None)
        return str(answer)

    def put_email_identity_mail_from_attributes(self: Any) -> str:
        name = str(self._get_param("EmailIdentity") or "").lower()
        identity = _state(self).identities.get(name)
        if identity is None:
            raise _not_found(f"Email identity {name} does not exist.")
        mail_from = self._get_param("MailFromDomain")
        behavior = self._get_param("BehaviorOnMxFailure") or "USE_DEFAULT_VALUE"
        if behavior not in ("USE_DEFAULT_VALUE", "REJECT_MESSAGE"):
            raise _bad(f"Invalid BehaviorOnMxFailure {behavior}")
        if mail_from:
            mail_from = str(mail_from).lower().rstrip(".")
            domain = name.rsplit("@", 1)[-1]
            if not mail_from.endswith("." + domain):
                raise _bad(f"Invalid MAIL FROM domain {mail_from}: it must be a subdomain of {domain}")
        identity.mail_from, identity.mail_from_behavior = mail_from or None, behavior
        identity.mail_from_status = "PENDING" if mail_from else None
        return "{}"

    def create_configuration_set_event_destination(self: Any) -> str:
        name = self._get_param("ConfigurationSetName")
        if name not in self.sesv2_backend.core_backend.config_sets:
            raise _not_found(f"Configuration set <{name}> does not exist.")
        destinations = _state(self).destinations.setdefault(name, {})
        destination = self._get_param("EventDestinationName")
        if destination in destinations:
            raise _Error(400, "AlreadyExistsException", f"Event destination {destination} already exists.")
        destinations[destination] = self._get_param("EventDestination")
        return "{}"

    def create_tenant(self: Any) -> str:
        name = self._get_param("TenantName")
        _tenant_name(name)
        state = _state(self)
        if name in state.tenants:
            raise _Error(400, "AlreadyExistsException", f"Tenant with name {name} already exists in account {self.current_account}")
        tenant_id = "tn-" + secrets.token_hex(15)
        tenant = _Tenant(
            name,
            tenant_id,
            f"arn:aws:ses:{self.region}:{self.current_account}:tenant/{name}/{tenant_id}",
            _now(),
            self._get_param("Tags") or [],
        )
        state.tenants[name] = tenant
        return json.dumps(_tenant_json(tenant))

    def get_tenant(self: Any) -> str:
        return json.dumps({"Tenant": _tenant_json(_tenant(_state(self), self._get_param("TenantName")))})

    def list_tenants(self: Any) -> str:
        tenants = sorted(_state(self).tenants.values(), key=lambda t: t.created)
        return json.dumps({"Tenants": [{k: v for k, v in _tenant_json(t).items() if k != "Tags"} for t in tenants]})

    def delete_tenant(self: Any) -> str:
        state = _state(self)
        tenant = _tenant(state, self._get_param("TenantName"))
        del state.tenants[tenant.name]
        return "{}"

    def create_tenant_resource_association(self: Any) -> str:
        tenant = _tenant(_state(self), self._get_param("TenantName"))
        arn = _resource(self, self._get_param("ResourceArn"))
        if arn in tenant.resources:
            raise _Error(400, "AlreadyExistsException", f"Resources {arn} has already been associated with tenant {tenant.name}")
        tenant.resources[arn] = _now()
        return "{}"

    def delete_tenant_resource_association(self: Any) -> str:
        tenant = _tenant(_state(self), self._get_param("TenantName"))
        tenant.resources.pop(_resource(self, self._get_param("ResourceArn")), None)
        return "{}"

    def list_tenant_resources(self: Any) -> str:
        tenant = _tenant(_state(self), self._get_param("TenantName"))
        wanted = (self._get_param("Filter") or {}).get("RESOURCE_TYPE")
        found = [{"ResourceType": arn.split(":", 5)[5].split("/", 1)[0], "ResourceArn": arn} for arn in tenant.resources]
        return json.dumps({"TenantResources": [r for r in found if wanted in (None, r["ResourceType"])]})

    def list_resource_tenants(self: Any) -> str:
        arn = _resource(self, self._get_param("ResourceArn"))
        return json.dumps({"ResourceTenants": [
            {"TenantName": t.name, "TenantId": t.id, "ResourceArn": arn, "AssociatedTimestamp": t.resources[arn].timestamp()}
            for t in _state(self).tenants.values() if arn in t.resources
        ]})  # fmt: skip

    def sent_email(self: Any) -> Any:
        request = json.loads(self.body)
        state = _state(self)
        tenant = None
        if request.get("TenantName") is not None:
            tenant = state.tenants.get(request["TenantName"])
            if tenant is None:
                raise _not_found(f"Tenant {request['TenantName']} for AwsAccountId {self.current_account} not found.")
        sender = str(request.get("FromEmailAddress") or "")
        name, identity = _identity_of(state, sender)
        if identity is not None:
            _check(name, identity, self.region)
        if identity is None or not identity.verified:
            raise _Error(
                400,
                "MessageRejected",
                f"Email address is not verified. The following identities failed the check in region {self.region.upper()}: {sender}",
            )
        if tenant is not None:
            default = getattr(self.sesv2_backend.core_backend.email_identities.get(name), "configuration_set_name", None)
            configuration_set = request.get("ConfigurationSetName") or default
            wanted = [_arn(self, "identity", name)] + ([_arn(self, "configuration-set", configuration_set)] if configuration_set else [])
            missing = [arn for arn in wanted if arn not in tenant.resources]
            if missing:
                raise _Error(403, "AccessDeniedException", f"Tenant not associated with resources [{', '.join(missing)}].")
        if identity.mail_from and identity.mail_from_status != "SUCCESS" and identity.mail_from_behavior == "REJECT_MESSAGE":
            raise _Error(400, "MailFromDomainNotVerifiedException", f"The MAIL FROM domain {identity.mail_from} is not verified.")
        return send_email(self)

    for method in (
        create_email_identity, get_email_identity, delete_email_identity, put_email_identity_mail_from_attributes,
        create_configuration_set_event_destination, create_tenant, get_tenant, list_tenants, delete_tenant,
        create_tenant_resource_association, delete_tenant_resource_association, list_tenant_resources, list_resource_tenants,
    ):  # fmt: skip
        setattr(SESV2Response, method.__name__, method)
    SESV2Response.send_email = sent_email  # type: ignore[method-assign]
    SESV2Response.__emulated_by_tern__ = True  # type: ignore[attr-defined]
    # moto's server routes `/v2/.*` within one path segment only: every SES v2 path (event destinations, tenants) to it
    import moto.sesv2.urls as urls

    urls.url_paths = {**urls.url_paths, "{0}/v2/email/(?P<path>.+)$": SESV2Response.dispatch}
