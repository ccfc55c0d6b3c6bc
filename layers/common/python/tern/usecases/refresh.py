"""Refreshing a segment: the steps of its workflow (statemachines/refresh_segment.asl.json), which
`POST /segments/{id}/evaluate` and the segment's schedule start.

The state machine calls evaluate_segment with a `stage`: `begin` (the segment marked evaluating, the new
manifest noted pending, and the two statements: the UNLOAD of the members and the difference), `plan`
(the difference's CSV result cut into byte ranges, and its totals), `apply` (one range's puts and deletes),
`commit` (the evaluation becomes the latest; then the exports and actions asked for meanwhile start, the segment's
ad audiences sync (tern.audiences) and the journeys that take joiners run) or, when anything failed, `abandon` (the mark cleared, the waiting jobs
started; the membership converges at the next refresh: tern.segments.membership).
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from tern.clock import Instant
from tern.errors import ConflictError, EvaluationRunning, NotFoundError
from tern.observability import logger
from tern.segments.membership import (
    DELETE,
    DIFFERENCE_COLUMNS,
    PUT,
    difference_sql,
    evaluation_of,
    manifest_prefix,
    manifest_sql,
)
from tern.segments.segment import Evaluation
from tern.services import Services
from tern.store.ranges import byte_ranges, first_record, lines_in
from tern.usecases.jobs import start_planned_jobs
from tern.usecases.journeys import run_joiners


class _Stage(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    org_id: str
    segment_id: str
    evaluation_id: str


class Begin(_Stage):
    stage: Literal["begin"]


class Plan(_Stage):
    stage: Literal["plan"]
    query_id: str


class Apply(_Stage):
    stage: Literal["apply"]
    at: Instant
    csv: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)


class Commit(_Stage):
    stage: Literal["commit"]
    at: Instant
    started: float  # when begin ran (epoch seconds): the evaluation's elapsed time
    members: int = Field(ge=0)
    joined: int = Field(ge=0)
    left: int = Field(ge=0)


class Abandon(_Stage):
    stage: Literal["abandon"]
    error: dict[str, Any] = {}


Stage: TypeAdapter[Begin | Plan | Apply | Commit | Abandon] = TypeAdapter(
    Annotated[Begin | Plan | Apply | Commit | Abandon, Field(discriminator="stage")]
)


def refresh_stage(event: dict[str, Any], services: Services) -> dict[str, Any]:
    """One step of a segment's refresh, as its state machine asks for it."""
    request = Stage.validate_python(event)
    if isinstance(request, Begin):
        return begin(request, services)
    if isinstance(request, Plan):
        return plan_refresh(request, services)
    if isinstance(request, Apply):
        return apply(request, services)
    if isinstance(request, Commit):
        return commit(request, services)
    return abandon(request, services)


def start_refresh(services: Services, org_id: str, segment_id: str) -> str:
    """Start refreshing a live segment now (ConflictError if it is not live or is being evaluated); the evaluation's id."""
    segments, now = services.segments(org_id), services.clock()
    segments.require_refreshable(segments.get(segment_id, now), now)
    return services.refreshes.start(org_id, segment_id)


def begin(request: Begin, services: Services) -> dict[str, Any]:
    """The segment marked evaluating, and the statements: its members UNLOADed as the new manifest, then the
    difference to the stored membership. A segment that is not live, or is being evaluated, is skipped."""
    base = request.model_dump(exclude={"stage"})
    now = services.clock()
    segments = services.segments(request.org_id)
    try:
        segment = segments.get(request.segment_id, now)
        memberships = segments.memberships_for(segment)
        segment = segments.begin_refresh(segment, request.evaluation_id, now)
    except (NotFoundError, ConflictError) as e:
        logger.warning("segment refresh skipped", extra={**base, "reason": str(e)})
        if not isinstance(e, EvaluationRunning):  # that evaluation starts the waiting jobs when it ends
            start_planned_jobs(services, request.org_id, request.segment_id)
        return {**base, "skipped": str(e)}
    own = manifest_prefix(request.org_id, request.segment_id, request.evaluation_id)
    pending = [evaluation_of(p) for p in segment.pending_manifests if p != own]
    engine = services.engine
    return {
        **base, "at": now.isoformat(), "started": time.time(),
        "manifest_query": manifest_sql(segment, engine, services.lake_bucket, request.evaluation_id, now, memberships),
        "difference_query": difference_sql(
            request.org_id, request.segment_id, request.evaluation_id, segment.latest.id if segment.latest else None,
            pending, engine.dialect, engine.database,
        ),
    }  # fmt: skip


