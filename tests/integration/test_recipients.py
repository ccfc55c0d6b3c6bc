"""What a recipient and their mailbox provider do with a journey's e-mail, on the local stack, over HTTP.

The e-mail is read from the local outbox (DIR/outbox/<id>.eml, as a receiving server gets it); its one-click
header is POSTed as RFC 8058 says a provider does it (form-encoded `List-Unsubscribe=One-Click`, no cookie, no
authorization); then the same contact's send in another journey of the org is blocked, the preference page says
so, and the journey's figures count the unsubscribe at its step. Altered and misplaced tokens change nothing; the
old message's link posted again after the contact subscribed again does not undo it.
"""

from __future__ import annotations

import email
import email.policy
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest

from stack_client import http, lake_contacts, live, local_stack, ok, wait_for
from tern.journeys.senders import check_schedule
from tern_local.generator import generate
from tern_local.ses import publish
from tern_local.sms import LOCAL_NUMBERS, reply
from tern_local.stack import REGION, LocalStack

SCALE = 7200


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    lake: Path = tmp_path_factory.mktemp("recipients-lake")
    generate(lake, contacts=200, events_per_contact=2, days=10, org="acme", seed=25)
    with local_stack(lake, time_scale=SCALE) as running:
        yield running


def post(url: str, form: str, kind: str = "application/x-www-form-urlencoded") -> tuple[int, str, dict[str, str]]:
    """A POST as a mailbox provider makes it: the form, nothing else (no cookie, no authorization)."""
    request = urllib.request.Request(url, data=form.encode(), method="POST", headers={"Content-Type": kind})
    return _send(request)


def get(url: str) -> tuple[int, str, dict[str, str]]:
    return _send(urllib.request.Request(url))


