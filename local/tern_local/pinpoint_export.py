"""A Pinpoint export job's endpoint files as Tern's contacts (issue 31, second step; not yet a command). Local code:
it runs where `tern import` runs, with DuckDB, never in a Lambda function.

An export job writes one or more gzip files under its S3 prefix, one endpoint a line, shaped as botocore's
EndpointResponse (Address, ChannelType, EndpointStatus, OptOut, Attributes, Metrics, Location, Demographic, User
{UserId, UserAttributes}, CreationDate, EffectiveDate, Id). A contact is a user (`User.UserId`); an endpoint without
one is a contact of its own, keyed by its e-mail address or phone number (`address:<address>`), else by its id.

Memory stays flat however large the export: each endpoint is flattened and written to Parquet in chunks; DuckDB
sorts them by contact on disk; the sorted rows come back a batch at a time and each contact's endpoints, which are
then next to each other, are merged into its row, written to the output as they come. The output is written under
a temporary name and moved into place: never half a dataset.

A contact's row (mapped as tern.imports.pinpoint.segments maps Pinpoint's dimensions, so an imported segment means
the same on the converted lake), each value from the best of its endpoints that has one (active and not opted out
first, then the latest EffectiveDate):
- `email` / `phone`: the Address of its EMAIL / SMS endpoints, an active one first, then the latest EffectiveDate;
- `consents`: `email_marketing` / `sms_marketing` when an endpoint of that channel is ACTIVE and not opted out
  (`OptOut: ALL` or INACTIVE is a withdrawn consent for its channel);
- user attributes, then endpoint attributes, then metrics: a name that is a contacts column (FirstName ->
  first_name, LeadScore -> lead_score) fills it (a list column takes every value, another the first, as its type);
  any other is kept in `attributes` (the first value; a metric as its number);
- Location's City, PostalCode, Country, Latitude, Longitude; Region in `attributes`; Demographic's Timezone and
  Locale (its language), and AppVersion, Make, Model, ModelVersion, Platform, PlatformVersion in `attributes`;
- `created_at`: the earliest CreationDate; `updated_at`: the latest EffectiveDate.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tern import lake
from tern.imports.pinpoint.segments import column_for
from tern.imports.pinpoint.stream import Skipped, json_values
from tern.parquet import CONTACTS_SCHEMA

CHUNK = 50_000  # endpoints a Parquet chunk of the first pass
CHANNEL_CONSENTS = {"EMAIL": "email_marketing", "SMS": "sms_marketing"}
DEVICE = ("AppVersion", "Make", "Model", "ModelVersion", "Platform", "PlatformVersion")
_FLAT = pa.schema([("key", pa.string()), ("rank", pa.string()), ("endpoint", pa.string())])


@dataclass
class EndpointReport:
    """What the conversion did: endpoints read, contacts made, endpoints merged into another's contact, and what was
    dropped, each reason with a count and an example (file:line)."""

    endpoints: int = 0
    contacts: int = 0
    merged: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)
    mapped: Counter[str] = field(default_factory=Counter)  # "Attributes.tier -> attributes.tier", ...

    def drop(self, reason: str, where: str) -> None:
        self.dropped[reason] += 1
        self.examples.setdefault(reason, where)


def key_of(endpoint: dict[str, Any]) -> str | None:
    """The contact an endpoint belongs to: its user, else its address, else itself."""
    user = endpoint.get("User") or {}
    if isinstance(user, dict) and user.get("UserId"):
        return str(user["UserId"])
    address, channel = endpoint.get("Address"), str(endpoint.get("ChannelType") or "")
    if address and channel in CHANNEL_CONSENTS:
        return f"address:{str(address).strip().lower() if channel == 'EMAIL' else str(address).strip()}"
    return f"endpoint:{endpoint['Id']}" if endpoint.get("Id") else None


def _rank(endpoint: dict[str, Any]) -> str:
    """Sorts a contact's endpoints best first: active and not opted out, then the latest EffectiveDate."""
    usable = endpoint.get("EndpointStatus", "ACTIVE") != "INACTIVE" and endpoint.get("OptOut", "NONE") != "ALL"
    effective = str(endpoint.get("EffectiveDate") or "")
    inverted = "".join(chr(0x10FFFF - ord(c)) if ord(c) < 0x10FFFF else c for c in effective)  # later first
    return ("0" if usable else "1") + inverted


def convert_endpoints(paths: list[Path], out: Path) -> EndpointReport:
    """The endpoint files as one contacts Parquet file at `out` (written, then moved into place)."""
    report = EndpointReport()
    with tempfile.TemporaryDirectory(prefix="tern-endpoints-") as work:
        chunks = _flatten(paths, Path(work), report)
        fd, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
        os.close(fd)
        try:
            with pq.ParquetWriter(partial, CONTACTS_SCHEMA) as writer:
                for rows in _merged(chunks, Path(work), report):
                    writer.write_table(pa.Table.from_pylist(rows, schema=CONTACTS_SCHEMA))
            os.replace(partial, out)
        except BaseException:
            Path(partial).unlink(missing_ok=True)
            raise
    return report


def _flatten(paths: list[Path], work: Path, report: EndpointReport) -> list[Path]:
    chunks: list[Path] = []
    rows: list[dict[str, str]] = []

    def flush() -> None:
        if rows:
            chunks.append(work / f"chunk-{len(chunks):06d}.parquet")
            pq.write_table(pa.Table.from_pylist(rows, schema=_FLAT), chunks[-1])
            rows.clear()

    for path in paths:
        for found in json_values(path):
            if isinstance(found, Skipped):
                report.drop(found.reason, found.where)
                continue
            endpoint, where = found
            if not isinstance(endpoint, dict):
                report.drop("not an endpoint (a JSON object)", where)
                continue
            key = key_of(endpoint)
            if key is None:
                report.drop("neither a user, an e-mail or SMS address, nor an id", where)
                continue
            report.endpoints += 1
            rows.append({"key": key, "rank": _rank(endpoint), "endpoint": json.dumps(endpoint, separators=(",", ":"))})
            if len(rows) >= CHUNK:
                flush()
    flush()
    return chunks


