"""Hostile input: quotes, comments, semicolons, backslashes and unicode in every place a user can type.

Each definition either fails validation (DefinitionError) or compiles to exactly one statement whose
literals hold the text unchanged, and that statement, run on a lake that contains the same text, gives
the right members. Never a crash, never a statement that escapes its literals.
"""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

from tern import lake
from tern.engines.duckdb import DuckDBEngine
from tern.errors import DefinitionError
from tern.segments.compiler import compile_segment
from tern.segments.definition import parse_definition, parse_definition_json
from tern.segments.evaluate import members

NOW = dt.datetime(2026, 11, 22, 12)
NASTY = ["'", "''", '"', "\\", "\\'", ";", "--", "/*", "*/", "\n", "\r", "\t", "%", "_", "$$", "`", "\x00",
         "' OR 1=1 --", "'); DROP TABLE contacts; --", "ż", "Ł", "€", "🦜", "\u202e", "\ufeff", "{{x}}", "]", "["]  # fmt: skip
hostile_text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=3)), min_size=1, max_size=6).map("".join)


def _lake(root: Path, city: str, key: str, value: str, event_type: str, link: str) -> None:
    contacts = pa.table({
        "contact_id": ["h1", "h2"],
        "city": [city, "elsewhere"],
        "tags": [[value], ["plain"]],
        "attributes": pa.array([[(key, value)], [("k", "v")]], pa.map_(pa.string(), pa.string())),
    })  # fmt: skip
    (root / "contacts" / "org_id=o").mkdir(parents=True, exist_ok=True)
    pq.write_table(contacts, root / "contacts" / "org_id=o" / "c.parquet")
    events = pa.table({
        "event_id": ["x1", "x2"], "contact_id": ["h1", "h2"], "event_type": [event_type, "page_view"],
        "ts": pa.array([dt.datetime(2026, 11, 20, 10), dt.datetime(2026, 11, 20, 11)], pa.timestamp("us")),
        "link": [link, "https://example.com/"],
    })  # fmt: skip
    (root / "events" / "org_id=o" / "dt=2026-11-20").mkdir(parents=True, exist_ok=True)
    pq.write_table(events, root / "events" / "org_id=o" / "dt=2026-11-20" / "e.parquet")


def _literals(sql: str, dialect: str) -> set[str]:
    statements = sqlglot.parse(sql, read=dialect)
    assert len(statements) == 1, "the statement split in two"
    return {lit.this for lit in statements[0].find_all(exp.Literal) if lit.is_string}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(city=hostile_text, key=hostile_text, value=hostile_text, event_type=hostile_text, link=hostile_text)
def test_hostile_values_stay_literals_and_match_exactly(
    tmp_path: Path, city: str, key: str, value: str, event_type: str, link: str
) -> None:
    definition = {"name": "h", "where": {"any": [
        {"kind": "attribute", "field": "city", "op": "eq", "value": city},
        {"kind": "attribute", "field": f"attributes.{key}", "op": "eq", "value": value},
        {"kind": "tags", "op": "has_any", "values": [value]},
        {"kind": "activity", "event_type": event_type, "filters": {"link": link}},
    ]}}  # fmt: skip
    texts = (city, key, value, event_type, link)
    # a control character (NUL, tab, line break...), or a name or tag left empty
    refusable = any(unicodedata.category(c) == "Cc" for t in texts for c in t) or "" in (key, event_type, value)
    try:
        model = parse_definition(definition)
    except DefinitionError as e:
        assert refusable, f"refused usable text: {e}"
        return
    assert not refusable
    for dialect in ("athena", "duckdb"):
        sql = compile_segment(model, "o", NOW, dialect=dialect).members_sql()  # type: ignore[arg-type]
        assert {city, key, value, event_type, link} <= _literals(sql, dialect)

    root = tmp_path / f"lake-{abs(hash(texts))}"
    _lake(root, city, key, value, event_type, link)
    engine = DuckDBEngine(root)
    for criterion in definition["where"]["any"]:
        one = parse_definition({"name": "one", "where": criterion})
        assert members(one, engine, "o", NOW) == ["h1"], criterion


@settings(max_examples=40, deadline=None)
@given(field=hostile_text)
def test_hostile_field_names_are_refused_with_the_path(field: str) -> None:
    for criterion in (
        {"kind": "attribute", "field": field, "op": "is_empty"},
        {"kind": "activity", "event_type": "x", "filters": {field: "v"}},
    ):
        try:
            parse_definition({"name": "h", "where": {"all": [criterion]}})
        except DefinitionError as e:
            assert str(e).startswith("where.all[0]")
        else:  # only a name from the data contract may pass
            known = lake.SCALAR_CONTACT_COLUMNS | lake.EVENT_FILTER_COLUMNS | set(lake.EVENT_FILTER_ALIASES)
            assert field in known or field.startswith(("attributes.", "properties.")), field


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | hostile_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.sampled_from(
        ["kind", "all", "any", "not", "field", "op", "value", "values", "window", "last_days", "event_type",
         "filters", "measure", "days", "min", "max", "top", "name", "where"]) | hostile_text, children, max_size=5),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(data=st.dictionaries(st.sampled_from(["name", "where", "description", "x"]), json_values, max_size=3))
def test_arbitrary_json_is_a_definition_or_a_clear_error(data: dict[str, Any]) -> None:
    try:
        model = parse_definition_json(json.dumps(data))
    except DefinitionError as e:
        assert e.problems and all(p.message for p in e.problems)
        return
    for dialect in ("athena", "duckdb"):
        sqlglot.parse_one(compile_segment(model, "o", NOW, dialect=dialect).members_sql(), read=dialect)  # type: ignore[arg-type]


@pytest.mark.parametrize("org", ["o'rg", "a; DROP TABLE x", "o\\"])
def test_hostile_org_ids_stay_literals(org: str) -> None:
    model = parse_definition({"name": "h", "where": {"all": [{"kind": "recency", "op": "within", "days": 3}]}})
    sql = compile_segment(model, org, NOW, dialect="athena").members_sql()
    assert org in _literals(sql, "athena")
