"""Running a journey: its audience at entry, when each contact's waits fall, and starting executions.

A run is a state machine (statemachines/journey_run.asl.json): its audience's statement (the audience
segment's stored membership minus the exclusion segments', each member's snapshot as one JSON cell) runs in
Athena; its CSV result is cut into byte ranges (`plan`), and a Distributed Map hands each range to the
journey_run function, which reads just those lines (`rows_in`) and starts one execution per contact who
has not entered this journey before. No function ever holds the whole audience.

The execution's name is a digest of the contact id, so Step Functions itself refuses a second start on the
same state machine; the `entered` item in the table keeps "at most once" beyond Step Functions' 90-day
name memory. Starts go out at a bounded rate: the Map runs ENTER_CONCURRENCY batches at once, each at
STARTS_PER_SECOND / ENTER_CONCURRENCY (Step Functions' StartExecution bucket refills at 300 a second in the
large regions, 150 in the others, shared with everything else in the account), and a throttled start is
retried with backoff.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import time
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from tern import lake
from tern.clock import Clock, naive_utc, utc_now, wall_timestamp
from tern.engines import QueryEngine
from tern.errors import RetryLater, StoreError
from tern.journeys.model import Journey, execution_name
from tern.journeys.repository import JourneyRepository
from tern.journeys.times import EXECUTION_LIMIT
from tern.journeys.windows import zone_of
from tern.ports import ResultFiles, StateMachines
from tern.segments.compiler import compile_segment
from tern.segments.definition import SegmentDefinition, parse_definition
from tern.segments.values import parse_time
from tern.store import ranges

T = TypeVar("T")

# What an execution carries of its contact: what content may personalise with, and the consent snapshot.
# Every contacts column: a split's condition may test any of them (tern.journeys.conditions).
SNAPSHOT = list(lake.CONTACTS)


def timing(journey: Journey, clock: Clock) -> dict[str, Any]:
    """Each branch's timeout and each wait, on the wall clock Step Functions keeps (tern.clock)."""
    plan: dict[str, dict[str, Any]] = {"timeouts": {}, "waits": {}}
    for step in journey.steps:
        for part, times in step.at_entry(clock).items():
            plan[part].update(times)
    return plan


def field_waits(journey: Journey, clock: Clock, contact: dict[str, Any], event: dict[str, Any] | None) -> dict[str, str | None]:
    """Each wait_until-from-a-field's time for this contact (its field plus the offset, on the wall clock), or None
    where the field holds no time, or one more than a year ahead (the step's Choice then takes no_value)."""
    now = naive_utc(clock())
    found: dict[str, str | None] = {}
    for step in journey.steps:
        if (source := step.field_wait()) is not None:
            at = field_time(source[0], contact, event or {}, zone_of(contact.get("timezone"), journey.timezone))
            if at is not None and source[1] is not None:
                at += source[1]
            found[step.id] = wall_timestamp(clock, at) if at is not None and at - now <= EXECUTION_LIMIT else None
    return found


