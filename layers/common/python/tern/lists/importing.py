"""Importing a static list: a CSV of contact ids or e-mail addresses becomes a Parquet list in the lake.

Every row is accounted for: matched to a contact, unknown (no such contact in the org), a duplicate,
or bad (empty, not an e-mail address); the first of each kind are reported back with line numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import uuid
from dataclasses import dataclass, field

import pyarrow as pa
from sqlglot import exp

from tern.engines import QueryEngine
from tern.errors import DefinitionError, Problem
from tern.lists.repository import ListRecord, ListRepository
from tern.parquet import parquet_bytes
from tern.ports import LakeFiles
from tern.text import one_line_problem

REPORTED = 100
LOOKUP_BATCH = 1000  # values per lookup statement: Athena caps a statement at 256 KB


@dataclass
class ImportReport:
    record: ListRecord
    unknown: list[dict[str, object]] = field(default_factory=list)
    bad_rows: list[dict[str, object]] = field(default_factory=list)


def _lookup(engine: QueryEngine, org_id: str, key: str, values: list[str]) -> dict[str, str]:
    """Which of the values name a contact of the org: value -> contact_id."""
    found: dict[str, str] = {}
    column = exp.column(key, table="c")
    probe = exp.func("LOWER", column) if key == "email" else column
    table = exp.table_("contacts", db=engine.database)
    for start in range(0, len(values), LOOKUP_BATCH):
        batch = values[start : start + LOOKUP_BATCH]
        sql = (
            exp.select(exp.column("contact_id", table="c"), exp.alias_(probe.copy(), "probe"))
            .from_(exp.alias_(table, "c", table=True))
            .where(exp.EQ(this=exp.column("org_id", table="c"), expression=exp.Literal.string(org_id)))
            .where(probe.copy().isin(*[exp.Literal.string(v) for v in batch]))
            .sql(dialect=engine.dialect)
        )
        for contact_id, value in engine.run(sql).rows:
            found.setdefault(str(value), str(contact_id))
    return found


SEPARATORS = (",", ";", "\t")  # Excel writes ";" where the decimal mark is a comma (much of Europe)


def _header(csv_text: str) -> tuple[str, list[str]]:
    """The separator and the header's column names: the first separator whose header names a key column, else
    the one the header line holds most of."""
    first = next(iter(csv_text.splitlines()), "")
    headers = {sep: _cells(first, sep) for sep in SEPARATORS}
    for sep, header in headers.items():
        if "contact_id" in header or "email" in header:
            return sep, header
    sep = max(SEPARATORS, key=first.count)
    return sep, headers[sep]


def _cells(line: str, separator: str) -> list[str]:
    try:
        return [h.strip().lower() for h in next(csv.reader([line], delimiter=separator), [])]
    except csv.Error:
        return []


def import_list(
    csv_text: str, name: str, org_id: str, engine: QueryEngine, files: LakeFiles, lists: ListRepository, now: dt.datetime
) -> ImportReport:
    """Read the CSV (a header naming contact_id or email), match it to the org's contacts, store the list."""
    bom = csv_text.startswith("\ufeff")  # Excel's "CSV UTF-8" starts with one
    csv_text = csv_text.removeprefix("\ufeff")
    separator, header = _header(csv_text)
    keys = [k for k in ("contact_id", "email") if k in header]
    if not keys:
        first = next(iter(csv_text.splitlines()), "").strip()[:100]
        raise DefinitionError([Problem("body", f"the first CSV row must name a contact_id or email column; it reads {first!r}")])
    key = keys[0]
    position = header.index(key)
    reader = csv.reader(io.StringIO(csv_text, newline=""), delimiter=separator)
    wanted: dict[str, int] = {}  # value -> first line
    bad: list[dict[str, object]] = []
    duplicates = rows = 0
    try:  # a stray quote or a NUL stops the reader: say where
        next(reader)
        for line, row in enumerate(reader, start=2):
            if not any(cell.strip() for cell in row):
                continue
            rows += 1
            value = row[position].strip() if position < len(row) else ""
            if key == "email":
                value = value.lower()
            if not value:
                bad.append({"line": line, "reason": f"no {key}"})
            elif key == "email" and ("@" not in value or " " in value):
                bad.append({"line": line, "reason": f"not an e-mail address: {value[:100]}"})
            elif one_line_problem(value):
                bad.append({"line": line, "reason": f"contains a control character: {value[:100]!r}"})
            elif value in wanted:
                duplicates += 1
            else:
                wanted[value] = line
    except csv.Error as e:
        raise DefinitionError([Problem("body", f"the CSV cannot be read at line {reader.line_num}: {e}")]) from None
    if not wanted:
        raise DefinitionError([Problem("body", f"no usable rows: {rows} rows, {len(bad)} bad")])

    found = _lookup(engine, org_id, key, list(wanted))
    matched = sorted(set(found.values()))
    unknown = [{"line": line, "value": value[:200]} for value, line in wanted.items() if value not in found]
    list_id = uuid.uuid4().hex[:12]
    location = f"lists/org_id={org_id}/list_id={list_id}/list.parquet"
    files.put(location, parquet_bytes(pa.table({"contact_id": pa.array(matched, pa.string())})))
    record = ListRecord(
        id=list_id, org_id=org_id, name=name, key=key, rows=rows, matched=len(matched), unknown=len(unknown),
        duplicates=duplicates, bad_rows=len(bad), location=location, created_at=now, separator=separator, bom=bom,
    )  # fmt: skip
    lists.create(record)
    return ImportReport(record=record, unknown=unknown[:REPORTED], bad_rows=bad[:REPORTED])
