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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from tern import lake
from tern.imports.pinpoint.segments import column_for
from tern.imports.pinpoint.stream import Skipped, json_values, read
from tern.parquet import CONTACTS_SCHEMA

CHUNK = 50_000  # endpoints a Parquet chunk of the first pass
CHANNEL_CONSENTS = {"EMAIL": "email_marketing", "SMS": "sms_marketing"}
DEVICE = ("AppVersion", "Make", "Model", "ModelVersion", "Platform", "PlatformVersion")
_FLAT = pa.schema([("key", pa.string()), ("rank", pa.string()), ("id", pa.string()), ("address", pa.string()), ("endpoint", pa.string())])
_EVENTS = pa.schema([
    ("event_id", pa.string()), ("endpoint_id", pa.string()), ("address", pa.string()), ("event_type", pa.string()),
    ("ts", pa.timestamp("us")), ("channel", pa.string()), ("message_id", pa.string()), ("link", pa.string()),
    ("bounce_type", pa.string()), ("reason", pa.string()), ("properties", pa.map_(pa.string(), pa.string())), ("where", pa.string()),
])  # fmt: skip


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
    events: Counter[str] = field(default_factory=Counter)  # Tern event type -> events written
    days: int = 0  # event files written, one a day

    def public(self) -> dict[str, Any]:
        """The report as the command prints it."""
        return {
            "endpoints_read": self.endpoints, "contacts_made": self.contacts, "endpoints_merged": self.merged,
            "events": dict(sorted(self.events.items())), "event_days": self.days, "mapped": dict(sorted(self.mapped.items())),
            "dropped": [{"reason": r, "count": n, "example": self.examples.get(r)} for r, n in self.dropped.most_common()],
        }  # fmt: skip

    def drop(self, reason: str, where: str) -> None:
        self.dropped[reason] += 1
        self.examples.setdefault(reason, where)


def classify(files: list[Path]) -> tuple[list[Path], list[Path]]:
    """The endpoint files and the event-stream files among `files`, by their first record (an event record has an
    event_type); a file with no readable record is neither."""
    endpoints: list[Path] = []
    streams: list[Path] = []
    for path in files:
        for found in json_values(path):
            if isinstance(found, Skipped):
                continue
            if isinstance(found[0], dict):
                (streams if "event_type" in found[0] else endpoints).append(path)
            break
    return endpoints, streams


def key_of(endpoint: dict[str, Any]) -> str | None:
    """The contact an endpoint belongs to: its user, else its address, else itself."""
    user = endpoint.get("User") or {}
    if isinstance(user, dict) and user.get("UserId"):
        return str(user["UserId"])
    address = address_of(endpoint)
    if address:
        return f"address:{address}"
    return f"endpoint:{endpoint['Id']}" if endpoint.get("Id") else None


def address_of(endpoint: dict[str, Any]) -> str | None:
    """An EMAIL endpoint's address (trimmed, lowercase) or an SMS endpoint's number (trimmed); None for another channel."""
    address, channel = endpoint.get("Address"), str(endpoint.get("ChannelType") or "")
    if not address or channel not in CHANNEL_CONSENTS:
        return None
    return str(address).strip().lower() if channel == "EMAIL" else str(address).strip()


def usable(endpoint: dict[str, Any]) -> bool:
    """Messages may go to it: not INACTIVE, not opted out (`OptOut: ALL`)."""
    return bool(endpoint.get("EndpointStatus", "ACTIVE") != "INACTIVE" and endpoint.get("OptOut", "NONE") != "ALL")


def _rank(endpoint: dict[str, Any]) -> str:
    """Sorts a contact's endpoints best first: active and not opted out, then the latest EffectiveDate."""
    effective = str(endpoint.get("EffectiveDate") or "")
    inverted = "".join(chr(0x10FFFF - ord(c)) if ord(c) < 0x10FFFF else c for c in effective)  # later first
    return ("0" if usable(endpoint) else "1") + inverted


def convert_endpoints(paths: list[Path], out: Path, work: Path | None = None, report: EndpointReport | None = None) -> EndpointReport:
    """The endpoint files as one contacts Parquet file at `out` (written, then moved into place). With `work`, the
    flattened endpoints stay there (`endpoints-*.parquet`): what resolves the events' contacts."""
    report = report or EndpointReport()
    with tempfile.TemporaryDirectory(prefix="tern-endpoints-") as scratch:
        chunks = _flatten(paths, work or Path(scratch), report)
        with _placed(out) as partial, pq.ParquetWriter(partial, CONTACTS_SCHEMA) as writer:
            for rows in _merged(chunks, Path(scratch), report):
                writer.write_table(pa.Table.from_pylist(rows, schema=CONTACTS_SCHEMA))
    return report


def convert(endpoint_files: list[Path], stream_files: list[Path], lake_dir: Path, org: str) -> EndpointReport:
    """Endpoints and event-stream files as the org's contacts and events in the lake folder: the contacts as
    `contacts/org_id=ORG/pinpoint.parquet`, the events as `events/org_id=ORG/dt=DAY/pinpoint.parquet`, each file
    written whole and then moved into place."""
    report = EndpointReport()
    with tempfile.TemporaryDirectory(prefix="tern-pinpoint-") as work:
        contacts = lake_dir / "contacts" / f"org_id={org}"
        contacts.mkdir(parents=True, exist_ok=True)
        convert_endpoints(endpoint_files, contacts / "pinpoint.parquet", Path(work), report)
        if stream_files:
            convert_events(
                stream_files, sorted(Path(work).glob("endpoints-*.parquet")), lake_dir / "events" / f"org_id={org}", Path(work), report
            )
    return report


