"""The cloud engine: Athena, in Tern's workgroup, over the Glue tables of the lake.

A statement is started in the workgroup (whose result location and byte limit the template sets), polled
with backoff until it ends, and its rows read page by page. FAILED or CANCELLED become QueryError with
Athena's reason; the query id is logged either way so an on-call engineer can find it in the console.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from tern.engines import Result
from tern.errors import QueryError

logger = Logger(service="tern", child=True, level=logging.NOTSET)  # the level is the function logger's

# How Athena renders each type in GetQueryResults (every value a string), read back. Arrays, maps and rows are
# rendered without quoting the strings inside them ("[a, b]", "{k=v}"): Tern never reads them so, it asks for
# JSON (CAST(x AS JSON)) or unloads Parquet; a column of those types comes back as Athena's text.
_CONVERT: dict[str, Callable[[str], Any]] = {
    "boolean": lambda v: v == "true",
    "tinyint": int, "smallint": int, "integer": int, "bigint": int,
    "float": float, "real": float, "double": float, "decimal": Decimal,
    "date": dt.date.fromisoformat,
    "timestamp": lambda v: dt.datetime.strptime(v, "%Y-%m-%d %H:%M:%S.%f" if "." in v else "%Y-%m-%d %H:%M:%S"),
    "json": json.loads,
}  # fmt: skip


class AthenaEngine:
    dialect = "athena"

    def __init__(
        self,
        athena_client: Any,
        workgroup: str,
        database: str,
        timeout_s: float = 900,
        first_poll_s: float = 0.25,
        max_poll_s: float = 5,
        sleep: Callable[[float], None] = time.sleep,
        page_size: int = 1000,
        s3_client: Any | None = None,
        results_bucket: str | None = None,
    ):
        self._athena = athena_client
        self.workgroup = workgroup
        self.database: str | None = database
        self.timeout_s = timeout_s
        self.first_poll_s = first_poll_s
        self.max_poll_s = max_poll_s
        self._sleep = sleep
        self.page_size = page_size
        self._s3 = s3_client
        self.results_bucket = results_bucket

    def run(self, sql: str) -> Result:
        query_id = self._start(sql)
        self._wait(query_id)
        return self._rows(query_id)

    def start(self, sql: str) -> str:
        return self._start(sql)

    def poll(self, query_id: str) -> Result | None:
        try:
            status = self._athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
        except (ClientError, BotoCoreError) as e:
            raise QueryError(f"Athena query {query_id}: cannot read its status: {e}") from None
        if status["State"] in ("QUEUED", "RUNNING"):
            return None
        if status["State"] != "SUCCEEDED":
            reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage") or "no reason given"
            raise QueryError(f"Athena query {query_id} {status['State'].lower()}: {reason}")
        return self._rows(query_id)

    def batches(self, sql: str, name: str, batch_size: int = 50_000) -> Iterator[pa.RecordBatch]:
        if self._s3 is None or not self.results_bucket:
            raise QueryError("this Athena engine has no results bucket to unload to")
        prefix = f"unload/{name}/"
        if not self._exists(prefix + "_done"):
            self._delete(prefix)  # UNLOAD wants an empty location; a failed attempt may have left parts
            self._wait(
                self._start(f"UNLOAD ({sql}) TO 's3://{self.results_bucket}/{prefix}' WITH (format = 'PARQUET', compression = 'SNAPPY')")
            )
            self._s3_call("put_object", Bucket=self.results_bucket, Key=prefix + "_done", Body=b"")
        for key in sorted(k for k in self._keys(prefix) if not k.endswith("/_done")):
            fd, path = tempfile.mkstemp(suffix=".parquet")  # one part on disk at a time; rows a batch at a time
            os.close(fd)
            try:
                self._s3_call("download_file", self.results_bucket, key, path)
                yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size)
            finally:
                os.unlink(path)

    def release(self, name: str) -> None:
        if self._s3 is not None and self.results_bucket:
            self._delete(f"unload/{name}/")

    def _s3_call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self._s3, method)(*args, **kwargs)
        except (ClientError, BotoCoreError) as e:
            raise QueryError(f"Athena's unloaded rows in s3://{self.results_bucket}: {e}") from None

    def _keys(self, prefix: str) -> list[str]:
        keys: list[str] = []
        try:
            assert self._s3 is not None
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=self.results_bucket, Prefix=prefix):
                keys += [o["Key"] for o in page.get("Contents", [])]
        except (ClientError, BotoCoreError) as e:
            raise QueryError(f"Athena's unloaded rows in s3://{self.results_bucket}: {e}") from None
        return keys

    def _exists(self, key: str) -> bool:
        return key in self._keys(key)

    def _delete(self, prefix: str) -> None:
        keys = self._keys(prefix)
        for i in range(0, len(keys), 1000):
            self._s3_call("delete_objects", Bucket=self.results_bucket, Delete={"Objects": [{"Key": k} for k in keys[i : i + 1000]]})

    def result_location(self, query_id: str) -> tuple[str, str]:
        """Where Athena wrote a query's CSV result: (bucket, key)."""
        try:
            execution = self._athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        except (ClientError, BotoCoreError) as e:
            raise QueryError(f"Athena query {query_id}: cannot read its status: {e}") from None
        location = execution.get("ResultConfiguration", {}).get("OutputLocation", "")
        if not location.startswith("s3://") or "/" not in location[5:]:
            raise QueryError(f"Athena query {query_id} has no result in S3 ({location or 'none given'})")
        bucket, key = location[5:].split("/", 1)
        return bucket, key

    def has_org(self, org_id: str) -> bool:
        escaped = org_id.replace("'", "''")
        return bool(self.run(f"SELECT 1 FROM {self.database}.contacts WHERE org_id = '{escaped}' LIMIT 1").rows)

    def _start(self, sql: str) -> str:
        try:
            started = self._athena.start_query_execution(
                QueryString=sql, WorkGroup=self.workgroup, QueryExecutionContext={"Database": self.database}
            )
        except (ClientError, BotoCoreError) as e:
            raise QueryError(f"Athena did not start the query: {e}") from None
        query_id = str(started["QueryExecutionId"])
        logger.info("athena query started", extra={"query_id": query_id, "workgroup": self.workgroup})
        return query_id

    def _wait(self, query_id: str) -> None:
        deadline = time.monotonic() + self.timeout_s
        delay = self.first_poll_s
        while True:
            try:
                status = self._athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
            except (ClientError, BotoCoreError) as e:
                raise QueryError(f"Athena query {query_id}: cannot read its status: {e}") from None
            state = status["State"]
            if state == "SUCCEEDED":
                logger.info("athena query succeeded", extra={"query_id": query_id})
                return
            if state in ("FAILED", "CANCELLED"):
                reason = status.get("StateChangeReason") or status.get("AthenaError", {}).get("ErrorMessage") or "no reason given"
                logger.error("athena query ended", extra={"query_id": query_id, "state": state, "reason": reason})
                raise QueryError(f"Athena query {query_id} {state.lower()}: {reason}")
            if time.monotonic() + delay > deadline:
                self._stop(query_id)
                raise QueryError(f"Athena query {query_id} did not finish in {self.timeout_s:.0f} s; it was cancelled")
            self._sleep(delay)
            delay = min(delay * 1.6, self.max_poll_s)

    def _stop(self, query_id: str) -> None:
        try:
            self._athena.stop_query_execution(QueryExecutionId=query_id)
        except (ClientError, BotoCoreError):
            logger.warning("could not cancel athena query", extra={"query_id": query_id})

    def _rows(self, query_id: str) -> Result:
        columns: list[str] = []
        types: list[str] = []
        rows: list[tuple[Any, ...]] = []
        token: str | None = None
        first_page = True
        while True:
            kwargs: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": self.page_size}
            if token:
                kwargs["NextToken"] = token
            try:
                page = self._athena.get_query_results(**kwargs)
            except (ClientError, BotoCoreError) as e:
                raise QueryError(f"Athena query {query_id}: cannot read its results: {e}") from None
            result_set = page["ResultSet"]
            if first_page:
                info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
                columns = [c["Name"] for c in info]
                types = [c.get("Type", "varchar").lower() for c in info]
            data = result_set.get("Rows", [])
            if first_page and data and [d.get("VarCharValue") for d in data[0]["Data"]] == columns:
                data = data[1:]  # a SELECT's first row repeats the column names
            first_page = False
            for row in data:
                values = [cell.get("VarCharValue") for cell in row["Data"]]
                rows.append(tuple(None if v is None else _CONVERT.get(t, str)(v) for v, t in zip(values, types, strict=False)))
            token = page.get("NextToken")
            if not token:
                return Result(columns=columns, rows=rows)
