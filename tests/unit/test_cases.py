"""Table-driven cases: each definition through the plain reference evaluator and through the compiled SQL
on DuckDB, over a generated two-org lake, at two evaluation times. The member sets must be identical."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quick_lake import Quick, quick_lake
from tern.engines.duckdb import DuckDBEngine
from tern.segments.definition import parse_definition
from tern.segments.evaluate import count, members

from conftest import NOW, ORGS
from reference import Lake

LAUNCH = "https://shop.example.com/new"

CASES: dict[str, dict[str, Any]] = {
    # attribute: every operator, contact columns of every type, custom attributes
    "score gt": {"kind": "attribute", "field": "lead_score", "op": "gt", "value": 20},
    "score gte": {"kind": "attribute", "field": "lead_score", "op": "gte", "value": 20},
    "score lt": {"kind": "attribute", "field": "lead_score", "op": "lt", "value": 10},
    "score lte float": {"kind": "attribute", "field": "lead_score", "op": "lte", "value": 9.5},
    "score eq": {"kind": "attribute", "field": "lead_score", "op": "eq", "value": 15},
    "score ne (null matches)": {"kind": "attribute", "field": "lead_score", "op": "ne", "value": 15},
    "score between": {"kind": "attribute", "field": "lead_score", "op": "between", "values": [10, 30]},
    "score is_empty": {"kind": "attribute", "field": "lead_score", "op": "is_empty"},
    "city eq": {"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"},
    "city ne": {"kind": "attribute", "field": "city", "op": "ne", "value": "Warszawa"},
    "city in": {"kind": "attribute", "field": "city", "op": "in", "values": ["Kraków", "Gdańsk"]},
    "city not_in": {"kind": "attribute", "field": "city", "op": "not_in", "values": ["Kraków", "Warszawa"]},
    "city contains": {"kind": "attribute", "field": "city", "op": "contains", "value": "aw"},
    "city starts_with": {"kind": "attribute", "field": "city", "op": "starts_with", "value": "W"},
    "city is_empty": {"kind": "attribute", "field": "city", "op": "is_empty"},
    "city is_not_empty": {"kind": "attribute", "field": "city", "op": "is_not_empty"},
    "last name with quote": {"kind": "attribute", "field": "last_name", "op": "eq", "value": "O'Brien"},
    "phone is_not_empty": {"kind": "attribute", "field": "phone", "op": "is_not_empty"},
    "birth_date lt": {"kind": "attribute", "field": "birth_date", "op": "lt", "value": "1980-01-01"},
    "birth_date between": {"kind": "attribute", "field": "birth_date", "op": "between", "values": ["1985-01-01", "1995-12-31"]},
    "created_at gte": {"kind": "attribute", "field": "created_at", "op": "gte", "value": "2025-01-01T00:00:00Z"},
    "subscriber eq true": {"kind": "attribute", "field": "subscriber", "op": "eq", "value": True},
    "subscriber ne true": {"kind": "attribute", "field": "subscriber", "op": "ne", "value": True},
    "latitude gt": {"kind": "attribute", "field": "latitude", "op": "gt", "value": 52.0},
    "contact_id in": {"kind": "attribute", "field": "contact_id", "op": "in", "values": ["c0000001", "c0000002", "c0000999"]},
    "tier eq": {"kind": "attribute", "field": "attributes.loyalty_tier", "op": "eq", "value": "gold"},
    "tier ne": {"kind": "attribute", "field": "attributes.loyalty_tier", "op": "ne", "value": "gold"},
    "tier in": {"kind": "attribute", "field": "attributes.loyalty_tier", "op": "in", "values": ["gold", "silver"]},
    "tier not_in": {"kind": "attribute", "field": "attributes.loyalty_tier", "op": "not_in", "values": ["bronze"]},
    "points gt (numeric)": {"kind": "attribute", "field": "attributes.points", "op": "gt", "value": 2500},
    "points between": {"kind": "attribute", "field": "attributes.points", "op": "between", "values": [100, 900]},
    "genre is_empty": {"kind": "attribute", "field": "attributes.favourite_genre", "op": "is_empty"},
    "genre starts_with": {"kind": "attribute", "field": "attributes.favourite_genre", "op": "starts_with", "value": "c"},
    # tags, categories, consents
    "tags has_any": {"kind": "tags", "op": "has_any", "values": ["vip", "press"]},
    "tags has_all": {"kind": "tags", "op": "has_all", "values": ["newsletter", "family"]},
    "tags has_none": {"kind": "tags", "op": "has_none", "values": ["newsletter"]},
    "categories has_any": {"kind": "categories", "op": "has_any", "values": ["opera"]},
    "consents has_all": {"kind": "consents", "op": "has_all", "values": ["email_marketing", "sms_marketing"]},
    "consents has_none": {"kind": "consents", "op": "has_none", "values": ["email_marketing"]},
    # age, gender, distance
    "age 30-40": {"kind": "age", "min": 30, "max": 40},
    "age 30-40 known only": {"kind": "age", "min": 30, "max": 40, "include_unknown": False},
    "age up to 25": {"kind": "age", "max": 25},
    "age 65 plus known": {"kind": "age", "min": 65, "include_unknown": False},
    "female": {"kind": "gender", "value": "female"},
    "male": {"kind": "gender", "value": "male"},
    "any gender": {"kind": "gender", "value": "any"},
    "near Warsaw": {"kind": "distance", "lat": 52.2297, "lon": 21.0122, "within_km": 8},
    "near London": {"kind": "distance", "lat": 51.5072, "lon": -0.1276, "within_km": 5.5},
    # activity: windows, measures, filters, did-not
    "clicked launch 30d": {"kind": "activity", "event_type": "email_clicked", "filters": {"link": LAUNCH}, "window": {"last_days": 30}},
    "opened 3 days ago": {"kind": "activity", "event_type": "email_opened", "window": {"days_ago": 3}},
    "clicked in June": {"kind": "activity", "event_type": "email_clicked", "window": {"between": ["2026-06-01", "2026-06-30"]}},
    "did not click 30d": {"kind": "activity", "event_type": "email_clicked", "window": {"last_days": 30}, "op": "eq", "value": 0},
    "3+ purchases": {"kind": "activity", "event_type": "purchase", "op": "gte", "value": 3},
    "spent 500 in 180d": {
        "kind": "activity",
        "event_type": "purchase",
        "measure": "sum:amount",
        "op": "gte",
        "value": 500,
        "window": {"last_days": 180},
    },
    "no tickets": {"kind": "activity", "event_type": "purchase", "measure": "sum:quantity", "op": "eq", "value": 0},
    "2+ orders 90d": {
        "kind": "activity",
        "event_type": "purchase",
        "measure": "distinct:order_id",
        "op": "gte",
        "value": 2,
        "window": {"last_days": 90},
    },
    "2+ shows": {"kind": "activity", "event_type": "purchase", "measure": "distinct:event_ref", "op": "gte", "value": 2},
    "at most 1 show": {"kind": "activity", "event_type": "purchase", "measure": "distinct:event_ref", "op": "lte", "value": 1},
    "boxoffice buyers": {"kind": "activity", "event_type": "purchase", "filters": {"sales_channel": "boxoffice"}},
    "hamlet shows 120 back": {
        "kind": "activity",
        "event_type": "purchase",
        "filters": {"production": "hamlet"},
        "window": {"days_back": 120, "field": "event_start"},
    },
    "shows starting last week": {"kind": "activity", "event_type": "purchase", "window": {"last_days": 7, "field": "event_start"}},
    "4+ soft bounces": {"kind": "activity", "event_type": "email_bounced", "filters": {"bounce_type": "soft"}, "op": "gte", "value": 4},
    "exactly 2 opens": {"kind": "activity", "event_type": "email_opened", "op": "eq", "value": 2},
    "opens ne 0": {"kind": "activity", "event_type": "email_opened", "op": "ne", "value": 0, "window": {"last_days": 14}},
    "viewed pages": {
        "kind": "activity",
        "event_type": "page_view",
        "filters": {"url": [LAUNCH, "https://shop.example.com/opera"]},
        "op": "gt",
        "value": 3,
    },
    "campaign by alias": {"kind": "activity", "event_type": "email_delivered", "filters": {"campaign": "cmp-2026-11-20"}},
    "journey step alias": {
        "kind": "activity",
        "event_type": "journey_step",
        "filters": {"journey": "j-launch", "step": "s1-email", "outcome": "sent"},
    },
    "mobile page views": {
        "kind": "activity",
        "event_type": "page_view",
        "filters": {"properties.device": "mobile", "url": LAUNCH},
        "window": {"last_days": 60},
    },
    "blocked for no consent": {"kind": "activity", "event_type": "journey_step", "filters": {"outcome": "blocked", "reason": "no_consent"}},
    "never-seen event type": {"kind": "activity", "event_type": "webinar_attended", "op": "eq", "value": 0},
    # recency
    "active 7d": {"kind": "recency", "op": "within", "days": 7},
    "inactive 60d": {
        "kind": "recency",
        "event_types": ["page_view", "purchase", "email_clicked", "form_submit", "search"],
        "op": "not_within",
        "days": 60,
    },
    "no marketing touch 60d": {"kind": "recency", "event_types": ["email_sent", "sms_sent"], "op": "not_within", "days": 60},
    "last purchase 2 days ago": {"kind": "recency", "event_types": ["purchase"], "op": "days_ago", "days": 2},
    "last event today": {"kind": "recency", "op": "days_ago", "days": 0},
    # lead time, score change, journey outcome
    "impulsive buyers": {"kind": "lead_time", "max_days": 2},
    "impulsive buyers 90d": {"kind": "lead_time", "max_days": 2, "window": {"last_days": 90}},
    "score up 20 in 30d": {"kind": "score_change", "days": 30, "op": "gt", "value": 20},
    "score falling": {"kind": "score_change", "days": 30, "op": "lt", "value": 0},
    "top 25 risers": {"kind": "score_change", "days": 30, "top": 25},
    "top 25 of positive": {"kind": "score_change", "days": 30, "top": 25, "op": "gt", "value": 0},
    "clicked at wait step": {"kind": "journey_outcome", "journey_id": "j-launch", "step_id": "s2-wait-click", "outcome": "clicked"},
    "stopped anywhere": {"kind": "journey_outcome", "journey_id": "j-launch", "outcome": "stopped"},
}

GROUPS: dict[str, dict[str, Any]] = {
    "empty all is everyone": {"all": []},
    "empty any is no one": {"any": []},
    "not of empty any is everyone": {"not": {"any": []}},
    "demo: hot leads": {
        "all": [
            CASES["score gt"],
            CASES["city eq"],
            CASES["clicked launch 30d"],
            {"not": {"kind": "activity", "event_type": "email_bounced", "filters": {"bounce_type": "hard"}}},
        ]
    },
    "demo: bounce risk": {
        "any": [
            {"kind": "activity", "event_type": "email_bounced", "filters": {"bounce_type": "hard"}},
            CASES["4+ soft bounces"],
        ]
    },
    "demo: future shows minus one production": {
        "all": [
            {"kind": "activity", "event_type": "purchase", "window": {"days_back": 120, "field": "event_start"}},
            {
                "not": {
                    "kind": "activity",
                    "event_type": "purchase",
                    "filters": {"production": "carmen"},
                    "window": {"days_back": 120, "field": "event_start"},
                }
            },
        ]
    },
    "deep nesting": {
        "any": [
            {"all": [CASES["female"], {"not": {"any": [CASES["city eq"], {"not": CASES["tags has_any"]}]}}]},
            {"all": [CASES["age 30-40 known only"], {"any": [CASES["3+ purchases"], {"not": {"not": CASES["near Warsaw"]}}]}]},
            {"not": {"all": [CASES["active 7d"], {"any": [CASES["score up 20 in 30d"], CASES["consents has_none"]]}]}},
        ]
    },
    "not is the exact complement (nulls)": {"not": {"any": [CASES["city eq"], CASES["score gt"], CASES["age 30-40"]]}},
    "measured together": {
        "all": [CASES["spent 500 in 180d"], CASES["2+ shows"], {"not": CASES["score falling"]}, CASES["top 25 of positive"]]
    },
    "same aggregate twice": {"all": [CASES["clicked launch 30d"], {"not": {"not": CASES["clicked launch 30d"]}}]},
}

TRIVIAL = {"empty all is everyone", "empty any is no one", "not of empty any is everyone", "any gender", "never-seen event type"}
EARLIER = NOW - dt.timedelta(days=40, hours=5)


def _definition(where: dict[str, Any]) -> dict[str, Any]:
    return {"name": "case", "where": where if any(k in where for k in ("all", "any", "not")) else {"all": [where]}}


ALL = {**CASES, **GROUPS}


@pytest.mark.parametrize("name", list(ALL))
def test_sql_matches_reference(name: str, generated_rows: Lake, generated_engine: DuckDBEngine) -> None:
    definition = _definition(ALL[name])
    model = parse_definition(definition)
    for org in ORGS:
        for now in (NOW, EARLIER):
            expected = generated_rows.members(definition, org, now)
            got = members(model, generated_engine, org, now)
            assert got == sorted(got)
            assert set(got) == expected, (
                f"{name} for {org} at {now}: sql-only {sorted(set(got) - expected)[:5]}, reference-only {sorted(expected - set(got))[:5]}"
            )
    if name not in TRIVIAL:
        everyone = len(generated_rows.contacts[ORGS[0]])
        assert 0 < len(generated_rows.members(definition, ORGS[0], NOW)) < everyone, f"{name} does not discriminate"


@pytest.fixture(scope="module")
def quick(generated_lake: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Quick]:
    """The same lake through the quick path: put into S3 (moto's), copied from it by the preview function's side."""
    with quick_lake(generated_lake, tmp_path_factory.mktemp("copies")) as made:
        yield made


@pytest.mark.parametrize("name", list(ALL))
def test_the_quick_path_matches_reference(name: str, generated_rows: Lake, quick: Quick) -> None:
    definition = _definition(ALL[name])
    model = parse_definition(definition)
    for org in ORGS:
        expected = generated_rows.members(definition, org, NOW)
        got = members(model, quick.engine(org), org, NOW)
        assert set(got) == expected, (
            f"{name} for {org}: quick-only {sorted(set(got) - expected)[:5]}, reference-only {sorted(expected - set(got))[:5]}"
        )


@pytest.mark.parametrize("name", list(GROUPS))
def test_the_quick_paths_per_criterion_counts_match_reference(name: str, generated_rows: Lake, quick: Quick) -> None:
    definition = _definition(GROUPS[name])
    result = count(parse_definition(definition), quick.engine(ORGS[1]), ORGS[1], NOW)
    assert result.total == len(generated_rows.members(definition, ORGS[1], NOW))
    assert [c.count for c in result.criteria] == generated_rows.criterion_counts(definition, ORGS[1], NOW)


@pytest.mark.parametrize("name", list(GROUPS))
def test_per_criterion_counts_match_reference(name: str, generated_rows: Lake, generated_engine: DuckDBEngine) -> None:
    definition = _definition(GROUPS[name])
    result = count(parse_definition(definition), generated_engine, ORGS[1], NOW)
    assert result.total == len(generated_rows.members(definition, ORGS[1], NOW))
    assert [c.count for c in result.criteria] == generated_rows.criterion_counts(definition, ORGS[1], NOW)
    alone = count(parse_definition(definition), generated_engine, ORGS[1], NOW, per_criterion=False)
    assert (alone.total, alone.criteria) == (result.total, [])


def test_counts_name_every_leaf_by_path(generated_engine: DuckDBEngine) -> None:
    definition = parse_definition(_definition(GROUPS["deep nesting"]))
    result = count(definition, generated_engine, ORGS[0], NOW)
    assert [c.path for c in result.criteria][:3] == [
        "where.any[0].all[0]",
        "where.any[0].all[1].not.any[0]",
        "where.any[0].all[1].not.any[1].not",
    ]
    assert result.criteria[0].kind == "gender"


def test_orgs_do_not_see_each_other(generated_rows: Lake, generated_engine: DuckDBEngine) -> None:
    # Both orgs use the same contact ids; each evaluation must see only its own rows.
    definition = _definition(CASES["score gt"])
    acme = members(parse_definition(definition), generated_engine, "acme", NOW)
    globex = members(parse_definition(definition), generated_engine, "globex", NOW)
    assert acme != globex
    assert members(parse_definition(definition), generated_engine, "initech", NOW) == []


def test_limit_gives_the_first_members(generated_engine: DuckDBEngine) -> None:
    model = parse_definition(_definition(CASES["female"]))
    everyone = members(model, generated_engine, "acme", NOW)
    assert members(model, generated_engine, "acme", NOW, limit=5) == everyone[:5]
