"""Pinpoint's event-stream records as Tern's events (tern_local.pinpoint_stream, DuckDB's mapping): the records are
the Pinpoint developer guide's own examples ("Event stream data": email, SMS and app events), shaped as documented;
the files as Kinesis Data Firehose writes them (gzip or not, records one a line or run together)."""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import duckdb

from tern_local.pinpoint_stream import COLUMNS, Skipped, json_values, mapped, salvaged

CLICK: dict[str, Any] = {  # the guide's _email.click example
    "event_type": "_email.click", "event_timestamp": 1564618621380, "arrival_timestamp": 1564618713751, "event_version": "3.1",
    "application": {"app_id": "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6", "sdk": {}},
    "client": {"client_id": "49c1413e-a69c-46dc-b1c4-6470afa7b8f5"}, "device": {"platform": {}}, "session": {},
    "attributes": {"feedback": "https://aws.amazon.com/pinpoint/"}, "awsAccountId": "123456789012",
    "facets": {"email_channel": {"mail_event": {
        "mail": {"message_id": "0200000073rnbmd1-mbvdg3uo-q8ia-m3ku-ibd3-ms77kexample-000000", "message_send_timestamp": 1564618621380,
                 "from_address": "sender@example.com", "destination": ["Recipient@example.com"], "headers_truncated": False,
                 "common_headers": {"from": "sender@example.com", "to": ["recipient@example.com"], "subject": "Amazon Pinpoint Test"}},
        "click": {"ip_address": "72.21.198.67", "user_agent": "Mozilla/5.0", "link": "https://aws.amazon.com/pinpoint/"},
    }}},
}  # fmt: skip
SMS_SUCCESS: dict[str, Any] = {  # the guide's _SMS.SUCCESS example
    "event_type": "_SMS.SUCCESS", "event_timestamp": 1553104954322, "arrival_timestamp": 1553104954064, "event_version": "3.1",
    "application": {"app_id": "123", "sdk": {}}, "client": {"client_id": "123456789012"}, "device": {"platform": {}}, "session": {},
    "attributes": {"sender_request_id": "565d4425-4b3a-11e9-b0a5-example", "campaign_activity_id": "cbcfc3c5e3bd48a8ac2b9example",
                   "origination_phone_number": "+12065550142", "destination_phone_number": "+14255550199", "record_status": "DELIVERED",
                   "iso_country_code": "US", "treatment_id": "0", "number_of_message_parts": "1",
                   "message_id": "1111-2222-3333-4444-5555-example", "message_type": "Transactional", "campaign_id": "52dc44b35c4742c5"},
    "metrics": {"price_in_millicents_usd": 645.0}, "awsAccountId": "123456789012",
}  # fmt: skip
SESSION_STOP: dict[str, Any] = {  # the guide's app event example
    "event_type": "_session.stop", "event_timestamp": 1487973802507, "arrival_timestamp": 1487973803515, "event_version": "3.0",
    "application": {"app_id": "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6", "package_name": "main.page"},
    "client": {"client_id": "m3n4o5p6-a1b2-c3d4-e5f6-g7h8i9j0k1l2"}, "device": {"make": "generic", "platform": {"name": "android"}},
    "session": {"session_id": "f549dea9-1090-945d-c3d1-e4967example", "start_timestamp": 1487973202531},
    "attributes": {}, "metrics": {}, "awsAccountId": "123456789012",
}  # fmt: skip


def events(tmp_path: Path, *records: Any) -> list[dict[str, Any]]:
    """The records, one a line in a file, as DuckDB maps them (each with its place in the file)."""
    path = tmp_path / f"stream-{len(list(tmp_path.iterdir()))}.json"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    with duckdb.connect() as connection:
        return [dict(zip(COLUMNS, row, strict=True)) for row in connection.sql(mapped(path, numbered=True)).fetchall()]


def test_the_guides_click_is_a_click_on_its_link_at_the_time_it_arrived(tmp_path: Path) -> None:
    [event] = events(tmp_path, CLICK)
    assert (event["event_type"], event["channel"], event["link"], event["address"], event["dropped"]) == (
        "email_clicked", "email", "https://aws.amazon.com/pinpoint/", "recipient@example.com", None,
    )  # fmt: skip
    assert event["endpoint_id"] == "49c1413e-a69c-46dc-b1c4-6470afa7b8f5" and event["message_id"].startswith("0200000073rnbmd1")
    assert event["ts"] == dt.datetime(2019, 8, 1, 0, 18, 33, 751000)  # arrival_timestamp: event_timestamp is the send's


