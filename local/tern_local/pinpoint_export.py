"""A Pinpoint export job's endpoint files and its event stream's files as an org's contacts and events
(`tern import pinpoint-data`, issue 31; the events' mapping is tern_local.pinpoint_stream). Local code: it runs where
`tern import` runs, with DuckDB, never in a Lambda function.

An export job writes one or more gzip files under its S3 prefix, one endpoint a line, shaped as botocore's
EndpointResponse (Address, ChannelType, EndpointStatus, OptOut, Attributes, Metrics, Location, Demographic, User
{UserId, UserAttributes}, CreationDate, EffectiveDate, Id). A contact is a user (`User.UserId`); an endpoint without
one is a contact of its own, keyed by its e-mail address or phone number (`address:<address>`), else by its id.

Memory stays flat however large the export: each endpoint is flattened and written to Parquet in chunks; DuckDB
sorts them by contact on disk; the sorted rows come back a batch at a time and each contact's endpoints, which are
then next to each other, are merged into its row, written to the output as they come. Each output file is written
under a temporary name and moved into place: never half a file.

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
import functools
import json
import multiprocessing
import os
import signal
import tempfile
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa
import pyarrow.compute  # noqa: F401 - pa.compute
import pyarrow.parquet as pq

from tern import lake
from tern.clock import naive_utc
from tern.engines.duckdb import DUCKDB_TYPES, quote
from tern.imports.pinpoint.segments import column_for
from tern.parquet import CONTACTS_SCHEMA
from tern_local.pinpoint_stream import Skipped, json_values, mapped, salvaged

CHUNK = 50_000  # endpoints a Parquet chunk of the first pass
MEMORY_MB = 2048  # DuckDB's limit, shared by its processes: what does not fit is spilled to the work folder
WORKERS = max(1, min(2, os.cpu_count() or 1))  # processes converting files, contacts and days side by side
PARALLEL_ENDPOINTS = 200_000  # from this many endpoints, contacts are merged in WORKERS parts
UNKNOWN = "an event of no endpoint or address the export has"
_T = TypeVar("_T")
_column = functools.cache(column_for)  # a handful of names, asked for each endpoint
CHANNEL_CONSENTS = {"EMAIL": "email_marketing", "SMS": "sms_marketing"}
DEVICE = ("AppVersion", "Make", "Model", "ModelVersion", "Platform", "PlatformVersion")
_FLAT = pa.schema(
    [
        ("key", pa.string()),
        ("usable", pa.bool_()),
        ("effective", pa.string()),
        ("id", pa.string()),
        ("address", pa.string()),
        ("endpoint", pa.string()),
    ]
)


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
    withdrawn: int = 0  # consents the stream's unsubscribes and opt-outs withdrew

    def public(self) -> dict[str, Any]:
        """The report as the command prints it."""
        return {
            "endpoints_read": self.endpoints, "contacts_made": self.contacts, "endpoints_merged": self.merged,
            "consents_withdrawn_by_the_stream": self.withdrawn,
            "events": dict(sorted(self.events.items())), "event_days": self.days, "mapped": dict(sorted(self.mapped.items())),
            "dropped": [{"reason": r, "count": n, "example": self.examples.get(r)} for r, n in self.dropped.most_common()],
        }  # fmt: skip

    def add(self, other: EndpointReport) -> None:
        """What another process converted, added to this report (its examples where this one has none)."""
        self.endpoints, self.contacts, self.merged, self.days = (
            self.endpoints + other.endpoints, self.contacts + other.contacts, self.merged + other.merged, self.days + other.days
        )  # fmt: skip
        self.dropped.update(other.dropped)
        self.mapped.update(other.mapped)
        self.events.update(other.events)
        for reason, where in other.examples.items():
            self.examples.setdefault(reason, where)

    def drop(self, reason: str, where: str) -> None:
        self.dropped[reason] += 1
        self.examples.setdefault(reason, where)


def classify(files: list[Path]) -> tuple[list[Path], list[Path], list[Skipped]]:
    """The endpoint files and the event-stream files among `files`, by their first record (an event record has an
    event_type), and the files that are neither, each with why."""
    endpoints: list[Path] = []
    streams: list[Path] = []
    neither: list[Skipped] = []
    for path in files:
        for found in json_values(path):
            if isinstance(found, Skipped):
                continue
            if isinstance(found[0], dict):
                (streams if "event_type" in found[0] else endpoints).append(path)
            else:
                neither.append(Skipped("a file whose first record is not a JSON object: neither endpoints nor events", path.name))
            break
        else:
            neither.append(Skipped("a file with no JSON record that can be read", path.name))
    return endpoints, streams, neither


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


def convert_endpoints(paths: list[Path], out: Path, work: Path | None = None, report: EndpointReport | None = None) -> EndpointReport:
    """The endpoint files as one contacts Parquet file at `out` (written, then moved into place). With `work`, the
    flattened endpoints stay there (`endpoints-*.parquet`): what resolves the events' contacts.

    Files are flattened side by side (WORKERS processes); a large export's contacts are merged in WORKERS parts (by
    a hash of the contact), each sorted by DuckDB on its own, then written one after the other into `out`."""
    report = report or EndpointReport()
    with tempfile.TemporaryDirectory(prefix="tern-endpoints-") as scratch:
        chunks: list[Path] = []
        for flat, part in _each(_flatten, [(number, path, work or Path(scratch)) for number, path in enumerate(paths)]):
            chunks += flat
            report.add(part)
        parts = WORKERS if report.endpoints >= PARALLEL_ENDPOINTS else 1
        with _placed(out) as partial, pq.ParquetWriter(partial, CONTACTS_SCHEMA) as writer:
            for written, part in _each(_merge, [(n, parts, chunks, Path(scratch)) for n in range(parts)]):
                report.add(part)
                if written:
                    _copy(written, writer)
    return report


def convert(
    endpoint_files: list[Path],
    stream_files: list[Path],
    lake_dir: Path,
    org: str,
    neither: Sequence[Skipped] = (),
    work_dir: Path | None = None,
) -> EndpointReport:
    """Endpoints and event-stream files as the org's contacts and events in the lake folder: the events as
    `events/org_id=ORG/dt=DAY/pinpoint.parquet`, then the contacts as `contacts/org_id=ORG/pinpoint.parquet`, each file
    written whole and then moved into place. A contact who unsubscribed (`_email.unsubscribe`) or opted out
    (`_SMS.OPTOUT`) in the stream has that channel's consent withdrawn, whatever the endpoint still said: the
    contacts are placed only once that is done, so no converted lake ever holds a consent its stream took back.
    What is worked on meanwhile (flattened endpoints, mapped events, DuckDB's spill: a few times the export's size)
    is in `work_dir`, by default the system's temporary folder."""
    report = EndpointReport()
    for skipped in neither:
        report.drop(skipped.reason, skipped.where)
    with tempfile.TemporaryDirectory(prefix="tern-pinpoint-", dir=work_dir) as work:
        staged = Path(work) / "contacts-staged.parquet"
        convert_endpoints(endpoint_files, staged, Path(work), report)
        events = lake_dir / "events" / f"org_id={org}"
        if stream_files:
            convert_events(stream_files, sorted(Path(work).glob("endpoints-*.parquet")), events, Path(work), report)
        contacts = lake_dir / "contacts" / f"org_id={org}"
        contacts.mkdir(parents=True, exist_ok=True)
        _withdrawn(staged, sorted(events.glob("dt=*/pinpoint.parquet")), contacts / "pinpoint.parquet", Path(work), report)
    return report