def convert_events(paths: list[Path], endpoints: list[Path], out: Path, work: Path, report: EndpointReport) -> None:
    """The stream files' events, each with the contact its endpoint (else its address) belongs to, one file a day
    under `out`; repeats (Firehose delivers at least once) written once; events of no known contact dropped."""
    writing = _Chunks(work, "events", _EVENTS)
    for path in paths:
        for event in read(path):
            if isinstance(event, Skipped):
                report.drop(event.reason, event.where)
                continue
            writing.add({**{k: getattr(event, k) for k in _EVENTS.names if k not in ("properties", "where")},
                         "properties": list(event.properties.items()), "where": path.name})  # fmt: skip
    chunks = writing.close()
    if not chunks:
        return
    connection = duckdb.connect(config={"temp_directory": str(work / "spill")})
    try:
        events = "read_parquet([" + ", ".join(f"'{c}'" for c in chunks) + "])"
        known = "read_parquet([" + ", ".join(f"'{c}'" for c in endpoints) + "])" if endpoints else None
        joined = (
            f"SELECT e.*, COALESCE(i.key, a.key) AS contact_id FROM {events} e "  # noqa: S608 - our own paths
            f"LEFT JOIN (SELECT id, any_value(key) AS key FROM {known} WHERE id IS NOT NULL GROUP BY id) i ON e.endpoint_id = i.id "
            f"LEFT JOIN (SELECT address, min(key) AS key FROM {known} WHERE address IS NOT NULL GROUP BY address) a "
            "ON lower(e.address) = a.address"
            if known
            else f"SELECT e.*, NULL::VARCHAR AS contact_id FROM {events} e"
        )
        connection.execute(f"CREATE TEMP TABLE resolved AS SELECT DISTINCT ON (event_id) * FROM ({joined})")
        unknown, where = connection.execute('SELECT count(*), any_value("where") FROM resolved WHERE contact_id IS NULL').fetchone() or (
            0,
            None,
        )
        if unknown:
            report.dropped["an event of no endpoint or address the export has"] += int(unknown)
            report.examples.setdefault("an event of no endpoint or address the export has", str(where))
        for event_type, count in connection.execute(
            "SELECT event_type, count(*) FROM resolved WHERE contact_id IS NOT NULL GROUP BY 1"
        ).fetchall():
            report.events[str(event_type)] += int(count)
        columns = ", ".join(
            f"{name}"
            if name
            in ("event_id", "contact_id", "event_type", "ts", "channel", "message_id", "link", "bounce_type", "reason", "properties")
            else ("link" if name == "url" else f"NULL::{_DUCK[lake.EVENTS[name]]}") + f" AS {name}"
            for name in lake.EVENTS
        )
        staged = work / "events-out"
        connection.execute(
            f"COPY (SELECT {columns}, strftime(ts, '%Y-%m-%d') AS dt FROM resolved WHERE contact_id IS NOT NULL) "
            f"TO '{staged}' (FORMAT PARQUET, PARTITION_BY (dt))"
        )
    finally:
        connection.close()
    for day in sorted(staged.glob("dt=*")):
        target = out / day.name
        target.mkdir(parents=True, exist_ok=True)
        files = sorted(day.glob("*.parquet"))
        table = pa.concat_tables([pq.read_table(f) for f in files]) if files else None
        if table is None:
            continue
        with _placed(target / "pinpoint.parquet") as partial:
            pq.write_table(table, partial)
        report.days += 1


_DUCK = {lake.ColumnType.STRING: "VARCHAR", lake.ColumnType.INT: "BIGINT", lake.ColumnType.DOUBLE: "DOUBLE", lake.ColumnType.BOOL: "BOOLEAN",
         lake.ColumnType.DATE: "DATE", lake.ColumnType.TIMESTAMP: "TIMESTAMP", lake.ColumnType.STRING_LIST: "VARCHAR[]",
         lake.ColumnType.STRING_MAP: "MAP(VARCHAR, VARCHAR)"}  # fmt: skip


class _Chunks:
    """Rows written to Parquet `CHUNK` at a time (`<work>/<name>-NNNNNN.parquet`): memory holds one chunk."""

    def __init__(self, work: Path, name: str, schema: pa.Schema):
        self.work, self.name, self.schema = work, name, schema
        self.rows: list[dict[str, Any]] = []
        self.paths: list[Path] = []

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= CHUNK:
            self._flush()

    def close(self) -> list[Path]:
        self._flush()
        return self.paths

    def _flush(self) -> None:
        if self.rows:
            self.paths.append(self.work / f"{self.name}-{len(self.paths):06d}.parquet")
            pq.write_table(pa.Table.from_pylist(self.rows, schema=self.schema), self.paths[-1])
            self.rows.clear()


@contextmanager
def _placed(out: Path) -> Iterator[str]:
    """A temporary file beside `out`, moved into place once written whole (removed if the writing fails)."""
    fd, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".partial")
    os.close(fd)
    try:
        yield partial
        os.replace(partial, out)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise


def _flatten(paths: list[Path], work: Path, report: EndpointReport) -> list[Path]:
    chunks = _Chunks(work, "endpoints", _FLAT)
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
            chunks.add({"key": key, "rank": _rank(endpoint), "id": str(endpoint["Id"]) if endpoint.get("Id") else None,
                        "address": address_of(endpoint), "endpoint": json.dumps(endpoint, separators=(",", ":"))})  # fmt: skip
    return chunks.close()


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
        channel, address = str(endpoint.get("ChannelType") or ""), address_of(endpoint)
        column = {"EMAIL": "email", "SMS": "phone"}.get(channel)
        if column and address and not row.get(column):
            row[column] = address
        if channel in CHANNEL_CONSENTS and usable(endpoint) and CHANNEL_CONSENTS[channel] not in row["consents"]:
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
