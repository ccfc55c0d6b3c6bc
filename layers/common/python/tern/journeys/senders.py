"""Sending domains: each org sends from domains of its own, authenticated, under its own SES tenant.

An org admin adds a domain (`news.example.com`). Tern creates the SES identity with Easy DKIM and a custom
MAIL FROM domain (`bounces.news.example.com`), and shows the DNS records to publish:

    <token>._domainkey.<domain>   CNAME   <token>.dkim.amazonses.com         x3, DKIM: SES signs as the domain
    bounces.<domain>              MX      10 feedback-smtp.<region>.amazonses.com   MAIL FROM: bounces come back to SES
    bounces.<domain>              TXT     "v=spf1 include:amazonses.com ~all"     SPF of the MAIL FROM domain
    _dmarc.<domain>               TXT     "v=DMARC1; p=none;"                     recommended, if the domain has none

SES verifies the domain when it finds the DKIM records; until then the sender is `pending`, and publishing a
journey that sends from it is refused, naming it. With DKIM (aligned with From) and SPF on the MAIL FROM domain
(aligned, a subdomain of From's) the org's mail passes DMARC as Gmail and Yahoo require of bulk senders.

Every org's identities and its configuration set are associated with the org's SES tenant, and its messages go
with that tenant: SES keeps reputation, pauses and (optionally) suppression per tenant, so one org's bounces
and complaints never pause another's sending. A domain belongs to one org: the first to add it holds it
(`SENDER#<domain> OWNER`, a conditional write), and no other org can add it, send from it or see it.

    sender      ORG#<org>          SENDER#<domain>     body (JSON), version
    claim       SENDER#<domain>    OWNER               org_id
"""

from __future__ import annotations

import hashlib
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tern.aws.dynamodb import Table
from tern.clock import Clock, Instant, naive_utc, utc_now
from tern.errors import ConflictError, DefinitionError, NotFoundError, Problem
from tern.ports import IdentityState, OrgSending, Scheduler, SendAs, SendingIdentities, SmsOrigins
from tern.store.records import Records

# A DNS name of at least two labels, each 1-63 letters, digits and inner hyphens (IDN domains in their xn-- form)
DOMAIN = re.compile(r"(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])")
LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}@([A-Za-z0-9.-]{4,253})")
Status = Literal["pending", "verified", "failed"]