WITHDRAWING = {"email_unsubscribed": "email_marketing", "sms_opted_out": "sms_marketing"}


def _withdrawn(staged: Path, days: list[Path], out: Path, work: Path, report: EndpointReport) -> None:
    """The staged contacts at `out`, each without the consents its unsubscribe and opt-out events withdrew."""
    with _placed(out) as partial, pq.ParquetWriter(partial, CONTACTS_SCHEMA) as writer:
        if not days:
            _copy(staged, writer)
            return
        events = "read_parquet([" + ", ".join(quote(d) for d in days) + "])"
        kinds = ", ".join(f"'{k}'" for k in WITHDRAWING)
        consent = "CASE event_type " + " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in WITHDRAWING.items()) + " END"
        with _duckdb(work) as connection:
            rows = connection.sql(
                f"WITH w AS (SELECT contact_id, list(DISTINCT {consent}) AS withdrawn FROM {events} WHERE event_type IN ({kinds}) GROUP BY 1) "  # noqa: S608
                "SELECT c.* REPLACE (CASE WHEN w.withdrawn IS NULL THEN c.consents "
                "ELSE list_filter(c.consents, lambda x: NOT list_contains(w.withdrawn, x)) END AS consents), "
                "CASE WHEN w.withdrawn IS NULL THEN 0 ELSE len(list_filter(c.consents, lambda x: list_contains(w.withdrawn, x))) END AS _withdrawn "
                f"FROM read_parquet({quote(staged)}) c LEFT JOIN w ON c.contact_id = w.contact_id"
            )
            reader: pa.RecordBatchReader = rows.to_arrow_reader(10_000)  # type: ignore[assignment]
            for batch in reader:
                withdrawn = pa.compute.sum(batch.column("_withdrawn")).as_py() or 0
                report.withdrawn += int(withdrawn)
                writer.write_table(
                    pa.Table.from_batches([batch]).drop_columns(["_withdrawn"]).select(CONTACTS_SCHEMA.names).cast(CONTACTS_SCHEMA)
                )


