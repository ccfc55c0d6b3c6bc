"""What every journey step kind provides, and the shared pieces its parts are built from.

A kind is a pydantic model (the step as a marketer writes it) that answers, by its own methods, everything the
journey machinery needs of it (`PARTS`). Nothing outside tern.journeys.kinds tests a step's class: the compiler,
the Task function, entry, analytics and publishing ask the step. `StepKind` itself answers nothing, so a kind that
forgets a part fails tests/unit/test_step_kinds.py (which walks the `Step` union) rather than a journey.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from tern.errors import Problem
from tern.text import OneLine

if TYPE_CHECKING:
    from tern.clock import Clock
    from tern.journeys.conditions import Condition
    from tern.journeys.content import Content
    from tern.journeys.model import Journey, JourneyDefinition
    from tern.journeys.steps import JourneySteps
    from tern.journeys.tasks import StepRequest
    from tern.journeys.times import SignedDuration
    from tern.segments.segment import Segment

StepId = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")]
Text = Annotated[str, Field(min_length=1, max_length=500), OneLine]

STOPPED = "tern:stopped"  # ":" is not allowed in step ids, so no step can collide with it
END = "tern:end"  # where a Choice sends a way with no next step (a Choice cannot end an execution itself)

PASSED = ("sent", "failed", "capped", "outside_window")  # a send's outcomes that let the contact go on
ANSWERS = ("opened", "clicked", "bounced")  # what a branch on an event waits for


class NoTask(ValueError):
    """The step runs no Lambda (a wait, an end): the state machine never invokes journey_step for it."""


def then(state: dict[str, Any], target: str | None) -> dict[str, Any]:
    """`state` going on to `target`, or ending the execution when there is none."""
    if target:
        state["Next"] = target
    else:
        state["End"] = True
    return state


def bucket(journey_id: str, step_id: str, contact_id: str) -> int:
    """The contact's bucket 0..99 at a split or holdout: the same for the same journey, step and contact, always
    (a digest, not a random draw), and independent between steps."""
    digest = hashlib.sha256(f"{journey_id}\n{step_id}\n{contact_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


class Machine:
    """What a kind's `states` builds with: the journey's Task states (tern.journeys.asl makes one per journey)."""

    windowed: bool  # the journey has a send window or closed dates: sends may wait for the opening

    def task(self, step: StepKind, phase: str = "step", token: bool = False) -> dict[str, Any]:
        raise NotImplementedError


@dataclass(frozen=True)
class Tally:
    """What analytics counted at one step: its outcomes' contacts, who waits there now, the contacts each of a
    decision's ways took, and those who left a branch on its timeout."""

    outcomes: dict[str, int]
    waiting: int = 0
    ways: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0


@dataclass(frozen=True)
class Choice:
    """What a decision may decide by: the contact's bucket, and whether a condition holds for it now."""

    bucket: int
    holds: Callable[[Condition], bool]

    def first(self, conditions: list[Condition]) -> int | None:
        """The index of the first condition that holds, if any does (later ones are not evaluated)."""
        return next((i for i, c in enumerate(conditions) if self.holds(c)), None)


@dataclass(frozen=True)
class Publishing:
    """What a kind's publish checks look things up in (tern.journeys.validate builds it)."""

    definition: JourneyDefinition
    index: dict[str, int]  # step id -> its position in `steps`
    reached: set[str]  # the steps reachable from the start
    content: Callable[[str], Content]
    segment: Callable[[str], Segment]
    destination: Callable[[str], bool] | None
    sender: Callable[[str], object] | None
    default_sender: str | None
    postal_address: str | None
    path_avoiding: Callable[[str, str], bool]  # is there a path from the start to the second avoiding the first?