def _merged(chunks: list[Path], work: Path, report: EndpointReport) -> Iterator[list[dict[str, Any]]]:
    if not chunks:
        return
    connection = duckdb.connect(config={"temp_directory": str(work / "spill")})
    try:
        files = ", ".join(f"'{c}'" for c in chunks)
        sorted_rows = connection.sql(f"SELECT key, endpoint FROM read_parquet([{files}]) ORDER BY key, rank")  # noqa: S608 - our own paths
        reader: pa.RecordBatchReader = sorted_rows.to_arrow_reader(10_000)  # type: ignore[assignment]
        key: str | None = None
        group: list[dict[str, Any]] = []
        out: list[dict[str, Any]] = []
        for batch in reader:
            for k, text in zip(batch.column("key").to_pylist(), batch.column("endpoint").to_pylist(), strict=True):
                if k != key and group:
                    out.append(contact(key, group, report))  # type: ignore[arg-type]
                    group = []
                key = k
                group.append(json.loads(text))
            if len(out) >= 10_000:
                yield out
                out = []
        if group:
            out.append(contact(key, group, report))  # type: ignore[arg-type]
        if out:
            yield out
    finally:
        connection.close()


def contact(key: str, endpoints: list[dict[str, Any]], report: EndpointReport) -> dict[str, Any]:
    """One contact's row from its endpoints, best first (active and not opted out, then the latest)."""
    report.contacts += 1
    report.merged += len(endpoints) - 1
    row: dict[str, Any] = {"contact_id": key, "attributes": {}, "consents": []}
    for endpoint in endpoints:
        channel = str(endpoint.get("ChannelType") or "")
        address = endpoint.get("Address")
        column = {"EMAIL": "email", "SMS": "phone"}.get(channel)
        if column and address and not row.get(column):
            row[column] = str(address).strip().lower() if column == "email" else str(address).strip()
        usable = endpoint.get("EndpointStatus", "ACTIVE") != "INACTIVE" and endpoint.get("OptOut", "NONE") != "ALL"
        if channel in CHANNEL_CONSENTS and usable and CHANNEL_CONSENTS[channel] not in row["consents"]:
            row["consents"].append(CHANNEL_CONSENTS[channel])
    # each value from the best endpoint that has it: user attributes first, then the endpoints' own, then metrics
    for source in ("User.UserAttributes", "Attributes", "Metrics"):
        for endpoint in endpoints:
            values = (endpoint.get("User") or {}).get("UserAttributes") if source == "User.UserAttributes" else endpoint.get(source)
            for name, value in (values or {}).items():
                _put(row, name, value if isinstance(value, list) else [value], f"{source}.{name}", report)
    for endpoint in endpoints:
        location, demographic = endpoint.get("Location") or {}, endpoint.get("Demographic") or {}
        for name, column in (("City", "city"), ("PostalCode", "postal_code"), ("Country", "country"), ("Latitude", "latitude"),
                             ("Longitude", "longitude"), ("Timezone", "timezone")):  # fmt: skip
            value = location.get(name) if name != "Timezone" else demographic.get(name)
            if value is not None and row.get(column) is None:
                row[column] = _typed(column, value)
        if demographic.get("Locale") and not row.get("language"):
            row["language"] = str(demographic["Locale"]).split("_")[0].lower()
        for name in ("Region", *DEVICE):
            value = location.get(name) if name == "Region" else demographic.get(name)
            if value:
                row["attributes"].setdefault(name, str(value))
    created = [c for c in (_time(e.get("CreationDate")) for e in endpoints) if c]
    updated = [c for c in (_time(e.get("EffectiveDate")) for e in endpoints) if c]
    row.setdefault("created_at", min(created) if created else None)
    row["updated_at"] = max(updated) if updated else None
    row["attributes"] = list(row["attributes"].items())
    return row


def _put(row: dict[str, Any], name: str, values: list[Any], source: str, report: EndpointReport) -> None:
    column = column_for(name)
    kind = lake.CONTACTS.get(column or "")
    if column and kind is lake.ColumnType.STRING_LIST:
        merged = row.get(column) or []
        row[column] = merged + [str(v) for v in values if str(v) not in merged]
        report.mapped[f"{source} -> {column}"] += 1
        return
    if column and column != "contact_id" and row.get(column) is None and values:
        typed = _typed(column, values[0])
        if typed is not None:
            row[column] = typed
            report.mapped[f"{source} -> {column}"] += 1
            return
    if values and name not in row["attributes"]:
        row["attributes"][name] = format(values[0], "g") if isinstance(values[0], float) else str(values[0])
        report.mapped[f"{source} -> attributes.{name}"] += 1


def _typed(column: str, value: Any) -> Any:
    """`value` as the column's type, or None when it cannot be."""
    kind = lake.CONTACTS[column]
    try:
        if kind is lake.ColumnType.INT:
            return int(float(value))
        if kind is lake.ColumnType.DOUBLE:
            return float(value)
        if kind is lake.ColumnType.BOOL:
            return str(value).strip().lower() in ("true", "yes", "1")
        if kind is lake.ColumnType.DATE:
            return dt.date.fromisoformat(str(value)[:10])
        if kind is lake.ColumnType.TIMESTAMP:
            return _time(value)
    except (TypeError, ValueError):
        return None
    text = str(value)
    return text.lower() if column == "gender" else text


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed  # naive UTC, as the lake keeps times
