"""S3: the lake bucket's files (manifests, lists, overlay, events locally written) and the results bucket's exports."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from tern.aws import error_code, failing_as_store_error
from tern.errors import StoreError


class S3LakeFiles:
    def __init__(self, s3_client: Any, bucket: str):
        self._s3 = s3_client
        self.bucket = bucket

    def put(self, key: str, body: bytes) -> None:
        with failing_as_store_error(f"writing s3://{self.bucket}/{key}"):
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body)

    def get(self, key: str) -> bytes:
        with failing_as_store_error(f"reading s3://{self.bucket}/{key}"):
            body: bytes = self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
            return body


class S3ResultFiles:
    """The results bucket: exports, Athena's CSV results and journey runs' plans (lifecycle rules in template.yaml
    delete each within 7 days)."""

    def __init__(self, s3_client: Any, bucket: str):
        self._s3 = s3_client
        self.bucket = bucket

    def upload(self, path: str, key: str, content_type: str, filename: str) -> None:
        """Upload a local file (multipart when large: it is streamed from disk, never read whole)."""
        extra = {"ContentType": content_type, "ContentDisposition": f'attachment; filename="{filename}"'}
        with failing_as_store_error(f"writing s3://{self.bucket}/{key}"):
            self._s3.upload_file(path, self.bucket, key, ExtraArgs=extra)

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as e:
            if error_code(e) in ("404", "NoSuchKey", "NotFound"):
                return False
            raise StoreError(f"reading s3://{self.bucket}/{key}: {e}") from None
        except BotoCoreError as e:
            raise StoreError(f"reading s3://{self.bucket}/{key}: {e}") from None

    def size(self, key: str) -> int:
        with failing_as_store_error(f"reading s3://{self.bucket}/{key}"):
            return int(self._s3.head_object(Bucket=self.bucket, Key=key)["ContentLength"])

    def read(self, key: str, start: int, end: int) -> bytes:
        if end <= start:
            return b""
        with failing_as_store_error(f"reading s3://{self.bucket}/{key}"):
            try:
                body: bytes = self._s3.get_object(Bucket=self.bucket, Key=key, Range=f"bytes={start}-{end - 1}")["Body"].read()
            except ClientError as e:
                if error_code(e) == "InvalidRange":  # from past the end: nothing there
                    return b""
                raise
            return body

    def put(self, key: str, body: bytes, content_type: str) -> None:
        with failing_as_store_error(f"writing s3://{self.bucket}/{key}"):
            self._s3.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType=content_type)

    def delete(self, key: str) -> None:
        with failing_as_store_error(f"deleting s3://{self.bucket}/{key}"):
            self._s3.delete_object(Bucket=self.bucket, Key=key)

    def url(self, key: str, expires_in: int) -> str:
        with failing_as_store_error(f"signing a URL for s3://{self.bucket}/{key}"):
            url: str = self._s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires_in)
            return url