def convert_events(paths: list[Path], endpoints: list[Path], out: Path, work: Path, report: EndpointReport) -> None:
    """The stream files' events, each with the contact its endpoint (else its address) belongs to, one file a day
    under `out`; repeats (Firehose delivers at least once) written once; events of no known contact dropped.

    Each stream file is mapped by DuckDB (tern_local.pinpoint_stream) and its events written at once into one folder
    a day under `work` (what was dropped into a folder of its own); then each day's events are written once each
    into the day's file. DuckDB reads a gzip file on one core: WORKERS processes map files side by side, then write
    days side by side. Memory: what DuckDB's limit gives each, one file or one day at a time."""
    lookup = work / "lookup.duckdb"
    with _duckdb(work, lookup) as connection:
        if endpoints:
            known = "read_parquet([" + ", ".join(quote(c) for c in endpoints) + "])"
            connection.execute(f"CREATE TABLE ids AS SELECT id, any_value(key) AS key FROM {known} WHERE id IS NOT NULL GROUP BY id")  # noqa: S608
            connection.execute(
                f"CREATE TABLE addresses AS SELECT address, min(key) AS key FROM {known} WHERE address IS NOT NULL GROUP BY address"
            )  # noqa: S608
        else:
            connection.execute("CREATE TABLE ids (id VARCHAR, key VARCHAR); CREATE TABLE addresses (address VARCHAR, key VARCHAR)")
    days = work / "days"
    with _duckdb(work) as connection:
        for path, source, dropped, skipped in _each(_map_file, [(n, p, work, lookup) for n, p in enumerate(paths)]):
            for bad in skipped:
                report.drop(bad.reason, bad.where)
            report.dropped.update(dropped)
            for reason in (r for r in dropped if r not in report.examples):  # the first file that has it: its record's place
                connection.execute("SET preserve_insertion_order = true")  # records counted in the file's order
                at = connection.execute(
                    f"SELECT record FROM ({mapped(source, numbered=True)}) WHERE dropped = ? LIMIT 1", [reason]
                ).fetchone()
                report.examples[reason] = f"{path.name} (record {at[0]})" if at else path.name
            if source != path:
                source.unlink()  # the clean copy
    found = sorted(d for d in days.glob("day=*") if d.name != "day=dropped") if days.exists() else []
    for unknown, where, counts in _each(_write_day, [(day, out / f"dt={day.name.removeprefix('day=')}", work) for day in found]):
        if unknown:
            report.dropped[UNKNOWN] += unknown
            report.examples.setdefault(UNKNOWN, where)
        report.events.update(counts)
        report.days += 1 if counts else 0


