"""Exact members on a small lake written by hand, not by Tern's generator.

The files differ from what the generator writes the way customer data does: columns missing, extra
columns, a narrower integer type, timestamps with a UTC zone annotation, a map that is null or lacks
keys, empty strings and empty lists beside nulls. Expected members are worked out by hand below.

    now = 2026-11-22T12:00:00Z; ages that day: a1 36, a2 unknown, a3 26 (birthday today), a4 22, a5 66
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tern.engines.duckdb import DuckDBEngine
from tern.segments.definition import parse_definition
from tern.segments.evaluate import count, members

from reference import Lake

NOW = dt.datetime(2026, 11, 22, 12, 0)
L = "https://shop.example.com/new"
UTC = dt.UTC


def t(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


CONTACTS_SCHEMA = pa.schema([
    ("contact_id", pa.string()), ("first_name", pa.string()), ("gender", pa.string()), ("birth_date", pa.date32()),
    ("city", pa.string()), ("latitude", pa.float64()), ("longitude", pa.float64()), ("lead_score", pa.int32()),
    ("tags", pa.list_(pa.string())), ("consents", pa.list_(pa.string())), ("attributes", pa.map_(pa.string(), pa.string())),
    ("created_at", pa.timestamp("ms", tz="UTC")), ("loyalty_card", pa.string()),
])  # fmt: skip
HAND_CONTACTS = [
    ("a1", "Anna", "female", dt.date(1990, 5, 10), "Warszawa", 52.2297, 21.0122, 30, ["vip", "newsletter"], ["email_marketing"], [("tier", "gold"), ("points", "120")], t("2024-01-01T00:00:00"), "X1"),
    ("a2", "Bartek", "male", None, "Kraków", 50.0647, 19.9450, 10, None, ["sms_marketing"], [("points", "abc")], t("2026-06-01T00:00:00"), None),
    ("a3", "Celina", None, dt.date(2000, 11, 22), None, None, None, None, [], ["email_marketing", "sms_marketing"], None, t("2026-11-01T00:00:00"), None),
    ("a4", "Dorota", "female", dt.date(2004, 2, 29), "Warszawa", 52.30, 21.10, 21, ["newsletter"], None, [("tier", "silver"), ("points", "95.5")], t("2025-05-05T00:00:00"), "X4"),
    ("a5", "Emil", "male", dt.date(1960, 1, 1), "", 54.3520, 18.6466, 20, ["press"], ["email_marketing"], [("tier", "")], None, None),
]  # fmt: skip
OTHER_CONTACTS = [
    ("a1", "Agata", "female", dt.date(1985, 1, 1), "Warszawa", 52.2297, 21.0122, 99, ["vip"], ["email_marketing"], None, t("2020-01-01T00:00:00"), None),
]  # fmt: skip

EVENTS_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("contact_id", pa.string()), ("event_type", pa.string()), ("ts", pa.timestamp("ms", tz="UTC")),
    ("link", pa.string()), ("bounce_type", pa.string()), ("order_id", pa.string()), ("event_ref", pa.string()),
    ("production_ref", pa.string()), ("event_start", pa.timestamp("us")), ("quantity", pa.int32()), ("amount", pa.float64()),
    ("score_delta", pa.int16()), ("journey_id", pa.string()), ("step_id", pa.string()), ("outcome", pa.string()),
    ("source_system", pa.string()),
])  # fmt: skip


def ev(event_id: str, contact: str, kind: str, at: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "contact_id": contact, "event_type": kind, "ts": t(at), "source_system": "crm-x", **fields}


def purchase(event_id: str, contact: str, at: str, order: str, production: str, starts: str, qty: int, amount: float) -> dict[str, Any]:
    start = dt.datetime.fromisoformat(starts)
    return ev(event_id, contact, "purchase", at, order_id=order, production_ref=production,
              event_ref=f"{production}@{start.date()}", event_start=start, quantity=qty, amount=amount)  # fmt: skip


HAND_EVENTS = [
    ev("e1", "a1", "email_clicked", "2026-11-20T10:00:00", link=L),
    ev("e2", "a1", "email_bounced", "2026-01-05T10:00:00", bounce_type="soft"),
    purchase("e3", "a1", "2026-11-21T09:00:00", "o1", "hamlet", "2026-11-23T19:00:00", 2, 100.0),
    ev("e4", "a1", "score_changed", "2026-11-10T08:00:00", score_delta=15),
    ev("e5", "a1", "score_changed", "2026-10-01T08:00:00", score_delta=10),
    ev("e6", "a2", "email_clicked", "2026-09-01T10:00:00", link=L),
    ev("e7", "a2", "email_bounced", "2026-03-01T10:00:00", bounce_type="hard"),
    ev("e8", "a2", "page_view", "2026-11-22T11:00:00"),
    purchase("e9", "a2", "2026-06-01T12:00:00", "o2", "carmen", "2026-07-15T19:00:00", 1, 50.0),
    ev("e10", "a2", "score_changed", "2026-11-15T08:00:00", score_delta=40),
    ev("e11", "a4", "page_view", "2026-09-20T10:00:00"),
    *[ev(f"e1{i}", "a4", "email_bounced", f"2026-10-0{i - 1}T10:00:00", bounce_type="soft") for i in range(2, 6)],
    ev("e16", "a4", "score_changed", "2026-11-01T08:00:00", score_delta=-5),
    ev("e17", "a4", "journey_step", "2026-11-19T10:00:00", journey_id="j1", step_id="s1", outcome="clicked"),
    purchase("e18", "a5", "2026-11-20T18:00:00", "o3", "hamlet", "2026-11-20T19:00:00", 4, 400.0),
    purchase("e19", "a5", "2026-11-20T18:00:00", "o3", "hamlet", "2026-11-20T19:00:00", 1, 100.0),
    ev("e20", "a5", "email_clicked", "2026-11-22T13:00:00", link="https://shop.example.com/season"),
    purchase("e21", "a5", "2026-11-19T09:00:00", "o4", "swan-lake", "2027-01-10T19:00:00", 2, 200.0),
]
OTHER_EVENTS = [
    ev("x1", "a1", "email_clicked", "2026-11-21T10:00:00", link=L),
    ev("x2", "a1", "email_bounced", "2026-11-21T11:00:00", bounce_type="hard"),
    ev("x3", "a1", "score_changed", "2026-11-21T11:00:00", score_delta=500),
]


# The other org's event files are narrower, and keep ts in microseconds: one dataset, two file shapes.
OTHER_EVENTS_SCHEMA = pa.schema([
    ("event_id", pa.string()), ("contact_id", pa.string()), ("event_type", pa.string()), ("ts", pa.timestamp("us", tz="UTC")),
    ("link", pa.string()), ("bounce_type", pa.string()), ("score_delta", pa.int64()),
])  # fmt: skip


def _write(
    root: Path, org: str, contacts: list[tuple[Any, ...]], events: list[dict[str, Any]], events_schema: pa.Schema = EVENTS_SCHEMA
) -> None:
    folder = root / "contacts" / f"org_id={org}"
    folder.mkdir(parents=True)
    columns = list(zip(*contacts, strict=True))
    pq.write_table(
        pa.Table.from_arrays([pa.array(c, f.type) for c, f in zip(columns, CONTACTS_SCHEMA, strict=True)], schema=CONTACTS_SCHEMA),
        folder / "crm-export.parquet",
    )
    by_day: dict[dt.date, list[dict[str, Any]]] = {}
    for e in events:
        by_day.setdefault(e["ts"].date(), []).append(e)
    for day, rows in by_day.items():
        folder = root / "events" / f"org_id={org}" / f"dt={day.isoformat()}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=events_schema), folder / "events-0001.parquet")


@pytest.fixture(scope="module")
def hand_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hand")
    _write(root, "hand", HAND_CONTACTS, HAND_EVENTS)
    _write(
        root,
        "other",
        OTHER_CONTACTS,
        [{k: v for k, v in e.items() if k in OTHER_EVENTS_SCHEMA.names} for e in OTHER_EVENTS],
        OTHER_EVENTS_SCHEMA,
    )
    return root


@pytest.fixture(scope="module")
def engine(hand_lake: Path) -> DuckDBEngine:
    return DuckDBEngine(hand_lake)


A = {"attribute"}
EXPECTED: list[tuple[dict[str, Any], set[str]]] = [
    # attribute, with unknown values
    ({"kind": "attribute", "field": "lead_score", "op": "gt", "value": 20}, {"a1", "a4"}),
    ({"kind": "attribute", "field": "lead_score", "op": "ne", "value": 20}, {"a1", "a2", "a3", "a4"}),
    ({"kind": "attribute", "field": "lead_score", "op": "between", "values": [20, 21]}, {"a4", "a5"}),
    ({"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"}, {"a1", "a4"}),
    ({"kind": "attribute", "field": "city", "op": "ne", "value": "Warszawa"}, {"a2", "a3", "a5"}),
    ({"kind": "attribute", "field": "city", "op": "is_empty"}, {"a3", "a5"}),
    ({"kind": "attribute", "field": "city", "op": "is_not_empty"}, {"a1", "a2", "a4"}),
    ({"kind": "attribute", "field": "city", "op": "not_in", "values": ["Kraków"]}, {"a1", "a3", "a4", "a5"}),
    ({"kind": "attribute", "field": "city", "op": "contains", "value": "raków"}, {"a2"}),
    ({"kind": "attribute", "field": "first_name", "op": "starts_with", "value": "D"}, {"a4"}),
    ({"kind": "attribute", "field": "attributes.tier", "op": "eq", "value": "gold"}, {"a1"}),
    ({"kind": "attribute", "field": "attributes.tier", "op": "is_empty"}, {"a2", "a3", "a5"}),
    ({"kind": "attribute", "field": "attributes.points", "op": "gt", "value": 100}, {"a1"}),
    ({"kind": "attribute", "field": "attributes.points", "op": "lte", "value": 100}, {"a4"}),
    ({"kind": "attribute", "field": "attributes.points", "op": "ne", "value": 120}, {"a2", "a3", "a4", "a5"}),
    ({"kind": "attribute", "field": "email", "op": "is_empty"}, {"a1", "a2", "a3", "a4", "a5"}),  # column absent
    ({"kind": "attribute", "field": "birth_date", "op": "lt", "value": "1991-01-01"}, {"a1", "a5"}),
    ({"kind": "attribute", "field": "created_at", "op": "gte", "value": "2026-01-01T00:00:00Z"}, {"a2", "a3"}),
    # tags, categories, consents
    ({"kind": "tags", "op": "has_any", "values": ["newsletter", "press"]}, {"a1", "a4", "a5"}),
    ({"kind": "tags", "op": "has_all", "values": ["vip", "newsletter"]}, {"a1"}),
    ({"kind": "tags", "op": "has_none", "values": ["newsletter"]}, {"a2", "a3", "a5"}),
    ({"kind": "consents", "op": "has_any", "values": ["sms_marketing"]}, {"a2", "a3"}),
    ({"kind": "consents", "op": "has_none", "values": ["email_marketing"]}, {"a2", "a4"}),
    ({"kind": "categories", "op": "has_none", "values": ["opera"]}, {"a1", "a2", "a3", "a4", "a5"}),  # column absent
    # age: whole years, birthday today counts, 29 February, unknown
    ({"kind": "age", "min": 26, "max": 40}, {"a1", "a2", "a3"}),
    ({"kind": "age", "min": 26, "max": 40, "include_unknown": False}, {"a1", "a3"}),
    ({"kind": "age", "max": 22}, {"a2", "a4"}),
    ({"kind": "age", "min": 66}, {"a2", "a5"}),
    # gender
    ({"kind": "gender", "value": "female"}, {"a1", "a4"}),
    ({"kind": "gender", "value": "male"}, {"a2", "a5"}),
    ({"kind": "gender", "value": "any"}, {"a1", "a2", "a3", "a4", "a5"}),
    # distance from the Warsaw venue (a4 is about 9.8 km away)
    ({"kind": "distance", "lat": 52.2297, "lon": 21.0122, "within_km": 5}, {"a1"}),
    ({"kind": "distance", "lat": 52.2297, "lon": 21.0122, "within_km": 10}, {"a1", "a4"}),
    ({"kind": "distance", "lat": 52.2297, "lon": 21.0122, "within_km": 300}, {"a1", "a2", "a4", "a5"}),
    # activity
    ({"kind": "activity", "event_type": "email_clicked", "filters": {"link": L}, "window": {"last_days": 30}}, {"a1"}),
    # "did not" is count 0 in the window: a2's one old click must not hide that a2 did not click lately
    ({"kind": "activity", "event_type": "email_clicked", "window": {"last_days": 30}, "op": "eq", "value": 0}, {"a2", "a3", "a4", "a5"}),
    ({"kind": "activity", "event_type": "email_clicked"}, {"a1", "a2", "a5"}),  # all time, a5's later click too
    ({"kind": "activity", "event_type": "email_clicked", "window": {"last_days": 1}}, set()),  # a5 clicked after now
    ({"kind": "activity", "event_type": "email_clicked", "window": {"days_back": 10}}, {"a1", "a5"}),
    ({"kind": "activity", "event_type": "email_bounced", "filters": {"bounce_type": "hard"}}, {"a2"}),
    ({"kind": "activity", "event_type": "email_bounced", "filters": {"bounce_type": "soft"}, "op": "gte", "value": 4}, {"a4"}),
    ({"kind": "activity", "event_type": "purchase", "measure": "sum:amount", "op": "gte", "value": 500}, {"a5"}),
    ({"kind": "activity", "event_type": "purchase", "measure": "sum:quantity", "op": "gte", "value": 4}, {"a5"}),
    ({"kind": "activity", "event_type": "purchase", "measure": "sum:quantity", "op": "eq", "value": 0}, {"a3", "a4"}),
    ({"kind": "activity", "event_type": "purchase", "measure": "distinct:order_id", "op": "gte", "value": 2}, {"a5"}),
    ({"kind": "activity", "event_type": "purchase", "measure": "distinct:event_ref", "op": "eq", "value": 1}, {"a1", "a2"}),
    ({"kind": "activity", "event_type": "purchase", "window": {"days_back": 120, "field": "event_start"}}, {"a1", "a5"}),
    ({"kind": "activity", "event_type": "purchase", "filters": {"production": "hamlet"}}, {"a1", "a5"}),
    ({"kind": "activity", "event_type": "purchase", "window": {"days_ago": 2}}, {"a5"}),
    ({"kind": "activity", "event_type": "purchase", "window": {"between": ["2026-11-19", "2026-11-19"]}}, {"a5"}),
    # recency
    ({"kind": "recency", "op": "within", "days": 60}, {"a1", "a2", "a4", "a5"}),
    ({"kind": "recency", "event_types": ["page_view"], "op": "not_within", "days": 60}, {"a1", "a3", "a4", "a5"}),
    ({"kind": "recency", "event_types": ["purchase"], "op": "days_ago", "days": 2}, {"a5"}),
    ({"kind": "recency", "op": "days_ago", "days": 0}, {"a2"}),
    # lead time
    # days are 24-hour periods: a1 bought 2 days 10 hours before its show, a5 one hour before
    ({"kind": "lead_time", "max_days": 2}, {"a5"}),
    ({"kind": "lead_time", "max_days": 3}, {"a1", "a5"}),
    ({"kind": "lead_time", "max_days": 0}, set()),
    ({"kind": "lead_time", "max_days": 60}, {"a1", "a2", "a5"}),
    # score change over 30 days: a1 +15 (its +10 is older), a2 +40, a4 -5, a3 and a5 0
    ({"kind": "score_change", "days": 30, "op": "gt", "value": 10}, {"a1", "a2"}),
    ({"kind": "score_change", "days": 30, "op": "lt", "value": 0}, {"a4"}),
    ({"kind": "score_change", "days": 30, "op": "eq", "value": 0}, {"a3", "a5"}),
    ({"kind": "score_change", "days": 30, "top": 1}, {"a2"}),
    ({"kind": "score_change", "days": 30, "top": 3, "op": "gte", "value": 0}, {"a1", "a2", "a3"}),
    # journey outcome
    ({"kind": "journey_outcome", "journey_id": "j1", "step_id": "s1", "outcome": "clicked"}, {"a4"}),
    ({"kind": "journey_outcome", "journey_id": "j1", "outcome": "clicked"}, {"a4"}),
    ({"kind": "journey_outcome", "journey_id": "j1", "step_id": "s2", "outcome": "clicked"}, set()),
    # groups
    (
        {
            "all": [
                {"kind": "attribute", "field": "lead_score", "op": "gt", "value": 20},
                {"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"},
                {"kind": "activity", "event_type": "email_clicked", "filters": {"link": L}, "window": {"last_days": 30}},
                {"not": {"kind": "activity", "event_type": "email_bounced", "filters": {"bounce_type": "hard"}}},
            ]
        },
        {"a1"},
    ),  # fmt: skip
    ({"not": {"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"}}, {"a2", "a3", "a5"}),
    ({"not": {"kind": "attribute", "field": "lead_score", "op": "gt", "value": 20}}, {"a2", "a3", "a5"}),
    ({"all": []}, {"a1", "a2", "a3", "a4", "a5"}),
    ({"any": []}, set()),
]


def _definition(where: dict[str, Any]) -> dict[str, Any]:
    return {"name": "hand", "where": where if "kind" not in where else {"all": [where]}}


@pytest.mark.parametrize(("where", "expected"), EXPECTED, ids=[f"{i}-{w.get('kind', next(iter(w)))}" for i, (w, _) in enumerate(EXPECTED)])
def test_exact_members(where: dict[str, Any], expected: set[str], engine: DuckDBEngine, hand_lake: Path) -> None:
    definition = _definition(where)
    assert set(members(parse_definition(definition), engine, "hand", NOW)) == expected
    # The reference evaluator agrees, so the generated-data cases are checked by something that is right here.
    assert Lake(hand_lake).members(definition, "hand", NOW) == expected


def test_other_org_rows_never_count(engine: DuckDBEngine) -> None:
    # "other" has a contact a1 too, with a hard bounce and a score jump; none of it shows in org "hand".
    hard = _definition({"kind": "activity", "event_type": "email_bounced", "filters": {"bounce_type": "hard"}})
    assert members(parse_definition(hard), engine, "hand", NOW) == ["a2"]
    assert members(parse_definition(hard), engine, "other", NOW) == ["a1"]
    top = _definition({"kind": "score_change", "days": 30, "top": 1})
    assert members(parse_definition(top), engine, "hand", NOW) == ["a2"]
    everyone = count(parse_definition(_definition({"all": []})), engine, "other", NOW)
    assert everyone.total == 1


def test_zone_less_and_zoned_timestamps_read_alike(tmp_path: Path) -> None:
    naive = [{**e, "ts": e["ts"].replace(tzinfo=None)} for e in HAND_EVENTS]
    schema = EVENTS_SCHEMA.set(EVENTS_SCHEMA.get_field_index("ts"), pa.field("ts", pa.timestamp("us")))
    root = tmp_path / "naive"
    (root / "contacts" / "org_id=hand").mkdir(parents=True)
    columns = list(zip(*HAND_CONTACTS, strict=True))
    pq.write_table(
        pa.Table.from_arrays([pa.array(c, f.type) for c, f in zip(columns, CONTACTS_SCHEMA, strict=True)], schema=CONTACTS_SCHEMA),
        root / "contacts" / "org_id=hand" / "c.parquet",
    )
    folder = root / "events" / "org_id=hand" / "dt=2026-11-20"
    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(naive, schema=schema), folder / "all.parquet")
    clicked = _definition({"kind": "activity", "event_type": "email_clicked", "window": {"days_back": 10}})
    assert members(parse_definition(clicked), DuckDBEngine(root), "hand", NOW) == ["a1", "a5"]
