"""The quick path over a lake folder, for unit tests: the folder's files put into a bucket of moto's S3 (in process),
the preview function's side (QuickLake over LakeCopies) reading them back through S3's API, and QuickEngines calling it
with the event and answer passed through JSON, as Lambda passes them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
from moto import mock_aws

from tern.aws.lake_copy import LakeCopies
from tern.engines.quick import QuickEngine, QuickLake

BUCKET = "tern-lake-test"
REGION = "eu-central-1"


def upload(s3: Any, lake: Path, bucket: str = BUCKET) -> None:
    for path in sorted(lake.rglob("*")):
        relative = path.relative_to(lake)
        if path.is_file() and not any(part.startswith(".") for part in relative.parts):
            s3.upload_file(str(path), bucket, relative.as_posix())


class Quick:
    def __init__(self, s3: Any, copies: Path, room: int):
        self.s3 = s3
        self.lake = QuickLake(LakeCopies(s3, BUCKET, copies, room))
        self.calls: list[dict[str, Any]] = []

    def call(self, event: dict[str, Any]) -> dict[str, Any]:
        answer = json.loads(json.dumps(self.lake.answer(json.loads(json.dumps(event)))))
        self.calls.append(answer)
        return answer  # type: ignore[no-any-return]

    def engine(self, org_id: str, memberships: dict[str, str] | None = None) -> QuickEngine:
        return QuickEngine(self.call, org_id, memberships)


@contextmanager
def quick_lake(lake: Path, copies: Path, room: int = 1 << 34) -> Iterator[Quick]:
    """Nested in another (a module's), the bucket is already there, with the same files."""
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        if BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
            s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
            upload(s3, lake)
        yield Quick(s3, copies, room)


Factory = Callable[..., QuickEngine]
