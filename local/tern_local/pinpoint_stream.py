"""Pinpoint's event stream, as Kinesis Data Firehose wrote it to S3, as Tern's events (issue 31). Local code: it runs
where `tern import` runs, with DuckDB, never in a Lambda function.

A stream file holds Pinpoint's event records as JSON, gzip-compressed or not, one a line or several run together
(Firehose concatenates what it is given). DuckDB reads each file (`read_json_objects`, which takes both) and maps
its records in SQL, one file at a time, so memory holds what DuckDB's own limit allows however large the stream.
A file DuckDB refuses (a record that is not JSON, a gzip cut short) is read again here, value by value
(`json_values`): each bad one reported with its file and line and skipped, the rest of its line with it, the good
ones written to a clean copy that DuckDB then maps as it maps any other. One mapping, wherever a record comes from.

What a record becomes (Pinpoint developer guide, "Event stream data": email, SMS and app events):
- `_email.send`, `.delivered`, `.open`, `.click`, `.hardbounce`, `.softbounce`, `.complaint`, `.rejected`,
  `.unsubscribe` are Tern's email_sent, email_delivered, email_opened, email_clicked (with the click's `link`),
  email_bounced (`bounce_type` hard or soft, `reason` its sub-type), email_complained, email_rejected (`reason`),
  email_unsubscribed. An e-mail record's `event_timestamp` is when the message was sent, the same for every event
  of it; when the open, click or bounce happened is its `arrival_timestamp`, which is what `ts` takes for them.
- `_SMS.BUFFERED`, `.SUCCESS`, `.FAILURE`, `.OPTOUT` are sms_sent, sms_delivered, sms_failed (`reason` =
  record_status), sms_opted_out; their address is `attributes.destination_phone_number`.
- An app's own event keeps its name as a Tern event type (lowercase; other characters as `_`; leading `_` dropped:
  `_session.start` is `session.start`), its attributes and metrics as `properties` (a whole metric without `.0`).
- `_email.rendering_failure`, `_campaign.*` and `_journey.*` (Pinpoint's bookkeeping) are dropped and counted.
Each record keeps what finds its contact: the endpoint (`client.client_id`) and the address it went to. Its
`event_id` is a digest of the record: Firehose delivers at least once, and a repeat is the same event, kept once.
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tern.engines.duckdb import quote

EMAIL_EVENTS = {
    "_email.send": "email_sent", "_email.delivered": "email_delivered", "_email.open": "email_opened",
    "_email.click": "email_clicked", "_email.hardbounce": "email_bounced", "_email.softbounce": "email_bounced",
    "_email.complaint": "email_complained", "_email.rejected": "email_rejected", "_email.unsubscribe": "email_unsubscribed",
}  # fmt: skip
SMS_EVENTS = {"_SMS.BUFFERED": "sms_sent", "_SMS.SUCCESS": "sms_delivered", "_SMS.FAILURE": "sms_failed", "_SMS.OPTOUT": "sms_opted_out"}
# the columns `mapped` gives each record (`record`: its place in its file, counting from 1; `dropped`: why it is not kept)
COLUMNS = ("event_id", "endpoint_id", "address", "event_type", "ts", "channel", "message_id", "link", "bounce_type", "reason",
           "properties", "record", "dropped")  # fmt: skip
_DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class Skipped:
    """A record not converted: why, and where (file:line)."""

    reason: str
    where: str


def gzipped(path: Path) -> bool:
    """Whether the file is gzip, by its first bytes (an export's or a stream's object need not end in .gz)."""
    with path.open("rb") as f:
        return f.read(2) == b"\x1f\x8b"


def json_values(path: Path) -> Iterator[tuple[Any, str] | Skipped]:
    """The file's JSON values with where each is (file:line), one a line or several run together, gzip or not; what
    cannot be read, Skipped (the rest of its line with it)."""
    opener = gzip.open if gzipped(path) else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="strict") as lines:  # type: ignore[operator]
            for number, line in enumerate(lines, start=1):
                yield from _line(line, f"{path.name}:{number}")
    except (OSError, UnicodeDecodeError, EOFError, zlib.error) as e:
        yield Skipped("the file cannot be read to its end (a damaged gzip, or not UTF-8)", f"{path.name}: {e}")


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
            yield Skipped("not JSON", f"{where} ({e.msg} at column {e.colno})")
            return
        yield value, where


def salvaged(path: Path, clean: Path, skipped: list[Skipped]) -> Path:
    """A clean copy (at `clean`) of a file DuckDB refused: the values that could be read, one a line, each bad one
    added to `skipped` with its file and line."""
    with clean.open("w", encoding="utf-8") as out:
        for found in json_values(path):
            if isinstance(found, Skipped):
                skipped.append(found)
            else:
                out.write(json.dumps(found[0], separators=(",", ":"), ensure_ascii=False) + "\n")
    return clean


FIELDS = ("$.event_type", "$.event_timestamp", "$.arrival_timestamp", "$.client.client_id", "$.attributes", "$.metrics",
          "$.attributes.destination_phone_number", "$.attributes.message_id", "$.attributes.record_status",
          "$.facets.email_channel.mail_event.mail.destination[0]", "$.facets.email_channel.mail_event.mail.message_id",
          "$.facets.email_channel.mail_event.click.link", "$.facets.email_channel.mail_event.bounce.bounce_sub_type",
          "$.facets.email_channel.mail_event.reject.reason")  # fmt: skip


def mapped(path: Path, numbered: bool = False) -> str:
    """A query of the file's records as Tern's events (COLUMNS): DuckDB SQL, the mapping described above. Each record
    is parsed once (every field it needs taken in one `json_extract_string`). `record` (the record's place in the
    file: its line, one a line) only when `numbered`: counting costs as much again, so it is asked for only to find
    an example of what was dropped."""
    f = {field: f"f[{i}]" for i, field in enumerate(FIELDS, start=1)}
    mail = "$.facets.email_channel.mail_event."
    name, is_email, is_sms = f["$.event_type"], f"starts_with({f['$.event_type']}, '_email.')", f"starts_with({f['$.event_type']}, '_SMS.')"
    email = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in EMAIL_EVENTS.items())
    sms = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in SMS_EVENTS.items())
    app = f"left(ltrim(regexp_replace(lower({name}), '[^a-z0-9_.:-]', '_', 'g'), '_'), 100)"
    paths = ", ".join(f"'{field}'" for field in FIELDS)
    whole = "CASE WHEN m.value = trunc(m.value) AND abs(m.value) < 1e15 THEN CAST(CAST(m.value AS BIGINT) AS VARCHAR) ELSE CAST(m.value AS VARCHAR) END"
    no_map = "MAP {}::MAP(VARCHAR, VARCHAR)"
    return f"""
    WITH raw AS (SELECT json AS j, {"row_number() OVER ()" if numbered else "NULL::BIGINT"} AS record
                 FROM read_json_objects({quote(path)}, format='auto', compression='{"gzip" if gzipped(path) else "none"}')),
    fields AS (SELECT j, record, json_extract_string(j, [{paths}]) AS f FROM raw),
    typed AS (
      SELECT *, CASE {name} {email} {sms} ELSE CASE WHEN NOT {is_email} AND NOT {is_sms} THEN {app} END END AS event_type,
             coalesce(CASE WHEN {is_email} THEN {_time(f["$.arrival_timestamp"])} END, {_time(f["$.event_timestamp"])}) AS ts
      FROM fields)
    SELECT
      md5(json(j)) AS event_id,  -- minified: the same record however it was spaced
      {f["$.client.client_id"]} AS endpoint_id,
      CASE WHEN {is_email} THEN lower({f[mail + "mail.destination[0]"]}) WHEN {is_sms} THEN {f["$.attributes.destination_phone_number"]} END
        AS address,
      event_type, ts,
      CASE WHEN {is_email} THEN 'email' WHEN {is_sms} THEN 'sms' END AS channel,
      CASE WHEN {is_email} THEN {f[mail + "mail.message_id"]} WHEN {is_sms} THEN {f["$.attributes.message_id"]} END AS message_id,
      CASE WHEN {is_email} THEN {f[mail + "click.link"]} END AS link,
      CASE {name} WHEN '_email.hardbounce' THEN 'hard' WHEN '_email.softbounce' THEN 'soft' END AS bounce_type,
      CASE WHEN {is_email} THEN coalesce({f[mail + "bounce.bounce_sub_type"]}, {f[mail + "reject.reason"]})
           WHEN {name} = '_SMS.FAILURE' THEN {f["$.attributes.record_status"]} END AS reason,
      CASE WHEN NOT {is_email} AND NOT {is_sms} THEN map_concat(
        coalesce(json_transform({f["$.attributes"]}, '"MAP(VARCHAR, VARCHAR)"'), {no_map}),
        coalesce(map_from_entries(list_transform(map_entries(json_transform({f["$.metrics"]}, '"MAP(VARCHAR, DOUBLE)"')),
                                                 lambda m: {{'key': m.key, 'value': {whole}}})), {no_map}))
      END AS properties,
      record,
      CASE
        WHEN {name} IS NULL THEN 'not an event record (no event_type)'
        WHEN {name} = '_email.rendering_failure' OR starts_with({name}, '_campaign.') OR starts_with({name}, '_journey.')
          THEN {name} || ' is Pinpoint''s own bookkeeping'
        WHEN event_type IS NULL AND ({is_email} OR {is_sms}) THEN {name} || ' is not an event Tern keeps'
        WHEN NOT regexp_matches(event_type, '^[a-z]') THEN 'event type "' || {name} || '" cannot be a Tern event type (a letter first)'
        WHEN ts IS NULL THEN {name} || ' has no time (event_timestamp, arrival_timestamp)'
      END AS dropped
    FROM typed"""  # noqa: S608 - our own paths and names


def _time(text: str) -> str:
    """SQL for one of Pinpoint's times (milliseconds since the epoch, or an ISO 8601 text) as a naive UTC timestamp,
    whatever the machine's time zone: a text with an offset through its instant, one without taken as UTC."""
    ms = f"TRY_CAST({text} AS DOUBLE)"
    return (
        f"CASE WHEN {ms} BETWEEN 0 AND 253402300799999 THEN make_timestamp(CAST({ms} * 1000 AS BIGINT)) "
        f"WHEN regexp_matches({text}, '([zZ]|[+-][0-9][0-9]:?[0-9][0-9])$') "
        f"THEN make_timestamp(epoch_us(TRY_CAST({text} AS TIMESTAMPTZ))) ELSE TRY_CAST({text} AS TIMESTAMP) END"
    )
