"""webhook: POST the contact (its snapshot and entry event) to one of the org's webhook destinations, signed as
exports are; a delivery that fails for good is recorded `failed` and the path goes on."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from tern.errors import Problem
from tern.journeys.kinds.base import Publishing, TaskStep, Text

if TYPE_CHECKING:
    from tern.journeys.model import Journey
    from tern.journeys.steps import JourneySteps
    from tern.journeys.tasks import StepRequest


class Webhook(TaskStep):
    """POST the contact (its snapshot and entry event) to a webhook destination, signed as exports are; a delivery
    that fails for good is recorded `failed` and the path goes on."""

    kind: Literal["webhook"]
    destination_id: Text

    channel: ClassVar[str | None] = None  # a system, not a person: no reactions

    def act(self, runner: JourneySteps, journey: Journey, request: StepRequest, now: dt.datetime) -> dict[str, Any]:
        return runner.webhook(journey, self, request, now)

    def problems(self, publishing: Publishing) -> list[Problem]:
        if publishing.destination is not None and not publishing.destination(self.destination_id):
            return [Problem(f"steps[{publishing.index[self.id]}].destination_id", f"there is no destination {self.destination_id!r}")]
        return []
