"""A test of content, sent before a journey uses it: rendered for a contact the marketer picks, exactly as a send
step renders it (the contact's snapshot, the org's postal address and unsubscribe footer, the org's From), and sent
only to the addresses the marketer typed, never to the contact. Its subject says it is a test; its unsubscribe
link opens a page saying so and changes nothing. Each test is recorded for the org (who, to whom, when), and none
is ever a journey's send: no analytics, no frequency cap, no engagement.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from tern.errors import DefinitionError, Problem, SendRejected
from tern.journeys.content import with_footer
from tern.journeys.steps import ses_tag
from tern.services import Services
from tern.text import OneLine
from tern.usecases.personalise import preview_content

TEST_TOKEN = "test-message"  # the unsubscribe link of a test: its page changes nothing (tern.api.recipients)
_EMAIL = re.compile(r"[^@\s]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}")
_PHONE = re.compile(r"\+[1-9][0-9]{6,14}")


class TestSend(BaseModel):
    """POST /content/{id}/test: whose data to render it with, and where to send it (up to 5 addresses, or phone
    numbers in E.164 for a text)."""

    model_config = ConfigDict(extra="forbid")
    contact_id: Annotated[str, Field(min_length=1, max_length=200), OneLine]
    to: Annotated[list[Annotated[str, Field(min_length=3, max_length=320), OneLine]], Field(min_length=1, max_length=5)]


def send_test(services: Services, org_id: str, content_id: str, request: TestSend, origin: str | None) -> dict[str, Any]:
    """Send the test; the record of it (`sent` the provider's message ids). DefinitionError names a bad address, a
    From the org cannot send as, or a marketing e-mail without a postal address."""
    content = services.content.get(org_id, content_id)
    email = content.channel == "email"
    pattern = _EMAIL if email else _PHONE
    bad = [i for i, address in enumerate(request.to) if not pattern.fullmatch(address.strip())]
    if bad:
        what = "an e-mail address" if email else "a phone number with its country code (+48...)"
        raise DefinitionError([Problem(f"to[{i}]", f"{request.to[i]!r} is not {what}") for i in bad])
    message = preview_content(services, org_id, content, request.contact_id)
    sent: list[str] = []
    if email:
        postal = services.org_settings.messages(org_id).postal_address or (
            services.sending.default_postal_address if services.sending else None
        )
        if content.purpose == "marketing":
            if not postal:
                raise DefinitionError([Problem("content", "set your organisation's postal address first: every marketing e-mail shows it")])
            link = f"{origin}/u/{org_id}/{TEST_TOKEN}" if origin else "#test-message"
            message = with_footer(message, link, postal)
        sender = services.senders(org_id).sending_as(content.from_address) if content.from_address else None
        subject = f"[Test] {message['subject'] or ''}"
        for address in request.to:
            try:
                sent.append(services.email_port().send(address.strip(), subject, message["body"], message["text"],
                                                       {"org": ses_tag(org_id), "test": "true"}, {}, sender))  # fmt: skip
            except SendRejected as e:
                raise DefinitionError([Problem("to", f"the test could not be sent: {e}")]) from None
    else:
        own = services.sms_senders(org_id).get()
        for phone in request.to:
            sent.append(services.sms_port().send(phone.strip(), f"[Test] {message['text'] or ''}", own.origination_identity if own else None,
                                                 {"org": org_id, "test": "true"}))  # fmt: skip
    now = services.clock()
    record = {"id": uuid.uuid4().hex, "content_id": content_id, "contact_id": request.contact_id, "to": [a.strip() for a in request.to],
              "sent": sent, "at": now.isoformat()}  # fmt: skip
    services.test_sends.put(org_id, record, now)  # tern.journeys.repository.TestSendRepository
    return record
