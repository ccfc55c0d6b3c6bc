"""random_split: contacts divided among up to 5 branches by percent, by their bucket (a digest of journey, step and
contact), so a retry, a re-run or a copy of the execution never moves a contact."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tern.journeys.kinds.base import Choice, StepId
from tern.journeys.kinds.deciding import Decision

if TYPE_CHECKING:
    from tern.journeys.conditions import Condition


class SplitBranch(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    percent: Annotated[int, Field(strict=True, ge=1, le=99)]
    next: StepId | None = None


class RandomSplit(Decision):
    """Contacts divided among up to 5 branches by percent; which branch is a hash of (journey, step, contact), so
    a retry, a re-run or a copy of the execution never moves a contact (see `bucket`)."""

    kind: Literal["random_split"]
    branches: Annotated[list[SplitBranch], Field(min_length=2, max_length=5)]

    randomised: ClassVar[bool] = True
    control: ClassVar[str | None] = None

    @field_validator("branches")
    @classmethod
    def _whole(cls, branches: list[SplitBranch]) -> list[SplitBranch]:
        if sum(b.percent for b in branches) != 100:
            raise ValueError(f"the branches' percents add up to {sum(b.percent for b in branches)}, not 100")
        return branches

    def ways(self) -> list[tuple[str, str]]:
        return [(f"branches[{i}]", b.next) for i, b in enumerate(self.branches) if b.next]

    def edges(self) -> list[str]:
        return [f"branches[{i}]" for i in range(len(self.branches))]

    def way(self, choice: Choice) -> str:
        return f"branches[{branch_of(self, choice.bucket)}]"

    def conditions(self) -> list[tuple[str, Condition]]:
        return []


def branch_of(step: RandomSplit, bucket_number: int) -> int:
    """Which branch (index) a bucket falls in: branches take consecutive runs of buckets in their order."""
    upper = 0
    for index, branch in enumerate(step.branches):
        upper += branch.percent
        if bucket_number < upper:
            return index
    raise ValueError("a bucket is 0..99")
