"""Pinpoint's event stream, as Kinesis Data Firehose wrote it to S3, read as Tern's events (issue 31, first step).

A stream file holds Pinpoint's event records as JSON, gzip-compressed or not, one a line or several run together
on a line (Firehose concatenates what it is given; whether Pinpoint ends each record with a newline is not
documented), so each line is read record by record (`json.JSONDecoder.raw_decode`). A record that cannot be read
is reported with its file and line and skipped; the rest of its line with it. Memory holds one line at a time.

What a record becomes (Pinpoint developer guide, "Event stream data": email, SMS and app events):
- `_email.send`, `.delivered`, `.open`, `.click`, `.hardbounce`, `.softbounce`, `.complaint`, `.rejected`,
  `.unsubscribe` are Tern's email_sent, email_delivered, email_opened, email_clicked (with the click's `link`),
  email_bounced (`bounce_type` hard or soft), email_complained, email_rejected (`reason`), email_unsubscribed.
  An e-mail record's `event_timestamp` is when the message was sent, the same for every event of it; when the
  open, click or bounce happened is its `arrival_timestamp`, which is what `ts` takes for them.
- `_SMS.BUFFERED`, `.SUCCESS`, `.FAILURE`, `.OPTOUT` are sms_sent, sms_delivered, sms_failed (`reason` =
  record_status), sms_opted_out.
- An app's own event keeps its name as a Tern event type (lowercase; other characters as `_`; leading `_` dropped:
  `_session.start` is `session.start`), its attributes and metrics as `properties`.
- `_email.rendering_failure`, `_campaign.*` and `_journey.*` (Pinpoint's bookkeeping) are dropped and counted.
Each record keeps what finds its contact later: the endpoint (`client.client_id`) and the address it went to.
Its `event_id` is a digest of the record: Firehose delivers at least once, and a repeat is the same event.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

EMAIL_EVENTS = {
    "_email.send": "email_sent", "_email.delivered": "email_delivered", "_email.open": "email_opened",
    "_email.click": "email_clicked", "_email.hardbounce": "email_bounced", "_email.softbounce": "email_bounced",
    "_email.complaint": "email_complained", "_email.rejected": "email_rejected", "_email.unsubscribe": "email_unsubscribed",
}  # fmt: skip
SMS_EVENTS = {"_SMS.BUFFERED": "sms_sent", "_SMS.SUCCESS": "sms_delivered", "_SMS.FAILURE": "sms_failed", "_SMS.OPTOUT": "sms_opted_out"}
DROPPED = ("_email.rendering_failure", "_campaign.", "_journey.")
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class StreamEvent:
    """One record as a Tern event, before its contact is known."""

    event_id: str
    event_type: str
    ts: dt.datetime
    channel: str | None
    endpoint_id: str | None  # client.client_id: the endpoint sent to (campaigns, journeys, apps)
    address: str | None  # the e-mail address or phone number it went to, where the record says
    message_id: str | None = None
    link: str | None = None
    bounce_type: str | None = None
    reason: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Skipped:
    """A record not converted: why, and where (file:line)."""

    reason: str
    where: str


def read(path: Path) -> Iterator[StreamEvent | Skipped]:
    """The file's records, converted or skipped, in order."""
    for found in json_values(path):
        yield found if isinstance(found, Skipped) else convert(*found)


def json_values(path: Path) -> Iterator[tuple[Any, str] | Skipped]:
    """The file's JSON values with where each is (file:line), one a line or several run together, gzip or not; what
    cannot be read, Skipped (the rest of its line with it)."""
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="strict") as lines:  # type: ignore[operator]
            for number, line in enumerate(lines, start=1):
                yield from _line(line, f"{path.name}:{number}")
    except (OSError, UnicodeDecodeError, EOFError) as e:
        yield Skipped(f"the file cannot be read to its end: {e}", path.name)


def _line(line: str, where: str) -> Iterator[tuple[Any, str] | Skipped]:
    at, end = 0, len(line)
    while True:
        while at < end and line[at].isspace():
            at += 1
        if at >= end:
            return
        try:
            value, at = _DECODER.raw_decode(line, at)
        except json.JSONDecodeError as e:
            yield Skipped(f"not JSON ({e.msg} at column {e.colno})", where)
            return
        yield value, where


def convert(record: Any, where: str = "") -> StreamEvent | Skipped:
    """One Pinpoint event record as a Tern event, or why it is skipped."""
    if not isinstance(record, dict) or not isinstance(record.get("event_type"), str):
        return Skipped("not an event record (no event_type)", where)
    name: str = record["event_type"]
    if name.startswith(DROPPED):
        return Skipped(f"{name} is Pinpoint's own bookkeeping", where)
    attributes = {str(k): str(v) for k, v in (record.get("attributes") or {}).items()} if isinstance(record.get("attributes"), dict) else {}
    metrics = {str(k): _number(v) for k, v in (record.get("metrics") or {}).items()} if isinstance(record.get("metrics"), dict) else {}
    mail = ((record.get("facets") or {}).get("email_channel") or {}).get("mail_event") or {}
    email = name in EMAIL_EVENTS
    stamp = record.get("arrival_timestamp") if email else record.get("event_timestamp")
    ts = _time(stamp) or _time(record.get("event_timestamp"))
    if ts is None:
        return Skipped(f"{name} has no time (event_timestamp, arrival_timestamp)", where)
    endpoint = (record.get("client") or {}).get("client_id")
    common: dict[str, Any] = {"ts": ts, "endpoint_id": str(endpoint) if endpoint else None, "event_id": _digest(record)}
    if email:
        message = mail.get("mail") or {}
        click = mail.get("click") or {}
        bounce = mail.get("bounce") or {}
        destination = message.get("destination") or []
        return StreamEvent(
            event_type=EMAIL_EVENTS[name], channel="email", address=str(destination[0]).lower() if destination else None,
            message_id=message.get("message_id"), link=click.get("link"),
            bounce_type=("hard" if name == "_email.hardbounce" else "soft") if name.endswith("bounce") else None,
            reason=bounce.get("bounce_sub_type") or (mail.get("reject") or {}).get("reason"), **common,
        )  # fmt: skip
    if name in SMS_EVENTS:
        return StreamEvent(
            event_type=SMS_EVENTS[name], channel="sms", address=attributes.get("destination_phone_number"),
            message_id=attributes.get("message_id"), reason=attributes.get("record_status") if name == "_SMS.FAILURE" else None,
            **common,
        )  # fmt: skip
    if name.startswith(("_email.", "_SMS.")):
        return Skipped(f"{name} is not an event Tern keeps", where)
    tern_type = re.sub(r"[^a-z0-9_.:-]", "_", name.lower()).lstrip("_")
    if not tern_type or not tern_type[0].isalpha():
        return Skipped(f"event type {name!r} cannot be a Tern event type (a letter first)", where)
    return StreamEvent(event_type=tern_type[:100], channel=None, address=None, properties={**attributes, **metrics}, **common)


def _time(value: Any) -> dt.datetime | None:
    """Pinpoint's times: milliseconds since the epoch (or an ISO 8601 text), as naive UTC."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return dt.datetime.fromtimestamp(value / 1000, dt.UTC).replace(tzinfo=None)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    return None


def _number(value: Any) -> str:
    return format(value, "g") if isinstance(value, float) else str(value)


def _digest(record: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":"), default=str).encode()).hexdigest()[:32]
