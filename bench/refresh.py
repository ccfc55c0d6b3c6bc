"""Refresh cost benchmark (`make bench`): what a refresh writes to DynamoDB when 1% of members change.

A segment of BENCH_MEMBERS members (default 1,000,000) is evaluated once (everyone joins), then the lake
changes so that 0.5% of the members leave and as many new contacts join (1% churn), and it is refreshed;
then refreshed again with nothing changed. Each refresh runs the real code path (DuckDB over Parquet,
the manifest in S3, the diff, the commit) against moto's DynamoDB and S3 in process. DynamoDB requests
are counted on the wire by a botocore event hook, by operation, with the items each BatchWriteItem
carried: figures, not pass/fail.

    make bench                           # 1M members
    BENCH_MEMBERS=100000 python bench/refresh.py
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
from moto import mock_aws

from tern.aws.dynamodb import Table
from tern.aws.s3 import S3LakeFiles
from tern.engines.duckdb import DuckDBEngine
from tern.segments.manifests import Manifests
from tern.segments.membership import refresh
from tern.segments.repository import SegmentRepository
from tern.segments.segment import Segment
from tern_local.generator import CONTACTS_SCHEMA
from tern_local.template import create_table

MEMBERS = int(os.environ.get("BENCH_MEMBERS", "1000000"))
CHURN = max(1, MEMBERS // 200)  # leave, and as many join: 1% of the membership changes
NOW = dt.datetime(2026, 11, 22, 12)
ORG = "bench"
REGION = "eu-central-1"


def write_contacts(lake: Path, first_in: int) -> None:
    """Contacts c{first_in}..c{first_in + MEMBERS - 1} have lead score 1 (the members); the rest 0."""
    total = MEMBERS + CHURN
    ids = pa.array([f"c{i:08d}" for i in range(total)])
    scores = pa.array([1 if first_in <= i < first_in + MEMBERS else 0 for i in range(total)], pa.int64())
    given = {"contact_id": ids, "lead_score": scores}
    arrays = [given[f.name].cast(f.type) if f.name in given else pa.nulls(total, f.type) for f in CONTACTS_SCHEMA]
    folder = lake / "contacts" / f"org_id={ORG}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_arrays(arrays, schema=CONTACTS_SCHEMA), folder / "part-0.parquet")


class Wire:
    """DynamoDB requests as botocore sends them."""

    def __init__(self, client: Any):
        self.calls: collections.Counter[str] = collections.Counter()
        self.items = 0
        client.meta.events.register("before-parameter-build.dynamodb", self._count)

    def _count(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        self.calls[model.name] += 1
        if model.name == "BatchWriteItem":
            self.items += sum(len(requests) for requests in params["RequestItems"].values())
        elif model.name == "TransactWriteItems":
            self.items += len(params["TransactItems"])
        elif model.name in ("PutItem", "UpdateItem", "DeleteItem"):
            self.items += 1

    def reset(self) -> None:
        self.calls.clear()
        self.items = 0


def main() -> None:
    with tempfile.TemporaryDirectory() as folder, mock_aws():
        lake = Path(folder)
        write_contacts(lake, first_in=0)
        engine = DuckDBEngine(lake)
        create_table(boto3.client("dynamodb", region_name=REGION), "TernTable", "tern-bench")
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="lake", CreateBucketConfiguration={"LocationConstraint": REGION})
        resource = boto3.resource("dynamodb", region_name=REGION)
        wire = Wire(resource.meta.client)
        repository = SegmentRepository(Table(resource.Table("tern-bench")))
        manifests = Manifests(S3LakeFiles(s3, "lake"))
        segment = repository.create(Segment.model_validate({
            "id": "big", "org_id": ORG, "name": "lead score 1", "status": "live", "created_at": NOW, "updated_at": NOW,
            "where": {"all": [{"kind": "attribute", "field": "lead_score", "op": "eq", "value": 1}]},
        }))  # fmt: skip

        print(f"refresh cost: a segment of {MEMBERS:,} members on moto's DynamoDB and S3 (in process)\n")
        print(f"{'refresh':<44} {'members':>10} {'joined':>8} {'left':>8} {'item writes':>12} {'requests':>9} {'of members':>11} {'seconds':>8}")
        steps = [("first evaluation: everyone joins", None), (f"1% churn: {CHURN:,} leave, {CHURN:,} join", CHURN), ("nothing changed", None)]
        for label, shift in steps:
            if shift is not None:
                write_contacts(lake, first_in=shift)
            wire.reset()
            started = time.perf_counter()
            done = refresh(segment, engine, repository, manifests, NOW)
            elapsed = time.perf_counter() - started
            segment = done.segment
            e = done.evaluation
            requests = sum(wire.calls.values())
            share = wire.items / MEMBERS * 100
            print(f"{label:<44} {e.members:>10,} {e.joined:>8,} {e.left:>8,} {wire.items:>12,} {requests:>9,} {share:>10.2f}% {elapsed:>8.1f}")
            sys.stdout.flush()
        print("\nitem writes: items put, deleted or updated (BatchWriteItem items, transaction items, single writes): a refresh")
        print("writes the members who joined or left, plus 3 (the pending note, the segment and its history row).")
        print("requests: every DynamoDB call of the refresh. seconds are moto's, not DynamoDB's: moto's TransactWriteItems")
        print("deep-copies the whole table to be able to roll back, which dominates once the table is large.")


if __name__ == "__main__":
    main()