class StepKind(BaseModel):
    """A journey step. Each kind (a subclass in the `Step` union) answers every part below itself, or through a
    shared base of its family (one Task then on, sends, decisions, waits); this class answers none of them."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    id: StepId

    # ----- the graph
    def ways(self) -> list[tuple[str, str]]:
        """(edge, step id) for each way out that leads to a step; the edge names the outcome that takes it."""
        raise NotImplementedError

    def edges(self) -> list[str]:
        """A decision's ways, whether or not a step follows them (empty: the step decides nothing)."""
        raise NotImplementedError

    # ----- the state machine
    def states(self, machine: Machine) -> dict[str, Any]:
        """The step's ASL states, its own under its id (the ones it adds are named `<id>:<what>`)."""
        raise NotImplementedError

    silent: ClassVar[bool]  # runs no Lambda and records no event (a wait, an end)

    def act(self, runner: JourneySteps, journey: Journey, request: StepRequest, now: dt.datetime) -> dict[str, Any]:
        """What journey_step does for a contact at this step (its answer goes back to the state machine)."""
        raise NotImplementedError

    # ----- timing, at entry
    def at_entry(self, clock: Clock) -> dict[str, dict[str, Any]]:
        """Its share of an execution's `timeouts` and `waits` (on the wall clock), the same for every contact."""
        raise NotImplementedError

    def field_wait(self) -> tuple[str, SignedDuration | None] | None:
        """The contact's field its wait reads, with the offset, if it waits until a time a contact holds."""
        raise NotImplementedError

    def leaves_by(self, arrives: dt.datetime) -> dt.datetime:
        """The latest a contact arriving at `arrives` leaves (naive UTC): what publishing adds up along a path."""
        raise NotImplementedError

    # ----- analytics
    channel: ClassVar[str | None]  # what it sends people ("email", "sms"): reactions to it count here
    randomised: ClassVar[bool]  # assigns its ways at random: an experiment's variants
    control: ClassVar[str | None]  # the way that is a control group, if it has one

    def let_through(self, edge: str, tally: Tally) -> int:
        """How many contacts went on along `edge`."""
        raise NotImplementedError

    def position(self, outcome: str, way: str) -> str | None:
        """Where a contact whose latest event here is `outcome` (with `way`) is headed: this step's id if it waits
        here, the next step's if it went on (it waits there if that step holds arrivals), or None."""
        raise NotImplementedError

    def holds_arrivals(self) -> bool:
        """Whether contacts who reach it wait there before it records anything."""
        raise NotImplementedError

    # ----- checks
    def references(self) -> list[tuple[str, str]]:
        """(path, step id) for each step it names other than its ways (the message a branch watches)."""
        raise NotImplementedError

    def conditions(self) -> list[tuple[str, Condition]]:
        """(path, condition) for each condition it evaluates."""
        raise NotImplementedError

    def problems(self, publishing: Publishing) -> list[Problem]:
        """What stops the journey being published, as far as this step goes (its path is `steps[i]`)."""
        raise NotImplementedError


PARTS = (
    "ways", "edges", "states", "silent", "act", "at_entry", "field_wait", "leaves_by", "channel", "randomised", "control",
    "let_through", "position", "holds_arrivals", "references", "conditions", "problems",
)  # fmt: skip


def next_way(target: str | None) -> list[tuple[str, str]]:
    """The one way out of a step that goes on to `target`."""
    return [("next", target)] if target else []


class Wait(StepKind):
    """A step that holds contacts (a Wait state): no Lambda, no event, nothing sent, nothing to decide."""

    silent: ClassVar[bool] = True
    channel: ClassVar[str | None] = None
    randomised: ClassVar[bool] = False
    control: ClassVar[str | None] = None

    def edges(self) -> list[str]:
        return []

    def act(self, runner: JourneySteps, journey: Journey, request: StepRequest, now: dt.datetime) -> dict[str, Any]:
        raise NoTask(f"step {self.id} is not a Task step")

    def let_through(self, edge: str, tally: Tally) -> int:
        return max(0, tally.outcomes["processed"] - tally.waiting)

    def holds_arrivals(self) -> bool:
        return True

    def references(self) -> list[tuple[str, str]]:
        return []

    def conditions(self) -> list[tuple[str, Condition]]:
        return []

    def problems(self, publishing: Publishing) -> list[Problem]:
        return []


class TaskStep(StepKind):
    """A step whose one Task does something for the contact (sends, calls, changes) and goes on along `next`: it holds
    nobody and decides nothing; a contact goes on after the outcomes in PASSED."""

    next: StepId | None = None

    silent: ClassVar[bool] = False
    randomised: ClassVar[bool] = False
    control: ClassVar[str | None] = None

    def ways(self) -> list[tuple[str, str]]:
        return next_way(self.next)

    def edges(self) -> list[str]:
        return []

    def states(self, machine: Machine) -> dict[str, Any]:
        return {self.id: then(machine.task(self), self.next)}

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