def _send(request: urllib.request.Request) -> tuple[int, str, dict[str, str]]:
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def outbox(stack: LocalStack) -> dict[str, EmailMessage]:
    """The outbox's messages by recipient (the latest, when one got two)."""
    found: dict[str, EmailMessage] = {}
    for path in sorted((stack.data / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        found[str(message["To"])] = message
    return found


def run_journey(stack: LocalStack, audience: str, content_id: str, name: str, kind: str = "send_email") -> dict[str, Any]:
    journey = ok(stack, "POST", "/journeys", {"name": name, "audience": audience, "start": "hello",
                                              "steps": [{"id": "hello", "kind": kind, "content_id": content_id}]})  # fmt: skip
    ok(stack, "POST", f"/journeys/{journey['id']}/publish")
    ok(stack, "POST", f"/journeys/{journey['id']}/start")

    members = ok(stack, "GET", f"/segments/{audience}")["latest"]["members"]  # who enters: all of them, not the first started

    def figures() -> dict[str, int] | None:
        found = ok(stack, "GET", f"/journeys/{journey['id']}/analytics")
        step = found["steps"][0]
        return step if step["sent"] + step["blocked"] >= members > 0 else None

    wait_for(figures, timeout=120, every=0.5, what=f"journey {name} to send")
    return dict(journey)


def test_one_click_unsubscribe_as_a_mailbox_provider_does_it(stack: LocalStack) -> None:
    contacts = lake_contacts(stack)
    ok(stack, "PUT", "/settings/messages", {"postal_address": "Acme Sp. z o.o.\nul. Długa 1, 00-001 Warszawa", "language": "en", "topics": [
        {"consent": "email_marketing", "names": {"en": "Offers and news", "pl": "Oferty i nowości"}},
        {"consent": "newsletter", "names": {"en": "The monthly newsletter", "pl": "Miesięcznik"}, "descriptions": {"en": "Once a month"}},
    ]})  # fmt: skip
    city = "Kraków"
    audience = live(stack, {"name": city, "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": city}]},
                            "refresh": {"every": 365, "unit": "days"}})  # fmt: skip
    content = ok(stack, "POST", "/content", {"name": "news", "channel": "email", "subject": "News for {{first_name|you}}",
                                             "body": "<html><body><p>Our news</p></body></html>", "text": "Our news", "status": "ready"})  # fmt: skip
    first = run_journey(stack, audience["id"], content["id"], "First")
    sent = outbox(stack)
    assert sent, "the outbox holds what SES accepted"
    address, message = sorted(sent.items())[0]
    contact_id = next(c for c, row in contacts.items() if row["email"] == address)

    # the message as its recipient's server has it: both headers, and the same link in the body
    header = str(message["List-Unsubscribe"])
    assert header.startswith(f"<http://127.0.0.1:{stack.port}/u/acme/") and header.endswith(">")
    assert str(message["List-Unsubscribe-Post"]) == "List-Unsubscribe=One-Click"
    url = header[1:-1]
    html_part, text_part = message.get_body(("html",)), message.get_body(("plain",))
    assert html_part is not None and url in html_part.get_content() and text_part is not None and url in text_part.get_content()
    assert "ul. Długa 1, 00-001 Warszawa" in html_part.get_content() and "ul. Długa 1" in text_part.get_content()  # the org's address

    # a tampered token, and acme's token under another org's path: 400, nothing changed
    token = url.rsplit("/", 1)[1]
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    for wrong in (tampered, url.replace("/u/acme/", "/u/globex/"), url.replace(token, token.split(".")[0])):
        status, page, _ = post(wrong, "List-Unsubscribe=One-Click")
        assert status == 400 and "not valid" in page and "Nothing was changed" in page

    # the provider's one-click POST, as RFC 8058 asks it be sent (multipart/form-data): 2xx at once, no redirect, no cookie
    status, page, headers = post(
        url,
        '--b1\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--b1--\r\n',
        "multipart/form-data; boundary=b1",
    )
    assert status == 200 and "You will no longer receive" in page
    assert headers.get("Cache-Control") == "no-store" and "Set-Cookie" not in headers

    # the preference page, from the same link: withdrawn, with a way back (a plain form: no JavaScript)
    status, page, headers = get(url)
    assert status == 200 and "You are unsubscribed" in page and 'name="action" value="save"' in page and "<script" not in page
    assert "frame-ancestors 'none'" in headers.get("Content-Security-Policy", "")
    assert "Offers and news" in page and "The monthly newsletter" in page and 'value="email_marketing">' in page  # unchecked
    assert "Oferty i nowości" in get(url + "?lang=pl")[1]

    # the contact's next send, in another journey of the org: blocked; everyone else in the audience gets it
    before = {path.name for path in (stack.data / "outbox").glob("*.eml")}
    second = run_journey(stack, audience["id"], content["id"], "Second")
    new = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in (stack.data / "outbox").glob("*.eml")
        if p.name not in before
    ]
    assert new and address not in {str(m["To"]) for m in new}
    figures = ok(stack, "GET", f"/journeys/{second['id']}/analytics")["steps"][0]
    assert figures["blocked"] >= 1 and figures["sent"] == len(new)

    # the first journey counts the unsubscribe at the step whose message it came from
    assert ok(stack, "GET", f"/journeys/{first['id']}/analytics")["steps"][0]["unsubscribed"] == 1

    # a segment sees it at its next evaluation: by the consent, and by the e-mail action
    withdrawn = live(stack, {"name": "Unsubscribed", "where": {"all": [
        {"kind": "attribute", "field": "city", "op": "eq", "value": city},
        {"kind": "activity", "event_type": "email_unsubscribed", "op": "gte", "value": 1, "window": {"last_days": 30}},
        {"kind": "consents", "op": "has_none", "values": ["email_marketing"]},
    ]}, "refresh": {"every": 365, "unit": "days"}})  # fmt: skip
    assert [m["contact_id"] for m in ok(stack, "GET", f"/segments/{withdrawn['id']}/members")["members"]] == [contact_id]

    # subscribing again on the page (the offers, and the newsletter too), then the old message's one-click replayed:
    # nothing undone
    status, page, _ = post(url, "action=save&topic=email_marketing&topic=newsletter")
    assert (
        status == 200
        and "Your choices are saved" in page
        and 'value="newsletter" checked' in page
        and 'value="email_marketing" checked' in page
    )
    status, page, _ = post(url, "List-Unsubscribe=One-Click")
    assert status == 200 and "already used" in page and "nothing was changed" in page
    assert 'value="email_marketing" checked' in get(url)[1]
    status, page, _ = post(url, "action=unsubscribe_all")
    assert status == 200 and "checked" not in page


