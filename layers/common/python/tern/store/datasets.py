"""The lake's datasets as Arrow schemas, and writing rows Tern itself produces (journey steps, engagement).

Rows land as Parquet files in the events dataset, partitioned like the customer's own:
events/org_id=<org>/dt=<day>/<source>-<uuid>.parquet, with every column of the contract.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import defaultdict
from typing import Any

import pyarrow as pa

from tern import lake
from tern.store.manifests import LakeFiles, parquet_bytes

ARROW_TYPES: dict[lake.ColumnType, pa.DataType] = {
    lake.ColumnType.STRING: pa.string(),
    lake.ColumnType.INT: pa.int64(),
    lake.ColumnType.DOUBLE: pa.float64(),
    lake.ColumnType.BOOL: pa.bool_(),
    lake.ColumnType.DATE: pa.date32(),
    lake.ColumnType.TIMESTAMP: pa.timestamp("us"),
    lake.ColumnType.STRING_LIST: pa.list_(pa.string()),
    lake.ColumnType.STRING_MAP: pa.map_(pa.string(), pa.string()),
}
CONTACTS_SCHEMA = pa.schema([(name, ARROW_TYPES[t]) for name, t in lake.CONTACTS.items()])
EVENTS_SCHEMA = pa.schema([(name, ARROW_TYPES[t]) for name, t in lake.EVENTS.items()])


class LakeEvents:
    """Appends event rows to the lake: one file per org and day per call (callers batch what they can)."""

    def __init__(self, files: LakeFiles, source: str):
        self.files = files
        self.source = source

    def write(self, org_id: str, rows: list[dict[str, Any]]) -> None:
        by_day: dict[dt.date, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            ts: dt.datetime = row["ts"]
            ts = ts.astimezone(dt.UTC).replace(tzinfo=None) if ts.tzinfo else ts  # the lake holds naive UTC
            by_day[ts.date()].append({**row, "ts": ts})
        for day, day_rows in sorted(by_day.items()):
            table = pa.Table.from_pylist(
                [{name: row.get(name) for name in EVENTS_SCHEMA.names} for row in day_rows], schema=EVENTS_SCHEMA
            )
            key = f"events/org_id={org_id}/dt={day.isoformat()}/{self.source}-{uuid.uuid4().hex}.parquet"
            self.files.put(key, parquet_bytes(table))


class FirehoseEvents:
    """Appends event rows through Kinesis Data Firehose (the cloud): JSON records that the delivery stream
    converts to Parquet against the Glue events table and partitions by org_id and dt (template.yaml)."""

    BATCH = 500  # PutRecordBatch takes at most 500 records (and 4 MiB)

    def __init__(self, firehose_client: Any, stream: str):
        self._firehose = firehose_client
        self.stream = stream

    @staticmethod
    def record(org_id: str, row: dict[str, Any]) -> bytes:
        ts: dt.datetime = row["ts"]
        ts = ts.astimezone(dt.UTC).replace(tzinfo=None) if ts.tzinfo else ts
        body: dict[str, Any] = {"org_id": org_id, "dt": ts.date().isoformat()}
        for name in EVENTS_SCHEMA.names:
            value = ts if name == "ts" else row.get(name)
            if isinstance(value, dt.datetime):
                value = value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]  # the Hive timestamp form the OpenX JSON SerDe reads
            elif name == "properties" and value is not None:
                value = dict(value)
            if value is not None:
                body[name] = value
        return (json.dumps(body, separators=(",", ":")) + "\n").encode()

    def write(self, org_id: str, rows: list[dict[str, Any]]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        from tern.errors import StoreError

        records = [{"Data": self.record(org_id, row)} for row in rows]
        for i in range(0, len(records), self.BATCH):
            pending = records[i : i + self.BATCH]
            for _ in range(5):
                try:
                    answer = self._firehose.put_record_batch(DeliveryStreamName=self.stream, Records=pending)
                except (ClientError, BotoCoreError) as e:
                    raise StoreError(f"writing events to {self.stream}: {e}") from None
                if not answer.get("FailedPutCount"):
                    break
                pending = [r for r, result in zip(pending, answer["RequestResponses"], strict=True) if result.get("ErrorCode")]
            else:
                raise StoreError(f"writing events to {self.stream}: {len(pending)} records still refused after 5 tries")
