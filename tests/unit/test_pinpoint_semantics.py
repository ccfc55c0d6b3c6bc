"""Imported Pinpoint segments give the members Pinpoint's documented semantics give, on a lake written by hand, and
on the same people converted from Pinpoint's own data (an export job's endpoints and the event stream's records).

`pinpoint_members` below is Pinpoint's semantics as its API reference states them, applied to each contact as
if it were one endpoint holding the contact's attributes: INCLUSIVE (the value is one of the values),
EXCLUSIVE (it is not: a missing value is not one of them), CONTAINS (a value holds one as a substring),
BEFORE / AFTER / ON / BETWEEN (read as ISO instants; ON ignores the time), metrics' comparison operators,
Recency (ACTIVE: any event within the duration, INACTIVE: none), Channel, Country and a GPS point's range,
and groups combined by Include and Type. The imported segment is compiled by Tern and run on DuckDB.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

import pinpoint_docs as pd
from tern.aws.dynamodb import Table
from tern.engines.duckdb import DuckDBEngine
from tern.imports.links import ImportLinks
from tern.imports.pinpoint.importer import PinpointImporter
from tern.journeys.lifecycle import Journeys
from tern.journeys.repository import ContentRepository, JourneyRepository
from tern.lists.repository import ListRepository
from tern.segments.evaluate import members
from tern.segments.lifecycle import Segments
from tern.segments.repository import SegmentRepository
from tern_local.pinpoint_export import convert
from tern_local.template import create_table

from fakes import MemoryScheduler

NOW = dt.datetime(2026, 11, 22, 12, 0)
UTC = dt.UTC
CONTACTS_SCHEMA = pa.schema([
    ("contact_id", pa.string()), ("first_name", pa.string()), ("email", pa.string()), ("phone", pa.string()), ("country", pa.string()),
    ("latitude", pa.float64()), ("longitude", pa.float64()), ("lead_score", pa.int64()), ("attributes", pa.map_(pa.string(), pa.string())),
    ("created_at", pa.timestamp("ms", tz="UTC")),
])  # fmt: skip
# id, first name, e-mail, phone, country, lat, lon, lead score, attributes, created
CONTACTS = [
    ("p1", "Anna", "anna@example.com", None, "PL", 52.2297, 21.0122, 30, {"tier": "gold", "signup": "2025-05-05T10:00:00Z", "points": "120"}, "2024-01-01T00:00:00"),
    ("p2", "Bartek", None, "+48600100200", "PL", 50.0647, 19.9450, 10, {"tier": "silver", "signup": "2025-07-01T08:30:00Z", "points": "80"}, "2026-06-01T00:00:00"),
    ("p3", "Celina", "celina@example.com", "+48600100300", None, None, None, None, {}, "2026-11-01T00:00:00"),
    ("p4", "Dorota", "dorota@example.com", None, "DE", 52.52, 13.405, 21, {"tier": "Gold", "signup": "2025-05-05T23:59:59Z", "points": "100"}, "2025-05-05T00:00:00"),
    ("p5", "Emil", None, None, "PL", 52.30, 21.10, 20, {"signup": "2024-12-31T23:00:00Z"}, None),
    ("p6", "Filip", "filip@example.com", "+48600100600", "CZ", 50.0755, 14.4378, 50, {"tier": "bronze", "points": "abc"}, "2023-03-03T00:00:00"),
]  # fmt: skip
EVENTS = {
    "p1": ["2026-11-20T10:00:00"],
    "p2": ["2026-09-01T10:00:00"],
    "p4": ["2026-11-01T10:00:00", "2026-11-21T09:00:00"],
    "p6": ["2026-11-10T12:00:00"],
}

# Pinpoint's semantics, per contact ---------------------------------------------------------------


def instant(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def attribute_holds(value: str | None, dimension: dict[str, Any]) -> bool:
    values, how = dimension["Values"], dimension.get("AttributeType", "INCLUSIVE")
    if how == "INCLUSIVE":
        return value in values
    if how == "EXCLUSIVE":
        return value not in values
    if value is None:
        return False
    if how == "CONTAINS":
        return any(v in value for v in values)
    at = instant(value)
    if how == "BEFORE":
        return at < instant(values[0])
    if how == "AFTER":
        return at > instant(values[0])
    if how == "ON":
        return at.date() == instant(values[0]).date()
    low, high = sorted(instant(v) for v in values[:2])
    return (low <= at <= high) if how == "BETWEEN" else not (low <= at <= high)


def value_of(contact: dict[str, Any], name: str) -> Any:
    columns = {"FirstName": "first_name", "LeadScore": "lead_score", "CreatedAt": "created_at"}
    if name in columns:
        value = contact[columns[name]]
        return value.strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(value, dt.datetime) else value
    return contact["attributes"].get(name)


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2, dp, dl = map(math.radians, (lat1, lat2, lat2 - lat1, lon2 - lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371 * math.asin(math.sqrt(a))


def dimensions_hold(contact: dict[str, Any], d: dict[str, Any]) -> bool:
    for source in ("Attributes", "UserAttributes"):
        for name, dimension in (d.get(source) or {}).items():
            value = value_of(contact, name)
            if not attribute_holds(None if value is None else str(value), dimension):
                return False
    for name, metric in (d.get("Metrics") or {}).items():
        raw = value_of(contact, name)
        try:
            value = float(raw)
        except (TypeError, ValueError):
            return False
        ops = {"GREATER_THAN": value > metric["Value"], "LESS_THAN": value < metric["Value"], "GREATER_THAN_OR_EQUAL": value >= metric["Value"],
               "LESS_THAN_OR_EQUAL": value <= metric["Value"], "EQUAL": value == metric["Value"]}  # fmt: skip
        if not ops[metric["ComparisonOperator"]]:
            return False
    recency = (d.get("Behavior") or {}).get("Recency")
    if recency:
        since = NOW.replace(tzinfo=UTC) - dt.timedelta(days={"HR_24": 1, "DAY_7": 7, "DAY_14": 14, "DAY_30": 30}[recency["Duration"]])
        active = any(since <= instant(t + "Z") <= NOW.replace(tzinfo=UTC) for t in EVENTS.get(contact["contact_id"], []))
        if active != (recency["RecencyType"] == "ACTIVE"):
            return False
    channel = (d.get("Demographic") or {}).get("Channel")
    if channel:
        has = {"EMAIL": bool(contact["email"]), "SMS": bool(contact["phone"])}
        any_of = any(has.get(v, False) for v in channel["Values"])
        if any_of != (channel.get("DimensionType", "INCLUSIVE") == "INCLUSIVE"):
            return False
    location = d.get("Location") or {}
    if location.get("Country"):
        inside = contact["country"] in location["Country"]["Values"]
        if inside != (location["Country"].get("DimensionType", "INCLUSIVE") == "INCLUSIVE"):
            return False
    if location.get("GPSPoint"):
        point = location["GPSPoint"]
        if contact["latitude"] is None:
            return False
        c = point["Coordinates"]
        if distance_km(c["Latitude"], c["Longitude"], contact["latitude"], contact["longitude"]) > point["RangeInKilometers"]:
            return False
    return True


def combined(how: str, results: list[bool]) -> bool:
    return all(results) if how == "ALL" else any(results) if how == "ANY" else not any(results)


def pinpoint_members(contacts: list[dict[str, Any]], body: dict[str, Any]) -> set[str]:
    found = set()
    for contact in contacts:
        holds = dimensions_hold(contact, body["Dimensions"]) if body.get("Dimensions") else True
        groups = body.get("SegmentGroups")
        if groups:
            results = [combined(g.get("Type", "ALL"), [dimensions_hold(contact, d) for d in g["Dimensions"]]) for g in groups["Groups"]]
            holds = holds and combined(groups.get("Include", "ALL"), results)
        if holds:
            found.add(contact["contact_id"])
    return found


# The cases -------------------------------------------------------------------------------------

WARSAW = {"Coordinates": {"Latitude": 52.2297, "Longitude": 21.0122}, "RangeInKilometers": 30.0}
CASES: list[dict[str, Any]] = [
    {"UserAttributes": {"FirstName": {"AttributeType": "INCLUSIVE", "Values": ["Anna", "Emil"]}}},
    {"Attributes": {"tier": {"AttributeType": "EXCLUSIVE", "Values": ["gold"]}}},
    {"Attributes": {"tier": {"AttributeType": "CONTAINS", "Values": ["ol", "ron"]}}},
    {"Attributes": {"signup": {"AttributeType": "BEFORE", "Values": ["2025-06-01T00:00:00Z"]}}},
    {"Attributes": {"signup": {"AttributeType": "AFTER", "Values": ["2025-05-05T10:00:00Z"]}}},
    {"Attributes": {"signup": {"AttributeType": "ON", "Values": ["2025-05-05T00:00:00Z"]}}},
    {"Attributes": {"signup": {"AttributeType": "BETWEEN", "Values": ["2025-01-01T00:00:00Z", "2025-06-30T00:00:00Z"]}}},
    {"Attributes": {"signup": {"AttributeType": "NOT_BETWEEN", "Values": ["2025-01-01T00:00:00Z", "2025-06-30T00:00:00Z"]}}},
    {"UserAttributes": {"CreatedAt": {"AttributeType": "BEFORE", "Values": ["2025-05-05T12:00:00Z"]}}},
    {"UserAttributes": {"CreatedAt": {"AttributeType": "ON", "Values": ["2025-05-05T18:00:00Z"]}}},
    {"Metrics": {"LeadScore": {"ComparisonOperator": "GREATER_THAN", "Value": 20.0}}},
    {"Metrics": {"points": {"ComparisonOperator": "LESS_THAN_OR_EQUAL", "Value": 100.0}}},
    {"Behavior": {"Recency": {"Duration": "DAY_7", "RecencyType": "ACTIVE"}}},
    {"Behavior": {"Recency": {"Duration": "DAY_30", "RecencyType": "INACTIVE"}}},
    {"Demographic": {"Channel": {"DimensionType": "INCLUSIVE", "Values": ["SMS"]}}},
    {"Demographic": {"Channel": {"DimensionType": "EXCLUSIVE", "Values": ["EMAIL"]}}},
    {"Location": {"Country": {"DimensionType": "INCLUSIVE", "Values": ["PL", "CZ"]}}},
    {"Location": {"Country": {"DimensionType": "EXCLUSIVE", "Values": ["PL"]}}},
    {"Location": {"GPSPoint": WARSAW}},
    {"Location": {"Country": {"Values": ["PL"]}}, "Metrics": {"LeadScore": {"ComparisonOperator": "GREATER_THAN_OR_EQUAL", "Value": 20.0}}},
]
GROUPS: list[dict[str, Any]] = [
    {
        "Include": "ANY",
        "Groups": [{"Type": "ALL", "Dimensions": [CASES[16], CASES[10]]}, {"Type": "NONE", "Dimensions": [CASES[14], CASES[0]]}],
    },
    {"Include": "NONE", "Groups": [{"Type": "ANY", "Dimensions": [CASES[12], CASES[18]]}]},
    {"Include": "ALL", "Groups": [{"Type": "ANY", "Dimensions": [CASES[3], CASES[15]]}, {"Type": "ALL", "Dimensions": [CASES[1]]}]},
]


@pytest.fixture(scope="module", params=["written", "converted"])
def lake(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The contacts and events written by hand, or the same people as Pinpoint held them (endpoints as an export job
    writes them, their sessions as the event stream does) converted by `tern import pinpoint-data`."""
    return written(tmp_path_factory) if request.param == "written" else converted(tmp_path_factory)


