"""Refreshing a segment: what POST /segments/{id}/evaluate and a scheduled refresh (evaluate_segment) both do.

Evaluate and store the membership; then, whether that succeeded or failed, start the exports and actions
asked for meanwhile; then run the journeys that take later joiners from this audience.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict

from tern.errors import ConflictError, NotFoundError
from tern.observability import logger
from tern.segments.segment import Evaluation
from tern.services import Services
from tern.usecases.jobs import start_planned_jobs
from tern.usecases.journeys import run_joiners


@dataclass(frozen=True)
class SegmentRefresh:
    evaluation: Evaluation
    write_requests: int  # membership writes the refresh cost
    journeys_run: list[str]  # journeys run for the newcomers


def refresh_segment(services: Services, org_id: str, segment_id: str) -> SegmentRefresh:
    """Refresh a live segment now (ConflictError if it is not live, NotFoundError if the org has no such segment)."""
    try:
        done = services.segments(org_id).evaluate(segment_id, services.engine, services.manifests, services.clock())
    finally:
        start_planned_jobs(services, org_id, segment_id)
    return SegmentRefresh(done.evaluation, done.write_requests, run_joiners(services, org_id, segment_id))


class ScheduledRefresh(BaseModel):
    """What EventBridge Scheduler invokes evaluate_segment with."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    org_id: str
    segment_id: str


def refresh_scheduled(request: ScheduledRefresh, services: Services) -> dict[str, Any]:
    """A scheduled refresh; a schedule that outlived its segment is reported and skipped, not retried."""
    try:
        done = refresh_segment(services, request.org_id, request.segment_id)
    except (NotFoundError, ConflictError) as e:
        logger.warning("scheduled refresh skipped", extra={"org_id": request.org_id, "segment_id": request.segment_id, "reason": str(e)})
        return {"skipped": str(e)}
    evaluation = done.evaluation.model_dump(mode="json")
    logger.info("segment refreshed", extra={"org_id": request.org_id, **evaluation})
    return {"evaluation": evaluation, "write_requests": done.write_requests, "journeys_run": done.journeys_run}