def plan_refresh(request: Plan, services: Services) -> dict[str, Any]:
    """The difference's CSV result cut into byte ranges (written beside it for the Map), and its totals."""
    bucket, csv_key = services.engine.result_location(request.query_id)
    if bucket != services.results.bucket:
        raise ValueError(f"the difference query wrote to s3://{bucket}, not the results bucket {services.results.bucket}")
    ranges = byte_ranges(services.results.size(csv_key))
    plan_key = f"refreshes/{request.evaluation_id}/plan.json"
    services.results.put(plan_key, json.dumps(ranges).encode(), "application/json")
    first = first_record(services.results, csv_key)
    members, joined, left = (int(first[DIFFERENCE_COLUMNS.index(c)]) for c in ("members", "joined", "left")) if first else (0, 0, 0)
    logger.info("segment refresh planned", extra={**request.model_dump(exclude={"stage"}), "ranges": len(ranges), "members": members})
    return {"bucket": bucket, "key": plan_key, "csv": csv_key, "members": members, "joined": joined, "left": left}


def apply(request: Apply, services: Services) -> dict[str, Any]:
    """One range of the difference: its joiners written, its leavers deleted (both idempotent: a retry is harmless)."""
    puts, deletes = [], []
    for contact_id, op, *_ in lines_in(services.results, request.csv, request.start, request.end):
        if op == PUT:
            puts.append(contact_id)
        elif op == DELETE:
            deletes.append(contact_id)
    writes = services.segment_repository.apply_membership(request.org_id, request.segment_id, puts, deletes, request.at)
    return {"writes": writes}


def commit(request: Commit, services: Services) -> dict[str, Any]:
    """The evaluation becomes the latest; then the jobs asked for meanwhile start and joiners' journeys run."""
    evaluation = Evaluation(
        id=request.evaluation_id, at=request.at, members=request.members, joined=request.joined, left=request.left,
        manifest=manifest_prefix(request.org_id, request.segment_id, request.evaluation_id),
        elapsed_ms=round((time.time() - request.started) * 1000, 1),
    )  # fmt: skip
    services.segments(request.org_id).commit_refresh(request.segment_id, evaluation)
    start_planned_jobs(services, request.org_id, request.segment_id)
    syncs = services.audiences(request.org_id).after_refresh(request.segment_id, request.evaluation_id)  # each a sync once, however retried
    answer = {**evaluation.model_dump(mode="json"), "journeys_run": run_joiners(services, request.org_id, request.segment_id),
              "audience_syncs": syncs}  # fmt: skip
    logger.info("segment refreshed", extra={"org_id": request.org_id, "segment_id": request.segment_id, **answer})
    return answer


def abandon(request: Abandon, services: Services) -> dict[str, Any]:
    """The refresh failed: the segment is no longer evaluating, and the jobs waiting for it start."""
    services.segments(request.org_id).abandon_refresh(request.segment_id, request.evaluation_id)
    start_planned_jobs(services, request.org_id, request.segment_id)
    logger.error("segment refresh failed", extra={
        **request.model_dump(exclude={"stage", "error"}), "error": request.error.get("Error"),
        "cause": str(request.error.get("Cause", ""))[:2000],
    })  # fmt: skip
    return {}
