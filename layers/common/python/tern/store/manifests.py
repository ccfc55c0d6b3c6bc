"""Manifests: the members of one evaluation, as Parquet in the lake, readable by the engines.

    memberships/org_id=<org>/segment_id=<segment>/evaluation_id=<evaluation>/members.parquet

in_segment criteria read them through the `memberships` table (Glue in the cloud, a DuckDB view locally).
Where the files live is a LakeFiles: S3 in the cloud, a folder on a laptop.
"""

from __future__ import annotations

from typing import Any, Protocol

import pyarrow as pa
import pyarrow.parquet as pq
from botocore.exceptions import BotoCoreError, ClientError

from tern.errors import StoreError


class LakeFiles(Protocol):
    def put(self, key: str, body: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...


class S3LakeFiles:
    def __init__(self, s3_client: Any, bucket: str):
        self._s3 = s3_client
        self.bucket = bucket

    def put(self, key: str, body: bytes) -> None:
        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body)
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"writing s3://{self.bucket}/{key}: {e}") from None

    def get(self, key: str) -> bytes:
        try:
            body: bytes = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            return body
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"reading s3://{self.bucket}/{key}: {e}") from None


def parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, compression="zstd")
    return bytes(sink.getvalue().to_pybytes())


def contact_ids(body: bytes) -> list[str]:
    return [str(v) for v in pq.read_table(pa.BufferReader(body)).column("contact_id").to_pylist()]


class Manifests:
    def __init__(self, files: LakeFiles):
        self.files = files

    @staticmethod
    def key(org_id: str, segment_id: str, evaluation_id: str) -> str:
        return f"memberships/org_id={org_id}/segment_id={segment_id}/evaluation_id={evaluation_id}/members.parquet"

    def write(self, org_id: str, segment_id: str, evaluation_id: str, ids: list[str]) -> str:
        """Store the ids (sorted here) and return the manifest's key."""
        key = self.key(org_id, segment_id, evaluation_id)
        self.files.put(key, parquet_bytes(pa.table({"contact_id": pa.array(sorted(ids), pa.string())})))
        return key

    def read(self, key: str) -> list[str]:
        return contact_ids(self.files.get(key))
