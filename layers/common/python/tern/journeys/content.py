"""Content: what a send step sends. E-mail (subject, body) or SMS (text), with {{field}} personalisation.

`{{first_name}}` is the contact's first_name; `{{first_name|there}}` falls back to "there" when it is
unknown; `{{attributes.KEY}}` reads a custom attribute; `{{entry_event.FIELD}}` (and
`{{entry_event.properties.KEY}}`) the event that made the contact enter an event-triggered journey (empty,
or the fallback, elsewhere). A placeholder naming no contact field is refused
when the content is saved, so a typo never reaches a customer as a blank.
"""

from __future__ import annotations

import html
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from tern import lake
from tern.clock import Instant
from tern.errors import Problem, TooLarge
from tern.journeys.senders import domain_of
from tern.text import MultiLine, OneLine

MAX_CONTENT_BYTES = 300 * 1024  # what a DynamoDB item (400 KB) holds beside the rest of the record
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*(?:\|\s*([^}]*?)\s*)?\}\}")
PERSONAL_FIELDS = frozenset(name for name in lake.CONTACTS if name not in lake.LIST_COLUMNS and name != "attributes")
# The recipient's own link (tern.journeys.unsubscribe), made for each message: where a marketing e-mail places it.
# Content that places neither gets a footer with it (every marketing e-mail shows one; RFC 8058's header aside).
LINKS = frozenset({"unsubscribe_url", "preferences_url"})
ORG_FIELDS = frozenset({"org.postal_address"})  # the org's own (its message settings), where the content places it


def _check_placeholders(text: str, where: str) -> None:
    for match in PLACEHOLDER.finditer(text):
        name = match.group(1)
        event_field = name.startswith("entry_event.") and (
            name[12:] in lake.EVENTS or (name.startswith("entry_event.properties.") and len(name) > 23)
        )
        if (
            name not in PERSONAL_FIELDS
            and name not in LINKS
            and name not in ORG_FIELDS
            and not (name.startswith("attributes.") and len(name) > len("attributes."))
            and not event_field
        ):
            raise ValueError(f"{where}: {{{{{name}}}}} is not a contact field")


class ContentDraft(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=200), OneLine]
    channel: Literal["email", "sms"]
    subject: Annotated[str, Field(max_length=500), OneLine] | None = None
    body: Annotated[str, Field(max_length=200_000), MultiLine] | None = None  # e-mail: HTML
    text: Annotated[str, Field(max_length=1600), MultiLine] | None = None  # SMS, or the e-mail's plain-text part
    status: Literal["draft", "ready"] = "draft"
    # e-mail: who it is from, at one of the org's sending domains (`News <news@news.example.com>`); none: the stack's
    from_address: Annotated[str, Field(max_length=320), OneLine] | None = None
    # transactional: what the contact asked for (a ticket, a reminder of their booking): no unsubscribe link or header,
    # no postal address required; the channel's consent and suppressions are still checked
    purpose: Literal["marketing", "transactional"] = "marketing"

    @model_validator(mode="after")
    def _fits_channel(self) -> ContentDraft:
        if self.from_address is not None and self.channel != "email":
            raise ValueError("only e-mail content has a From address")
        if self.purpose == "transactional" and any(
            m.group(1) in LINKS for f in (self.subject, self.body, self.text) if f for m in PLACEHOLDER.finditer(f)
        ):
            raise ValueError("transactional content has no unsubscribe link to place")
        if self.purpose == "transactional" and self.channel != "email":
            raise ValueError("only e-mail content is marked transactional")
        if self.channel == "sms" and self.text and any(m.group(1) in LINKS | ORG_FIELDS for m in PLACEHOLDER.finditer(self.text)):
            raise ValueError("text: an SMS has no unsubscribe link or postal address to place (a recipient replies STOP)")
        if self.from_address is not None and domain_of(self.from_address) is None:
            raise ValueError(f"from_address: {self.from_address!r} is not an e-mail address such as news@news.example.com")
        if self.channel == "email" and self.status == "ready" and not (self.subject and (self.body or self.text)):
            raise ValueError("ready e-mail content needs a subject and a body or text")
        if self.channel == "sms" and self.status == "ready" and not self.text:
            raise ValueError("ready SMS content needs text")
        for where in ("subject", "body", "text"):
            value = getattr(self, where)
            if value:
                _check_placeholders(value, where)
        size = sum(len((getattr(self, f) or "").encode("utf-8")) for f in ("name", "subject", "body", "text"))
        if size > MAX_CONTENT_BYTES:  # characters are up to 4 bytes each: 200,000 of them may not fit an item
            raise TooLarge([Problem("body", f"the content is {size:,} bytes; the limit is {MAX_CONTENT_BYTES:,} bytes")])
        return self


class Content(ContentDraft):
    id: str
    org_id: str
    version: int = 0
    created_at: Instant
    updated_at: Instant


def render(template: str, contact: dict[str, Any], escape: bool = False) -> str:
    """Fill {{field}} placeholders from a contact row; `escape` for HTML bodies."""

    def one(match: re.Match[str]) -> str:
        name, fallback = match.group(1), match.group(2) or ""
        if name.startswith("attributes."):
            attributes = contact.get("attributes") or {}
            value = dict(attributes).get(name.split(".", 1)[1]) if attributes else None
        elif name.startswith("entry_event.properties."):
            value = dict((contact.get("entry_event") or {}).get("properties") or {}).get(name[23:])
        elif name.startswith("entry_event."):
            value = (contact.get("entry_event") or {}).get(name[12:])
        else:
            value = contact.get(name)
        text = fallback if value is None or value == "" else str(value)
        return html.escape(text) if escape else text

    return PLACEHOLDER.sub(one, template)


def personalised(content: ContentDraft, contact: dict[str, Any]) -> dict[str, str | None]:
    """The message as a send step makes it for `contact` (its snapshot row): subject, HTML body, text."""
    return {
        "subject": render(content.subject or "", contact) if content.channel == "email" else None,
        "body": render(content.body, contact, escape=True) if content.body else None,
        "text": render(content.text, contact) if content.text else None,
    }


def with_footer(message: dict[str, Any], url: str, postal_address: str | None = None) -> dict[str, Any]:
    """The message with what each part (HTML, text) must show and does not show itself: the recipient's unsubscribe
    link, the org's postal address."""
    body, text = message.get("body"), message.get("text")
    if body:
        escaped = html.escape(url, quote=True)
        lines = (
            []
            if escaped in body or url in body
            else [f'Don\'t want these e-mails? <a href="{escaped}">Unsubscribe or change your preferences</a>.']
        )
        if postal_address and html.escape(postal_address) not in body and postal_address not in body:
            lines.append(html.escape(postal_address).replace("\n", "<br>"))
        footer = "".join(f'<p style="font-size:12px;color:#666666">{line}</p>' for line in lines)
        at = body.lower().rfind("</body>")
        body = body[:at] + footer + body[at:] if at >= 0 else body + footer
    if text or not body:
        lines = [] if text and url in text else [f"Unsubscribe or change your preferences: {url}"]
        if postal_address and not (text and postal_address in text):
            lines.append(postal_address)
        text = "\n\n".join(part for part in (text, "\n".join(lines)) if part)
    return {**message, "body": body, "text": text}
