"""split: evaluate a condition for the contact (after waiting `after`, if given): `yes` when it holds, else `no`."""

from __future__ import annotations

from typing import ClassVar, Literal

from tern.journeys.conditions import Condition
from tern.journeys.kinds.base import Choice, StepId
from tern.journeys.kinds.deciding import Decision
from tern.journeys.times import Duration


class Split(Decision):
    """Evaluate `condition` for the contact (after waiting `after`, if given): `yes` when it holds, else `no`."""

    kind: Literal["split"]
    condition: Condition
    after: Duration | None = None
    yes: StepId | None = None
    no: StepId | None = None

    randomised: ClassVar[bool] = False
    control: ClassVar[str | None] = None

    def ways(self) -> list[tuple[str, str]]:
        return [(edge, target) for edge, target in (("yes", self.yes), ("no", self.no)) if target]

    def edges(self) -> list[str]:
        return ["yes", "no"]

    def way(self, choice: Choice) -> str:
        return "no" if choice.first([self.condition]) is None else "yes"

    def pause(self) -> Duration | None:
        return self.after

    def conditions(self) -> list[tuple[str, Condition]]:
        return [("condition", self.condition)]