def converted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    saved = tmp_path_factory.mktemp("pinpoint-saved")
    endpoints = []
    for c in contacts():
        user = {"UserId": c["contact_id"], "UserAttributes": {"FirstName": [c["first_name"]]}}
        if c["created_at"]:
            user["UserAttributes"]["CreatedAt"] = [c["created_at"].strftime("%Y-%m-%dT%H:%M:%SZ")]
        attributes = {k: [v] for k, v in c["attributes"].items() if k != "points" or not v.isdigit()}  # points a metric where it is one
        metrics = {"points": float(c["attributes"]["points"])} if c["attributes"].get("points", "").isdigit() else {}
        if c["lead_score"] is not None:
            metrics["LeadScore"] = float(c["lead_score"])
        location = {
            k: v for k, v in (("Country", c["country"]), ("Latitude", c["latitude"]), ("Longitude", c["longitude"])) if v is not None
        }
        channels = [("EMAIL", c["email"]), ("SMS", c["phone"])]
        addresses = [(channel, address) for channel, address in channels if address] or [("APNS", f"device-token-{c['contact_id']}")]
        for channel, address in addresses:
            endpoints.append(pd.checked("EndpointResponse", {
                "Id": f"{c['contact_id']}-{channel.lower()}", "ChannelType": channel, "Address": address, "EndpointStatus": "ACTIVE",
                "OptOut": "NONE", "User": user, "Attributes": attributes, "Metrics": metrics, "Location": location,
            }))  # fmt: skip
    (saved / "export.gz").write_bytes(gzip.compress("".join(json.dumps(e) + "\n" for e in endpoints).encode()))
    records = [
        {"event_type": "_session.start", "event_timestamp": int(instant(at + "Z").timestamp() * 1000),
         "arrival_timestamp": int(instant(at + "Z").timestamp() * 1000), "client": {"client_id": endpoint_of(contact, endpoints)},
         "attributes": {}, "metrics": {}}
        for contact, times in EVENTS.items() for at in times
    ]  # fmt: skip
    (saved / "stream").write_text("".join(json.dumps(r) for r in records))  # run together, as Firehose may leave them
    root = tmp_path_factory.mktemp("pinpoint-converted")
    report = convert([saved / "export.gz"], [saved / "stream"], root, "acme")
    assert (report.contacts, sum(report.events.values()), report.dropped) == (len(CONTACTS), sum(map(len, EVENTS.values())), {})
    return root


