"""Kinesis Data Firehose: the events Tern writes, as JSON records the delivery stream converts to Parquet."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern.errors import StoreError
from tern.parquet import EVENTS_SCHEMA


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
