"""update_contact: add or remove a tag, category or consent, recorded in Tern's overlay of contact changes (never in
the customer's data); segments and later steps see it."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field

from tern import lake
from tern.errors import Problem
from tern.journeys.kinds.base import Publishing, Tally, TaskStep
from tern.journeys.tasks import StepRequest, journey_event
from tern.text import OneLine

if TYPE_CHECKING:
    from tern.journeys.model import Journey
    from tern.journeys.steps import JourneySteps


class UpdateContact(TaskStep):
    """Add or remove a tag, category or consent (recorded in Tern's overlay, never in the customer's data)."""

    kind: Literal["update_contact"]
    field: Literal["tags", "categories", "consents"]
    action: Literal["add", "remove"]
    value: Annotated[str, Field(min_length=1, max_length=200), OneLine]

    channel: ClassVar[str | None] = None

    def act(self, runner: JourneySteps, journey: Journey, request: StepRequest, now: dt.datetime) -> dict[str, Any]:
        kind = {column: kind for kind, column in lake.OVERLAY_KINDS.items()}[self.field]
        source = (
            "journey-" + hashlib.sha256(f"{journey.id}\n{self.id}\n{request.execution}\n{request.contact_id}".encode()).hexdigest()[:32]
        )
        runner.overlay.write(journey.org_id, source, kind, self.value, self.action, [request.contact_id], now)  # type: ignore[arg-type]
        runner.events.write(journey.org_id, [journey_event(request, self.id, "processed", now)])
        return {"outcome": "processed"}

    def let_through(self, edge: str, tally: Tally) -> int:
        return tally.outcomes["processed"]  # it records nothing but processed

    def position(self, outcome: str, way: str) -> str | None:
        return self.next if outcome == "processed" else None

    def problems(self, publishing: Publishing) -> list[Problem]:
        return []
