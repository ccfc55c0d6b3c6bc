"""Running a journey: the steps of one run (statemachines/journey_run.asl.json), and runs after a refresh.

The run's state machine calls journey_run with a `stage`: `audience` (does it run, and the statement that
selects who enters), `plan` (Athena's CSV result cut into byte ranges), `enter` (one range: its newcomers'
executions started), `failed` (a range whose retries ran out: its contacts counted, never silently lost)
and `report`. Each batch adds its counts to the run's item; the report reads them.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any, Literal

import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from tern.clock import naive_utc
from tern.errors import NotFoundError
from tern.journeys.entry import audience_definition, audience_sql, plan, rows_in
from tern.observability import logger
from tern.parquet import parquet_bytes
from tern.services import Services

PENDING_PER_RUN = 50_000  # contacts in line started by one run of an event-triggered journey (the next takes the rest)


class _Stage(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    org_id: str
    journey_id: str
    run_id: str


class Audience(_Stage):
    stage: Literal["audience"]


class Plan(_Stage):
    stage: Literal["plan"]
    query_id: str


class _Range(_Stage):
    csv: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Enter(_Range):
    stage: Literal["enter"]


class Failed(_Range):
    stage: Literal["failed"]
    error: dict[str, Any] = {}


class Report(_Stage):
    stage: Literal["report"]


class CheckSmsOptOuts(BaseModel):
    """Not a run's stage: the org's schedule asking for its STOP replies (tern.journeys.opt_outs)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    stage: Literal["sms_opt_outs"]
    org_id: str


Stage: TypeAdapter[Audience | Plan | Enter | Failed | Report | CheckSmsOptOuts] = TypeAdapter(
    Annotated[Audience | Plan | Enter | Failed | Report | CheckSmsOptOuts, Field(discriminator="stage")]
)


def run_stage(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """One step of a journey's run, as its state machine asks for it; or an org's STOP replies, as its schedule asks."""
    request = Stage.validate_python(event)
    if isinstance(request, CheckSmsOptOuts):
        return check_sms_opt_outs(request, services)
    if isinstance(request, Audience):
        return audience(request, services)
    if isinstance(request, Plan):
        return plan_run(request, services)
    if isinstance(request, Enter):
        return enter(request, services)
    if isinstance(request, Failed):
        return record_failed(request, services)
    return report(request, services)


def audience(request: Audience, services: Services) -> dict[str, Any]:
    """Whether the journey runs now, and the statement selecting who enters (each evaluated segment's latest manifest)."""
    base = request.model_dump(exclude={"stage"})
    try:
        journey = services.journey_repository.get(request.org_id, request.journey_id)
    except NotFoundError as e:
        logger.warning("journey run skipped", extra={"reason": str(e), **base})
        return {**base, "skipped": str(e)}
    if journey.status != "running":
        return {**base, "skipped": f"journey {journey.id} is {journey.status}"}
    if not journey.by_event() and journey.ends_at is not None and naive_utc(services.clock()) > naive_utc(journey.ends_at):
        return {**base, "skipped": f"journey {journey.id} ended at {journey.ends_at.isoformat()}: nobody enters after it"}
    waiting = None
    if journey.by_event():  # the contacts in line (their events kept in the table), as a list the statement reads
        contacts = services.journey_repository.pending_entries(request.org_id, journey.id, PENDING_PER_RUN)
        if not contacts:
            return {**base, "skipped": "no contact is waiting to enter"}
        waiting = f"entering-{request.run_id}"[:100]
        table = pa.table({"contact_id": pa.array(contacts, pa.string())})
        services.lake_files.put(f"lists/org_id={request.org_id}/list_id={waiting}/list.parquet", parquet_bytes(table))
    definition = audience_definition(journey, waiting)
    memberships = services.segments(request.org_id).memberships_for(definition)
    return {**base, "query": audience_sql(journey, services.engine, memberships, services.clock(), definition)}


def plan_run(request: Plan, services: Services) -> dict[str, Any]:
    """Athena's CSV result of the audience query, cut into byte ranges; the ranges written beside it for the Map."""
    bucket, csv_key = services.engine.result_location(request.query_id)
    if bucket != services.results.bucket:
        raise ValueError(f"the audience query wrote to s3://{bucket}, not the results bucket {services.results.bucket}")
    ranges = plan(services.results.size(csv_key))
    plan_key = f"journey-runs/{request.run_id}/plan.json"
    services.results.put(plan_key, json.dumps(ranges).encode(), "application/json")
    logger.info("journey run planned", extra={**request.model_dump(exclude={"stage"}), "ranges": len(ranges), "query_id": request.query_id})
    return {"bucket": bucket, "key": plan_key, "csv": csv_key, "ranges": len(ranges)}


def enter(request: Enter, services: Services) -> dict[str, Any]:
    """One range of the audience: its contacts who have not entered start their executions."""
    journey = services.journey_repository.get(request.org_id, request.journey_id)
    if journey.status != "running":  # stopped while the run went on: nobody else enters
        return {"started": 0}
    rows = rows_in(services.results, request.csv, request.start, request.end)
    report = services.starter().start(journey, rows, run_id=request.run_id)
    services.journey_repository.count_run(request.org_id, request.journey_id, request.run_id, report.counts())
    return {"started": report.started}


def record_failed(request: Failed, services: Services) -> dict[str, Any]:
    """A range whose retries ran out: its contacts who did not enter are counted failed, and named in the log."""
    rows = rows_in(services.results, request.csv, request.start, request.end)
    ids = [r["contact_id"] for r in rows]
    entered = services.journey_repository.entered_among(request.org_id, request.journey_id, ids)
    missed = [c for c in ids if c not in entered]
    services.journey_repository.count_run(request.org_id, request.journey_id, request.run_id, {"failed": len(missed)})
    logger.error("journey run: contacts not started", extra={
        **request.model_dump(exclude={"stage", "error"}), "error": request.error.get("Error"),
        "cause": str(request.error.get("Cause", ""))[:2000], "contacts": missed[:1000], "count": len(missed),
    })  # fmt: skip
    return {"failed": len(missed)}


def report(request: Report, services: Services) -> dict[str, Any]:
    counts = services.journey_repository.run_counts(request.org_id, request.journey_id, request.run_id)
    answer = {**request.model_dump(exclude={"stage"}), **counts}
    logger.info("journey run", extra=answer)
    return answer


def check_sms_opt_outs(request: CheckSmsOptOuts, services: Services) -> dict[str, Any]:
    """The STOPs on the org's opt-out list since its last check, recorded: consents removed, numbers suppressed."""
    if services.sms_opt_outs is None:
        raise AssertionError("this function has no SMS opt-out checks (tern.services.admin_services)")
    checked = services.sms_opt_outs.check(request.org_id)
    if checked is None:
        logger.info("SMS opt-outs not checked: the organisation has no number of its own", extra={"org_id": request.org_id})
        return {"org_id": request.org_id, "checked": False}
    answer = {"checked": True, **asdict(checked)}
    logger.info("SMS opt-outs checked", extra=answer)
    return answer


def run_joiners(services: Services, org_id: str, segment_id: str) -> list[str]:
    """Running one-time journeys that take later joiners on this audience: run them for the newcomers."""
    started = []
    for journey in services.journey_repository.list_journeys(org_id):
        if journey.status == "running" and journey.mode == "one_time_with_joiners" and journey.audience_id() == segment_id:
            services.journey_runs.run_now(org_id, journey.id)
            started.append(journey.id)
    return started
