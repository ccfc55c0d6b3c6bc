"""Where the events Tern writes go: Parquet files in the lake (local), JSON records to Firehose (cloud)."""

from __future__ import annotations

import datetime as dt
import json

import boto3
import pyarrow.parquet as pq
from moto import mock_aws

from tern.aws.firehose import FirehoseEvents
from tern.parquet import EVENTS_SCHEMA
from tern.store.events import LakeEvents
from tern_local.lake_files import DirLakeFiles

ROW = {
    "event_id": "js-1", "contact_id": "c1", "event_type": "journey_step", "ts": dt.datetime(2026, 11, 22, 23, 59, 59, 500000, tzinfo=dt.UTC),
    "journey_id": "j1", "step_id": "announce", "outcome": "sent", "message_id": "m1", "properties": [("journey_version", "1")],
}  # fmt: skip


def test_lake_events_are_partitioned_parquet_with_every_contract_column(tmp_path: object) -> None:
    from pathlib import Path

    root = Path(str(tmp_path))
    LakeEvents(DirLakeFiles(root), "journeys").write("acme", [ROW, {**ROW, "event_id": "js-2", "ts": dt.datetime(2026, 11, 23, 0, 0, 1)}])
    files = sorted(p.relative_to(root).parts[:3] for p in root.rglob("*.parquet"))
    assert files == [("events", "org_id=acme", "dt=2026-11-22"), ("events", "org_id=acme", "dt=2026-11-23")]
    table = pq.read_table(next(root.rglob("dt=2026-11-22/*.parquet")))
    assert table.schema.equals(EVENTS_SCHEMA) and table.column("ts")[0].as_py() == dt.datetime(2026, 11, 22, 23, 59, 59, 500000)
    assert table.column("properties")[0].as_py() == [("journey_version", "1")] and table.column("link")[0].as_py() is None


@mock_aws
def test_firehose_records_carry_the_partition_keys_and_hive_timestamps() -> None:
    s3 = boto3.client("s3", region_name="eu-central-1")
    s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    firehose = boto3.client("firehose", region_name="eu-central-1")
    firehose.create_delivery_stream(
        DeliveryStreamName="events", DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={"BucketARN": "arn:aws:s3:::lake", "RoleARN": "arn:aws:iam::123456789012:role/f", "Prefix": "events/"},
    )  # fmt: skip
    FirehoseEvents(firehose, "events").write("acme", [ROW] * 3)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="lake")["Contents"]]
    lines = [
        json.loads(line) for key in keys for line in s3.get_object(Bucket="lake", Key=key)["Body"].read().decode().splitlines() if line
    ]
    assert len(lines) == 3
    assert lines[0] == {
        "org_id": "acme", "dt": "2026-11-22", "event_id": "js-1", "contact_id": "c1", "event_type": "journey_step",
        "ts": "2026-11-22 23:59:59.500", "journey_id": "j1", "step_id": "announce", "outcome": "sent", "message_id": "m1",
        "properties": {"journey_version": "1"},
    }  # fmt: skip
