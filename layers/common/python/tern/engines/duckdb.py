"""The embedded engine: DuckDB over the on-disk lake layout of SEGMENT-FORMAT.md.

    DIR/contacts/org_id=ORG/*.parquet
    DIR/events/org_id=ORG/dt=YYYY-MM-DD/*.parquet

Views named `contacts`, `events`, `memberships` and `lists` present every contract column with its contract type, whatever the
files hold: a missing optional column reads as NULL, an extra one is not seen, a timestamp with a UTC
zone annotation reads as the plain UTC timestamp, a column stored with Parquet's null type (an all-null
column, as pyarrow writes it) reads as NULL of the contract type.

Real lakes change while Tern runs: files arrive, and their shapes differ (new columns, null-typed ones).
A view is rebuilt whenever its dataset's files changed since it was built (names, and the folders'
modification times, which an atomic replace also moves), so each statement reads the lake as it is then,
as Athena does, which reads every file by column name against the table's schema.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from tern import lake
from tern.engines import AnswersAsStarted, Result
from tern.errors import DataError, QueryError

if TYPE_CHECKING:
    import pyarrow as pa

DUCKDB_TYPES = {
    lake.ColumnType.STRING: "VARCHAR",
    lake.ColumnType.INT: "BIGINT",
    lake.ColumnType.DOUBLE: "DOUBLE",
    lake.ColumnType.BOOL: "BOOLEAN",
    lake.ColumnType.DATE: "DATE",
    lake.ColumnType.TIMESTAMP: "TIMESTAMP",
    lake.ColumnType.STRING_LIST: "VARCHAR[]",
    lake.ColumnType.STRING_MAP: "MAP(VARCHAR, VARCHAR)",
}


DATASETS = {
    "contacts": (lake.CONTACTS, lake.CONTACTS_PARTITIONS),
    "events": (lake.EVENTS, lake.EVENTS_PARTITIONS),
    "memberships": (lake.MEMBERSHIPS, lake.MEMBERSHIPS_PARTITIONS),
    "lists": (lake.LISTS, lake.LISTS_PARTITIONS),
    "overlay": (lake.OVERLAY, lake.OVERLAY_PARTITIONS),
}


def quote(text: str | Path) -> str:
    """A SQL string literal of `text` (a name, a path)."""
    return "'" + str(text).replace("'", "''") + "'"


class DuckDBEngine(AnswersAsStarted):
    dialect = "duckdb"
    database: str | None = None

    def __init__(
        self, data_dir: str | os.PathLike[str], threads: int | None = None, confined: bool = False, memory_limit_mb: int | None = None
    ):
        """`confined`: statements may read only files under data_dir (DuckDB's allowed_directories, with external access
        off and the configuration locked), as the quick path runs them over one org's copy beside other orgs'."""
        self.data_dir = Path(data_dir).resolve() if confined else Path(data_dir)
        self._finished: dict[str, Result] = {}
        if not (self.data_dir / "contacts").is_dir():
            raise DataError(f"no contacts dataset at {self.data_dir / 'contacts'}")
        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET parquet_metadata_cache = true")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit_mb:
            self.con.execute(f"SET memory_limit = '{int(memory_limit_mb)}MB'")
        if confined:
            # Lambda sets no HOME, where DuckDB would keep extensions; the preview function's need none but its own
            self.con.execute(f"SET home_directory = {quote(str(self.data_dir.resolve() / '.home'))}")
            self.con.execute("SET autoinstall_known_extensions = false")
            self.con.execute(f"SET allowed_directories = [{quote(str(self.data_dir.resolve()) + os.sep)}]")
            self.con.execute(f"SET temp_directory = {quote(str(self.data_dir.resolve() / '.tmp'))}")
            self.con.execute("SET enable_external_access = false")
            self.con.execute("SET lock_configuration = true")
        self._built: dict[str, tuple[object, ...]] = {}  # dataset -> the files its view was built over
        self._lock = threading.Lock()
        self.refresh_views()

    def _files(self, name: str) -> tuple[object, ...]:
        """What a dataset's view depends on: each folder holding Parquet files, its modification time, its files."""
        found = []
        for root, folders, files in os.walk(self.data_dir / name):
            folders[:] = [f for f in folders if not f.startswith(".")]
            parquet = tuple(sorted(f for f in files if f.endswith(".parquet")))
            if parquet:
                found.append((root, os.stat(root).st_mtime_ns, parquet))
        return tuple(sorted(found))

    def _view(self, name: str, columns: dict[str, lake.ColumnType], partitions: tuple[str, ...], files: tuple[object, ...]) -> None:
        if not files:
            typed = ", ".join(f"CAST(NULL AS {DUCKDB_TYPES[t]}) AS {c}" for c, t in columns.items())
            parts = ", ".join(f"CAST(NULL AS VARCHAR) AS {p}" for p in partitions)
            self.con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT {typed}, {parts} WHERE FALSE")
            return
        pattern = quote(str(self.data_dir / name) + "/**/*.parquet")
        hive_types = "{" + ", ".join(f"{quote(p)}: 'VARCHAR'" for p in partitions) + "}"
        try:
            # Files that all share one schema need no union by name, which would open every file's
            # footer on each query, pruned partitions included.
            shapes = self.con.execute(
                f"SELECT count(DISTINCT shape) FROM (SELECT file_name, string_agg(name || ':' || coalesce(type, '') "
                f"|| ':' || coalesce(logical_type, ''), ',' ORDER BY name) AS shape FROM parquet_schema({pattern}) GROUP BY file_name)"
            ).fetchone()
            union = "true" if shapes is None or shapes[0] != 1 else "false"
            source = f"read_parquet({pattern}, hive_partitioning = true, union_by_name = {union}, hive_types = {hive_types})"
            found = {row[0]: row[1] for row in self.con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        except duckdb.Error as e:
            raise DataError(f"cannot read the {name} dataset under {self.data_dir}: {e}") from None
        select = []
        for column, column_type in columns.items():
            wanted = DUCKDB_TYPES[column_type]
            have = found.get(column)
            if have in (None, "NULL", '"NULL"'):  # absent, or Parquet's null type (an all-null column)
                select.append(f"CAST(NULL AS {wanted}) AS {column}")
            elif have.replace(" ", "") == wanted.replace(" ", ""):
                select.append(column)
            else:
                select.append(f"CAST({column} AS {wanted}) AS {column}")
        select += list(partitions)
        self.con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT {', '.join(select)} FROM {source}")

    def refresh_views(self) -> None:
        """Rebuild the view of every dataset whose files changed since it was built (new, replaced, removed)."""
        with self._lock:
            for name, (columns, partitions) in DATASETS.items():
                files = self._files(name)
                if self._built.get(name) != files:
                    self._view(name, columns, partitions, files)
                    self._built[name] = files

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A connection of its own to the same database (the same views), for a statement on another thread."""
        cursor = self.con.cursor()
        cursor.execute("SET TimeZone = 'UTC'")
        return cursor

    def run(self, sql: str) -> Result:
        self.refresh_views()
        try:
            cursor = self.con.execute(sql)
            rows = cursor.fetchall()
        except duckdb.Error as e:
            raise QueryError(f"DuckDB could not run the statement: {e}") from None
        description = cursor.description or []
        json_columns = [i for i, d in enumerate(description) if str(d[1]).upper() == "JSON"]
        if json_columns:  # a JSON column comes back parsed, as the Athena engine gives it
            rows = [tuple(json.loads(v) if i in json_columns and v is not None else v for i, v in enumerate(row)) for row in rows]
        return Result(columns=[d[0] for d in description], rows=rows)

    def batches(self, sql: str, name: str, batch_size: int = 50_000) -> Iterator[pa.RecordBatch]:
        import pyarrow.parquet as pq

        path = self._scratch(name) / "rows.parquet"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name("rows.partial")
            self.run(f"COPY ({sql}) TO {quote(str(partial))} (FORMAT PARQUET, ROW_GROUP_SIZE {batch_size})")
            os.replace(partial, path)
        yield from pq.ParquetFile(path).iter_batches(batch_size=batch_size)

    def release(self, name: str) -> None:
        shutil.rmtree(self._scratch(name), ignore_errors=True)

    def result_location(self, query_id: str) -> tuple[str, str]:
        raise QueryError("the embedded engine keeps no query results in S3: a journey's run queries through Athena (the local stack's)")

    def _scratch(self, name: str) -> Path:
        if not name or "/" in name or name.startswith("."):
            raise ValueError(f"not a scratch name: {name!r}")
        return self.data_dir / ".scratch" / name

    def has_org(self, org_id: str) -> bool:
        folder = self.data_dir / "contacts" / f"org_id={org_id}"
        return folder.is_dir() and any(folder.glob("**/*.parquet"))
