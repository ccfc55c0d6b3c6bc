"""holdout: `percent` of the contacts (by their bucket) leave here, recorded held_out (the control group); the
others go on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import Field

from tern.journeys.kinds.base import Choice, StepId, next_way
from tern.journeys.kinds.deciding import Decision

if TYPE_CHECKING:
    from tern.journeys.conditions import Condition


class Holdout(Decision):
    """`percent` of the contacts leave here, recorded as held_out (the control group); the others go on."""

    kind: Literal["holdout"]
    percent: Annotated[int, Field(strict=True, ge=1, le=99)]
    next: StepId | None = None

    randomised: ClassVar[bool] = True
    control: ClassVar[str | None] = "held_out"

    def ways(self) -> list[tuple[str, str]]:
        return next_way(self.next)

    def edges(self) -> list[str]:
        return ["held_out", "next"]

    def way(self, choice: Choice) -> str:
        return "held_out" if choice.bucket < self.percent else "next"

    def conditions(self) -> list[tuple[str, Condition]]:
        return []
