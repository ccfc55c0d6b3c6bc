"""Snapshots of the Athena SQL the compiler emits for the example segments, and of the ASL the classic journey
compiles to.

A change to the emitted SQL shows up here as a diff to review. To accept it:
TERN_UPDATE_SNAPSHOTS=1 make test
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
import sqlglot
from sqlglot import exp

from tern.journeys.asl import compile_journey
from tern.journeys.model import JourneyDefinition
from tern.segments.compiler import compile_segment
from tern.segments.definition import parse_definition_json

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "segments").glob("*.json"))
SNAPSHOTS = Path(__file__).resolve().parents[1] / "snapshots"
NOW = dt.datetime(2026, 11, 22, 9, 30)
STEP_FUNCTION = "arn:aws:lambda:eu-central-1:123456789012:function:tern-journey-step-dev"


def _matches_snapshot(text: str, snapshot: Path) -> None:
    if os.environ.get("TERN_UPDATE_SNAPSHOTS") == "1" or not snapshot.exists():
        snapshot.write_text(text)
    assert text == snapshot.read_text()


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_athena_sql_snapshot(example: Path) -> None:
    compiled = compile_segment(parse_definition_json(example.read_text()), "acme", NOW, dialect="athena", database="tern")
    sql = sqlglot.transpile(compiled.members_sql(), read="athena", write="athena", pretty=True)[0] + "\n"
    _matches_snapshot(sql, SNAPSHOTS / f"{example.stem}.athena.sql")


def test_classic_journey_asl_snapshot() -> None:
    definition = JourneyDefinition.model_validate_json((ROOT / "examples" / "journeys" / "classic.json").read_text())
    asl = json.dumps(compile_journey(definition, STEP_FUNCTION), indent=2) + "\n"
    _matches_snapshot(asl, SNAPSHOTS / "classic.asl.json")


@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_athena_sql_is_one_statement_bound_to_the_org(example: Path) -> None:
    compiled = compile_segment(parse_definition_json(example.read_text()), "acme", NOW, dialect="athena", database="tern")
    for sql in (compiled.members_sql(), compiled.count_sql()):
        statements = sqlglot.parse(sql, read="athena")
        assert len(statements) == 1
        tables = {(t.db, t.name) for t in statements[0].find_all(exp.Table) if t.db}
        assert tables <= {("tern", "contacts"), ("tern", "events"), ("tern", "overlay")}
        # every scan of a lake table is filtered on org_id = 'acme'
        org_filters = [
            e for e in statements[0].find_all(exp.EQ)
            if isinstance(e.this, exp.Column) and e.this.name == "org_id" and e.expression.name == "acme"
        ]  # fmt: skip
        lake_scans = [t for t in statements[0].find_all(exp.Table) if t.db == "tern"]
        assert len(org_filters) == len(lake_scans) > 0
