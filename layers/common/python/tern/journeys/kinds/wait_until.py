"""wait_until: hold the contact until a time, or until the time one of its fields holds (plus an offset).

At `at`: a Wait on `$.waits.<id>` (a timestamp fixed when the execution starts; one already past goes on at once).
From a field: a Choice first, `$.waits.<id>` null (no time) going to `no_value`, or to `<id>:no_date`, a Task
recording no_date that ends the path: two transitions.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from tern.clock import naive_utc, wall_timestamp
from tern.journeys.kinds.base import Machine, StepId, Wait, then
from tern.journeys.times import Moment, SignedDuration

if TYPE_CHECKING:
    from tern.clock import Clock

# where a wait_until may read its time: the entry event's fields, the contact's date and time columns, its attributes
TIME_FIELDS = r"^(entry_event\.(ts|event_start)|entry_event\.properties\.[^.]{1,200}|contact\.(birth_date|created_at|updated_at)|contact\.attributes\.[^.]{1,200})$"


class WaitUntil(Wait):
    """Hold the contact until `at`, or until the time `from` one of its fields (plus `offset`, which may be
    negative); a contact whose field holds no time goes to `no_value`, or its path ends (recorded no_date)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    kind: Literal["wait_until"]
    at: Moment | None = None
    from_: Annotated[str, Field(pattern=TIME_FIELDS)] | None = Field(default=None, alias="from")
    offset: SignedDuration | None = None
    no_value: StepId | None = None
    next: StepId | None = None

    @model_validator(mode="after")
    def _one_time(self) -> WaitUntil:
        if (self.at is None) == (self.from_ is None):
            raise ValueError("a wait_until needs either at (a time) or from (a field holding one)")
        if self.at is not None and (self.offset is not None or self.no_value is not None):
            raise ValueError("offset and no_value go with from, not at")
        return self

    def ways(self) -> list[tuple[str, str]]:
        return [(edge, target) for edge, target in (("next", self.next), ("no_value", self.no_value)) if target]

    def states(self, machine: Machine) -> dict[str, Any]:
        waiting = then({"Type": "Wait", "TimestampPath": f"$.waits.{self.id}"}, self.next)
        if self.from_ is None:
            return {self.id: waiting}
        states = {
            self.id: {"Type": "Choice", "Choices": [{"Variable": f"$.waits.{self.id}", "IsNull": True, "Next": self.no_value or f"{self.id}:no_date"}],
                      "Default": f"{self.id}:wait"},
            f"{self.id}:wait": waiting,
        }  # fmt: skip
        if self.no_value is None:
            states[f"{self.id}:no_date"] = then(machine.task(self, phase="no_date"), None)
        return states

    def at_entry(self, clock: Clock) -> dict[str, dict[str, Any]]:
        return {"waits": {self.id: wall_timestamp(clock, self.at)}} if self.at is not None else {}

    def field_wait(self) -> tuple[str, SignedDuration | None] | None:
        return (self.from_, self.offset) if self.from_ is not None else None

    def leaves_by(self, arrives: dt.datetime) -> dt.datetime:
        # a time from a field is checked as each contact enters (a year ahead or more takes no_value)
        return max(arrives, naive_utc(self.at)) if self.at is not None else arrives

    def position(self, outcome: str, way: str) -> str | None:
        return None  # a wait records nothing of its own but a missing time (no_date), which ends the path
