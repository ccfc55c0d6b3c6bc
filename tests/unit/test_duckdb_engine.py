"""The embedded engine over the on-disk layout: partition pruning, missing datasets, clear failures."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from tern.engines.duckdb import DuckDBEngine
from tern.errors import DataError, QueryError
from tern.segments.definition import parse_definition
from tern.segments.evaluate import members
from tern_local.generator import generate

NOW = dt.datetime(2026, 11, 22, 12)


@pytest.fixture()
def lake(tmp_path: Path) -> Path:
    generate(tmp_path, contacts=300, events_per_contact=10, days=60, org="o", seed=5, now=NOW)
    return tmp_path


def clicked_within(days: int) -> object:
    return parse_definition({"name": "w", "where": {"all": [
        {"kind": "activity", "event_type": "email_opened", "window": {"last_days": days}}]}})  # fmt: skip


def test_a_window_reads_only_its_partitions(lake: Path) -> None:
    engine = DuckDBEngine(lake)
    before = members(clicked_within(7), engine, "o", NOW)  # type: ignore[arg-type]
    assert before
    # Spoil every partition older than the window (but the first, whose footer DuckDB reads to bind
    # the schema): a statement that opened one would fail.
    for folder in sorted((lake / "events" / "org_id=o").iterdir())[1:]:
        if folder.name < f"dt={(NOW - dt.timedelta(days=7)).date()}":
            for file in folder.glob("*.parquet"):
                file.write_bytes(b"not parquet at all")
    assert members(clicked_within(7), engine, "o", NOW) == before  # type: ignore[arg-type]
    with pytest.raises(QueryError, match="DuckDB could not run the statement"):
        members(clicked_within(30), engine, "o", NOW)  # type: ignore[arg-type]


def test_a_lake_without_events_answers_from_contacts(lake: Path) -> None:
    shutil.rmtree(lake / "events")
    engine = DuckDBEngine(lake)
    did_not = parse_definition({"name": "n", "where": {"all": [
        {"kind": "activity", "event_type": "email_opened", "op": "eq", "value": 0}]}})  # fmt: skip
    assert len(members(did_not, engine, "o", NOW)) == 300


def test_missing_contacts_is_a_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no contacts dataset"):
        DuckDBEngine(tmp_path)


def test_unreadable_contacts_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "contacts" / "org_id=o").mkdir(parents=True)
    (tmp_path / "contacts" / "org_id=o" / "x.parquet").write_bytes(b"garbage")
    with pytest.raises(DataError, match="cannot read the contacts dataset"):
        DuckDBEngine(tmp_path)


def test_has_org(lake: Path) -> None:
    engine = DuckDBEngine(lake)
    assert engine.has_org("o") and not engine.has_org("p")
