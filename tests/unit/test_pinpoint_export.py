"""A Pinpoint export job's endpoint files as Tern's contacts (tern_local.pinpoint_export): endpoints shaped by
botocore's EndpointResponse (each one checked against it), the first the developer guide's own get-endpoint
example; written gzip, one a line, as an export job writes them; merged per user across Parquet chunks sorted by
DuckDB."""

from __future__ import annotations

import copy
import datetime as dt
import gzip
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_pinpoint_stream import CLICK, SMS_SUCCESS

import pinpoint_docs as pd
from tern.engines.duckdb import DuckDBEngine
from tern.segments.definition import SegmentDefinition
from tern.segments.evaluate import members
from tern_local import pinpoint_export
from tern_local.pinpoint_export import convert, convert_endpoints

GUIDE: dict[str, Any] = {  # "Looking up endpoints" in the Pinpoint developer guide
    "Address": "1a2b3c4d5e6f7g8h9i0j1a2b3c4d5e6f", "ApplicationId": "application-id",
    "Attributes": {"interests": ["technology", "music", "travel"]}, "ChannelType": "APNS", "CohortId": "63",
    "CreationDate": "2018-05-01T17:31:01.046Z",
    "Demographic": {"AppVersion": "1.0", "Make": "apple", "Model": "iPhone", "ModelVersion": "8", "Platform": "ios",
                    "PlatformVersion": "11.3.1", "Timezone": "America/Los_Angeles"},
    "EffectiveDate": "2018-05-07T19:03:29.963Z", "EndpointStatus": "ACTIVE", "Id": "example_endpoint",
    "Location": {"City": "Seattle", "Country": "US", "Latitude": 47.6, "Longitude": -122.3, "PostalCode": "98121"},
    "Metrics": {"music_interest_level": 6.0, "travel_interest_level": 4.0, "technology_interest_level": 9.0}, "OptOut": "ALL",
    "RequestId": "7f546cac-6858-11e8-adcd-2b5a07aab338",
    "User": {"UserAttributes": {"gender": ["female"], "name": ["Wang", "Xiulan"], "age": ["39"]}, "UserId": "example_user"},
}  # fmt: skip


def endpoint(endpoint_id: str, channel: str, address: str, user: str | None, **more: Any) -> dict[str, Any]:
    found = {"Id": endpoint_id, "ChannelType": channel, "Address": address, "EndpointStatus": "ACTIVE", "OptOut": "NONE",
             "CreationDate": "2020-01-01T00:00:00Z", "EffectiveDate": "2021-01-01T00:00:00Z", "User": {"UserId": user} if user else {}}  # fmt: skip
    return pd.checked("EndpointResponse", found | more)


def test_a_users_endpoints_become_one_contact_and_opt_outs_withdrawn_consents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pinpoint_export, "CHUNK", 2)  # several chunks: the merge works across them
    monkeypatch.setattr(pinpoint_export, "PARALLEL_ENDPOINTS", 1)  # merged in two parts, by two processes
    endpoints = [
        pd.checked("EndpointResponse", GUIDE),
        endpoint("e-mail", "EMAIL", "Xiulan@Example.com", "example_user", Attributes={"LeadScore": ["42"], "interests": ["art"]}),
        endpoint("old-mail", "EMAIL", "old@example.com", "example_user", EndpointStatus="INACTIVE", EffectiveDate="2019-01-01T00:00:00Z"),
        endpoint("sms", "SMS", "+12065550100", "example_user", OptOut="ALL", CreationDate="2017-01-01T00:00:00Z"),
        endpoint("lone", "EMAIL", "lone@example.com", None, Metrics={"points": 12.0}),
        # an earlier export job's copy of the SMS endpoint, saved under the same prefix: active then, opted out since
        endpoint("sms", "SMS", "+12065550100", "example_user", EffectiveDate="2019-06-01T00:00:00Z"),
    ]
    export = tmp_path / "export" / "a1b2c3.gz"
    export.parent.mkdir()
    with gzip.open(export, "wt", encoding="utf-8") as f:
        f.write("\n".join(json.dumps(e) for e in endpoints[:3]) + "\n{not json\n" + "\n".join(json.dumps(e) for e in endpoints[3:]) + "\n")
    out = tmp_path / "contacts.parquet"
    report = convert_endpoints([export], out)
    assert (report.endpoints, report.contacts, report.merged) == (6, 2, 3)
    assert report.examples == {"not JSON": "a1b2c3.gz:4 (Expecting property name enclosed in double quotes at column 2)",
                               "an older copy of an endpoint exported again (the same Id)": "endpoint sms"}  # fmt: skip
    assert not list(tmp_path.glob("*.partial"))
    rows = {r["contact_id"]: r for r in pq.read_table(out).to_pylist()}
    user, lone = rows["example_user"], rows["address:lone@example.com"]
    # the active e-mail endpoint, the SMS one opted out: its number is kept, its consent is not
    assert (user["email"], user["phone"], user["consents"]) == ("xiulan@example.com", "+12065550100", ["email_marketing"])
    attributes = dict(user["attributes"])
    assert user["gender"] == "female" and user["lead_score"] == 42 and attributes["name"] == "Wang" and attributes["age"] == "39"
    assert attributes["interests"] == "art"  # the best endpoint's (active, latest): the e-mail one
    assert (user["city"], user["country"], user["latitude"], user["timezone"]) == ("Seattle", "US", 47.6, "America/Los_Angeles")
    assert (attributes["Make"], attributes["music_interest_level"]) == ("apple", "6")  # the only endpoint that says
    assert user["created_at"] == dt.datetime(2017, 1, 1) and user["updated_at"] == dt.datetime(2021, 1, 1)
    assert (lone["email"], lone["consents"], dict(lone["attributes"])) == ("lone@example.com", ["email_marketing"], {"points": "12"})