def test_bounces_sms_and_app_events_take_their_types_and_fields(tmp_path: Path) -> None:
    hard = copy.deepcopy(CLICK) | {"event_type": "_email.hardbounce"}
    del hard["facets"]["email_channel"]["mail_event"]["click"]
    hard["facets"]["email_channel"]["mail_event"]["bounce"] = {"bounce_type": "Permanent", "bounce_sub_type": "General"}
    failed = SMS_SUCCESS | {"event_type": "_SMS.FAILURE", "attributes": {**SMS_SUCCESS["attributes"], "record_status": "BLOCKED"}}
    app = SESSION_STOP | {"attributes": {"plan": "gold"}, "metrics": {"score": 7.0, "ratio": 0.25}}
    iso = SMS_SUCCESS | {"event_timestamp": "2026-01-02T03:04:05+01:00"}
    bounced, sms, sms_failed, session, at_iso, *dropped = events(
        tmp_path, hard, SMS_SUCCESS, failed, app, iso, CLICK | {"event_type": "_campaign.send"}, {"no": "type"}, [1, 2],
        CLICK | {"event_type": "_email.nothing_we_keep"}, SESSION_STOP | {"event_type": "9lives"}, SMS_SUCCESS | {"event_timestamp": None},
    )  # fmt: skip
    assert (bounced["event_type"], bounced["bounce_type"], bounced["reason"], bounced["link"]) == ("email_bounced", "hard", "General", None)
    assert (sms["event_type"], sms["channel"], sms["address"], sms["reason"]) == ("sms_delivered", "sms", "+14255550199", None)
    assert sms["ts"] == dt.datetime(2019, 3, 20, 18, 2, 34, 322000)  # not e-mail: event_timestamp
    assert (sms_failed["event_type"], sms_failed["reason"]) == ("sms_failed", "BLOCKED")
    assert (session["event_type"], session["properties"], session["channel"]) == (
        "session.stop",
        {"plan": "gold", "score": "7", "ratio": "0.25"},
        None,
    )
    assert at_iso["ts"] == dt.datetime(2026, 1, 2, 2, 4, 5)  # an ISO 8601 time, as UTC
    assert [(d["record"], d["dropped"]) for d in dropped] == [
        (6, "_campaign.send is Pinpoint's own bookkeeping"),
        (7, "not an event record (no event_type)"),
        (8, "not an event record (no event_type)"),
        (9, "_email.nothing_we_keep is not an event Tern keeps"),
        (10, 'event type "9lives" cannot be a Tern event type (a letter first)'),
        (11, "_SMS.SUCCESS has no time (event_timestamp, arrival_timestamp)"),
    ]


def test_a_stream_file_is_read_record_by_record_and_a_bad_one_is_reported_where_it_is(tmp_path: Path) -> None:
    lines = [json.dumps(CLICK) + json.dumps(SMS_SUCCESS), "{not json", json.dumps(SESSION_STOP), ""]  # two run together, one bad
    path = tmp_path / "tern-stream-1-2026-10-01-00-00-00-abc.gz"
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write("\n".join(lines))
    with duckdb.connect() as connection:
        try:
            connection.sql(mapped(path)).fetchall()
            raise AssertionError("DuckDB read a file that is not all JSON")
        except duckdb.Error:
            pass  # as the conversion finds it: the file is read again here
        skipped: list[Skipped] = []
        clean = salvaged(path, tmp_path / "clean.json", skipped)
        got = [dict(zip(COLUMNS, row, strict=True)) for row in connection.sql(mapped(clean)).fetchall()]
    assert [g["event_type"] for g in got] == ["email_clicked", "sms_delivered", "session.stop"]
    assert [(s.reason, s.where) for s in skipped] == [
        ("not JSON", f"{path.name}:2 (Expecting property name enclosed in double quotes at column 2)")
    ]
    assert [type(v).__name__ for v in json_values(path)] == ["tuple", "tuple", "Skipped", "tuple"]
    again = events(tmp_path, CLICK, SMS_SUCCESS)  # a repeat (Firehose delivers at least once) has the same event_id
    assert {e["event_id"] for e in again} == {g["event_id"] for g in got[:2]}
    damaged = tmp_path / "damaged"  # gzip (its first bytes say so, not its name), one byte flipped inside
    data = bytearray(gzip.compress(("\n".join(json.dumps(SESSION_STOP | {"n": n}) for n in range(200)) + "\n").encode()))
    data[len(data) // 2] ^= 0xFF
    damaged.write_bytes(bytes(data))
    found = list(json_values(damaged))
    assert isinstance(found[-1], Skipped) and found[-1].reason.startswith("the file cannot be read to its end")
