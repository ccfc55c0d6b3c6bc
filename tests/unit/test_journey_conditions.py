"""A split's condition, evaluated for one contact from its journey snapshot, against the segment compiler on
the same lake: every case of the segment format a condition takes (tests/unit/test_cases.py), with Tern's
overlay of tag, category and consent changes applied, groups and the complement. The snapshot is read as a
journey's audience statement renders it (tern.journeys.entry), so the evaluator sees what executions carry."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError
from test_cases import CASES

from tern import lake
from tern.engines.duckdb import DuckDBEngine
from tern.journeys.conditions import Condition, EngagementCriterion, Evaluator, Facts
from tern.journeys.entry import SNAPSHOT
from tern.journeys.model import JourneyDefinition
from tern.segments.compiler import compile_segment
from tern.segments.definition import parse_definition
from tern.segments.evaluate import members
from tern.store.overlay import ContactOverlay
from tern_local.generator import generate
from tern_local.lake_files import DirLakeFiles

from fakes import MemoryTable

NOW = dt.datetime(2026, 11, 22, 12, 0, 0)
CONDITION = TypeAdapter(Condition)
KINDS = {"attribute", "tags", "categories", "consents", "age", "gender", "distance"}
LEAVES = {name: case for name, case in CASES.items() if case["kind"] in KINDS}
GROUPS = {
    "empty all": {"all": []},
    "empty any": {"any": []},
    "nulls complement": {"not": {"any": [CASES["city eq"], CASES["score gt"], CASES["age 30-40"], CASES["tier eq"]]}},
    "nested": {"any": [
        {"all": [CASES["female"], {"not": {"any": [CASES["city eq"], {"not": CASES["tags has_any"]}]}}]},
        {"all": [CASES["age 30-40 known only"], {"not": {"not": CASES["near Warsaw"]}}]},
        {"not": {"all": [CASES["consents has_none"], CASES["points gt (numeric)"]]}},
    ]},
    "overlaid tags": {"all": [{"kind": "tags", "op": "has_any", "values": ["split-test"]}, {"not": {"kind": "tags", "op": "has_all", "values": ["vip"]}}]},
}  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[DuckDBEngine, list[dict[str, Any]], dict[str, dict[tuple[str, str], str]]]:
    """A lake with overlay changes (some contacts tagged, untagged, consent removed), its contacts' snapshots as
    the audience statement renders them, and each contact's changes as the table mirrors them."""
    root = tmp_path_factory.mktemp("conditions")
    generate(root, contacts=600, events_per_contact=2, days=30, org="acme", seed=11, now=NOW)
    engine = DuckDBEngine(root)
    everyone = members(parse_definition({"name": "all", "where": {"all": []}}), engine, "acme", NOW)
    table = MemoryTable()
    overlay = ContactOverlay(DirLakeFiles(root), table)  # type: ignore[arg-type]
    overlay.write("acme", "action-1", "tag", "split-test", "add", everyone[::3], NOW - dt.timedelta(hours=3))
    overlay.write("acme", "action-2", "tag", "vip", "remove", everyone[::5], NOW - dt.timedelta(hours=2))
    overlay.write("acme", "action-3", "consent", "email_marketing", "remove", everyone[1::4], NOW - dt.timedelta(hours=1))
    overlay.write("acme", "action-4", "tag", "split-test", "remove", everyone[::9], NOW)
    engine = DuckDBEngine(root)  # views over the overlay files just written
    compiled = compile_segment(parse_definition({"name": "all", "where": {"all": []}}), "acme", NOW, dialect="duckdb", memberships={})
    snapshots = []
    for contact_id, contact in engine.run(compiled.contact_rows_sql(SNAPSHOT)).rows:
        row = json.loads(contact if isinstance(contact, str) else json.dumps(contact, default=str))  # as the CSV result holds it
        row["contact_id"] = contact_id
        snapshots.append(row)
    changes = {c: overlay.changes("acme", c) for c in everyone}
    return engine, snapshots, changes


