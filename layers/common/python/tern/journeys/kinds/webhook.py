"""webhook: POST the contact (its snapshot and entry event) to one of the org's webhook destinations, signed as
exports are; a delivery that fails for good is recorded `failed` and the path goes on."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from tern.errors import Problem
from tern.journeys.kinds.base import PASSED, Machine, Publishing, StepId, StepKind, Tally, Text, next_way, then

if TYPE_CHECKING:
    from tern.clock import Clock
    from tern.journeys.conditions import Condition
    from tern.journeys.model import Journey
    from tern.journeys.steps import JourneySteps
    from tern.journeys.tasks import StepRequest
    from tern.journeys.times import SignedDuration


class Webhook(StepKind):
    """POST the contact (its snapshot and entry event) to a webhook destination, signed as exports are; a delivery
    that fails for good is recorded `failed` and the path goes on."""

    kind: Literal["webhook"]
    destination_id: Text
    next: StepId | None = None

    silent: ClassVar[bool] = False
    channel: ClassVar[str | None] = None  # a system, not a person: no reactions
    randomised: ClassVar[bool] = False
    control: ClassVar[str | None] = None

    def ways(self) -> list[tuple[str, str]]:
        return next_way(self.next)

    def edges(self) -> list[str]:
        return []

    def states(self, machine: Machine) -> dict[str, Any]:
        return {self.id: then(machine.task(self), self.next)}

    def act(self, runner: JourneySteps, journey: Journey, request: StepRequest, now: dt.datetime) -> dict[str, Any]:
        return runner.webhook(journey, self, request, now)

    def at_entry(self, clock: Clock) -> dict[str, dict[str, Any]]:
        return {}

    def field_wait(self) -> tuple[str, SignedDuration | None] | None:
        return None

    def leaves_by(self, arrives: dt.datetime) -> dt.datetime:
        return arrives

    def let_through(self, edge: str, tally: Tally) -> int:
        return sum(tally.outcomes[o] for o in PASSED)

    def position(self, outcome: str, way: str) -> str | None:
        return self.next if outcome in ("processed", *PASSED) else None

    def holds_arrivals(self) -> bool:
        return False

    def references(self) -> list[tuple[str, str]]:
        return []

    def conditions(self) -> list[tuple[str, Condition]]:
        return []

    def problems(self, publishing: Publishing) -> list[Problem]:
        if publishing.destination is not None and not publishing.destination(self.destination_id):
            return [Problem(f"steps[{publishing.index[self.id]}].destination_id", f"there is no destination {self.destination_id!r}")]
        return []
