"""What journey_run does: one run of a running journey (its start, a recurring run, or newcomers joining)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, ConfigDict

from tern.errors import ConflictError, NotFoundError
from tern.journeys.runs import Starter, audience_rows
from tern.observability import logger
from tern.services import Services


class RunRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    org_id: str
    journey_id: str


def run_journey(request: RunRequest, services: Services) -> dict[str, Any]:
    assert services.journey_repository is not None and services.runtime is not None
    try:
        journey = services.journey_repository.get(request.org_id, request.journey_id)
    except NotFoundError as e:
        logger.warning("journey run skipped", extra={"reason": str(e), **request.model_dump()})
        return {"skipped": str(e)}
    if journey.status != "running":
        return {"skipped": f"journey {journey.id} is {journey.status}"}
    segments = services.segments(request.org_id)
    now = services.clock()
    memberships = {}
    for segment_id in [journey.audience, *journey.exclusions]:
        try:
            segment = segments.get(segment_id, now)
        except NotFoundError:
            if segment_id == journey.audience:
                raise
            continue  # a deleted exclusion segment excludes no one
        if segment.latest is None:
            raise ConflictError(f"segment {segment_id} has not been evaluated yet")
        memberships[segment_id] = segment.latest.id
    rows = audience_rows(journey, services.engine, memberships, now)
    starter = Starter(services.runtime.sfn, services.journey_repository, services.clock)
    report = starter.start(journey, rows, run_id=uuid.uuid4().hex[:12])
    logger.info("journey run", extra={"org_id": journey.org_id, "journey_id": journey.id, **asdict(report)})
    return asdict(report)


def joiners_after_refresh(services: Services, org_id: str, segment_id: str) -> list[str]:
    """Running one-time journeys that take later joiners on this audience: run them for the newcomers."""
    if services.journey_repository is None or services.runtime is None:
        return []
    started = []
    for journey in services.journey_repository.list_journeys(org_id):
        if journey.status == "running" and journey.mode == "one_time_with_joiners" and journey.audience == segment_id:
            services.runtime.trigger.run_now(org_id, journey.id)
            started.append(journey.id)
    return started