def _each(run: Callable[[Any], _T], jobs: list[Any]) -> Iterator[_T]:
    """run(job) for each job, in order: in WORKERS processes when there are several jobs, else here."""
    if WORKERS < 2 or len(jobs) < 2:
        yield from map(run, jobs)
        return
    with ProcessPoolExecutor(WORKERS, mp_context=multiprocessing.get_context("spawn"), initializer=_worker) as pool:
        yield from pool.map(run, jobs)


def _worker() -> None:
    """A worker process leaves Ctrl-C to the command (which says "interrupted" once): no traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _map_file(job: tuple[int, Path, Path, Path]) -> tuple[Path, Path, Counter[str], list[Skipped]]:
    """One stream file's records, mapped, their contacts found (in the lookup database), written into one folder a day
    under `work`/days: the file, what was mapped (the file, or its clean copy), what was dropped by reason, and the
    values that were not JSON."""
    number, path, work, lookup = job
    days = work / "days"
    dropped: Counter[str] = Counter()
    skipped: list[Skipped] = []
    with _duckdb(work, lookup, read_only=True) as connection:
        staged = work / f"mapped-{number:05d}.parquet"

        def stage(source: Path) -> None:  # mapped first, on its own: DuckDB cannot tell a JSON file's size to plan the join
            connection.execute(f"COPY ({mapped(source)}) TO {quote(staged)} (FORMAT PARQUET)")

        source = path
        try:
            stage(source)
        except (duckdb.InvalidInputException, duckdb.IOException):  # not all of it is JSON, or it ends short: read again here
            source = salvaged(path, work / f"clean-{number:05d}.json", skipped)
            stage(source)
        connection.execute(
            f"COPY (SELECT m.* EXCLUDE (record), coalesce(i.key, a.key) AS contact_id, {quote(path.name)} AS source, "  # noqa: S608
            "CASE WHEN m.dropped IS NULL THEN strftime(m.ts, '%Y-%m-%d') ELSE 'dropped' END AS day "
            f"FROM read_parquet({quote(staged)}) m LEFT JOIN ids i ON m.endpoint_id = i.id LEFT JOIN addresses a ON lower(m.address) = a.address) "
            f"TO {quote(days)} (FORMAT PARQUET, PARTITION_BY (day), APPEND, ROW_GROUP_SIZE 16384, FILENAME_PATTERN 'file{number}_{{uuid}}')"
        )
        staged.unlink()
        if list((days / "day=dropped").glob(f"file{number}_*")):
            files = "read_parquet(" + quote(days / "day=dropped" / f"file{number}_*.parquet") + ")"
            for reason, count in connection.execute(f"SELECT dropped, count(*) FROM {files} GROUP BY 1").fetchall():  # noqa: S608
                dropped[reason] += count
    return path, source, dropped, skipped


def _write_day(job: tuple[Path, Path, Path]) -> tuple[int, str, Counter[str]]:
    """A day's events, each once, as the day's file (written, then moved into place): how many were of no known
    contact (with a file they came from), and how many were written of each type."""
    day, target, work = job
    files = "read_parquet(" + quote(day / "*.parquet") + ")"
    kept = {"event_id", "contact_id", "event_type", "ts", "channel", "message_id", "link", "bounce_type", "reason", "properties"}
    columns = ", ".join(
        name if name in kept else f"{'link' if name == 'url' else 'NULL::' + DUCKDB_TYPES[lake.EVENTS[name]]} AS {name}"
        for name in lake.EVENTS
    )
    with _duckdb(work) as connection:
        unknown, where = connection.execute(
            f"SELECT count(DISTINCT event_id), any_value(source) FROM {files} WHERE contact_id IS NULL"  # noqa: S608
        ).fetchone() or (0, None)
        counts: Counter[str] = Counter()
        if connection.execute(f"SELECT count(*) FROM {files} WHERE contact_id IS NOT NULL").fetchone() != (0,):  # noqa: S608
            target.mkdir(parents=True, exist_ok=True)
            with _placed(target / "pinpoint.parquet") as partial:
                connection.execute(
                    f"COPY (SELECT DISTINCT ON (event_id) {columns} FROM {files} WHERE contact_id IS NOT NULL) "  # noqa: S608
                    f"TO {quote(partial)} (FORMAT PARQUET)"
                )
                for event_type, count in connection.execute(
                    f"SELECT event_type, count(*) FROM read_parquet({quote(partial)}) GROUP BY 1"
                ).fetchall():  # noqa: S608
                    counts[str(event_type)] = int(count)
    return int(unknown), str(where), counts


@contextmanager
def _duckdb(work: Path, database: Path | None = None, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB (on `database`, else in memory) held to its share of MEMORY (what does not fit is spilled to `work`),
    with no progress bar."""
    connection = duckdb.connect(str(database) if database else ":memory:", read_only=read_only)
    try:
        connection.execute(
            f"SET memory_limit = '{MEMORY_MB // WORKERS}MB'; SET temp_directory = {quote(work / f'spill-{uuid.uuid4().hex}')}; "
            "SET enable_progress_bar = false; SET preserve_insertion_order = false; SET partitioned_write_flush_threshold = 65536; SET partitioned_write_max_open_files = 32"
        )
        yield connection
    finally:
        connection.close()


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


