"""The definition model: what it accepts, and the field path it names when it refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tern.errors import DefinitionError
from tern.segments.definition import definition_schema, parse_definition, parse_definition_json


def where(*criteria: dict[str, Any]) -> dict[str, Any]:
    return {"name": "t", "where": {"all": list(criteria)}}


def problems(data: Any) -> list[str]:
    with pytest.raises(DefinitionError) as caught:
        parse_definition(data)
    return [str(p) for p in caught.value.problems]


def test_the_format_example_parses_and_lists_its_criteria() -> None:
    example = {
        "name": "Warsaw hot leads who clicked the launch link",
        "description": "seed example",
        "where": {"all": [
            {"kind": "attribute", "field": "lead_score", "op": "gt", "value": 20},
            {"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"},
            {"kind": "activity", "event_type": "email_clicked", "filters": {"link": "https://shop.example.com/new"}, "window": {"last_days": 30}},
            {"not": {"kind": "activity", "event_type": "email_bounced", "filters": {"bounce_type": "hard"}}},
        ]},
    }  # fmt: skip
    definition = parse_definition(example)
    assert [(path, c.kind) for path, c in definition.criteria()] == [
        ("where.all[0]", "attribute"), ("where.all[1]", "attribute"),
        ("where.all[2]", "activity"), ("where.all[3].not", "activity"),
    ]  # fmt: skip
    again = parse_definition(json.loads(definition.model_dump_json(by_alias=True, exclude_none=True)))
    assert again == definition


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            where({"kind": "attribute", "field": "lead_score", "op": "gt", "value": "hot"}),
            'where.all[0].value: expected a number, got "hot"',
        ),
        (where({"kind": "attribute", "field": "cty", "op": "eq", "value": "x"}), "where.all[0].field: unknown contact field 'cty'"),
        (
            where({"kind": "attribute", "field": "tags", "op": "eq", "value": "x"}),
            "where.all[0].field: tags is a list; use a criterion of kind 'tags'",
        ),
        (
            where({"kind": "attribute", "field": "city", "op": "between", "values": ["a"]}),
            "where.all[0].values: between needs exactly two values",
        ),
        (
            where({"kind": "attribute", "field": "lead_score", "op": "between", "values": [30, 10]}),
            "where.all[0].values: between needs low <= high",
        ),
        (
            where({"kind": "attribute", "field": "city", "op": "is_empty", "value": "x"}),
            "where.all[0].value: operator is_empty takes no value",
        ),
        (where({"kind": "attribute", "field": "city", "op": "in"}), "where.all[0]: operator in needs values"),
        (
            where({"kind": "attribute", "field": "lead_score", "op": "contains", "value": "1"}),
            "where.all[0].value: operator contains applies to text fields",
        ),
        (
            where({"kind": "attribute", "field": "birth_date", "op": "gt", "value": "yesterday"}),
            'where.all[0].value: expected a date YYYY-MM-DD, got "yesterday"',
        ),
        (
            where({"kind": "attribute", "field": "subscriber", "op": "gt", "value": True}),
            "where.all[0].value: operator gt does not apply to a true/false field",
        ),
        (where({"kind": "teleport"}), "where.all[0]: unknown criterion kind 'teleport'"),
        (where({"kind": "tags", "op": "has_any", "values": []}), "where.all[0].values: needs at least 1 value"),
        (where({"kind": "age", "min": 40, "max": 30}), "where.all[0]: age needs min <= max"),
        (where({"kind": "gender", "value": "other"}), "where.all[0].value: must be one of: female, male or any"),
        (where({"kind": "distance", "lat": 95, "lon": 0, "within_km": 1}), "where.all[0].lat: must be at most 90"),
        (
            where({"kind": "activity", "event_type": "x", "filters": {"colour": "red"}}),
            "where.all[0].filters: unknown event field 'colour'",
        ),
        (
            where({"kind": "activity", "event_type": "x", "window": {"last_days": 3, "days_ago": 1}}),
            "where.all[0].window: a window needs exactly one of",
        ),
        (
            where({"kind": "activity", "event_type": "x", "window": {"last_days": 3, "field": "created_at"}}),
            "where.all[0].window.field: must be one of: ts or event_start",
        ),
        (where({"kind": "activity", "event_type": "x", "measure": "avg:amount"}), "where.all[0].measure: must be one of:"),
        (where({"kind": "activity", "event_type": "x", "colour": "red"}), "where.all[0].colour: unknown field"),
        (where({"kind": "recency", "op": "lately", "days": 3}), "where.all[0].op: must be one of: within, not_within or days_ago"),
        (where({"kind": "score_change", "days": 30}), "where.all[0]: score_change needs op and value, or top"),
        (
            where({"kind": "attribute", "field": "city", "op": "eq", "value": "a\x00b"}),
            "where.all[0].value: must not contain control characters",
        ),
        ({"name": "t", "where": {"any": [{"not": {"all": [{"kind": "lead_time"}]}}]}}, "where.any[0].not.all[0].max_days: is required"),
        ({"name": "t", "where": {"all": [], "any": []}}, 'where: expected a criterion with a "kind", or one group'),
        ({"name": "t", "where": {"all": []}, "owner": "me"}, "owner: unknown field"),
        ({"where": {"all": []}}, "name: is required"),
        ([1, 2], "a segment definition is a JSON object"),
    ],
)
def test_bad_input_names_the_field(data: Any, expected: str) -> None:
    found = problems(data)
    assert any(p.startswith(expected) for p in found), found


def test_every_problem_is_reported_at_once() -> None:
    found = problems(where(
        {"kind": "attribute", "field": "lead_score", "op": "gt", "value": "x"},
        {"kind": "gender", "value": "?"},
    ))  # fmt: skip
    assert [p.split(":")[0] for p in found] == ["where.all[0].value", "where.all[1].value"]


def test_not_json_is_a_definition_error() -> None:
    with pytest.raises(DefinitionError, match="not valid JSON"):
        parse_definition_json("{nope")


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(DefinitionError, match="lone surrogates"):
        parse_definition_json('{"name": "t", "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "\\ud800"}]}}')


def test_schema_covers_every_kind() -> None:
    text = json.dumps(definition_schema())
    for kind in ("attribute", "tags", "categories", "consents", "age", "gender", "distance", "activity",
                 "recency", "lead_time", "score_change", "journey_outcome"):  # fmt: skip
        assert f'"{kind}"' in text
