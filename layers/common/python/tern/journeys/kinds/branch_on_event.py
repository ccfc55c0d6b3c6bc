"""branch_on_event: wait for an engagement event on an earlier message; `yes` when it comes, `no` when the timeout
passes.

The Task registers a task token under the watched message (.waitForTaskToken); ingest_events completes it when
the event comes. The state's timeout sends the contact to `<id>:timeout`, a Task recording it, then on to `no`.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal

from pydantic import Field

from tern.clock import wall_seconds
from tern.errors import ContactStopped, Problem
from tern.journeys.kinds.base import ANSWERS, STOPPED, Machine, Publishing, StepId, StepKind, Tally, then
from tern.journeys.times import Duration
from tern.text import OneLine

if TYPE_CHECKING:
    from tern.clock import Clock
    from tern.journeys.conditions import Condition
    from tern.journeys.model import Journey
    from tern.journeys.steps import JourneySteps
    from tern.journeys.tasks import StepRequest
    from tern.journeys.times import SignedDuration


class BranchOnEvent(StepKind):
    """Wait for an engagement event on an earlier message; `yes` when it comes, `no` when the timeout passes."""

    kind: Literal["branch_on_event"]
    message_step: StepId
    event: Literal["clicked", "opened", "bounced"]
    link: Annotated[str, Field(min_length=1, max_length=2000), OneLine] | None = None
    timeout: Duration
    yes: StepId | None = None
    no: StepId | None = None

    silent: ClassVar[bool] = False
    channel: ClassVar[str | None] = None
    randomised: ClassVar[bool] = False
    control: ClassVar[str | None] = None

    def ways(self) -> list[tuple[str, str]]:
        return [(edge, target) for edge, target in (("yes", self.yes), ("no", self.no)) if target]

    def edges(self) -> list[str]:
        return []

    def states(self, machine: Machine) -> dict[str, Any]:
        task = machine.task(self, token=True)
        waiting = {
            "Type": "Task",
            "Resource": task["Resource"] + ".waitForTaskToken",
            "Parameters": task["Parameters"],
            "TimeoutSecondsPath": f"$.timeouts.{self.id}",
            "ResultPath": None,
            "Retry": task["Retry"],
            "Catch": [
                {"ErrorEquals": ["States.Timeout"], "ResultPath": None, "Next": f"{self.id}:timeout"},
                {"ErrorEquals": [ContactStopped.__name__], "ResultPath": None, "Next": STOPPED},
            ],
        }
        return {self.id: then(waiting, self.yes), f"{self.id}:timeout": then(machine.task(self, phase="timeout"), self.no)}

    def act(self, runner: JourneySteps, journey: Journey, request: StepRequest, now: dt.datetime) -> dict[str, Any]:
        return runner.branch(journey, self, request, now)

    def at_entry(self, clock: Clock) -> dict[str, dict[str, Any]]:
        return {"timeouts": {self.id: wall_seconds(clock, self.timeout.total_seconds())}}

    def field_wait(self) -> tuple[str, SignedDuration | None] | None:
        return None

    def leaves_by(self, arrives: dt.datetime) -> dt.datetime:
        return arrives + self.timeout

    def let_through(self, edge: str, tally: Tally) -> int:
        return sum(tally.outcomes[a] for a in ANSWERS) if edge == "yes" else tally.timeouts

    def position(self, outcome: str, way: str) -> str | None:
        if outcome == "processed":  # its token registered: waiting here for the event
            return self.id
        if outcome in ANSWERS:
            return self.yes
        return self.no if outcome == "exited" and way in ("", "timeout") else None

    def holds_arrivals(self) -> bool:
        return False

    def references(self) -> list[tuple[str, str]]:
        return [("message_step", self.message_step)]

    def conditions(self) -> list[tuple[str, Condition]]:
        return []

    def problems(self, publishing: Publishing) -> list[Problem]:
        """It watches a message sent before it on every path (the send step dominates the branch), by e-mail."""
        if self.message_step not in publishing.index:
            return []  # named by the shape check
        path = f"steps[{publishing.index[self.id]}].message_step"
        watched = publishing.definition.step(self.message_step)
        if watched.channel is None:
            return [Problem(path, f"step {self.message_step!r} sends nothing to watch")]
        if self.id in publishing.reached and publishing.path_avoiding(self.message_step, self.id):
            return [Problem(path, f"some paths reach {self.id!r} without passing {self.message_step!r}")]
        if watched.channel != "email":
            return [Problem(path, "an SMS reports no opens, clicks or bounces to wait for")]
        return []
