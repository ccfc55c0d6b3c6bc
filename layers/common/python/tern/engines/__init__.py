"""Query engines: where segment SQL runs. Athena in the cloud, DuckDB embedded (tern.engines.duckdb).

The protocol is all the library sees; an engine module is imported only by whoever builds one, so the
Lambda runtime never loads DuckDB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Result:
    columns: list[str]
    rows: list[tuple[Any, ...]]


class QueryEngine(Protocol):
    dialect: str
    """The sqlglot dialect the engine speaks: "athena" or "duckdb"."""
    database: str | None
    """The database that qualifies the contacts and events tables, if any."""

    def run(self, sql: str) -> Result:
        """Run one statement and return every row; raises tern.errors.QueryError on failure."""
        ...

    def has_org(self, org_id: str) -> bool:
        """Whether the lake holds any contacts for the org."""
        ...
