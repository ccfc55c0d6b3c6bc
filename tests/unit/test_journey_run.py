"""A journey's run in parts: the audience's CSV result cut into byte ranges and read back range by range
(every contact exactly once, whatever the values and the cut), entries checked per batch, and the run's
state machine agreeing with the code."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tern.journeys.caps import Limits
from tern.journeys.entry import ENTER_CONCURRENCY, SNAPSHOT, Starter, plan, rows_in
from tern.journeys.model import Journey, Reentry, execution_name
from tern.journeys.repository import JourneyRepository

from fakes import MemoryTable

ROOT = Path(__file__).resolve().parents[2]


class Files:
    """One file of the results bucket, read by byte ranges as S3 serves them."""

    bucket = "results"

    def __init__(self, body: bytes):
        self.body = body
        self.reads = 0

    def size(self, key: str) -> int:
        return len(self.body)

    def read(self, key: str, start: int, end: int) -> bytes:
        self.reads += 1
        return self.body[start:end]


def athena_csv(rows: list[tuple[str, dict[str, Any]]]) -> bytes:
    """What Athena writes for (contact_id, contact): a header, every value quoted, quotes doubled, \\n after each line."""

    def line(values: list[str]) -> str:
        return ",".join('"' + v.replace('"', '""') + '"' for v in values) + "\n"

    return (line(["contact_id", "contact"]) + "".join(line([c, json.dumps(v, separators=(",", ":"))]) for c, v in rows)).encode()


nasty = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12) | st.sampled_from(
    ['", "', "a=b, c=d", "[x]", "{k=v}", '"\n"', "\\n", "é😀"]
)
contact = st.fixed_dictionaries({
    "email": st.one_of(st.none(), nasty), "lead_score": st.one_of(st.none(), st.integers(-5, 10**6)),
    "consents": st.lists(nasty, max_size=3), "attributes": st.dictionaries(nasty, nasty, max_size=3),
})  # fmt: skip
ids = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n\r"), min_size=1, max_size=10)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(ids, contact), max_size=25, unique_by=lambda r: r[0]), st.integers(1, 300))
def test_the_ranges_of_a_plan_read_every_contact_exactly_once(rows: list[tuple[str, dict[str, Any]]], chunk: int) -> None:
    files = Files(athena_csv(rows))
    ranges = plan(files.size("k"), chunk)
    assert ranges[0]["start"] == 0 and ranges[-1]["end"] == len(files.body)
    assert all(a["end"] == b["start"] for a, b in zip(ranges, ranges[1:], strict=False))
    read = [r for one in ranges for r in rows_in(files, "k", one["start"], one["end"])]
    expected = [
        {**v, "contact_id": c, "consents": list(v["consents"]), "attributes": dict(v["attributes"]), "tags": [], "categories": []}
        for c, v in rows
    ]
    assert read == expected


def test_a_row_cast_to_a_json_array_reads_as_the_object_does() -> None:
    """Presto casts a ROW to a JSON array of its values, Trino a named ROW to an object: either reads the same."""
    values: dict[str, Any] = dict.fromkeys(SNAPSHOT)
    values.update({"contact_id": "c1", "email": "a@b", "first_name": "Zoë", "country": "PL", "lead_score": 7, "birth_date": "1990-05-01",
                   "subscriber": True, "tags": ["vip"], "categories": [], "consents": ["email_marketing", "a, b"], "attributes": {"k=v": "{y}"}})  # fmt: skip
    as_object = Files(athena_csv([("c1", values)]))
    as_array = Files(athena_csv([]) + ('"c1","' + json.dumps([values[c] for c in SNAPSHOT]).replace('"', '""') + '"\n').encode())
    read = [rows_in(f, "k", 0, f.size("k")) for f in (as_object, as_array)]
    assert read[0] == read[1] == [values]


def test_an_empty_audience_has_a_header_and_nothing_to_start() -> None:
    files = Files(athena_csv([]))
    assert [r for one in plan(files.size("k")) for r in rows_in(files, "k", one["start"], one["end"])] == []


class Machines:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.ended: set[str] = set()

    def start(self, arn: str, name: str, payload: dict[str, Any]) -> bool:
        if name in self.started:
            return False
        self.started.append(name)
        return True

    def describe(self, execution_arn: str) -> dict[str, Any] | None:
        name = execution_arn.rsplit(":", 1)[1]
        return None if name not in self.started else {"status": "SUCCEEDED" if name in self.ended else "RUNNING"}


def _journey() -> Journey:
    now = dt.datetime(2026, 11, 23, 12, 0)
    definition = json.loads((ROOT / "examples" / "journeys" / "classic.json").read_text())
    return Journey(**definition, id="j1", org_id="acme", created_at=now, updated_at=now, status="running",
                   state_machine_arn="arn:aws:states:eu-central-1:1:stateMachine:tern-x-j1", published_version=1)  # fmt: skip


def test_a_batch_asks_which_of_its_contacts_entered_and_starts_only_the_others() -> None:
    table, machines = MemoryTable(), Machines()
    journeys = JourneyRepository(table)
    starter = Starter(machines, journeys, sleep=lambda s: None)  # type: ignore[arg-type]
    rows = [{"contact_id": f"c{i}", "consents": [], "attributes": {}} for i in range(250)]
    first = starter.start(_journey(), rows[:120], run_id="r1")
    assert (first.audience, first.started, first.already_entered) == (120, 120, 0)
    second = starter.start(_journey(), iter(rows), run_id="r2")  # a later run: only the newcomers start
    assert (second.audience, second.started, second.already_entered) == (250, 130, 120)
    assert len(machines.started) == len(set(machines.started)) == 250
    journeys.count_run("acme", "j1", "r2", second.counts())
    journeys.count_run("acme", "j1", "r2", {"failed": 3})  # another batch adds its own
    assert journeys.run_counts("acme", "j1", "r2") == {
        "audience": 250,
        "started": 130,
        "already_entered": 120,
        "failed": 3,
        "over_daily_limit": 0,
    }


def test_entries_per_day_admits_that_many_a_day_and_leaves_the_rest_for_a_later_run() -> None:
    table, machines = MemoryTable(), Machines()
    journeys = JourneyRepository(table)
    day = [dt.datetime(2026, 11, 23, 22, 30)]  # 23:30 in Warsaw: the journey's day is the 23rd until 23:00 UTC
    limited = _journey().model_copy(update={"limits": Limits(entries_per_day=100), "timezone": "Europe/Warsaw"})
    starter = Starter(machines, journeys, clock=lambda: day[0], sleep=lambda s: None)  # type: ignore[arg-type]
    rows = [{"contact_id": f"c{i}", "consents": [], "attributes": {}} for i in range(250)]
    first = starter.start(limited, rows, run_id="r1")
    assert (first.started, first.over_daily_limit) == (100, 150)
    day[0] = dt.datetime(2026, 11, 23, 23, 30)  # past midnight in Warsaw: a new day
    second = starter.start(limited, rows, run_id="r2")
    assert (second.already_entered, second.started, second.over_daily_limit) == (100, 100, 50)
    assert len(set(machines.started)) == 200


def test_a_recurring_journey_takes_members_again_once_their_last_entry_ended_and_a_retried_run_starts_nobody_twice() -> None:
    table, machines = MemoryTable(), Machines()
    journeys = JourneyRepository(table)
    day = [dt.datetime(2026, 11, 23, 12, 0)]
    again = _journey().model_copy(
        update={"mode": "recurring", "reentry": Reentry.model_validate({"max_entries": 3, "min_interval": "P7D"})}
    )
    starter = Starter(machines, journeys, clock=lambda: day[0], sleep=lambda s: None)  # type: ignore[arg-type]
    rows = [{"contact_id": f"c{i}", "consents": [], "attributes": {}} for i in range(10)]
    assert starter.start(again, rows, run_id="r1").started == 10
    assert starter.start(again, rows, run_id="r1").started == 0  # the run's range retried: the same entries, nobody twice
    assert len(machines.started) == 10
    day[0] += dt.timedelta(days=3)
    assert starter.start(again, rows, run_id="r2").already_entered == 10  # too soon
    day[0] += dt.timedelta(days=7)
    machines.ended |= {execution_name(f"c{i}") for i in range(6)}  # four still on their way
    second = starter.start(again, rows, run_id="r3")
    assert (second.started, second.already_entered) == (6, 4)
    assert {execution_name(f"c{i}", 2) for i in range(6)} <= set(machines.started)
    machines.ended |= set(machines.started)
    day[0] += dt.timedelta(days=8)
    assert starter.start(again, rows, run_id="r4").started == 10  # c0..c5 a third time, c6..c9 a second
    day[0] += dt.timedelta(days=8)
    machines.ended |= set(machines.started)
    assert starter.start(again, rows, run_id="r5").started == 4  # c0..c5 entered three times: no more
    assert journeys.totals("acme", "j1") == {"contacts": 10, "entries": 30}


def test_the_run_state_machine_agrees_with_the_code() -> None:
    from tern_local.template import properties

    text = (ROOT / "statemachines" / "journey_run.asl.json").read_text()
    definition = json.loads(text)
    assert definition["States"]["Enter"]["MaxConcurrency"] == ENTER_CONCURRENCY
    assert definition["States"]["Enter"]["ItemProcessor"]["ProcessorConfig"]["Mode"] == "DISTRIBUTED"
    machine = properties("JourneyRunStateMachine")
    assert machine["DefinitionUri"] == "statemachines/journey_run.asl.json"
    assert set(re.findall(r"\$\{(\w+)\}", text)) == set(machine["DefinitionSubstitutions"])
    rules = {r["Prefix"]: r["ExpirationInDays"] for r in properties("ResultsBucket")["LifecycleConfiguration"]["Rules"]}
    assert rules["athena/"] == rules["journey-runs/"] == 7  # the audience's snapshots and the plan go within a week
    stages = set(re.findall(r'"stage": "(\w+)"', text))
    assert stages == {"audience", "plan", "enter", "failed", "report"}