class SenderDraft(BaseModel):
    """What an org admin gives: the domain its messages come from, and the MAIL FROM subdomain's first label."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: Annotated[str, Field(min_length=4, max_length=253, description="The domain in the From address, e.g. news.example.com")]
    mail_from: Annotated[str, Field(min_length=1, max_length=63, description="The MAIL FROM subdomain's label (bounces.<domain>)")] = (
        "bounces"
    )

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        domain = value.strip().lower().rstrip(".")
        if "@" in domain:
            raise ValueError("give the domain part only (news.example.com), not an address")
        if not DOMAIN.fullmatch(domain):
            raise ValueError(f"{value!r} is not a domain name such as news.example.com")
        if domain.endswith((".amazonses.com", ".amazonaws.com")) or domain in ("amazonses.com", "amazonaws.com"):
            raise ValueError(f"{domain} is Amazon's, not yours")
        return domain

    @field_validator("mail_from")
    @classmethod
    def _label(cls, value: str) -> str:
        label = value.strip().lower()
        if not LABEL.fullmatch(label):
            raise ValueError(f"{value!r} is not a single DNS label (letters, digits and hyphens)")
        return label


class DnsRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    type: Literal["CNAME", "MX", "TXT"]
    name: str
    value: str
    purpose: str
    required: bool = True


class Sender(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str  # the domain
    org_id: str
    domain: str
    mail_from_domain: str
    status: Status  # verified: DKIM found, SES sends from it; pending: waiting for the records; failed: SES gave up (72 h)
    dkim_status: str  # SES's own: PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE, NOT_STARTED
    mail_from_status: str | None  # SES's own: PENDING, SUCCESS, FAILED, TEMPORARY_FAILURE
    records: list[DnsRecord]
    tenant: str
    configuration_set: str
    version: int = 0
    created_at: Instant
    checked_at: Instant


class SenderRepository(Records[Sender]):
    kind, model = "sender", Sender


def sending_names(prefix: str, org_id: str) -> str:
    """The org's SES tenant and configuration set name: `<prefix>-<org>`, within SES's rules (1-64 of letters,
    digits, `-`, `_`); an org id outside them, or too long, is shortened and given a digest so no two orgs meet."""
    plain = f"{prefix}-{org_id}"
    if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", plain):
        return plain
    digest = hashlib.sha256(org_id.encode()).hexdigest()[:10]
    return f"{prefix}-{re.sub(r'[^A-Za-z0-9_-]', '-', org_id)[: 64 - len(prefix) - 12]}-{digest}"


def records(domain: str, mail_from_domain: str, state: IdentityState, region: str) -> list[DnsRecord]:
    dkim = [DnsRecord(type="CNAME", name=f"{token}._domainkey.{domain}", value=f"{token}.dkim.amazonses.com",
                      purpose="DKIM: lets receivers check that the message is really from this domain") for token in state.dkim_tokens]  # fmt: skip
    return [
        *dkim,
        DnsRecord(type="MX", name=mail_from_domain, value=f"10 feedback-smtp.{region}.amazonses.com", purpose="MAIL FROM: where bounces go back to"),
        DnsRecord(type="TXT", name=mail_from_domain, value='"v=spf1 include:amazonses.com ~all"', purpose="SPF: lets Amazon SES send for the MAIL FROM domain"),
        DnsRecord(type="TXT", name=f"_dmarc.{domain}", value='"v=DMARC1; p=none;"',
                  purpose="DMARC: recommended, if the domain has no DMARC record yet (Gmail and Yahoo ask bulk senders for one)", required=False),
    ]  # fmt: skip


def _status(state: IdentityState) -> Status:
    if state.verified:
        return "verified"
    return "failed" if state.dkim_status == "FAILED" else "pending"


def domain_of(address: str) -> str | None:
    """The domain of a From address (`Name <user@domain>` or `user@domain`), lowercased; None if it is not one."""
    found = re.fullmatch(r"\s*(?:[^<>]*<)?([^<>@\s]+@[^<>@\s]+)>?\s*", address)
    match = ADDRESS.fullmatch(found.group(1)) if found else None
    return match.group(1).lower().rstrip(".") if match else None


class Senders:
    """One org's sending domains."""

    def __init__(
        self, org_id: str, repository: SenderRepository, identities: SendingIdentities, region: str, prefix: str, clock: Clock = utc_now
    ):
        self.org_id = org_id
        self.repository = repository
        self.table: Table = repository.table
        self.identities = identities
        self.region = region
        self.prefix = prefix
        self.clock = clock

    def add(self, draft: SenderDraft) -> Sender:
        domain, mail_from_domain = draft.domain, f"{draft.mail_from}.{draft.domain}"
        claim = {"PK": f"SENDER#{domain}", "SK": "OWNER", "org_id": self.org_id}
        holder = self.table.get(f"SENDER#{domain}", "OWNER")
        if holder is not None:
            if holder["org_id"] != self.org_id:
                raise ConflictError(f"{domain} is already a sending domain of another organisation")
            raise ConflictError(f"{domain} is already one of your sending domains")
        try:
            self.table.put(claim, condition="attribute_not_exists(PK)")
        except ConflictError:
            raise ConflictError(f"{domain} is already a sending domain of another organisation") from None
        try:
            sending = self.identities.prepare_org(sending_names(self.prefix, self.org_id))
            state = self.identities.add_domain(sending, domain, mail_from_domain)
        except Exception:
            self.table.take(f"SENDER#{domain}", "OWNER")  # nothing half made: the domain is free again
            raise
        now = naive_utc(self.clock())
        return self.repository.create(Sender(
            id=domain, org_id=self.org_id, domain=domain, mail_from_domain=mail_from_domain, status=_status(state),
            dkim_status=state.dkim_status, mail_from_status=state.mail_from_status, records=records(domain, mail_from_domain, state, self.region),
            tenant=sending.tenant, configuration_set=sending.configuration_set, created_at=now, checked_at=now,
        ))  # fmt: skip

    def _stored(self, domain: str) -> Sender:
        name = domain.strip().lower()
        if not DOMAIN.fullmatch(name):  # not a domain: not one of this org's either
            raise NotFoundError(f"sender {domain[:100]} not found")
        return self.repository.get(self.org_id, name)

    def get(self, domain: str) -> Sender:
        """The sender with SES's current verification status (SES checks the DNS; Tern asks SES)."""
        sender = self._stored(domain)
        if sender.status == "verified" and sender.mail_from_status == "SUCCESS":
            return sender
        state = self.identities.state(sender.domain)
        checked = sender.model_copy(update={
            "status": _status(state), "dkim_status": state.dkim_status, "mail_from_status": state.mail_from_status,
            "records": records(sender.domain, sender.mail_from_domain, state, self.region), "checked_at": naive_utc(self.clock()),
        })  # fmt: skip
        if (checked.status, checked.dkim_status, checked.mail_from_status) == (sender.status, sender.dkim_status, sender.mail_from_status):
            return checked
        try:
            return self.repository.save(checked)
        except ConflictError:  # checked at the same moment by another request: its answer is as good
            return self.repository.get(self.org_id, sender.domain)

    def list(self) -> list[Sender]:
        return [self.get(s.domain) for s in self.repository.all(self.org_id)]

    def remove(self, domain: str) -> Sender:
        sender = self._stored(domain)
        self.identities.remove_domain(OrgSending(sender.tenant, sender.configuration_set), sender.domain)
        self.repository.delete(self.org_id, sender.domain)
        self.table.take(f"SENDER#{sender.domain}", "OWNER")
        return sender

    def sending_as(self, from_address: str, where: str = "from_address") -> SendAs:
        """How to send as `from_address`: its domain must be one of this org's, and verified; DefinitionError naming
        the address otherwise (an org can never send as another org's domain, nor as one SES has not verified)."""
        domain = domain_of(from_address)
        if domain is None:
            raise DefinitionError([Problem(where, f"{from_address!r} is not an e-mail address")])
        try:
            sender = self._stored(domain)
            sender = sender if sender.status == "verified" else self.get(domain)  # verified once, SES keeps it so
        except NotFoundError:
            raise DefinitionError(
                [Problem(where, f"{domain} is not one of your sending domains: add it under Senders, and publish its DNS records")]
            ) from None
        if sender.status != "verified":
            state = "Amazon SES could not verify it" if sender.status == "failed" else "its DNS records are not found yet"
            raise DefinitionError([Problem(where, f"{domain} is not verified for sending: {state}")])
        return SendAs(from_address=from_address, configuration_set=sender.configuration_set, tenant=sender.tenant)