def _copy(path: Path, writer: pq.ParquetWriter) -> None:
    """A Parquet file's rows appended to `writer`, a batch at a time."""
    for batch in pq.ParquetFile(path).iter_batches(10_000):
        writer.write_batch(batch)


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


def _flatten(job: tuple[int, Path, Path]) -> tuple[list[Path], EndpointReport]:
    """One endpoint file as Parquet chunks in `work` (contact key, rank, id, address, the endpoint as JSON)."""
    number, path, work = job
    report = EndpointReport()
    chunks = _Chunks(work, f"endpoints-{number:05d}", _FLAT)
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
        chunks.add({"key": key, "usable": usable(endpoint), "effective": str(endpoint.get("EffectiveDate") or ""),
                    "id": str(endpoint["Id"]) if endpoint.get("Id") else None, "address": address_of(endpoint),
                    "endpoint": json.dumps(endpoint, separators=(",", ":"))})  # fmt: skip
    return chunks.close(), report


def _merge(job: tuple[int, int, list[Path], Path]) -> tuple[Path | None, EndpointReport]:
    """Part `part` of `parts` of the contacts (by a hash of their key) merged from the chunks, as a Parquet file."""
    part, parts, chunks, work = job
    report = EndpointReport()
    if not chunks:
        return None, report
    written = work / f"contacts-{part}.parquet"
    with _duckdb(work) as connection, pq.ParquetWriter(written, CONTACTS_SCHEMA) as writer:
        files = ", ".join(quote(c) for c in chunks)
        # a contact's endpoints together, the best first: active and not opted out, then the latest
        sorted_rows = connection.sql(
            f"SELECT key, endpoint FROM read_parquet([{files}]) WHERE hash(key) % {parts} = {part} "  # noqa: S608 - our own paths
            "ORDER BY key, usable DESC, effective DESC"
        )
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
                writer.write_table(pa.Table.from_pylist(out, schema=CONTACTS_SCHEMA))
                out = []
        if group:
            out.append(contact(key, group, report))  # type: ignore[arg-type]
        if out:
            writer.write_table(pa.Table.from_pylist(out, schema=CONTACTS_SCHEMA))
    return written, report


