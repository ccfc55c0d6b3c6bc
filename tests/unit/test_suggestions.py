"""What the segment editor suggests (tern.segments.suggestions): the org's fields with their types and a field's
most common values, each a statement run on DuckDB and, as Athena SQL, through the local Athena, over Parquet
written here; another org's values never appear."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from local_athena import athena_engine, local_athena
from tern.engines.duckdb import DuckDBEngine
from tern.errors import DefinitionError
from tern.parquet import CONTACTS_SCHEMA, EVENTS_SCHEMA
from tern.segments.suggestions import asked, attribute_fields, attribute_keys_sql, contract_fields, suggestions, values_sql

TODAY = dt.date(2026, 12, 7)
CLICK = "https://shop.example.com/new"


def contact(cid: str, city: str | None, score: int | None, tags: list[str], attributes: dict[str, str]) -> dict[str, Any]:
    return {"contact_id": cid, "city": city, "lead_score": score, "tags": tags, "attributes": list(attributes.items()),
            "birth_date": dt.date(1990, 1, int(cid[-1]) + 1)}  # fmt: skip


ACME = [
    contact("a1", "Kraków", 50, ["vip", "opera"], {"tier": "gold", "points": "120", "since": "2024-01-01", "newsletter": "true"}),
    contact("a2", "Kraków", 10, ["opera"], {"tier": "silver", "points": "95.5", "since": "2025-03-02", "newsletter": "FALSE"}),
    contact("a3", "Gdańsk", 90, [], {"tier": "gold", "points": "7"}),
    contact("a4", None, None, ["vip"], {"tier": "", "points": "-3"}),
    contact("a5", "Warszawa", 30, [], {"newsletter": "yes"}),
]
GLOBEX = [contact("g1", "Zurich", 99, ["secret"], {"tier": "platinum", "codename": "x"})]


def event(eid: str, cid: str, kind: str, day: dt.date, link: str | None = None) -> dict[str, Any]:
    return {"event_id": eid, "contact_id": cid, "event_type": kind, "ts": dt.datetime.combine(day, dt.time(9)), "link": link}


EVENTS = {
    ("acme", TODAY - dt.timedelta(days=3)): [event("e1", "a1", "email_clicked", TODAY, CLICK), event("e2", "a2", "email_clicked", TODAY, CLICK),
                                             event("e3", "a2", "email_clicked", TODAY, CLICK), event("e4", "a3", "email_clicked", TODAY, "https://x.example/a"),
                                             event("e5", "a1", "page_view", TODAY, "https://shop.example.com/")],
    ("acme", TODAY - dt.timedelta(days=200)): [event("e6", "a4", "email_clicked", TODAY, "https://old.example/")],
    ("globex", TODAY - dt.timedelta(days=1)): [event("e7", "g1", "email_clicked", TODAY, "https://globex.example/")],
}  # fmt: skip


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lake")
    for org, rows in (("acme", ACME), ("globex", GLOBEX)):
        folder = root / "contacts" / f"org_id={org}"
        folder.mkdir(parents=True)
        pq.write_table(
            pa.Table.from_pylist([{n: r.get(n) for n in CONTACTS_SCHEMA.names} for r in rows], schema=CONTACTS_SCHEMA), folder / "c.parquet"
        )
    for (org, day), rows in EVENTS.items():
        folder = root / "events" / f"org_id={org}" / f"dt={day.isoformat()}"
        folder.mkdir(parents=True)
        pq.write_table(
            pa.Table.from_pylist([{n: r.get(n) for n in EVENTS_SCHEMA.names} for r in rows], schema=EVENTS_SCHEMA), folder / "e.parquet"
        )
    return root


@pytest.fixture(scope="module", params=["duckdb", "athena"])
def engine(request: pytest.FixtureRequest, lake: Path) -> Iterator[Any]:
    if request.param == "duckdb":
        yield DuckDBEngine(lake)
        return
    with local_athena(lake) as client:
        yield athena_engine(client)


def values(engine: Any, field: str, event_type: str | None = None) -> Any:
    request = asked(field, event_type)
    return suggestions(request, engine.run(values_sql(request, "acme", engine.dialect, engine.database, TODAY)).rows)


def test_the_contract_fields_come_with_their_types() -> None:
    types = {f.field: f.type for f in contract_fields()}
    assert types["lead_score"] == "number" and types["city"] == "text" and types["birth_date"] == "date"
    assert types["subscriber"] == "yes_no" and types["tags"] == "list" and types["created_at"] == "time"
    assert "contact_id" not in types and "attributes" not in types


def test_custom_attributes_are_typed_by_what_their_values_look_like(engine: Any) -> None:
    found = attribute_fields(engine.run(attribute_keys_sql("acme", engine.dialect, engine.database)).rows)
    assert {(f.field, f.type, f.contacts) for f in found} == {
        ("attributes.tier", "text", 4), ("attributes.points", "number", 4), ("attributes.since", "date", 2),
        ("attributes.newsletter", "text", 3),  # "yes" is not true / false
    }  # fmt: skip
    assert found[0].field in ("attributes.tier", "attributes.points")  # the most held first
    assert all(f.custom for f in found)


def test_a_text_fields_most_common_values_with_their_contacts(engine: Any) -> None:
    city = values(engine, "city")
    assert city.type == "text" and city.values == [{"value": "Kraków", "contacts": 2}, {"value": "Gdańsk", "contacts": 1},
                                                    {"value": "Warszawa", "contacts": 1}]  # fmt: skip
    assert values(engine, "attributes.tier").values == [{"value": "gold", "contacts": 2}, {"value": "silver", "contacts": 1}]
    assert values(engine, "tags").values == [{"value": "opera", "contacts": 2}, {"value": "vip", "contacts": 2}]


def test_a_number_or_a_date_answers_its_range(engine: Any) -> None:
    score = values(engine, "lead_score")
    assert (score.type, score.smallest, score.largest, score.values) == ("number", 10, 90, [])
    born = values(engine, "birth_date")
    assert (born.type, str(born.smallest)[:10], str(born.largest)[:10]) == ("date", "1990-01-02", "1990-01-06")


def test_event_values_are_the_recent_ones_of_the_org_counted_in_contacts(engine: Any) -> None:
    links = values(engine, "events.link", "email_clicked")
    assert links.values == [{"value": CLICK, "contacts": 2}, {"value": "https://x.example/a", "contacts": 1}]  # not 200 days ago
    kinds = values(engine, "events.event_type")
    assert kinds.values == [{"value": "email_clicked", "contacts": 3}, {"value": "page_view", "contacts": 1}]


def test_what_cannot_be_suggested_is_named() -> None:
    for field, event_type in (("password", None), ("events.event_id", None), ("attributes.", None), ("city", "email_clicked")):
        with pytest.raises(DefinitionError) as raised:
            asked(field, event_type)
        assert raised.value.problems[0].path in ("field", "event_type")