def evaluated(condition: dict[str, Any], world: Any) -> set[str]:
    _, snapshots, changes = world
    parsed = CONDITION.validate_python(condition)
    found = set()
    for contact in snapshots:
        facts = Facts(contact=contact, today=NOW.date(), changes=lambda c=contact: changes[c["contact_id"]],
                      member=lambda s: False, engaged=lambda *_: False)  # fmt: skip
        if Evaluator(facts).holds(parsed):
            found.add(contact["contact_id"])
    return found


@pytest.mark.parametrize("name", [*LEAVES, *GROUPS])
def test_a_condition_holds_for_exactly_the_segments_members(name: str, world: Any) -> None:
    condition = LEAVES.get(name) or GROUPS[name]
    engine = world[0]
    compiled = set(members(parse_definition({"name": name, "where": condition}), engine, "acme", NOW))
    assert evaluated(condition, world) == compiled
    assert evaluated({"not": condition}, world) == {c["contact_id"] for c in world[1]} - compiled


def test_the_overlay_decides_tags_and_consents(world: Any) -> None:
    tagged = evaluated({"kind": "tags", "op": "has_any", "values": ["split-test"]}, world)
    everyone = sorted(c["contact_id"] for c in world[1])
    assert tagged == set(everyone[::3]) - set(everyone[::9])  # added to every third, then taken from every ninth
    no_consent = evaluated({"kind": "consents", "op": "has_none", "values": ["email_marketing"]}, world)
    assert set(everyone[1::4]) <= no_consent


def test_the_snapshot_carries_every_contacts_column() -> None:
    assert list(lake.CONTACTS) == SNAPSHOT


def test_engagement_and_membership_are_looked_up() -> None:
    seen: list[tuple[Any, ...]] = []

    def engaged(*args: Any) -> bool:
        seen.append(args)
        return args[1] == ("clicked",)

    facts = Facts(contact={"contact_id": "c1"}, today=NOW.date(), changes=dict, member=lambda s: s == "s-vip", engaged=engaged)
    holds = Evaluator(facts).holds
    assert holds(
        CONDITION.validate_python({"kind": "engagement", "message_step": "hello", "event": "clicked", "link": "https://x.example/a"})
    )
    assert seen == [("hello", ("clicked",), "https://x.example/a")]
    assert not holds(CONDITION.validate_python({"kind": "engagement", "message_step": "hello", "event": "delivered"}))
    assert seen[-1] == ("hello", ("email_delivered", "sms_delivered"), None)
    assert holds(CONDITION.validate_python({"kind": "in_segment", "segment_id": "s-vip"}))
    assert holds(CONDITION.validate_python({"kind": "not_in_segment", "segment_id": "s-other"}))
    assert isinstance(CONDITION.validate_python({"kind": "engagement", "message_step": "a", "event": "opened"}), EngagementCriterion)


@pytest.mark.parametrize(("condition", "problem"), [
    ({"kind": "activity", "event_type": "purchase"}, "a condition is a criterion with a kind"),
    ({"kind": "engagement", "message_step": "a", "event": "sent"}, "delivered"),
    ({"kind": "attribute", "field": "lead_score", "op": "gt", "value": "high"}, "expected a number"),
    ({"all": [{"kind": "in_list", "list_id": "l1"}]}, "a condition is a criterion with a kind"),
])  # fmt: skip
def test_a_condition_takes_only_what_one_contact_can_answer(condition: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        JourneyDefinition.model_validate({"name": "j", "audience": "s", "start": "s1",
                                          "steps": [{"id": "s1", "kind": "split", "condition": condition, "yes": "s1"}]})  # fmt: skip


def test_the_condition_schema_is_in_the_journeys_schema(tmp_path: Path) -> None:
    schema = json.dumps(JourneyDefinition.model_json_schema())
    assert "engagement" in schema and "multi_split" in schema and "random_split" in schema
