"""Reads that cope with real lakes, through the running local stack: files that arrive while it runs, with
shapes that differ from the files it started with (a column stored with Parquet's null type, as pyarrow writes
an all-null column; a column the contract does not know; contract columns missing), beside Tern's own files
that carry the same columns as strings. Previews (DuckDB) and evaluations (the refresh workflow through the
local Athena) both see every file, as a fresh process would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from stack_client import all_members, evaluate, live, local_stack, ok
from tern_local.generator import generate
from tern_local.stack import LocalStack

NOW = dt.datetime(2026, 11, 22, 12)
LINK = "https://shop.example.com/external"
BOUGHT = {"kind": "activity", "event_type": "external_purchase"}
BOUGHT_VIA_LINK = {**BOUGHT, "filters": {"link": LINK}}
NO_CITY = {"kind": "attribute", "field": "city", "op": "is_empty"}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root: Path = tmp_path_factory.mktemp("real-lake")
    generate(root, contacts=200, events_per_contact=3, days=10, org="acme", seed=11, now=NOW)
    return root


@pytest.fixture(scope="module")
def stack(lake: Path) -> Iterator[LocalStack]:
    with local_stack(lake) as running:
        yield running


def _count(stack: LocalStack, where: dict[str, Any]) -> int:
    return int(ok(stack, "POST", "/segments/preview", {"name": "count", "where": where})["total"])


def _events(lake: Path, day: str, name: str, columns: dict[str, Any]) -> None:
    folder = lake / "events" / "org_id=acme" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), folder / name)


def test_files_of_other_shapes_arriving_while_the_stack_runs_are_read(stack: LocalStack, lake: Path) -> None:
    assert _count(stack, BOUGHT) == 0
    no_city_before = _count(stack, NO_CITY)
    ids = ["c0000001", "c0000002", "c0000003"]
    # an export from another system: link all null (Parquet's null type), a column Tern does not know, no source
    _events(lake, "2026-11-21", "external-null-link.parquet", {
        "event_id": ["x1", "x2", "x3"], "contact_id": ids, "event_type": ["external_purchase"] * 3,
        "ts": pa.array([dt.datetime(2026, 11, 21, 9)] * 3, pa.timestamp("ms", tz="UTC")),
        "link": pa.array([None] * 3, pa.null()), "pos_terminal": ["T1", "T2", "T3"],
    })  # fmt: skip
    # ...and one carrying the link as a string, as Tern's own files do
    _events(lake, "2026-11-22", "external-with-link.parquet", {
        "event_id": ["x4"], "contact_id": ["c0000004"], "event_type": ["external_purchase"],
        "ts": pa.array([dt.datetime(2026, 11, 22, 9)], pa.timestamp("us")), "link": [LINK],
    })  # fmt: skip
    # contacts from a new source: city all null, a new column
    folder = lake / "contacts" / "org_id=acme"
    pq.write_table(pa.table({
        "contact_id": ["n0000001", "n0000002"], "email": ["n1@example.com", "n2@example.com"],
        "city": pa.array([None, None], pa.null()), "loyalty_tier": ["gold", "silver"],
    }), folder / "from-crm.parquet")  # fmt: skip

    assert _count(stack, BOUGHT) == 4
    assert _count(stack, BOUGHT_VIA_LINK) == 1
    assert _count(stack, NO_CITY) == no_city_before + 2

    segment = live(stack, {"name": "Bought elsewhere", "where": BOUGHT, "refresh": {"every": 365, "unit": "days"}})
    assert segment["latest"]["members"] == 4, segment
    assert sorted(all_members(stack, segment["id"])) == [*ids, "c0000004"]
    again = evaluate(stack, segment["id"])  # the workflow through the local Athena, started by hand
    assert (again["status"], again["members"], again["joined"], again["left"]) == ("done", 4, 0, 0), again


def test_a_file_replaced_in_place_is_read_as_it_is_now(stack: LocalStack, lake: Path) -> None:
    name = "replaced.parquet"
    _events(lake, "2026-11-20", name, {
        "event_id": ["r1"], "contact_id": ["c0000010"], "event_type": ["replaced_event"],
        "ts": pa.array([dt.datetime(2026, 11, 20, 9)], pa.timestamp("us")), "link": pa.array([None], pa.null()),
    })  # fmt: skip
    assert _count(stack, {"kind": "activity", "event_type": "replaced_event", "filters": {"link": LINK}}) == 0
    _events(lake, "2026-11-20", name, {
        "event_id": ["r1"], "contact_id": ["c0000010"], "event_type": ["replaced_event"],
        "ts": pa.array([dt.datetime(2026, 11, 20, 9)], pa.timestamp("us")), "link": [LINK],
    })  # fmt: skip
    assert _count(stack, {"kind": "activity", "event_type": "replaced_event", "filters": {"link": LINK}}) == 1
