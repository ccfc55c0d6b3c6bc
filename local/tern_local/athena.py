"""The local Athena: Athena's query API (StartQueryExecution, GetQueryExecution, GetQueryResults,
StopQueryExecution, ListQueryExecutions, BatchGetQueryExecution) on the local AWS port, answered by DuckDB
over the lake folder, in both of the protocols SDKs speak to Athena (rest-json and JSON 1.1:
tern_local.protocols).

What it keeps of Athena, so that code that passes here passes there:
- statements arrive in Athena's dialect and are transpiled for DuckDB by sqlglot (the Glue database that
  qualifies the tables is the lake folder's views); `UNLOAD (SELECT ...) TO 's3://...' WITH (format =
  'PARQUET')` writes Parquet to the local S3 (into the lake folder when it names the lake's bucket, as a
  refresh's manifest does) and refuses a location that is not empty, as Athena does;
- a query runs apart from the call that starts it: QUEUED, RUNNING, then SUCCEEDED, FAILED (with Athena's
  error shape and DuckDB's reason) or CANCELLED;
- results are rendered on the wire as Athena renders them: every value a VarCharValue string, a NULL a datum
  with no value, booleans `true`/`false`, doubles as Java prints them (`1.0E7`), timestamps with
  milliseconds (`2026-11-22 10:00:00.000`), arrays `[a, b]`, maps `{k=v}`, rows `{f=v}`, json as its text;
  ColumnInfo types named as Athena names them; DataScannedInBytes the size of the tables read (an upper bound), a query over the workgroup's BytesScannedCutoffPerQuery CANCELLED; the first row of a SELECT's first page repeats the column
  names; pages of at most 1,000 rows (MaxResults) joined by NextToken;
- the result set is also written as CSV to the workgroup's output location, `<query id>.csv`, quoted as
  Athena quotes it.
The rendering of arrays and maps is lossy (strings in them are not quoted), as it is in Athena: Tern reads
complex columns as JSON or through UNLOAD, never by splitting these strings.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import os
import re
import shutil
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import duckdb
import sqlglot
from sqlglot import exp

from tern.engines.duckdb import DuckDBEngine
from tern_local.protocols import bridge_all

MAX_RESULTS = 1000
_UNLOAD = re.compile(
    r"^\s*UNLOAD\s*\((?P<select>.*)\)\s*TO\s*'s3://(?P<bucket>[^/']+)/(?P<prefix>[^']*)'\s*WITH\s*\((?P<options>[^)]*)\)\s*;?\s*$",
    re.S | re.I,
)


@dataclass
class Query:
    id: str
    sql: str
    database: str | None
    workgroup: str
    output: str | None  # s3://bucket/prefix/ for the CSV of the results
    state: str = "QUEUED"
    reason: str | None = None
    submitted: float = field(default_factory=time.time)
    completed: float | None = None
    columns: list[tuple[str, str]] = field(default_factory=list)  # (name, Athena type)
    rows: list[list[str | None]] = field(default_factory=list)  # rendered
    statement_type: str = "DML"
    scanned: int = 0  # bytes: every file of every table it reads (an upper bound: no column or partition pruning)
    cutoff: int | None = None  # the workgroup's BytesScannedCutoffPerQuery
    done: threading.Event = field(default_factory=threading.Event)


class LocalAthena:
    """Queries by id; each runs in a thread of its own on a cursor of its own, so they run side by side, as
    Athena's do (a long UNLOAD of one org's evaluation holds up no other query)."""

    def __init__(self, engine: DuckDBEngine, s3: Any, settle_seconds: float = 2.0, lake_bucket: str | None = None):
        self.engine = engine
        self.s3 = s3  # a boto3 S3 client of the local AWS
        self.lake_bucket = lake_bucket  # the bucket the engine's lake folder stands for: UNLOAD there writes to the folder
        self.settle_seconds = settle_seconds  # how long StartQueryExecution lets a quick query finish first
        self.queries: dict[str, Query] = {}
        self.cursors: dict[str, Any] = {}  # running queries' DuckDB cursors, to interrupt

    # ----- the API

    def start(self, sql: str, database: str | None, workgroup: str, output: str | None, cutoff: int | None = None) -> str:
        query = Query(id=str(uuid.uuid4()), sql=sql, database=database, workgroup=workgroup, output=output, cutoff=cutoff)
        query.statement_type = "DDL" if sql.lstrip().upper().startswith(("ALTER", "CREATE", "DESCRIBE", "DROP", "MSCK", "SHOW")) else "DML"
        self.queries[query.id] = query
        threading.Thread(target=self._run, args=(query,), daemon=True, name=f"athena-{query.id[:8]}").start()
        query.done.wait(self.settle_seconds)  # a quick query is done by its first GetQueryExecution
        return query.id

    def stop(self, query_id: str) -> None:
        query = self.queries[query_id]
        if query.state in ("QUEUED", "RUNNING"):
            query.state, query.completed = "CANCELLED", time.time()
            cursor = self.cursors.get(query_id)
            if cursor is not None:
                cursor.interrupt()

    def execution(self, query_id: str) -> dict[str, Any]:
        query = self.queries[query_id]
        status: dict[str, Any] = {"State": query.state, "SubmissionDateTime": query.submitted}
        if query.completed:
            status["CompletionDateTime"] = query.completed
        if query.reason:
            status["StateChangeReason"] = query.reason
        if query.state == "FAILED":
            status["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1006, "Retryable": False, "ErrorMessage": query.reason}
        elapsed = int(((query.completed or time.time()) - query.submitted) * 1000)
        return {
            "QueryExecutionId": query.id, "Query": query.sql, "StatementType": query.statement_type,
            "ResultConfiguration": {"OutputLocation": f"{query.output}{query.id}.csv"} if query.output else {},
            "QueryExecutionContext": {"Database": query.database} if query.database else {},
            "Status": status, "WorkGroup": query.workgroup,
            "Statistics": {"EngineExecutionTimeInMillis": elapsed, "TotalExecutionTimeInMillis": elapsed, "DataScannedInBytes": query.scanned},
            "EngineVersion": {"SelectedEngineVersion": "Athena engine version 3", "EffectiveEngineVersion": "Athena engine version 3"},
        }  # fmt: skip

    def results(self, query_id: str, max_results: int | None, token: str | None) -> dict[str, Any]:
        """One page of GetQueryResults; raises InvalidRequest (ValueError) unless the query succeeded."""
        query = self.queries[query_id]
        if query.state != "SUCCEEDED":
            raise ValueError(f"Query has not yet finished. Current state: {query.state}")
        size = min(max_results or MAX_RESULTS, MAX_RESULTS)
        every = ([[name for name, _ in query.columns]] if query.columns else []) + query.rows  # a SELECT's header row first
        start = _offset(token, query_id) if token else 0
        page = every[start : start + size]
        answer: dict[str, Any] = {
            "UpdateCount": 0,
            "ResultSet": {
                "Rows": [{"Data": [{"VarCharValue": v} if v is not None else {} for v in row]} for row in page],
                "ResultSetMetadata": {"ColumnInfo": [_column_info(name, kind) for name, kind in query.columns]},
            },
        }
        if start + size < len(every):
            answer["NextToken"] = base64.urlsafe_b64encode(f"{query.id}:{start + size}".encode()).decode()
        return answer

    # ----- running

    def _run(self, query: Query) -> None:
        cursor = self.cursors[query.id] = self.engine.cursor()
        try:
            if query.state == "CANCELLED":
                return
            query.state = "RUNNING"
            query.scanned = self._scanned(query.sql)
            if query.cutoff is not None and query.scanned > query.cutoff:  # the workgroup's data usage control
                query.state, query.reason = (
                    "CANCELLED",
                    f"Query cancelled! : Bytes scanned limit was exceeded (BytesScannedCutoffPerQuery {query.cutoff:,})",
                )
                return
            unload = _UNLOAD.match(query.sql)
            if unload:
                self._unload(query, unload, cursor)
            else:
                result = cursor.execute(self._duckdb(query.sql, query.database))
                kinds = [_athena_type(str(d[1])) for d in result.description or []]
                query.columns = [(d[0], kind) for d, kind in zip(result.description or [], kinds, strict=True)]
                query.rows = [[render(v, kind) for v, kind in zip(row, kinds, strict=True)] for row in result.fetchall()]
            if query.output:
                self._write_csv(query)
            if query.state == "RUNNING":
                query.state = "SUCCEEDED"
        except (duckdb.Error, sqlglot.errors.SqlglotError, ValueError, OSError) as e:
            if query.state != "CANCELLED":
                query.state, query.reason = "FAILED", _reason(e)
        finally:
            self.cursors.pop(query.id, None)
            cursor.close()
            query.completed = query.completed or time.time()
            query.done.set()

    def _scanned(self, sql: str) -> int:
        """What Athena would bill the query for, at most: the size of every Parquet file of the tables it names."""
        names = {t.name for t in sqlglot.parse_one(_UNLOAD.sub(lambda m: m["select"], sql), read="athena").find_all(exp.Table)}
        return sum(f.stat().st_size for name in names for f in (self.engine.data_dir / name).glob("**/*.parquet"))

    def _duckdb(self, sql: str, database: str | None) -> str:
        """The Athena statement in DuckDB's dialect, its Glue database's tables as the lake folder's views."""
        self.engine.refresh_views()
        tree = sqlglot.parse_one(sql, read="athena")
        for table in tree.find_all(exp.Table):
            if table.db and (database is None or table.db == database):
                table.set("db", None)
        return tree.sql(dialect="duckdb")

    def _unload(self, query: Query, unload: re.Match[str], cursor: Any) -> None:
        options = {k.strip().lower(): v.strip().strip("'").lower() for k, _, v in (o.partition("=") for o in unload["options"].split(","))}
        if options.get("format", "").lower() != "parquet":
            raise ValueError(f"UNLOAD format {options.get('format')!r}: the local Athena writes PARQUET only")
        bucket, prefix = unload["bucket"], unload["prefix"]
        folder = self.engine.data_dir / prefix if bucket == self.lake_bucket else None
        exists = (
            any(folder.iterdir())
            if folder and folder.is_dir()
            else self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1).get("KeyCount")
        )
        if exists:
            raise ValueError(f"HIVE_PATH_ALREADY_EXISTS: Target directory for table already exists: s3://{bucket}/{prefix}")
        fd, path = tempfile.mkstemp(suffix=".parquet")
        os.close(fd)
        try:
            codec = options.get("compression", "snappy").upper()
            cursor.execute(f"COPY ({self._duckdb(unload['select'], query.database)}) TO '{path}' (FORMAT PARQUET, COMPRESSION {codec})")
            if folder is not None:  # the lake is this folder: DuckDB reads *.parquet there, as Glue reads any file
                folder.mkdir(parents=True, exist_ok=True)
                shutil.move(path, folder / f"{query.id}_00000.parquet")
                return
            with open(path, "rb") as f:
                self.s3.put_object(Bucket=bucket, Key=f"{prefix}{query.id}_00000", Body=f.read())
        finally:
            if os.path.exists(path):
                os.unlink(path)

    def _write_csv(self, query: Query) -> None:
        assert query.output is not None
        bucket, _, prefix = query.output.removeprefix("s3://").partition("/")
        header = [[name for name, _ in query.columns]] if query.columns else []
        # every value quoted, a NULL an empty unquoted field, as Athena writes them
        lines = (",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in row) + "\n" for row in header + query.rows)
        self.s3.put_object(Bucket=bucket, Key=f"{prefix}{query.id}.csv", Body="".join(lines).encode())


def _int_param(response: Any, name: str) -> int | None:
    value = response._get_param(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: not a number: {value!r}") from None


# ------------------------------------------------------------------------------------- Athena's rendering


def _offset(token: str, query_id: str) -> int:
    """Where a NextToken of this query resumes; InvalidRequest (ValueError) for any other token."""
    try:
        owner, _, offset = base64.urlsafe_b64decode(token.encode()).decode().rpartition(":")
        if owner == query_id and int(offset) >= 0:
            return int(offset)
    except (ValueError, UnicodeDecodeError):
        pass
    raise ValueError("NextToken is not valid for this query")


def _athena_type(duckdb_type: str) -> str:
    """The type name Athena's ColumnInfo gives a column DuckDB typed so."""
    t = duckdb_type.upper()
    if t.endswith("[]"):
        return "array"
    for prefix, name in (
        ("MAP(", "map"),
        ("STRUCT(", "row"),
        ("DECIMAL(", "decimal"),
        ("TIMESTAMP WITH TIME ZONE", "timestamp with time zone"),
    ):
        if t.startswith(prefix):
            return name
    return {
        "VARCHAR": "varchar", "BIGINT": "bigint", "HUGEINT": "bigint", "UBIGINT": "bigint", "INTEGER": "integer",
        "UINTEGER": "bigint", "SMALLINT": "smallint", "TINYINT": "tinyint", "DOUBLE": "double", "FLOAT": "real",
        "BOOLEAN": "boolean", "DATE": "date", "TIMESTAMP": "timestamp", "TIMESTAMP_NS": "timestamp", "TIMESTAMP_MS": "timestamp",
        "JSON": "json", "BLOB": "varbinary", "TIME": "time", "UUID": "uuid", '"NULL"': "unknown", "NULL": "unknown",
    }.get(t, "varchar")  # fmt: skip


def _column_info(name: str, kind: str) -> dict[str, Any]:
    precision = {"varchar": 2147483647, "bigint": 19, "integer": 10, "double": 17, "boolean": 0, "date": 0, "timestamp": 3}.get(kind, 0)
    return {
        "CatalogName": "hive", "SchemaName": "", "TableName": "", "Name": name, "Label": name, "Type": kind,
        "Precision": precision, "Scale": 0, "Nullable": "UNKNOWN", "CaseSensitive": kind == "varchar",
    }  # fmt: skip


def _java_double(value: float) -> str:
    """A double as Java's Double.toString prints it (what Athena's results show): plain from 10^-3 up to 10^7,
    else the shortest digits in scientific notation, `1.0E7`."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        return repr(value)  # Python's shortest round-trip digits, plain in this range
    _, digits, exponent = decimal.Decimal(repr(abs(value))).normalize().as_tuple()
    shown = "".join(map(str, digits))
    return f"{'-' if value < 0 else ''}{shown[0]}.{shown[1:] or '0'}E{len(digits) - 1 + int(exponent)}"


def render(value: Any, kind: str) -> str | None:
    """A value as Athena renders it in GetQueryResults (None: a datum with no VarCharValue)."""
    if value is None:
        return None
    return _render(value, kind)


def _render(value: Any, kind: str = "") -> str:
    if value is None:
        return "null"
    if kind == "json":
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, decimal.Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        return f"{text} UTC" if value.tzinfo else text
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        if set(value) == {"key", "value"} and isinstance(value["key"], list):  # a DuckDB map fetched as two lists
            value = dict(zip(value["key"], value["value"], strict=True))
        return "{" + ", ".join(f"{_render(k)}={_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    if isinstance(value, bytes):
        return " ".join(f"{b:02x}" for b in value)
    return str(value)


def _reason(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    if isinstance(error, (duckdb.Error, sqlglot.errors.SqlglotError)):
        return (
            f"SYNTAX_ERROR: {text}"
            if isinstance(error, (duckdb.ParserException, sqlglot.errors.ParseError))
            else f"GENERIC_INTERNAL_ERROR: {text}"
        )
    return text


# ------------------------------------------------------------------------------------- moto's Athena, routed


_active: LocalAthena | None = None


def route_athena_to(athena: LocalAthena | None) -> None:
    """Make moto's Athena API (server mode and in-process mocks alike) answer from `athena`; None gives moto's
    own Athena back (whose results are what a test queues)."""
    global _active
    _active = athena
    from moto.athena.responses import AthenaResponse

    if getattr(AthenaResponse, "__routed_by_tern__", False):
        return
    bridge_all()  # Athena's rest-json (boto3 and the AWS CLI from 1.44.14 on) and JSON 1.1 (older SDKs) alike
    names = (
        "start_query_execution",
        "get_query_execution",
        "get_query_results",
        "stop_query_execution",
        "list_query_executions",
        "batch_get_query_execution",
    )
    original: dict[str, Any] = {name: getattr(AthenaResponse, name, None) for name in names}  # moto has no BatchGetQueryExecution

    def start_query_execution(self: Any) -> Any:
        if _active is None:
            return original["start_query_execution"](self)
        workgroup = self._get_param("WorkGroup") or "primary"
        group = self.athena_backend.get_work_group(workgroup)
        if group is None:
            return self.error("WorkGroup does not exist", 400)
        configuration = group.get("Configuration") or {}
        configured = (configuration.get("ResultConfiguration") or {}).get("OutputLocation")
        asked = (self._get_param("ResultConfiguration") or {}).get("OutputLocation")
        output = configured if configuration.get("EnforceWorkGroupConfiguration") or not asked else asked
        if output and not output.endswith("/"):
            output += "/"
        database = (self._get_param("QueryExecutionContext") or {}).get("Database")
        cutoff = configuration.get("BytesScannedCutoffPerQuery")
        return json.dumps(
            {
                "QueryExecutionId": _active.start(
                    self._get_param("QueryString"), database, workgroup, output, int(cutoff) if cutoff else None
                )
            }
        )

    def get_query_execution(self: Any) -> Any:
        query_id = self._get_param("QueryExecutionId")
        if _active is None:
            return original["get_query_execution"](self)
        if query_id not in _active.queries:
            return self.error(f"QueryExecution {query_id} was not found", 400)
        return json.dumps({"QueryExecution": _active.execution(query_id)})

    def get_query_results(self: Any) -> Any:
        query_id = self._get_param("QueryExecutionId")
        if _active is None:
            return original["get_query_results"](self)
        if query_id not in _active.queries:
            return self.error(f"QueryExecution {query_id} was not found", 400)
        try:
            size = _int_param(self, "MaxResults")  # rest-json carries it in the query string, as text
            return json.dumps(_active.results(query_id, size, self._get_param("NextToken")))
        except ValueError as e:
            return self.error(str(e), 400)

    def stop_query_execution(self: Any) -> Any:
        if _active is None:
            return original["stop_query_execution"](self)
        query_id = self._get_param("QueryExecutionId")
        if query_id in _active.queries:
            _active.stop(query_id)
        return json.dumps({})

    def list_query_executions(self: Any) -> Any:
        """The workgroup's queries, newest first, at most MaxResults (1 to 50, default 50) a page."""
        if _active is None:
            return original["list_query_executions"](self)
        workgroup = self._get_param("WorkGroup") or "primary"
        if self.athena_backend.get_work_group(workgroup) is None:
            return self.error(f"WorkGroup {workgroup} is not found.", 400)
        try:
            size = _int_param(self, "MaxResults") or 50
            if not 0 < size <= 50:
                raise ValueError(
                    "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50"
                )
            ids = [q.id for q in sorted(_active.queries.values(), key=lambda q: q.submitted, reverse=True) if q.workgroup == workgroup]
            token = self._get_param("NextToken")
            start = _offset(token, workgroup) if token else 0
        except ValueError as e:
            return self.error(str(e), 400)
        answer: dict[str, Any] = {"QueryExecutionIds": ids[start : start + size]}
        if start + size < len(ids):
            answer["NextToken"] = base64.urlsafe_b64encode(f"{workgroup}:{start + size}".encode()).decode()
        return json.dumps(answer)

    def batch_get_query_execution(self: Any) -> Any:
        if _active is None:
            return (
                original["batch_get_query_execution"](self)
                if original["batch_get_query_execution"]
                else self.error("BatchGetQueryExecution is not implemented", 400)
            )
        ids = self._get_param("QueryExecutionIds") or []
        if not 1 <= len(ids) <= 50:
            return self.error("QueryExecutionIds: between 1 and 50 ids", 400)
        found = [_active.execution(i) for i in ids if i in _active.queries]
        missing = [
            {"QueryExecutionId": i, "ErrorCode": "INVALID_INPUT", "ErrorMessage": f"QueryExecution {i} was not found"}
            for i in ids
            if i not in _active.queries
        ]
        return json.dumps({"QueryExecutions": found, "UnprocessedQueryExecutionIds": missing})

    for name, method in (
        ("start_query_execution", start_query_execution), ("get_query_execution", get_query_execution),
        ("get_query_results", get_query_results), ("stop_query_execution", stop_query_execution),
        ("list_query_executions", list_query_executions), ("batch_get_query_execution", batch_get_query_execution),
    ):  # fmt: skip
        setattr(AthenaResponse, name, method)
    AthenaResponse.__routed_by_tern__ = True  # type: ignore[attr-defined]