def endpoint_of(contact_id: str, endpoints: list[dict[str, Any]]) -> str:
    return next(str(e["Id"]) for e in endpoints if e["User"]["UserId"] == contact_id)


def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pinpoint-lake")
    folder = root / "contacts" / "org_id=acme"
    folder.mkdir(parents=True)
    rows = [dict(zip(CONTACTS_SCHEMA.names, c, strict=True)) for c in CONTACTS]
    for row in rows:
        row["attributes"] = list(row["attributes"].items())
        row["created_at"] = dt.datetime.fromisoformat(row["created_at"]).replace(tzinfo=UTC) if row["created_at"] else None
    pq.write_table(pa.Table.from_pylist(rows, schema=CONTACTS_SCHEMA), folder / "endpoints.parquet")
    schema = pa.schema(
        [("event_id", pa.string()), ("contact_id", pa.string()), ("event_type", pa.string()), ("ts", pa.timestamp("ms", tz="UTC"))]
    )
    for contact, times in EVENTS.items():
        for i, at in enumerate(times):
            ts = dt.datetime.fromisoformat(at).replace(tzinfo=UTC)
            day = root / "events" / "org_id=acme" / f"dt={ts.date()}"
            day.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.Table.from_pylist([{"event_id": f"{contact}-{i}", "contact_id": contact, "event_type": "_session.start", "ts": ts}], schema=schema),
                           day / f"{contact}-{i}.parquet")  # fmt: skip
    return root


