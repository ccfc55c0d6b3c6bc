"""Counts per node as written: every group and criterion of a definition gets the count of its own subtree, so a
builder can show a number beside every row; a `not` counts the contacts it keeps, never those it removes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from tern.engines.duckdb import DuckDBEngine
from tern.segments.definition import parse_definition
from tern.segments.evaluate import count
from tern_local.generator import generate

NOW = dt.datetime(2026, 11, 22, 12)
WHERE = {"all": [
    {"kind": "consents", "op": "has_any", "values": ["email_marketing"]},
    {"any": [
        {"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"},
        {"not": {"kind": "activity", "event_type": "purchase", "window": {"last_days": 90}}},
    ]},
    {"not": {"any": [
        {"kind": "activity", "event_type": "email_bounced", "filters": {"bounce_type": "hard"}},
        {"kind": "age", "max": 20, "include_unknown": False},
    ]}},
]}  # fmt: skip


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> DuckDBEngine:
    root: Path = tmp_path_factory.mktemp("node-counts")
    generate(root, contacts=1500, events_per_contact=6, days=120, org="o", seed=7, now=NOW)
    return DuckDBEngine(root)


def _subtree(where: Any, path: str) -> Any:
    node = where
    for part in path.split(".")[1:]:
        if part == "not":
            node = node["not"]
        else:
            key, index = part.rstrip("]").split("[")
            node = node[key][int(index)]
    return node


def test_every_node_counts_its_own_subtree(engine: DuckDBEngine) -> None:
    counts = count(parse_definition({"name": "n", "where": WHERE}), engine, "o", NOW)
    assert [n.path for n in counts.nodes] == [
        "where", "where.all[0]", "where.all[1]", "where.all[1].any[0]", "where.all[1].any[1]", "where.all[1].any[1].not",
        "where.all[2]", "where.all[2].not", "where.all[2].not.any[0]", "where.all[2].not.any[1]",
    ]  # fmt: skip
    assert counts.nodes[0].count == counts.total > 0
    for node in counts.nodes:
        alone = count(parse_definition({"name": "alone", "where": _subtree(WHERE, node.path)}), engine, "o", NOW, per_criterion=False)
        assert node.count == alone.total, node
    by_path = {n.path: n for n in counts.nodes}
    kept, bouncers = by_path["where.all[1].any[1]"], by_path["where.all[1].any[1].not"]
    assert kept.kind == "not" and bouncers.kind == "activity"
    everyone = count(parse_definition({"name": "all", "where": {"kind": "gender", "value": "any"}}), engine, "o", NOW).total
    assert kept.count == everyone - bouncers.count  # the not keeps everyone the purchase criterion does not take
    assert [c.path for c in counts.criteria] == [n.path for n in counts.nodes if n.kind not in ("all", "any", "not")]
