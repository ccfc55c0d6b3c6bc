"""multi_split: the first branch whose condition holds (in their order), else `else` (after waiting `after`, if given)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from tern.journeys.conditions import Condition
from tern.journeys.kinds.base import Choice, StepId
from tern.journeys.kinds.deciding import Decision
from tern.journeys.times import Duration


class ConditionBranch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    condition: Condition
    next: StepId | None = None


class MultiSplit(Decision):
    """The first branch whose condition holds (in their order), else `else` (after waiting `after`, if given)."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    kind: Literal["multi_split"]
    branches: Annotated[list[ConditionBranch], Field(min_length=1, max_length=5)]
    else_: StepId | None = Field(default=None, alias="else")
    after: Duration | None = None

    randomised: ClassVar[bool] = False
    control: ClassVar[str | None] = None

    def ways(self) -> list[tuple[str, str]]:
        edges = [(f"branches[{i}]", b.next) for i, b in enumerate(self.branches)] + [("else", self.else_)]
        return [(edge, target) for edge, target in edges if target]

    def edges(self) -> list[str]:
        return [f"branches[{i}]" for i in range(len(self.branches))] + ["else"]

    def way(self, choice: Choice) -> str:
        held = choice.first([b.condition for b in self.branches])
        return "else" if held is None else f"branches[{held}]"

    def pause(self) -> Duration | None:
        return self.after

    def conditions(self) -> list[tuple[str, Condition]]:
        return [(f"branches[{j}].condition", b.condition) for j, b in enumerate(self.branches)]