def test_an_export_and_its_event_stream_become_the_orgs_contacts_and_events_by_day(tmp_path: Path) -> None:
    export = tmp_path / "endpoints.json"
    export.write_text("\n".join(json.dumps(e) for e in [
        endpoint("e-mail", "EMAIL", "anna@example.com", "anna"), endpoint("sms", "SMS", "+48600100200", "bartek"),
    ]) + "\n")  # fmt: skip
    click = copy.deepcopy(CLICK) | {"client": {"client_id": "e-mail"}}
    by_address = SMS_SUCCESS | {"attributes": {**SMS_SUCCESS["attributes"], "destination_phone_number": "+48600100200"}}
    stranger = SMS_SUCCESS | {"client": {"client_id": "nobody"}}
    opted_out = by_address | {"event_type": "_SMS.OPTOUT"}  # bartek texted STOP: the export still says NONE
    stream = tmp_path / "tern-stream-1-2019-08-01-00-00-00-x.gz"
    with gzip.open(stream, "wt", encoding="utf-8") as f:
        f.write(
            "\n".join(json.dumps(r) for r in [click, click, by_address, stranger, opted_out, CLICK | {"event_type": "_campaign.send"}])
            + "\n"
        )  # the click delivered twice
    lake = tmp_path / "lake"
    report = convert([export], [stream], lake, "acme")
    assert (report.contacts, dict(report.events), report.days) == (2, {"email_clicked": 1, "sms_delivered": 1, "sms_opted_out": 1}, 2)
    consents = {r["contact_id"]: r["consents"] for r in pq.read_table(lake / "contacts" / "org_id=acme" / "pinpoint.parquet").to_pylist()}
    assert consents == {"anna": ["email_marketing"], "bartek": []} and report.withdrawn == 1
    assert report.examples["_campaign.send is Pinpoint's own bookkeeping"] == f"{stream.name} (record 6)"
    assert report.dropped["an event of no endpoint or address the export has"] == 1
    events = pq.read_table(lake / "events" / "org_id=acme", partitioning="hive").to_pylist()
    got = sorted((e["contact_id"], e["event_type"], e["link"], str(e["dt"])) for e in events)
    assert got == [
        ("anna", "email_clicked", "https://aws.amazon.com/pinpoint/", "2019-08-01"),
        ("bartek", "sms_delivered", None, "2019-03-20"),
        ("bartek", "sms_opted_out", None, "2019-03-20"),
    ]
    assert {r["contact_id"] for r in pq.read_table(lake / "contacts" / "org_id=acme" / "pinpoint.parquet").to_pylist()} == {
        "anna",
        "bartek",
    }


def test_the_command_converts_a_folder_of_saved_files_and_says_what_it_did(tmp_path: Path) -> None:
    saved = tmp_path / "saved"
    (saved / "export").mkdir(parents=True)
    (saved / "stream" / "2019" / "08" / "01").mkdir(parents=True)
    (saved / "export" / "part-1").write_bytes(  # gzip, though its name does not say so
        gzip.compress((json.dumps(endpoint("e-mail", "EMAIL", "anna@example.com", "anna")) + "\n").encode())
    )
    (saved / "stream" / "2019" / "08" / "01" / "s-1").write_text(json.dumps(CLICK | {"client": {"client_id": "e-mail"}}) + "\n{broken\n")
    (saved / "notes.txt").write_text("exported 2026-10-20 by ops\n")  # not Pinpoint's: said, not read
    done = subprocess.run([sys.executable, "-m", "tern_local.cli", "import", "pinpoint-data", str(saved), "--org", "acme",
                           "--out", str(tmp_path / "lake"), "--json"], capture_output=True, text=True, check=True)  # fmt: skip
    report = json.loads(done.stdout)
    assert (report["endpoints_read"], report["contacts_made"], report["events"]) == (1, 1, {"email_clicked": 1})
    assert report["dropped"] == [
        {"reason": "a file with no JSON record that can be read", "count": 1, "example": "notes.txt"},
        {"reason": "not JSON", "count": 1, "example": "s-1:2 (Expecting property name enclosed in double quotes at column 2)"},
    ]
    missing = subprocess.run([sys.executable, "-m", "tern_local.cli", "import", "pinpoint-data", str(tmp_path / "nothing"), "--org", "acme",
                              "--out", str(tmp_path / "lake")], capture_output=True, text=True)  # fmt: skip
    assert missing.returncode != 0 and missing.stderr.count("\n") == 1 and "no such file or folder" in missing.stderr


