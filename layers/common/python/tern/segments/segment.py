"""A segment as a living object: its definition plus status, refresh, readiness and latest evaluation."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field

from tern.clock import Instant
from tern.segments.definition import SegmentDefinition

Status = Literal["draft", "live", "archived", "deleted"]
EVALUATION_LIMIT = dt.timedelta(hours=6)  # the refresh state machine's TimeoutSeconds (a test holds them equal)


class Every(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    every: Annotated[int, Field(strict=True, ge=1, le=8760)]
    unit: Literal["hours", "days"] = "hours"

    def interval(self) -> dt.timedelta:
        return dt.timedelta(hours=self.every) if self.unit == "hours" else dt.timedelta(days=self.every)


Refresh = Union[Literal["once"], Every]


class Evaluation(BaseModel):
    """One computation of a segment's members, as its history row keeps it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: str
    at: Instant
    members: int
    joined: int
    left: int
    manifest: str
    elapsed_ms: float = 0


class Segment(SegmentDefinition):
    """What the store keeps of a segment. `version` grows with every write (conditional updates)."""

    id: str
    org_id: str
    status: Status = "draft"
    refresh: Refresh = "once"
    readiness_hours: Annotated[int, Field(ge=1, le=8760)] = 24
    version: int = 0
    created_at: Instant
    updated_at: Instant
    status_before_delete: Status | None = None
    latest: Evaluation | None = None
    ready_until: Instant | None = None
    # Manifests of evaluations whose membership writes began but did not finish (a crash); see membership.py.
    pending_manifests: list[str] = Field(default_factory=list)
    # Set while an evaluation runs: actions and exports requested meanwhile wait for it (tern.exports.jobs).
    evaluating_since: Instant | None = None

    def evaluating(self, now: dt.datetime) -> bool:
        """Whether an evaluation is running; a mark older than the longest evaluation (a crash) does not count."""
        return self.evaluating_since is not None and now - self.evaluating_since < EVALUATION_LIMIT

    def definition(self) -> SegmentDefinition:
        return SegmentDefinition(name=self.name, description=self.description, where=self.where)
