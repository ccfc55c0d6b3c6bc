"""Query engines: where segment SQL runs. Athena in the cloud, DuckDB embedded (tern.engines.duckdb).

The protocol is all the library sees; an engine module is imported only by whoever builds one, so the
Lambda runtime never loads DuckDB.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from tern.errors import QueryError

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]


class AnswersAsStarted:
    """For an engine that answers as it is asked (DuckDB embedded, the quick path): start() runs the statement, and
    its rows wait for poll() in this process."""

    _finished: dict[str, Result]

    def run(self, sql: str) -> Result:
        raise NotImplementedError

    def start(self, sql: str) -> str:
        query_id = uuid.uuid4().hex
        self._finished[query_id] = self.run(sql)
        return query_id

    def poll(self, query_id: str) -> Result | None:
        try:
            return self._finished.pop(query_id)
        except KeyError:
            raise QueryError(f"no query {query_id} in this process") from None


class QueryEngine(Protocol):
    dialect: str
    """The sqlglot dialect the engine speaks: "athena" or "duckdb"."""
    database: str | None
    """The database that qualifies the contacts and events tables, if any."""

    def run(self, sql: str) -> Result:
        """Run one statement and return every row; raises tern.errors.QueryError on failure."""
        ...

    def start(self, sql: str) -> str:
        """Start one statement and return its query id, without waiting for it."""
        ...

    def poll(self, query_id: str) -> Result | None:
        """The rows of a started statement, or None while it runs; QueryError if it failed."""
        ...

    def has_org(self, org_id: str) -> bool:
        """Whether the lake holds any contacts for the org."""
        ...

    def batches(self, sql: str, name: str) -> Iterator[pa.RecordBatch]:
        """Run a SELECT and stream its rows as Arrow record batches, never all at once: the engine writes them
        as Parquet under `name` (Athena UNLOAD to the results bucket; DuckDB COPY to a scratch folder) and reads
        them back a batch at a time. Called again with the same name, it reads the same rows without running
        the query again (a retried job sees what the first attempt saw)."""
        ...

    def release(self, name: str) -> None:
        """Delete what batches() kept under `name`."""
        ...

    def result_location(self, query_id: str) -> tuple[str, str]:
        """Where a query started outside the engine (a state machine's Athena task) wrote its CSV result:
        (bucket, key). Only an engine whose results live in S3 has one."""
        ...
