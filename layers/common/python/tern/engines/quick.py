"""The quick path: counts while a marketer types, from a copy of the org's lake next to DuckDB, not from Athena.

Athena is built for batch: each query is queued, planned and scheduled on shared capacity before it reads a byte
(seconds, whatever the size), and the account runs only so many at once. A preview that waits on it per pause in
typing is slow, and a team typing at once would use up the account's Athena concurrency that refreshes need. So the
editor's statements (a preview's count and sample, the suggestions' values) go to the preview function instead:

- the api function compiles them as ever, in DuckDB's dialect, and sends them with the org's id and the
  evaluations of the segments they refer to (QuickEngine, a QueryEngine like the others);
- the preview function brings its copy of the org's part of the lake in step with S3 (tern.aws.lake_copy: a list,
  then only the files new or changed since its last call; a cold function copies all of them) and runs them with
  DuckDB over that copy (QuickLake). DuckDB there may read only the org's folder: another org's copy, in the same
  /tmp of a warm function, is out of its reach whatever a statement says;
- when the copy would be larger than the function's room, or the function cannot be reached, it answers NotQuick
  and the caller counts through Athena (a preview answers 202 and is polled, as before).

The statements are the compiler's DuckDB output over the same contract views the embedded engine reads, so the
quick path counts what a refresh through Athena stores at the same moment (the differential tests run on both).

On the wire (the function's event and answer, JSON): {"org_id", "statements": [sql, ...], "memberships":
{segment_id: evaluation_id}} -> {"results": [{"columns", "rows"}], "read": {...}} or {"not_quick": "why"}. A value
JSON has no type for is tagged ({"date": "2026-11-22"}, {"timestamp": ...}, {"decimal": ...}, {"map": [[k, v]]},
{"float": "nan"}) and comes back as the Python value DuckDB gave.
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tern import lake
from tern.engines import AnswersAsStarted, Result
from tern.errors import NotQuick, QueryError
from tern.ports import LakeCopies

if TYPE_CHECKING:
    import pyarrow as pa

    from tern.engines.duckdb import DuckDBEngine

MAX_STATEMENTS = 4
_log = logging.getLogger(__name__)  # the preview function's log (Lambda's runtime sends the root logger's records there)


class QuickRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org_id: str = Field(pattern=rf"^{lake.ORG_ID.pattern}$")
    statements: list[str] = Field(min_length=1, max_length=MAX_STATEMENTS)
    memberships: dict[str, str] = {}

    @field_validator("org_id")
    @classmethod
    def _a_folder_name(cls, org_id: str) -> str:
        if org_id in (".", ".."):  # the org's copy is a folder named so
            raise ValueError("not an org id")
        return org_id


class Read(BaseModel):
    """What answering read: the org's files as listed in S3, what was fetched from S3 to bring the copy in step, and
    the time spent syncing and querying."""

    files: int
    bytes: int
    fetched_files: int
    fetched_bytes: int
    removed_files: int
    sync_ms: int
    query_ms: int


class QuickResult(BaseModel):
    columns: list[str]
    rows: list[list[Any]]


class QuickAnswer(BaseModel):
    results: list[QuickResult] = []
    read: Read | None = None
    not_quick: str | None = None
    too_large: bool = False


def encode(value: Any) -> Any:
    """A value DuckDB gave, as JSON can carry it (decode() gives it back)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"float": str(value)}
    if isinstance(value, dt.datetime):
        return {"timestamp": value.isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"decimal": str(value)}
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"map": [[encode(k), encode(v)] for k, v in value.items()]}
    raise QueryError(f"the quick path cannot carry a {type(value).__name__} value")


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "timestamp": dt.datetime.fromisoformat,
    "date": dt.date.fromisoformat,
    "decimal": decimal.Decimal,
    "float": float,
    "map": lambda pairs: {decode(k): decode(v) for k, v in pairs},
}


def decode(value: Any) -> Any:
    if isinstance(value, list):
        return [decode(v) for v in value]
    if isinstance(value, dict):
        ((tag, inner),) = value.items()
        return _DECODERS[tag](inner)
    return value


