"""What a journey's Task state sends journey_step (tern.journeys.asl builds the payload), and the journey_step
events the steps write to the lake (which analytics and "save as segment" read)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class JourneyRef(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    org_id: str
    id: str
    version: int


class StepRequest(BaseModel):
    """The payload a journey's Task state sends (tern.journeys.asl)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    phase: Literal["step", "timeout", "opened", "no_date"] = "step"
    step: str
    journey: JourneyRef
    contact_id: str
    run_id: str = ""
    execution: str = ""
    started: str | None = None  # when the execution started (wall clock, ISO 8601): it must end within a year of it
    token: str | None = None
    contact: dict[str, Any] = Field(default_factory=dict)
    entry_event: dict[str, Any] = Field(default_factory=dict)  # the event that entered the contact (event-triggered journeys)


def journey_event(
    request: StepRequest, step_id: str, outcome: str, at: dt.datetime, reason: str | None = None, **columns: Any
) -> dict[str, Any]:
    """A journey_step row; its event_id is stable, so a repeated write is recognisably the same event."""
    event_id = hashlib.sha256(
        f"{request.journey.id}\n{request.contact_id}\n{step_id}\n{outcome}\n{request.execution}".encode()
    ).hexdigest()[:32]
    return {
        "event_id": f"js-{event_id}", "contact_id": request.contact_id, "event_type": "journey_step", "ts": at,
        "journey_id": request.journey.id, "step_id": step_id, "outcome": outcome, "reason": reason,
        "properties": [("journey_version", str(request.journey.version)), ("run_id", request.run_id)], **columns,
    }  # fmt: skip
