"""Manifests: the member ids of one evaluation, sorted, one a line, gzipped, in S3."""

from __future__ import annotations

import gzip
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern.errors import StoreError


class Manifests:
    def __init__(self, s3_client: Any, bucket: str, prefix: str = "manifests"):
        self._s3 = s3_client
        self.bucket = bucket
        self.prefix = prefix

    def key(self, org_id: str, segment_id: str, evaluation_id: str) -> str:
        return f"{self.prefix}/org_id={org_id}/segment_id={segment_id}/{evaluation_id}.ids.gz"

    def write(self, org_id: str, segment_id: str, evaluation_id: str, ids: list[str]) -> str:
        """Store the ids (sorted here) and return the manifest's key."""
        key = self.key(org_id, segment_id, evaluation_id)
        body = gzip.compress("".join(f"{i}\n" for i in sorted(ids)).encode(), compresslevel=5)
        try:
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="text/plain", ContentEncoding="gzip")
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"writing manifest {key}: {e}") from None
        return key

    def read(self, key: str) -> list[str]:
        try:
            body = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"reading manifest {key}: {e}") from None
        return gzip.decompress(body).decode().splitlines()