class QuickEngine(AnswersAsStarted):
    """The api function's side: statements in DuckDB's dialect, run by the preview function over its copy of one org's
    lake. Raises NotQuick when that cannot answer; the caller then compiles for Athena and asks it."""

    dialect = "duckdb"
    database: str | None = None

    def __init__(self, call: Callable[[dict[str, Any]], dict[str, Any]], org_id: str, memberships: dict[str, str] | None = None):
        self._call = call
        self.org_id = org_id
        self.memberships = dict(memberships or {})
        self._finished: dict[str, Result] = {}
        self.read: Read | None = None  # what the last call read

    def run_all(self, statements: list[str]) -> list[Result]:
        request = QuickRequest(org_id=self.org_id, statements=statements, memberships=self.memberships)
        try:
            answer = QuickAnswer.model_validate(self._call(request.model_dump()))
        except ValidationError as e:
            raise NotQuick(f"the preview function's answer is not one: {e.errors()[:1]}") from None
        if answer.not_quick is not None:
            raise NotQuick(answer.not_quick, too_large=answer.too_large)
        if len(answer.results) != len(statements):
            raise NotQuick(f"the preview function answered {len(answer.results)} of {len(statements)} statements")
        self.read = answer.read
        return [Result(columns=r.columns, rows=[tuple(decode(v) for v in row) for row in r.rows]) for r in answer.results]

    def run(self, sql: str) -> Result:
        return self.run_all([sql])[0]

    def has_org(self, org_id: str) -> bool:
        return org_id == self.org_id and bool(self.run("SELECT count(*) FROM contacts").rows[0][0])

    def batches(self, sql: str, name: str) -> Iterator[pa.RecordBatch]:
        raise QueryError("the quick path answers previews, not exports")

    def release(self, name: str) -> None:
        return None

    def result_location(self, query_id: str) -> tuple[str, str]:
        raise QueryError("the quick path keeps no query results in S3")


class QuickLake:
    """The preview function's side: each org's copy brought in step, then its statements run by a DuckDB confined to
    that copy's folder (one per org, kept while the function is warm: its views and Parquet footers stay cached)."""

    def __init__(self, copies: LakeCopies, memory_limit_mb: int | None = None, threads: int | None = None):
        self.copies = copies
        self.memory_limit_mb = memory_limit_mb
        self.threads = threads
        self._engines: dict[str, tuple[Path, DuckDBEngine]] = {}
        self.last: Read | None = None  # what the last answer read (its log line; the console benchmark prints it)

    def answer(self, event: dict[str, Any]) -> dict[str, Any]:
        try:
            request = QuickRequest.model_validate(event)
        except ValidationError as e:
            raise QueryError(f"not a quick request: {e.errors()[:1]}") from None
        try:
            with self.copies.synced(request.org_id, request.memberships) as (copy, synced):
                started = time.monotonic()
                engine = self._engine(request.org_id, copy.root)
                results = [engine.run(sql) for sql in request.statements]
                query_ms = round((time.monotonic() - started) * 1000)
        except NotQuick as e:
            _log.warning("not quick: %s", e)
            return QuickAnswer(not_quick=str(e), too_large=e.too_large).model_dump()
        read = Read(files=synced.files, bytes=synced.bytes, fetched_files=synced.fetched_files, fetched_bytes=synced.fetched_bytes,
                    removed_files=synced.removed_files, sync_ms=round(synced.seconds * 1000), query_ms=query_ms)  # fmt: skip
        self.last = read
        _log.info("answered org %s: %s", request.org_id, read.model_dump())
        return QuickAnswer(
            results=[QuickResult(columns=r.columns, rows=[[encode(v) for v in row] for row in r.rows]) for r in results], read=read
        ).model_dump()

    def _engine(self, org_id: str, root: Path) -> DuckDBEngine:
        from tern.engines.duckdb import DuckDBEngine  # the preview function's own layer has DuckDB; the api function's has none

        kept = self._engines.get(org_id)
        if kept is not None and kept[0] == root and root.is_dir():
            return kept[1]
        (root / "contacts").mkdir(parents=True, exist_ok=True)  # an org with no contacts yet counts none
        engine = DuckDBEngine(root, threads=self.threads, confined=True, memory_limit_mb=self.memory_limit_mb)
        self._engines[org_id] = (root, engine)
        return engine
