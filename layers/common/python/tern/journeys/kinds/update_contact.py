"""update_contact: add or remove a tag, category or consent, recorded in Tern's overlay of contact changes (never in
the customer's data); segments and later steps see it."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field

from tern import lake
from tern.errors import Problem
from tern.journeys.kinds.base import Machine, Publishing, StepId, StepKind, Tally, next_way, then
from tern.journeys.tasks import StepRequest, journey_event
from tern.text import OneLine

if TYPE_CHECKING:
    from tern.clock import Clock
    from tern.journeys.conditions import Condition
    from tern.journeys.model import Journey
    from tern.journeys.steps import JourneySteps
    from tern.journeys.times import SignedDuration


class UpdateContact(StepKind):
    """Add or remove a tag, category or consent (recorded in Tern's overlay, never in the customer's data)."""

    kind: Literal["update_contact"]
    field: Literal["tags", "categories", "consents"]
    action: Literal["add", "remove"]
    value: Annotated[str, Field(min_length=1, max_length=200), OneLine]
    next: StepId | None = None

    silent: ClassVar[bool] = False
    channel: ClassVar[str | None] = None
    randomised: ClassVar[bool] = False
    control: ClassVar[str | None] = None

    def ways(self) -> list[tuple[str, str]]:
        return next_way(self.next)

    def edges(self) -> list[str]:
        return []

    def states(self, machine: Machine) -> dict[str, Any]:
        return {self.id: then(machine.task(self), self.next)}

    def act(self, runner: JourneySteps, journey: Journey, request: StepRequest, now: dt.datetime) -> dict[str, Any]:
        kind = {column: kind for kind, column in lake.OVERLAY_KINDS.items()}[self.field]
        source = (
            "journey-" + hashlib.sha256(f"{journey.id}\n{self.id}\n{request.execution}\n{request.contact_id}".encode()).hexdigest()[:32]
        )
        runner.overlay.write(journey.org_id, source, kind, self.value, self.action, [request.contact_id], now)  # type: ignore[arg-type]
        runner.events.write(journey.org_id, [journey_event(request, self.id, "processed", now)])
        return {"outcome": "processed"}

    def at_entry(self, clock: Clock) -> dict[str, dict[str, Any]]:
        return {}

    def field_wait(self) -> tuple[str, SignedDuration | None] | None:
        return None

    def leaves_by(self, arrives: dt.datetime) -> dt.datetime:
        return arrives

    def let_through(self, edge: str, tally: Tally) -> int:
        return tally.outcomes["processed"]

    def position(self, outcome: str, way: str) -> str | None:
        return self.next if outcome == "processed" else None

    def holds_arrivals(self) -> bool:
        return False

    def references(self) -> list[tuple[str, str]]:
        return []

    def conditions(self) -> list[tuple[str, Condition]]:
        return []

    def problems(self, publishing: Publishing) -> list[Problem]:
        return []