def test_clicked_the_launch_link_in_the_last_30_days_finds_the_clickers_of_the_stream(tmp_path: Path) -> None:
    launch, now = "https://example.com/launch", dt.datetime(2026, 11, 22, 12, 0)
    people = ["ada", "ben", "cyd", "dot", "eve"]
    export = tmp_path / "export.json"
    export.write_text("".join(json.dumps(endpoint(f"{p}-mail", "EMAIL", f"{p}@example.com", p)) + "\n" for p in people))

    def click(endpoint_id: str | None, to: str, link: str, days_ago: float) -> dict[str, Any]:
        record = copy.deepcopy(CLICK)
        record["client"] = {"client_id": endpoint_id} if endpoint_id else {"client_id": "123456789012"}
        record["facets"]["email_channel"]["mail_event"]["mail"]["destination"] = [to]
        record["facets"]["email_channel"]["mail_event"]["click"]["link"] = link
        at = int((now - dt.timedelta(days=days_ago)).replace(tzinfo=dt.UTC).timestamp() * 1000)
        record["event_timestamp"], record["arrival_timestamp"] = at - 40 * 86_400_000, at  # sent long before: the click's time counts
        return record

    stream = tmp_path / "stream.gz"
    records = [click("ada-mail", "ada@example.com", launch, 3), click("ben-mail", "ben@example.com", launch, 45),
               click("cyd-mail", "cyd@example.com", "https://example.com/other", 2), click(None, "Dot@Example.com", launch, 10)]  # fmt: skip
    stream.write_bytes(gzip.compress(("\n".join(json.dumps(r) for r in records) + "\n").encode()))
    lake = tmp_path / "lake"
    convert([export], [stream], lake, "acme")
    definition = SegmentDefinition.model_validate({"name": "Launch clickers", "where": {"all": [
        {"kind": "activity", "event_type": "email_clicked", "filters": {"link": launch}, "window": {"last_days": 30}},
    ]}})  # fmt: skip
    assert sorted(members(definition, DuckDBEngine(lake), "acme", now)) == ["ada", "dot"]  # dot found by the address alone


def test_out_s3_writes_the_converted_lake_into_a_deployed_stacks_lake_bucket(tmp_path: Path) -> None:
    """`--out s3://BUCKET/PREFIX` against moto's S3 on 127.0.0.1 (boto3 reaches it through AWS_ENDPOINT_URL): the keys
    are the ones the stack's Glue tables read (contacts/org_id=ORG/, events/org_id=ORG/dt=DAY/); a bucket that is not
    there is said in one line before anything is converted."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        env = {**os.environ, "AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local",
               "AWS_DEFAULT_REGION": "eu-central-1"}  # fmt: skip
        s3 = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="eu-central-1", aws_access_key_id="local",
                          aws_secret_access_key="local")  # fmt: skip
        s3.create_bucket(Bucket="tern-prod-lake", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        export = tmp_path / "export.json"
        export.write_text(json.dumps(endpoint("e-mail", "EMAIL", "anna@example.com", "anna")) + "\n")
        stream = tmp_path / "stream.json"
        stream.write_text(json.dumps(CLICK | {"client": {"client_id": "e-mail"}}) + "\n")

        def run(out: str) -> subprocess.CompletedProcess[str]:
            command = [sys.executable, "-m", "tern_local.cli", "import", "pinpoint-data", str(export), str(stream), "--org", "acme",
                       "--out", out, "--json"]  # fmt: skip
            return subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)  # noqa: S603

        done = run("s3://tern-prod-lake/")
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["uploaded"] == {"files": 2, "to": "s3://tern-prod-lake/"}
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket="tern-prod-lake")["Contents"])
        assert keys == ["contacts/org_id=acme/pinpoint.parquet", "events/org_id=acme/dt=2019-08-01/pinpoint.parquet"]
        body = s3.get_object(Bucket="tern-prod-lake", Key=keys[0])["Body"].read()
        assert pq.read_table(pa.BufferReader(body)).column("email").to_pylist() == ["anna@example.com"]
        missing = run("s3://no-such-lake/tern")
        assert missing.returncode != 0 and missing.stderr.strip().endswith("s3://no-such-lake: no such bucket"), missing.stderr
        assert missing.stderr.count("\n") == 1
    finally:
        server.stop()