class SmsSenderDraft(BaseModel):
    """The org's own SMS origination identity: a phone number's or a pool's id or ARN in AWS End User Messaging."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    origination_identity: Annotated[str, Field(
        min_length=1, max_length=256, pattern=r"^(arn:aws[a-z-]*:sms-voice:[a-z0-9-]+:[0-9]{12}:(phone-number|pool)/)?(phone|pool)-[0-9A-Za-z]{1,64}$",
        description="a phone number's id (phone-...) or a pool's (pool-...), or its ARN",
    )]  # fmt: skip


class SmsSender(SmsSenderDraft):
    org_id: str
    phone_number: str  # what recipients see, and reply STOP to
    opt_out_list: str  # the org's own: a STOP to this identity lands on it
    updated_at: Instant


def sms_sender_of(table: Table, org_id: str) -> SmsSender | None:
    """The org's own SMS number, if it set one."""
    item = table.get(f"ORG#{org_id}", "SETTINGS#sms-sender")
    return SmsSender.model_validate_json(str(item["body"])) if item else None


# Every org with a number of its own has its list checked for STOPs on a schedule (tern.journeys.opt_outs).
CHECK_EVERY = "rate(15 minutes)"


def check_schedule(org_id: str) -> str:
    """The org's schedule that checks its number's opt-out list (Scheduler names allow [0-9a-zA-Z-_.]{1,64})."""
    return "sms-opt-outs-" + hashlib.sha256(org_id.encode()).hexdigest()[:40]