def test_an_org_sends_from_its_own_verified_domain_under_its_own_tenant(stack: LocalStack) -> None:
    domain = "news.acme-shop.example"
    added = ok(stack, "POST", "/senders", {"domain": domain.upper() + "."})
    assert (added["domain"], added["status"], added["mail_from_domain"]) == (domain, "pending", f"bounces.{domain}")
    kinds = [(r["type"], r["name"]) for r in added["records"]]
    assert [k for k, _ in kinds].count("CNAME") == 3 and ("MX", f"bounces.{domain}") in kinds and ("TXT", f"_dmarc.{domain}") in kinds
    assert all(
        r["value"].endswith(".dkim.amazonses.com") and r["name"].endswith(f"._domainkey.{domain}")
        for r in added["records"]
        if r["type"] == "CNAME"
    )

    # another org can neither take the domain, nor see it, nor send from it
    assert http(stack, "POST", "/senders", {"domain": domain}, org="globex")[0] == 409
    assert http(stack, "GET", f"/senders/{domain}", org="globex")[0] == 404
    status, answer = http(
        stack,
        "POST",
        "/content",
        {"name": "x", "channel": "email", "subject": "s", "body": "b", "from_address": f"hi@{domain}"},
        org="globex",
    )
    assert status == 400 and domain in json.dumps(answer) and "not one of your sending domains" in json.dumps(answer)

    city = "Gdańsk"
    audience = live(stack, {"name": city, "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": city}]},
                            "refresh": {"every": 365, "unit": "days"}})  # fmt: skip
    content = ok(stack, "POST", "/content", {"name": "from us", "channel": "email", "subject": "Hello", "body": "<p>Hello</p>",
                                             "status": "ready", "from_address": f"Acme News <hello@{domain}>"})  # fmt: skip
    journey = ok(stack, "POST", "/journeys", {"name": "Own domain", "audience": audience["id"], "start": "hello",
                                              "steps": [{"id": "hello", "kind": "send_email", "content_id": content["id"]}]})  # fmt: skip

    # not verified yet: publishing is refused, naming the domain
    status, answer = http(stack, "POST", f"/journeys/{journey['id']}/publish")
    assert status == 400 and f"{domain} is not verified for sending" in json.dumps(answer)

    # the records published (the local DNS is a file): SES finds them, the domain is verified
    publish(stack.data / "dns.txt", [(r["name"], r["type"], r["value"]) for r in added["records"] if r["required"]])
    checked = ok(stack, "GET", f"/senders/{domain}")
    assert (checked["status"], checked["dkim_status"], checked["mail_from_status"]) == ("verified", "SUCCESS", "SUCCESS")
    assert [s["domain"] for s in ok(stack, "GET", "/senders")["senders"]] == [domain]

    before = {p.name for p in (stack.data / "outbox").glob("*.eml")}
    ok(stack, "POST", f"/journeys/{journey['id']}/publish")
    ok(stack, "POST", f"/journeys/{journey['id']}/start")
    wait_for(
        lambda: ok(stack, "GET", f"/journeys/{journey['id']}/analytics")["steps"][0]["sent"] > 0, timeout=120, every=0.5, what="a send"
    )
    new = [
        email.message_from_bytes(p.read_bytes(), policy=email.policy.default)
        for p in (stack.data / "outbox").glob("*.eml")
        if p.name not in before
    ]
    assert new and {str(m["From"]) for m in new} == {f"Acme News <hello@{domain}>"}

    # SES has the org's tenant holding its identity and configuration set: the sends went through it
    ses = boto3.client("sesv2", endpoint_url=stack.endpoint, region_name=REGION)
    held = {r["ResourceArn"].rsplit(":", 1)[1] for r in ses.list_tenant_resources(TenantName="tern-local-acme")["TenantResources"]}
    assert held == {f"identity/{domain}", "configuration-set/tern-local-acme"}

    # a domain in use by a running journey is not removed from under it
    assert http(stack, "DELETE", f"/senders/{domain}")[0] == 409


