"""Running a journey: its audience at entry, when each contact's waits fall, and starting executions.

A run reads the audience's stored membership (its latest manifest) minus the exclusion segments', fetches
the entering contacts' rows once (the personalisation and consent snapshot each execution carries), and
starts one execution per contact who has not entered this journey before. The execution's name is a
digest of the contact id, so Step Functions itself refuses a second start on the same state machine;
the `entered` item in the table keeps "at most once" beyond Step Functions' 90-day name memory.

Starts go out in batches at a bounded rate (Step Functions' StartExecution bucket refills at 300 a second
in the large regions, 150 in the others), and a throttled start is retried with backoff.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from tern.clock import Clock, naive_utc, utc_now, wall_seconds, wall_time
from tern.engines import QueryEngine
from tern.errors import RetryLater, StoreError
from tern.journeys.model import BranchOnEvent, Journey, WaitFor, WaitUntil
from tern.journeys.repository import JourneyRepository
from tern.ports import StateMachines
from tern.segments.compiler import compile_segment
from tern.segments.definition import SegmentDefinition, parse_definition

# What an execution carries of its contact: what content may personalise with, and the consent snapshot.
SNAPSHOT = [
    "contact_id", "email", "phone", "first_name", "last_name", "city", "country", "language", "lead_score",
    "lead_stage", "owner", "consents", "attributes",
]  # fmt: skip


def execution_name(contact_id: str) -> str:
    return "c-" + hashlib.sha256(contact_id.encode()).hexdigest()[:48]


def timing(journey: Journey, clock: Clock) -> dict[str, Any]:
    """Each branch's timeout and each wait, on the wall clock Step Functions keeps (tern.clock)."""
    timeouts: dict[str, int] = {}
    waits: dict[str, Any] = {}
    for step in journey.steps:
        if isinstance(step, BranchOnEvent):
            timeouts[step.id] = wall_seconds(clock, step.timeout.total_seconds())
        elif isinstance(step, WaitUntil):
            waits[step.id] = wall_time(clock, step.at).strftime("%Y-%m-%dT%H:%M:%SZ")
        elif isinstance(step, WaitFor):
            waits[step.id] = wall_seconds(clock, step.duration.total_seconds())
    return {"timeouts": timeouts, "waits": waits}


def audience_definition(journey: Journey) -> SegmentDefinition:
    """Who enters: the members of the audience segment who are in none of the exclusion segments."""
    where = {"all": [{"kind": "in_segment", "segment_id": journey.audience}, *({"kind": "not_in_segment", "segment_id": s} for s in journey.exclusions)]}
    return parse_definition({"name": "audience", "where": where})


def audience_rows(journey: Journey, engine: QueryEngine, memberships: dict[str, str], now: dt.datetime) -> list[dict[str, Any]]:
    """The contacts in the audience and in no exclusion segment, as stored by the evaluations `memberships` names."""
    compiled = compile_segment(audience_definition(journey), journey.org_id, now,
                               dialect=engine.dialect, database=engine.database, memberships=memberships)  # type: ignore[arg-type]  # fmt: skip
    result = engine.run(compiled.contacts_sql(SNAPSHOT))
    rows = []
    for values in result.rows:
        row = dict(zip(result.columns, values, strict=True))
        row["consents"] = list(row.get("consents") or [])  # JSON from the engine (contacts_sql), never Athena's "[a, b]"
        row["attributes"] = dict(row.get("attributes") or {})
        rows.append({k: (v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v) for k, v in row.items()})
    return rows


@dataclass
class RunReport:
    run_id: str
    audience: int = 0
    started: int = 0
    already_entered: int = 0
    throttled_retries: int = 0


def _batches(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


@dataclass
class Starter:
    machines: StateMachines
    journeys: JourneyRepository
    clock: Clock = utc_now
    rate_per_second: float = 100.0
    batch_size: int = 100
    sleep: Callable[[float], None] = time.sleep

    def start(self, journey: Journey, rows: Iterable[dict[str, Any]], run_id: str) -> RunReport:
        if journey.state_machine_arn is None:
            raise ValueError(f"journey {journey.id} is not published")
        rows = list(rows)
        report = RunReport(run_id=run_id, audience=len(rows))
        entered = self.journeys.entered(journey.org_id, journey.id)
        plan = timing(journey, self.clock)
        ref = {"org_id": journey.org_id, "id": journey.id, "version": journey.published_version or 1}
        newcomers = [r for r in rows if r["contact_id"] not in entered]
        report.already_entered = len(rows) - len(newcomers)
        for batch in _batches(newcomers, self.batch_size):
            began = time.monotonic()
            for row in batch:
                payload = {"journey": ref, "contact_id": row["contact_id"], "run_id": run_id, "contact": row, **plan}
                if self._start_one(journey.state_machine_arn, execution_name(row["contact_id"]), payload, report):
                    report.started += 1
                else:
                    report.already_entered += 1
                self.journeys.enter(journey.org_id, journey.id, row["contact_id"], naive_utc(self.clock()))
            spare = len(batch) / self.rate_per_second - (time.monotonic() - began)
            if spare > 0:
                self.sleep(spare)
        return report

    def _start_one(self, arn: str, name: str, payload: dict[str, Any], report: RunReport) -> bool:
        delay = 0.2
        for _ in range(8):
            try:
                return self.machines.start(arn, name, payload)
            except RetryLater:  # throttled, or the network: back off and try again
                report.throttled_retries += 1
                self.sleep(delay)
                delay = min(delay * 2, 5.0)
        raise StoreError(f"starting execution {name}: still throttled after 8 tries")
