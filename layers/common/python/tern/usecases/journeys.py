"""Running a journey: one run (its start, a recurring run, or newcomers joining), and runs after a refresh."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Any

from pydantic import BaseModel, ConfigDict

from tern.errors import NotFoundError
from tern.journeys.entry import audience_definition, audience_rows
from tern.observability import logger
from tern.services import Services


class RunRequest(BaseModel):
    """What journey_run is invoked with (by the API, a schedule, or a refresh of the audience)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    org_id: str
    journey_id: str


def run_journey(request: RunRequest, services: Services) -> dict[str, Any]:
    """Start an execution for every contact of the audience (minus exclusions) who has not entered before."""
    try:
        journey = services.journey_repository.get(request.org_id, request.journey_id)
    except NotFoundError as e:
        logger.warning("journey run skipped", extra={"reason": str(e), **request.model_dump()})
        return {"skipped": str(e)}
    if journey.status != "running":
        return {"skipped": f"journey {journey.id} is {journey.status}"}
    now = services.clock()
    segments = services.segments(request.org_id)
    memberships = segments.memberships_for(audience_definition(journey))  # each evaluated: its latest manifest
    rows = audience_rows(journey, services.engine, memberships, now)
    report = services.starter().start(journey, rows, run_id=uuid.uuid4().hex[:12])
    logger.info("journey run", extra={"org_id": journey.org_id, "journey_id": journey.id, **asdict(report)})
    return asdict(report)


def run_joiners(services: Services, org_id: str, segment_id: str) -> list[str]:
    """Running one-time journeys that take later joiners on this audience: run them for the newcomers."""
    started = []
    for journey in services.journey_repository.list_journeys(org_id):
        if journey.status == "running" and journey.mode == "one_time_with_joiners" and journey.audience == segment_id:
            services.journey_runs.run_now(org_id, journey.id)
            started.append(journey.id)
    return started
