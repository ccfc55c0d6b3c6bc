"""Writing rows Tern itself produces (journey steps, engagement) to the lake as Parquet files.

Rows land in the events dataset, partitioned like the customer's own:
events/org_id=<org>/dt=<day>/<source>-<uuid>.parquet, with every column of the contract. (In the cloud they
go through Firehose instead: tern.aws.firehose.)
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from typing import Any

import pyarrow as pa

from tern.parquet import EVENTS_SCHEMA, parquet_bytes
from tern.ports import LakeFiles


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
            table = pa.Table.from_pylist([{name: row.get(name) for name in EVENTS_SCHEMA.names} for row in day_rows], schema=EVENTS_SCHEMA)
            key = f"events/org_id={org_id}/dt={day.isoformat()}/{self.source}-{uuid.uuid4().hex}.parquet"
            self.files.put(key, parquet_bytes(table))
