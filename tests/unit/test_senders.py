"""Sending domains (tern.journeys.senders) over SES v2 as the local stack answers it (moto, with tern_local.ses filling
in DKIM, MAIL FROM and tenants) and an in-memory table: the records to publish, verification by DNS, one org per
domain, and the From a send may use.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto import mock_aws
from pydantic import ValidationError

from tern.aws.ses import SesEmail, SesIdentities
from tern.errors import ConflictError, DefinitionError, NotFoundError, SendRejected, StoreError
from tern.journeys.content import ContentDraft
from tern.journeys.senders import (
    SenderDraft,
    SenderRepository,
    Senders,
    SmsSenderDraft,
    SmsSenders,
    domain_of,
    sending_names,
)
from tern_local.ses import publish, route_dns_to

from fakes import MemoryTable

REGION, ACCOUNT = "eu-central-1", "123456789012"
NOW = dt.datetime(2026, 12, 7, 12)


@pytest.fixture
def zone(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "dns.txt"
    route_dns_to(path)
    yield path
    route_dns_to(None)


@pytest.fixture
def ses() -> Iterator[object]:
    with mock_aws():
        yield boto3.client("sesv2", region_name=REGION)


def senders(ses: object, table: MemoryTable, org: str) -> Senders:
    identities = SesIdentities(ses, f"arn:aws:ses:{REGION}:{ACCOUNT}", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/default")
    return Senders(org, SenderRepository(table), identities, REGION, "tern-test", lambda: NOW)  # type: ignore[arg-type]


def test_a_domain_gets_its_records_and_is_verified_once_they_are_published(ses: object, zone: Path) -> None:
    acme = senders(ses, MemoryTable(), "acme")
    added = acme.add(SenderDraft(domain="News.Example.com."))
    assert (added.domain, added.status, added.mail_from_domain, added.tenant) == (
        "news.example.com",
        "pending",
        "bounces.news.example.com",
        "tern-test-acme",
    )
    cnames = [r for r in added.records if r.type == "CNAME"]
    assert len(cnames) == 3 and all(r.name == f"{r.value.split('.')[0]}._domainkey.news.example.com" for r in cnames)
    assert {(r.type, r.name, r.value) for r in added.records if r.type != "CNAME"} == {
        ("MX", "bounces.news.example.com", f"10 feedback-smtp.{REGION}.amazonses.com"),
        ("TXT", "bounces.news.example.com", '"v=spf1 include:amazonses.com ~all"'),
        ("TXT", "_dmarc.news.example.com", '"v=DMARC1; p=none;"'),
    }
    with pytest.raises(DefinitionError, match="news.example.com is not verified for sending"):
        acme.sending_as("hello@news.example.com")
    publish(zone, [(r.name, r.type, r.value) for r in cnames[:2]])
    assert acme.get("news.example.com").status == "pending"  # two of three: not yet
    publish(zone, [(cnames[2].name, cnames[2].type, cnames[2].value)])
    checked = acme.get("news.example.com")
    assert (checked.status, checked.dkim_status, checked.mail_from_status) == ("verified", "SUCCESS", "PENDING")
    sending = acme.sending_as("Acme <hello@news.example.com>")
    assert (sending.tenant, sending.configuration_set) == ("tern-test-acme", "tern-test-acme")
    # the message goes, as the org, through its tenant (SES refuses it if the tenant does not hold the identity)
    assert SesEmail(ses, None).send("anna@example.org", "Hi", "<p>Hi</p>", None, {}, {}, sending)


def test_a_domain_is_one_orgs_and_no_other_org_sends_from_it(ses: object, zone: Path) -> None:
    table = MemoryTable()
    acme, globex = senders(ses, table, "acme"), senders(ses, table, "globex")
    added = acme.add(SenderDraft(domain="news.example.com"))
    publish(zone, [(r.name, r.type, r.value) for r in added.records if r.required])
    with pytest.raises(ConflictError, match="another organisation"):
        globex.add(SenderDraft(domain="news.example.com"))
    with pytest.raises(ConflictError, match="already one of your"):
        acme.add(SenderDraft(domain="news.example.com"))
    with pytest.raises(NotFoundError):
        globex.get("news.example.com")
    with pytest.raises(DefinitionError, match="news.example.com is not one of your sending domains"):
        globex.sending_as("hello@news.example.com")
    assert acme.sending_as("hello@news.example.com").tenant == "tern-test-acme"
    # and SES itself would refuse globex's tenant for acme's identity
    globex_names = sending_names("tern-test", "globex")
    globex.identities.prepare_org(globex_names)
    sending = acme.sending_as("hello@news.example.com")
    with pytest.raises(SendRejected, match="Tenant not associated"):
        SesEmail(ses, None).send(
            "a@example.org", "s", "<p>b</p>", None, {}, {}, type(sending)(sending.from_address, sending.configuration_set, globex_names)
        )


def test_removing_a_domain_frees_it_and_stops_its_sends(ses: object, zone: Path) -> None:
    table = MemoryTable()
    acme = senders(ses, table, "acme")
    added = acme.add(SenderDraft(domain="news.example.com"))
    publish(zone, [(r.name, r.type, r.value) for r in added.records if r.required])
    acme.remove("news.example.com")
    with pytest.raises(DefinitionError, match="not one of your sending domains"):
        acme.sending_as("hello@news.example.com")
    assert senders(ses, table, "globex").add(SenderDraft(domain="news.example.com")).tenant == "tern-test-globex"


def test_when_ses_refuses_the_domain_nothing_is_left_half_made(ses: object, zone: Path) -> None:
    table = MemoryTable()
    acme = senders(ses, table, "acme")
    acme.add(SenderDraft(domain="news.example.com"))
    table.take("SENDER#news.example.com", "OWNER")  # as if the claim were lost: SES still has the identity
    with pytest.raises(ConflictError, match="Amazon SES already has it"):
        senders(ses, table, "globex").add(SenderDraft(domain="news.example.com"))
    assert table.get("SENDER#news.example.com", "OWNER") is None  # the claim taken back: nothing half made


@pytest.mark.parametrize(
    "bad", ["", "localhost", "news@example.com", "-x.example.com", "a..b.com", "x" * 64 + ".com", "example.123", "mail.amazonses.com"]
)
def test_what_is_not_a_domain_is_refused_naming_it(bad: str) -> None:
    with pytest.raises(ValidationError):
        SenderDraft(domain=bad)


def test_from_addresses_and_names() -> None:
    assert domain_of("Acme News <Hello@News.Example.com>") == "news.example.com"
    assert domain_of("hello@news.example.com") == "news.example.com"
    assert domain_of("not an address") is None and domain_of("<@x.com>") is None
    assert sending_names("tern-dev", "acme") == "tern-dev-acme"
    odd = sending_names("tern-dev", "acme.eu")  # SES names take no dots: shortened, with a digest so orgs never meet
    assert (
        odd.startswith("tern-dev-acme-eu-")
        and odd != sending_names("tern-dev", "acme-eu")
        and len(sending_names("tern-dev", "x" * 64)) <= 64
    )
    with pytest.raises(ValidationError, match="only e-mail content"):
        ContentDraft(name="t", channel="sms", text="hi", from_address="a@b.com")
    with pytest.raises(ValidationError, match="not an e-mail address"):
        ContentDraft(name="t", channel="email", from_address="nobody")


def test_ses_failures_are_the_stores(ses: object) -> None:
    identities = SesIdentities(ses, f"arn:aws:ses:{REGION}:{ACCOUNT}", "arn:aws:events:x")
    with pytest.raises(StoreError):
        identities.state("never-added.example.com")


class Origins:
    """SmsOrigins over memory: which list each identity has."""

    def __init__(self) -> None:
        self.lists: dict[str, str] = {}

    def assign(self, identity: str, opt_out_list: str) -> str:
        self.lists[identity] = opt_out_list
        return "+48500100300"


def test_an_sms_number_is_one_orgs_however_it_is_named_and_never_the_shared_one() -> None:
    table, origins = MemoryTable(), Origins()
    arn = "arn:aws:sms-voice:eu-central-1:123456789012:phone-number/phone-0a1b"
    acme = SmsSenders("acme", table, origins, "tern-test", lambda: NOW, shared="phone-shared")  # type: ignore[arg-type]
    globex = SmsSenders("globex", table, origins, "tern-test", lambda: NOW, shared="phone-shared")  # type: ignore[arg-type]
    assert acme.set(SmsSenderDraft(origination_identity="phone-0a1b")).opt_out_list == "tern-test-acme"
    with pytest.raises(ConflictError, match="another organisation"):
        globex.set(SmsSenderDraft(origination_identity=arn))  # the same number by its ARN
    with pytest.raises(DefinitionError, match="shared number"):
        globex.set(SmsSenderDraft(origination_identity="phone-shared"))
    assert origins.lists == {"phone-0a1b": "tern-test-acme"}
    acme.remove()
    assert globex.set(SmsSenderDraft(origination_identity=arn)).org_id == "globex"
