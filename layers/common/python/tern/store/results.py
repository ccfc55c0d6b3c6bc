"""Export files in the results bucket, under the org's prefix, fetched through presigned URLs.

    exports/org_id=<org>/<export id>/<file name>

A lifecycle rule in template.yaml deletes them after 7 days (EXPORT_DAYS).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern.errors import StoreError

EXPORT_DAYS = 7


class ResultFiles:
    def __init__(self, s3_client: Any, bucket: str):
        self._s3 = s3_client
        self.bucket = bucket

    @staticmethod
    def key(org_id: str, export_id: str, filename: str) -> str:
        return f"exports/org_id={org_id}/{export_id}/{filename}"

    def upload(self, path: str, key: str, content_type: str, filename: str) -> None:
        """Upload a local file (multipart when large: it is streamed from disk, never read whole)."""
        extra = {"ContentType": content_type, "ContentDisposition": f'attachment; filename="{filename}"'}
        try:
            self._s3.upload_file(path, self.bucket, key, ExtraArgs=extra)
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"writing s3://{self.bucket}/{key}: {e}") from None

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StoreError(f"reading s3://{self.bucket}/{key}: {e}") from None
        except BotoCoreError as e:
            raise StoreError(f"reading s3://{self.bucket}/{key}: {e}") from None

    def url(self, key: str, expires_in: int) -> str:
        try:
            url: str = self._s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in)
            return url
        except (ClientError, BotoCoreError) as e:
            raise StoreError(f"signing a URL for s3://{self.bucket}/{key}: {e}") from None