def contact(key: str, endpoints: list[dict[str, Any]], report: EndpointReport) -> dict[str, Any]:
    """One contact's row from its endpoints, best first (active and not opted out, then the latest). An endpoint
    exported more than once (the same Id: several export jobs saved under one prefix) counts as its latest copy
    only: an older ACTIVE copy never brings back a consent the endpoint withdrew later."""
    latest: dict[str, str] = {}
    for endpoint in endpoints:
        if endpoint.get("Id"):
            endpoint_id, effective = str(endpoint["Id"]), str(endpoint.get("EffectiveDate") or "")
            latest[endpoint_id] = max(latest.get(endpoint_id, effective), effective)
    if len(latest) < sum(1 for e in endpoints if e.get("Id")):
        kept, seen = [], set()
        for endpoint in endpoints:
            endpoint_id = str(endpoint.get("Id") or "")
            if endpoint_id and (endpoint_id in seen or str(endpoint.get("EffectiveDate") or "") != latest[endpoint_id]):
                report.drop("an older copy of an endpoint exported again (the same Id)", f"endpoint {endpoint_id}")
                continue
            seen.add(endpoint_id)
            kept.append(endpoint)
        endpoints = kept
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
    """An attribute's values into the contact's row: its column (a better endpoint's value kept), else `attributes`."""
    column = _column(name)
    kind = lake.CONTACTS.get(column or "")
    if column and kind is lake.ColumnType.STRING_LIST:
        merged = row.get(column) or []
        row[column] = merged + [str(v) for v in values if str(v) not in merged]
        report.mapped[f"{source} -> {column}"] += 1
        return
    if column and column != "contact_id" and values:
        if row.get(column) is not None:
            return  # a better endpoint said it
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
        return naive_utc(dt.datetime.fromisoformat(value.replace("Z", "+00:00")))  # naive UTC, as the lake keeps times
    except ValueError:
        return None


class UploadFailed(Exception):
    """The lake prefix cannot be written: one line saying why."""


def lake_prefix(url: str) -> tuple[str, str]:
    """`s3://BUCKET[/PREFIX]` as (bucket, prefix ending in / or empty)."""
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    if not bucket:
        raise UploadFailed(f"{url}: no bucket named (s3://BUCKET or s3://BUCKET/PREFIX)")
    return bucket, prefix.strip("/") + "/" if prefix.strip("/") else ""


def check_writable(s3: Any, bucket: str, prefix: str) -> None:
    """Before hours of converting: the bucket is there and these credentials may write under the prefix."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        s3.put_object(Bucket=bucket, Key=f"{prefix}_tern-write-check", Body=b"")  # `_`: Athena reads no such file
        s3.delete_object(Bucket=bucket, Key=f"{prefix}_tern-write-check")
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code"))
        said = {"404": "no such bucket", "NoSuchBucket": "no such bucket", "403": "access denied to these credentials",
                "AccessDenied": "access denied to these credentials (s3:PutObject and s3:DeleteObject are needed)"}  # fmt: skip
        raise UploadFailed(f"s3://{bucket}: {said.get(code, code)}") from None
    except BotoCoreError as e:
        raise UploadFailed(f"s3://{bucket}: {e}") from None


def upload(lake_dir: Path, s3: Any, bucket: str, prefix: str) -> int:
    """Every file of the converted lake folder to the same keys under `prefix`: the events first, the contacts last
    (an event whose contact is not there yet selects nothing; a contact without its history would). Each object is
    whole once it is there (S3 keeps no half-written object); a run stopped midway is run again. The count uploaded."""
    from boto3.exceptions import S3UploadFailedError
    from boto3.s3.transfer import TransferConfig
    from botocore.exceptions import BotoCoreError, ClientError

    files = sorted(
        (p for p in lake_dir.rglob("*.parquet") if p.is_file()), key=lambda p: (p.parts[len(lake_dir.parts)] == "contacts", str(p))
    )
    config = TransferConfig(multipart_threshold=64 * 2**20, max_concurrency=4)
    for path in files:
        key = prefix + path.relative_to(lake_dir).as_posix()
        try:
            s3.upload_file(str(path), bucket, key, Config=config)
        except (ClientError, BotoCoreError, S3UploadFailedError) as e:
            raise UploadFailed(f"s3://{bucket}/{key}: {e}") from None
    return len(files)