def field_time(source: str, contact: dict[str, Any], event: dict[str, Any], zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """The time a field holds (naive UTC): an ISO date-time (UTC without an offset), or a date (its midnight in the
    contact's zone); None when it is empty or not a time."""
    holder, _, name = source.partition(".")
    row = event if holder == "entry_event" else contact
    if name.startswith(("properties.", "attributes.")):
        group, _, key = name.partition(".")
        value = dict(row.get(group) or {}).get(key)
    else:
        value = row.get(name)
    text = str(value).strip().replace(" ", "T") if value not in (None, "") else ""
    try:
        if len(text) == 10:
            day = dt.date.fromisoformat(text)
            return naive_utc(dt.datetime.combine(day, dt.time(), tzinfo=zone))
        return parse_time(text) if text else None
    except ValueError:
        return None


def audience_definition(journey: Journey, waiting: str | None = None) -> SegmentDefinition:
    """Who enters: the members of the audience segment who are in none of the exclusion segments; for an event-
    triggered journey, the contacts in line (the list `waiting`) who are in none of them."""
    first = {"kind": "in_list", "list_id": waiting} if waiting else {"kind": "in_segment", "segment_id": journey.audience}
    where = {"all": [first, *({"kind": "not_in_segment", "segment_id": s} for s in journey.exclusions)]}
    return parse_definition({"name": "audience", "where": where})


def audience_sql(
    journey: Journey, engine: QueryEngine, memberships: dict[str, str], now: dt.datetime, definition: SegmentDefinition | None = None
) -> str:
    """The statement selecting who enters: (contact_id, contact) for the audience minus the exclusion segments,
    as stored by the evaluations `memberships` names; `contact` is the SNAPSHOT columns as one JSON object."""
    compiled = compile_segment(definition or audience_definition(journey), journey.org_id, now,
                               dialect=engine.dialect, database=engine.database, memberships=memberships)  # type: ignore[arg-type]  # fmt: skip
    return compiled.contact_rows_sql(SNAPSHOT)


# ----- the audience's CSV result, in byte ranges (tern.store.ranges)

CHUNK_BYTES = ranges.CHUNK_BYTES  # one Map item: some 300 contacts, started in about 30 s at the default rate
ENTER_CONCURRENCY = 10  # the Map's MaxConcurrency in statemachines/journey_run.asl.json (a test holds them equal)
STARTS_PER_SECOND = 100.0  # the run's StartExecution rate, all its batches together
plan = ranges.byte_ranges


def rows_in(files: ResultFiles, key: str, start: int, end: int) -> list[dict[str, Any]]:
    """The contacts whose line begins in bytes [start, end) of the audience's CSV result.

    Each line is `"contact_id","{json}"`. The JSON is the SNAPSHOT row: an object with its field names (Trino
    casts a named ROW so), or an array of its values in SNAPSHOT's order (Presto's cast of a ROW to JSON):
    either reads the same."""
    rows = []
    for contact_id, contact in ranges.lines_in(files, key, start, end):
        value = json.loads(contact)
        row = dict(zip(SNAPSHOT, value, strict=True)) if isinstance(value, list) else value
        row["contact_id"] = contact_id
        for column in lake.LIST_COLUMNS:
            row[column] = list(row.get(column) or [])
        row["attributes"] = dict(row.get("attributes") or {})
        rows.append(row)
    return rows


@dataclass
class RunReport:
    run_id: str
    audience: int = 0
    started: int = 0
    already_entered: int = 0
    failed: int = 0
    over_daily_limit: int = 0  # not entered: the journey's entries_per_day were taken (they may enter on a later run)

    def counts(self) -> dict[str, int]:
        return {"audience": self.audience, "started": self.started, "already_entered": self.already_entered, "failed": self.failed,
                "over_daily_limit": self.over_daily_limit}  # fmt: skip


@dataclass
class Starter:
    machines: StateMachines
    journeys: JourneyRepository
    clock: Clock = utc_now
    rate_per_second: float = STARTS_PER_SECOND / ENTER_CONCURRENCY
    batch_size: int = 100
    sleep: Callable[[float], None] = time.sleep

    def start(self, journey: Journey, rows: Iterable[dict[str, Any]], run_id: str) -> RunReport:
        """Start an execution for each contact of `rows` who has not entered, at `rate_per_second`; each batch
        of `batch_size` asks the table which of its contacts entered before (never the whole journey's list)."""
        if journey.state_machine_arn is None:
            raise ValueError(f"journey {journey.id} is not published")
        report = RunReport(run_id=run_id)
        plan = timing(journey, self.clock)
        ref = {"org_id": journey.org_id, "id": journey.id, "version": journey.published_version or 1}
        limit = journey.limits.entries_per_day if journey.limits else None
        today = self.clock().replace(tzinfo=dt.UTC).astimezone(zoneinfo.ZoneInfo(journey.timezone)).date()
        for batch in _batches(iter(rows), self.batch_size):
            began = time.monotonic()
            report.audience += len(batch)
            if journey.by_event():
                for row in batch:
                    self._start_waiting(journey, row, run_id, report, plan, ref, limit, today)
                continue
            if journey.reentry.again():
                for row in batch:
                    self._start_again(journey, row, run_id, report, plan, ref, limit, today)
                continue
            entered = self.journeys.entered_among(journey.org_id, journey.id, [r["contact_id"] for r in batch])
            newcomers = [r for r in batch if r["contact_id"] not in entered]
            report.already_entered += len(batch) - len(newcomers)
            for row in newcomers:
                if limit is not None and not self.journeys.admit(journey.org_id, journey.id, today, limit):
                    report.over_daily_limit += 1
                    continue
                self._launch(journey, row, run_id, report, plan, ref)
                self.journeys.enter(journey.org_id, journey.id, row["contact_id"], naive_utc(self.clock()))
            spare = len(newcomers) / self.rate_per_second - (time.monotonic() - began)
            if spare > 0:
                self.sleep(spare)
        return report

    def _start_waiting(
        self, journey: Journey, row: dict[str, Any], run_id: str, report: RunReport, plan: dict[str, Any], ref: dict[str, Any],
        limit: int | None, today: dt.date,
    ) -> None:  # fmt: skip
        """Start a contact in line for an event-triggered journey, with its entering event, if its reentry rules
        still allow; the entry's number, noted before the start, makes a retried range reuse it."""
        assert journey.state_machine_arn is not None
        org, contact_id = journey.org_id, row["contact_id"]
        waiting = self.journeys.pending_entry(org, journey.id, contact_id)
        if waiting is None:  # another run started it
            report.already_entered += 1
            return
        number = waiting["entry"]
        if number is None:
            if limit is not None and not self.journeys.admit(org, journey.id, today, limit):
                report.over_daily_limit += 1  # stays in line for a later run
                return
            number = self.journeys.enter_again(org, journey.id, contact_id, naive_utc(self.clock()), journey.reentry, machine=journey.state_machine_arn,
                                               on_its_way=self._on_its_way)  # fmt: skip
            if number is None:  # entered as often as its reentry rules allow meanwhile, or still on its way
                self.journeys.take_pending(org, journey.id, contact_id)
                report.already_entered += 1
                return
            self.journeys.number_pending(org, journey.id, contact_id, waiting, number)
        self._launch(journey, row, run_id, report, plan, ref, number, waiting["event"])
        self.journeys.take_pending(org, journey.id, contact_id)

    def _start_again(
        self, journey: Journey, row: dict[str, Any], run_id: str, report: RunReport, plan: dict[str, Any], ref: dict[str, Any],
        limit: int | None, today: dt.date,
    ) -> None:  # fmt: skip
        """Start a member of a segment-entered journey that takes contacts again, if its reentry rules allow and its
        last entry has ended; a retried range of the same run reuses the entry it took."""
        assert journey.state_machine_arn is not None
        org, contact_id = journey.org_id, row["contact_id"]
        if limit is not None and not self.journeys.admit(org, journey.id, today, limit):
            report.over_daily_limit += 1
            return
        number = self.journeys.enter_again(org, journey.id, contact_id, naive_utc(self.clock()), journey.reentry, machine=journey.state_machine_arn,
                                           run_id=run_id, on_its_way=self._on_its_way)  # fmt: skip
        if number is None:
            report.already_entered += 1
            return
        self._launch(journey, row, run_id, report, plan, ref, number)

    def _launch(
        self, journey: Journey, row: dict[str, Any], run_id: str, report: RunReport, plan: dict[str, Any], ref: dict[str, Any],
        entry: int = 1, event: dict[str, Any] | None = None,
    ) -> None:  # fmt: skip
        """Start the execution of a contact's `entry`-th entry (its snapshot, its waits, the event that entered it, if
        one did), counted as started, or as entered already when an execution of that name exists."""
        assert journey.state_machine_arn is not None
        payload = {"journey": ref, "contact_id": row["contact_id"], "run_id": run_id, "contact": row, **plan,
                   "waits": {**plan["waits"], **field_waits(journey, self.clock, row, event)}}  # fmt: skip
        if event is not None:
            payload["entry_event"] = event
        if self._start_one(journey.state_machine_arn, execution_name(row["contact_id"], entry), payload):
            report.started += 1
        else:
            report.already_entered += 1

    def _on_its_way(self, execution: str) -> bool:
        """Whether a contact's last entry is still going through the journey (its execution runs)."""
        found = self._patiently(lambda: self.machines.describe(execution), f"reading execution {execution}")
        return found is not None and found["status"] == "RUNNING"

    def _start_one(self, arn: str, name: str, payload: dict[str, Any]) -> bool:
        return self._patiently(lambda: self.machines.start(arn, name, payload), f"starting execution {name}")

    def _patiently(self, call: Callable[[], T], what: str) -> T:
        """`call`, again after a growing pause while Step Functions throttles it (or the network fails)."""
        delay = 0.2
        for _ in range(8):
            try:
                return call()
            except RetryLater:
                self.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise StoreError(f"{what}: still throttled after 8 tries")


def _batches(rows: Iterator[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    while batch := list(itertools.islice(rows, size)):
        yield batch