def texts(stack: LocalStack) -> list[dict[str, Any]]:
    path = stack.data / "outbox" / "sms.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_stop_on_the_orgs_opt_out_list_blocks_its_next_text(stack: LocalStack) -> None:
    number_id, number = LOCAL_NUMBERS[1]
    sender = ok(stack, "PUT", "/settings/sms-sender", {"origination_identity": number_id})["sms_sender"]
    assert (sender["phone_number"], sender["opt_out_list"]) == (number, "tern-local-acme")
    assert http(stack, "PUT", "/settings/sms-sender", {"origination_identity": number_id}, org="globex")[0] == 409  # one org's number

    audience = live(stack, {"name": "Texts", "where": {"all": [{"kind": "attribute", "field": "phone", "op": "is_not_empty"},
                                                             {"kind": "consents", "op": "has_any", "values": ["sms_marketing"]}]},
                            "refresh": {"every": 365, "unit": "days"}})  # fmt: skip
    content = ok(
        stack, "POST", "/content", {"name": "text", "channel": "sms", "text": "Hi {{first_name|there}}: it is out", "status": "ready"}
    )
    before = len(texts(stack))
    run_journey(stack, audience["id"], content["id"], "First texts", kind="send_sms")
    first = texts(stack)[before:]
    assert first and {t["from"] for t in first} == {number} and {t["context"]["org"] for t in first} == {"acme"}

    # one recipient replies STOP to the org's number: AWS puts them on the number's opt-out list, the org's own
    stopper = first[0]["to"]
    assert reply(stopper, number_id, "stop")
    sms = boto3.client("pinpoint-sms-voice-v2", endpoint_url=stack.endpoint, region_name=REGION)
    listed = sms.describe_opted_out_numbers(OptOutListName="tern-local-acme")["OptedOutNumbers"]
    assert [(n["OptedOutNumber"], n["EndUserOptedOut"]) for n in listed] == [(stopper, True)]

    # Tern reads the org's list on the org's own schedule (made with its number; this stack's clock runs 7,200 times
    # faster, so it fires every eighth of a second): the STOP is recorded before any text, for every contact holding
    # the number (consent removed, the number suppressed), and another look records nothing twice
    scheduler = boto3.client("scheduler", endpoint_url=stack.endpoint, region_name=REGION)
    target = scheduler.get_schedule(Name=check_schedule("acme"), GroupName=stack.resolver.names["ScheduleGroup"])["Target"]
    assert json.loads(target["Input"]) == {"stage": "sms_opt_outs", "org_id": "acme"} and target["Arn"].endswith(
        ":function:tern-journey-run-local"
    )
    table = boto3.resource("dynamodb", endpoint_url=stack.endpoint, region_name=REGION).Table(stack.resolver.names["TernTable"])
    suppressed = wait_for(
        lambda: table.get_item(Key={"PK": "ORG#acme#SUPPRESS", "SK": f"sms#{stopper}"}).get("Item"), what="the STOP recorded"
    )
    assert suppressed["reason"] == "replied STOP"
    holders = [c for c, row in lake_contacts(stack).items() if str(row["phone"] or "").strip() == stopper]
    assert holders and all(
        table.get_item(Key={"PK": f"ORG#acme#CHANGES#{c}", "SK": "consents#sms_marketing"})["Item"]["action"] == "remove" for c in holders
    )
    checked = stack.invoke_arn(target["Arn"], json.loads(target["Input"]))  # as the Scheduler invokes it
    assert checked["checked"] and checked["stops"] == 0

    # the org's next text to that number, in another journey: blocked (and recorded), everyone else texted
    before = len(texts(stack))
    second = run_journey(stack, audience["id"], content["id"], "Second texts", kind="send_sms")
    later = texts(stack)[before:]
    assert later and stopper not in {t["to"] for t in later} and len(later) == len(first) - 1
    figures = ok(stack, "GET", f"/journeys/{second['id']}/analytics")["steps"][0]
    assert figures["blocked"] == 1 and figures["sent"] == len(later)


def test_a_test_send_reaches_only_the_typed_addresses_rendered_for_the_chosen_contact(stack: LocalStack) -> None:
    contacts = lake_contacts(stack)
    chosen = next(c for c in contacts.values() if c.get("first_name") and c.get("email"))
    ok(
        stack,
        "PUT",
        "/settings/messages",
        {"postal_address": "Acme Sp. z o.o.\nul. Długa 1, 00-001 Warszawa", "language": "en", "topics": []},
    )
    content = ok(stack, "POST", "/content", {"name": "teaser", "channel": "email", "subject": "Hello {{first_name|you}}",
                                             "body": "<p>Hi {{first_name}} from {{city|your city}}</p>", "status": "draft"})  # fmt: skip
    before = {p.name for p in (stack.data / "outbox").glob("*.eml")}
    origin = f"http://127.0.0.1:{stack.port}"
    request = urllib.request.Request(
        f"{origin}/content/{content['id']}/test", method="POST",
        data=json.dumps({"contact_id": chosen["contact_id"], "to": ["marketer@acme.example", "boss@acme.example"]}).encode(),
        headers={"Content-Type": "application/json", "X-Tern-Org": "acme", "Origin": origin},
    )  # fmt: skip
    status, body, _ = _send(request)
    record = json.loads(body)
    assert status == 200 and record["to"] == ["marketer@acme.example", "boss@acme.example"] and len(record["sent"]) == 2
    new = [p for p in (stack.data / "outbox").glob("*.eml") if p.name not in before]
    messages = [email.message_from_bytes(p.read_bytes(), policy=email.policy.default) for p in new]
    assert sorted(str(m["To"]) for m in messages) == ["boss@acme.example", "marketer@acme.example"]  # nobody else, not the contact
    message = messages[0]
    assert str(message["Subject"]) == f"[Test] Hello {chosen['first_name']}"
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert f"Hi {chosen['first_name']} from {chosen.get('city') or 'your city'}" in html and "Długa 1" in html
    link = f"{origin}/u/acme/test-message"
    assert link in html
    status, page, _ = get(link)  # the test's unsubscribe link changes nothing and says why
    assert status == 200 and "This was a test message" in page
    assert post(link, "List-Unsubscribe=One-Click")[0] == 200
    # a bad address is named, and nothing goes
    status, refused = http(stack, "POST", f"/content/{content['id']}/test", {"contact_id": chosen["contact_id"], "to": ["not an address"]})
    assert status == 400 and refused["problems"][0]["path"] == "to[0]"
    assert {p.name for p in (stack.data / "outbox").glob("*.eml")} - before == {p.name for p in new}
