"""wait_for: hold the contact for a duration (a Wait on `$.waits.<id>`, in seconds of the wall clock)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, Literal

from tern.clock import wall_seconds
from tern.journeys.kinds.base import Machine, StepId, Wait, next_way, then
from tern.journeys.times import Duration

if TYPE_CHECKING:
    from tern.clock import Clock
    from tern.journeys.times import SignedDuration


class WaitFor(Wait):
    kind: Literal["wait_for"]
    duration: Duration
    next: StepId | None = None

    def ways(self) -> list[tuple[str, str]]:
        return next_way(self.next)

    def states(self, machine: Machine) -> dict[str, Any]:
        return {self.id: then({"Type": "Wait", "SecondsPath": f"$.waits.{self.id}"}, self.next)}

    def at_entry(self, clock: Clock) -> dict[str, dict[str, Any]]:
        return {"waits": {self.id: wall_seconds(clock, self.duration.total_seconds())}}

    def field_wait(self) -> tuple[str, SignedDuration | None] | None:
        return None

    def leaves_by(self, arrives: dt.datetime) -> dt.datetime:
        return arrives + self.duration

    def position(self, outcome: str, way: str) -> str | None:
        return None  # records nothing
