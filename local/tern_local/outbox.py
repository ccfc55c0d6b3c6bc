"""The local outbox: every e-mail the local SES accepted, as the recipient's mail server would receive it, and every
text the local SNS accepted, so a user (and a test) sees exactly what went out, as Mailpit shows a developer.

    DIR/outbox/<message id>.eml     one RFC 5322 message a file: From, To, Subject, Date, Message-ID, every header the
                                    sender gave (List-Unsubscribe, List-Unsubscribe-Post), text and HTML alternatives
    DIR/outbox/sms.jsonl            one text a line: {"message_id", "to", "text", "at"}

moto keeps SES v2's Simple messages without their headers or their text part, so the message is made here from the
request itself (SES v2 SendEmail's Content.Simple: Subject, Body.Text / Body.Html, Headers), with the Message-ID SES
gives (`<id@email.amazonses.com>`); a Raw message is kept as sent. What SES adds on the way (its DKIM-Signature,
Feedback-ID, Return-Path) is not here: there is no DKIM key on a laptop.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.policy
import email.utils
import json
import re
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any

_folder: Path | None = None
_lock = threading.Lock()


def route_outbox_to(folder: Path | None) -> None:
    """Keep what the local SES and SNS accept under `folder` (None: stop keeping)."""
    global _folder
    _folder = folder
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
    _patch()


def _patch() -> None:
    from moto.sesv2.responses import SESV2Response
    from moto.sns.responses import SNSResponse

    if getattr(SESV2Response, "__outbox_by_tern__", False):
        return
    send_email, publish = SESV2Response.send_email, SNSResponse.publish

    def sent_email(self: Any) -> Any:
        answer = send_email(self)
        if _folder is not None:
            _keep_email(_folder, json.loads(self.body), json.loads(answer)["MessageId"])
        return answer

    def published(self: Any) -> Any:
        answer = publish(self)
        phone = self._get_param("PhoneNumber")
        found = re.search(
            r"<MessageId>([^<]+)</MessageId>|\"MessageId\":\s*\"([^\"]+)\"", answer if isinstance(answer, str) else str(answer)
        )
        if _folder is not None and phone and found:
            line = {
                "message_id": found.group(1) or found.group(2),
                "to": phone,
                "text": self._get_param("Message"),
                "at": _now().isoformat(),
            }
            with _lock, open(_folder / "sms.jsonl", "a", encoding="utf-8") as f:
                f.write(json.dumps(line) + "\n")
        return answer

    SESV2Response.send_email = sent_email  # type: ignore[method-assign]
    SNSResponse.publish = published  # type: ignore[method-assign]
    SESV2Response.__outbox_by_tern__ = True  # type: ignore[attr-defined]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _keep_email(folder: Path, request: dict[str, Any], message_id: str) -> None:
    content = request.get("Content") or {}
    data = base64.b64decode(content["Raw"]["Data"]) if "Raw" in content else compose(request, message_id).as_bytes()
    path = folder / f"{message_id}.eml"
    path.write_bytes(data)


def compose(request: dict[str, Any], message_id: str) -> EmailMessage:
    """The RFC 5322 message SES v2 makes of a SendEmail request's Simple content."""
    simple = request["Content"]["Simple"]
    destination = request.get("Destination") or {}
    message = EmailMessage(policy=email.policy.SMTPUTF8)  # an address's non-ASCII local part as RFC 6532 has it, not encoded-words
    message["From"] = request["FromEmailAddress"]
    for field, key in (("To", "ToAddresses"), ("Cc", "CcAddresses")):
        if destination.get(key):
            message[field] = ", ".join(destination[key])
    if request.get("ReplyToAddresses"):
        message["Reply-To"] = ", ".join(request["ReplyToAddresses"])
    message["Subject"] = simple["Subject"]["Data"]
    message["Date"] = email.utils.format_datetime(_now())
    message["Message-ID"] = f"<{message_id}@email.amazonses.com>"
    for header in simple.get("Headers") or []:
        message[header["Name"]] = header["Value"]
    body = simple.get("Body") or {}
    text, html = (body.get("Text") or {}).get("Data"), (body.get("Html") or {}).get("Data")
    if text is not None:
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
    elif html is not None:
        message.set_content(html, subtype="html")
    return message
