"""What the four decision kinds (random_split, holdout, split, multi_split) share.

A decision's Task decides the contact's way (JourneySteps.decide asks the step's `way`), records it (`branched`
with the way as its reason; `held_out` for a holdout's control group) and answers `{"way": EDGE}`; `<id>:route`,
a Choice, takes it: two transitions. A decision with `after` waits first (a Wait on `$.waits.<id>`; the Task is
then `<id>:decide`): three. The held-out and the ways with no next step go to the shared `tern:end`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, ClassVar

from tern.clock import wall_seconds
from tern.errors import NotFoundError, Problem
from tern.journeys.conditions import AllOf, AnyOf, EngagementCriterion, NoneOf
from tern.journeys.kinds.base import END, Choice, Machine, Publishing, StepKind, Tally
from tern.segments.criteria import SegmentMembershipCriterion

if TYPE_CHECKING:
    from tern.clock import Clock
    from tern.journeys.model import Journey
    from tern.journeys.steps import JourneySteps
    from tern.journeys.tasks import StepRequest
    from tern.journeys.times import Duration, SignedDuration


class Decision(StepKind):
    """A step whose Task answers which way the contact goes."""

    silent: ClassVar[bool] = False
    channel: ClassVar[str | None] = None

    def way(self, choice: Choice) -> str:
        """The edge this contact takes."""
        raise NotImplementedError

    def pause(self) -> Duration | None:
        """How long contacts wait before the decision is made (None: at once)."""
        return None

    def states(self, machine: Machine) -> dict[str, Any]:
        states: dict[str, Any] = {}
        name = self.id
        if self.pause() is not None:
            name = f"{self.id}:decide"
            states[self.id] = {"Type": "Wait", "SecondsPath": f"$.waits.{self.id}", "Next": name}
        ways = [{"Variable": "$.decided.edge", "StringEquals": edge, "Next": target} for edge, target in self.ways()]
        states[name] = {**machine.task(self), "ResultSelector": {"edge.$": "$.Payload.way"}, "ResultPath": "$.decided",
                        "Next": f"{self.id}:route" if ways else END}  # fmt: skip
        if ways:
            states[f"{self.id}:route"] = {"Type": "Choice", "Choices": ways, "Default": END}
        return states

    def act(self, runner: JourneySteps, journey: Journey, request: StepRequest, now: dt.datetime) -> dict[str, Any]:
        return runner.decide(journey, self, request, now)

    def at_entry(self, clock: Clock) -> dict[str, dict[str, Any]]:
        pause = self.pause()
        return {"waits": {self.id: wall_seconds(clock, pause.total_seconds())}} if pause is not None else {}

    def field_wait(self) -> tuple[str, SignedDuration | None] | None:
        return None

    def leaves_by(self, arrives: dt.datetime) -> dt.datetime:
        pause = self.pause()
        return arrives + pause if pause is not None else arrives

    def let_through(self, edge: str, tally: Tally) -> int:
        return tally.ways.get(edge, 0)

    def position(self, outcome: str, way: str) -> str | None:
        return dict(self.ways()).get(way) if outcome == "branched" else None

    def holds_arrivals(self) -> bool:
        return self.pause() is not None  # waiting out `after` before the Task records anything

    def references(self) -> list[tuple[str, str]]:
        return [(f"{path}.message_step", part.message_step) for path, part in parts(self) if isinstance(part, EngagementCriterion)]

    def problems(self, publishing: Publishing) -> list[Problem]:
        """A condition's engagement names a send step; its in_segment / not_in_segment a segment that exists."""
        problems: list[Problem] = []
        at = f"steps[{publishing.index[self.id]}]"
        for path, part in parts(self):
            if isinstance(part, EngagementCriterion) and part.message_step in publishing.index:
                if publishing.definition.step(part.message_step).channel is None:
                    problems.append(Problem(f"{at}.{path}.message_step", f"step {part.message_step!r} sends nothing"))
            elif isinstance(part, SegmentMembershipCriterion):
                try:
                    publishing.segment(part.segment_id)
                except NotFoundError:
                    problems.append(Problem(f"{at}.{path}.segment_id", f"there is no segment {part.segment_id!r}"))
        return problems


def parts(step: StepKind) -> list[tuple[str, object]]:
    """(path, criterion or group) of every part of a step's conditions, the path as problems name it."""
    found: list[tuple[str, object]] = []

    def visit(node: object, path: str) -> None:
        found.append((path, node))
        if isinstance(node, AllOf):
            for j, part in enumerate(node.all):
                visit(part, f"{path}.all[{j}]")
        elif isinstance(node, AnyOf):
            for j, part in enumerate(node.any):
                visit(part, f"{path}.any[{j}]")
        elif isinstance(node, NoneOf):
            visit(node.not_, f"{path}.not")

    for path, condition in step.conditions():
        visit(condition, path)
    return found