def check_request(org_id: str) -> dict[str, str]:
    """What the schedule hands the journey_run function (tern.usecases.journeys)."""
    return {"stage": "sms_opt_outs", "org_id": org_id}


class SmsSenders:
    """One org's SMS origination identity. One org per identity (`SMSORIGIN#<identity> OWNER`): a STOP to it is that
    org's, its opt-out list the org's own (`<prefix>-<org>`), which AWS checks before every text it sends."""

    def __init__(
        self,
        org_id: str,
        table: Table,
        origins: SmsOrigins,
        prefix: str,
        clock: Clock = utc_now,
        shared: str | None = None,
        checks: Scheduler | None = None,
    ):
        self.org_id, self.table, self.origins, self.prefix, self.clock = org_id, table, origins, prefix, clock
        self.shared = shared  # the stack's own number or pool (every org without one of its own sends from it)
        self.checks = checks  # the schedules that check the org's opt-out list for STOPs

    def get(self) -> SmsSender | None:
        return sms_sender_of(self.table, self.org_id)

    def set(self, draft: SmsSenderDraft) -> SmsSender:
        identity = draft.origination_identity.rsplit("/", 1)[-1]  # an ARN and its id are one identity, claimed once
        if self.shared and identity == self.shared.rsplit("/", 1)[-1]:
            raise DefinitionError(
                [
                    Problem(
                        "origination_identity", f"{identity} is the stack's shared number: every organisation without its own sends from it"
                    )
                ]
            )
        holder = self.table.get(f"SMSORIGIN#{identity}", "OWNER")
        if holder is not None and holder["org_id"] != self.org_id:
            raise ConflictError(f"{identity} is the SMS sender of another organisation")
        if holder is None:
            try:
                self.table.put({"PK": f"SMSORIGIN#{identity}", "SK": "OWNER", "org_id": self.org_id}, condition="attribute_not_exists(PK)")
            except ConflictError:
                raise ConflictError(f"{identity} is the SMS sender of another organisation") from None
        opt_out_list = sending_names(self.prefix, self.org_id)
        try:
            phone = self.origins.assign(identity, opt_out_list)
        except Exception:
            if holder is None:
                self.table.take(f"SMSORIGIN#{identity}", "OWNER")
            raise
        previous = self.get()
        sender = SmsSender(
            origination_identity=identity,
            org_id=self.org_id,
            phone_number=phone,
            opt_out_list=opt_out_list,
            updated_at=naive_utc(self.clock()),
        )
        self.table.put({"PK": f"ORG#{self.org_id}", "SK": "SETTINGS#sms-sender", "body": sender.model_dump_json()})
        if previous is not None and previous.origination_identity != identity:
            self.table.take(f"SMSORIGIN#{previous.origination_identity}", "OWNER")
        if self.checks is not None:
            self.checks.put(
                check_schedule(self.org_id), CHECK_EVERY, check_request(self.org_id), f"STOP replies to {phone} ({self.org_id})", once=False
            )
        return sender

    def remove(self) -> SmsSender | None:
        previous = self.get()
        if previous is not None:
            self.table.take(f"ORG#{self.org_id}", "SETTINGS#sms-sender")
            self.table.take(f"SMSORIGIN#{previous.origination_identity}", "OWNER")
        if self.checks is not None:
            self.checks.delete(check_schedule(self.org_id))
        return previous
