"""A scheduled refresh: what evaluate_segment does when EventBridge Scheduler invokes it."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from tern.errors import ConflictError, NotFoundError
from tern.observability import logger
from tern.services import Services


def evaluation_ended(services: Services, org_id: str, segment_id: str) -> list[str]:
    """Start the exports and actions asked for while the segment was evaluated (it succeeded or failed)."""
    if services.results is None or services.job_trigger is None:
        return []
    return services.jobs(org_id).evaluation_ended(segment_id)


class ScheduledRefresh(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    org_id: str
    segment_id: str


def refresh_scheduled(request: ScheduledRefresh, services: Services) -> dict[str, Any]:
    """Refresh a live segment; a schedule that outlived its segment is reported and skipped, not retried."""
    try:
        done = services.segments(request.org_id).evaluate(request.segment_id, services.engine, services.manifests, services.clock())
    except (NotFoundError, ConflictError) as e:
        logger.warning("scheduled refresh skipped", extra={"org_id": request.org_id, "segment_id": request.segment_id, "reason": str(e)})
        return {"skipped": str(e)}
    finally:
        evaluation_ended(services, request.org_id, request.segment_id)
    logger.info("segment refreshed", extra={"org_id": request.org_id, **done.evaluation.model_dump(mode="json")})
    from tern.journeys.run_job import joiners_after_refresh  # journeys import segments, not the other way round

    joined = joiners_after_refresh(services, request.org_id, request.segment_id)
    return {"evaluation": done.evaluation.model_dump(mode="json"), "write_requests": done.write_requests, "journeys_run": joined}