@pytest.fixture()
def importer() -> Iterator[PinpointImporter]:
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="eu-central-1"), "TernTable", "tern")
        table = Table(boto3.resource("dynamodb", region_name="eu-central-1").Table("tern"))
        segments = Segments("acme", SegmentRepository(table), MemoryScheduler(), ListRepository(table))
        journeys = Journeys("acme", JourneyRepository(table), ContentRepository(table), segments, None, None, None, "fn", lambda: NOW)  # type: ignore[arg-type]
        yield PinpointImporter("acme", segments, journeys, ImportLinks(table), lambda: NOW)


def contacts() -> list[dict[str, Any]]:
    found = []
    for c in CONTACTS:
        row = dict(zip(CONTACTS_SCHEMA.names, c, strict=True))
        row["created_at"] = dt.datetime.fromisoformat(row["created_at"]) if row["created_at"] else None
        found.append(row)
    return found


def test_every_dimension_and_group_gives_the_members_pinpoint_gives(lake: Path, importer: PinpointImporter) -> None:
    documents = [pd.segment(f"d{i}", f"dimension {i}", dimensions) for i, dimensions in enumerate(CASES)]
    documents += [pd.segment(f"g{i}", f"groups {i}", groups=groups) for i, groups in enumerate(GROUPS)]
    report = importer.run([("segments.json", json.dumps(documents))], dry_run=False)
    made = {o["pinpoint"]: o["tern_id"] for o in report["objects"]}
    engine = DuckDBEngine(lake)
    for document in documents:
        body = document["SegmentResponse"]
        expected = pinpoint_members(contacts(), body)
        segment = importer.segments.get(made[body["Id"]], NOW)
        found = set(members(segment.definition(), engine, "acme", NOW))
        assert found == expected, (body, segment.where.model_dump(by_alias=True, exclude_none=True))
    answers = [pinpoint_members(contacts(), d["SegmentResponse"]) for d in documents]
    assert all(0 < len(a) < len(CONTACTS) for a in answers)  # each case tells contacts apart: none passes by everyone, or no one, matching
    assert len({frozenset(a) for a in answers}) >= 12
