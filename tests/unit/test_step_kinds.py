"""Every journey step kind answers every part the machinery asks of it (tern.journeys.kinds, issue 27).

The test walks the `Step` union itself, so a kind added to the union without one of its parts (its ways, its
states, its Task, its timing at entry, its analytics rules, its publish checks) fails here, naming the part,
before any journey uses it. Each kind is then exercised through every part on an example step.
"""

from __future__ import annotations

import datetime as dt
import typing
from typing import Any, ClassVar, Literal

import pytest

from tern.errors import NotFoundError
from tern.journeys.asl import Tasks
from tern.journeys.kinds import PARTS, Step, StepKind
from tern.journeys.kinds.base import NoTask, Publishing, Tally
from tern.journeys.model import JourneyDefinition
from tern.journeys.tasks import JourneyRef, StepRequest

KINDS: list[type[StepKind]] = list(typing.get_args(typing.get_args(Step)[0]))

# One example of each kind, in a journey where every reference resolves.
EXAMPLES: dict[str, dict[str, Any]] = {
    "send_email": {"id": "mail", "kind": "send_email", "content_id": "C1", "next": "end"},
    "send_sms": {"id": "text", "kind": "send_sms", "content_id": "C2", "next": "end"},
    "branch_on_event": {"id": "clicked", "kind": "branch_on_event", "message_step": "mail", "event": "clicked", "timeout": "P1D",
                        "yes": "end", "no": "end"},
    "wait_until": {"id": "until", "kind": "wait_until", "from": "contact.birth_date", "offset": "-P1D", "next": "end"},
    "wait_for": {"id": "pause", "kind": "wait_for", "duration": "PT2H", "next": "end"},
    "update_contact": {"id": "tag", "kind": "update_contact", "field": "tags", "action": "add", "value": "vip", "next": "end"},
    "end": {"id": "end", "kind": "end"},
    "random_split": {"id": "ab", "kind": "random_split", "branches": [{"percent": 50, "next": "end"}, {"percent": 50}]},
    "holdout": {"id": "hold", "kind": "holdout", "percent": 10, "next": "end"},
    "split": {"id": "vip", "kind": "split", "condition": {"kind": "attribute", "field": "city", "op": "eq", "value": "Kraków"}, "after": "PT1H",
              "yes": "end"},
    "multi_split": {"id": "which", "kind": "multi_split", "branches": [{"condition": {"kind": "attribute", "field": "city", "op": "eq", "value": "Gdańsk"},
                    "next": "end"}], "else": "end"},
    "webhook": {"id": "hook", "kind": "webhook", "destination_id": "D1", "next": "end"},
}  # fmt: skip


def missing_parts(cls: type[StepKind]) -> list[str]:
    """The parts `cls` leaves to StepKind, which answers none of them."""
    missing = []
    for part in PARTS:
        answered = next((c for c in cls.__mro__ if part in c.__dict__), None)
        if answered is None or answered is StepKind:
            missing.append(part)
    return missing


def test_the_union_is_every_kind_and_every_kind_answers_every_part() -> None:
    assert {cls.model_fields["kind"].annotation.__args__[0] for cls in KINDS} == set(EXAMPLES)  # type: ignore[union-attr]
    assert {cls.__name__: missing_parts(cls) for cls in KINDS} == {cls.__name__: [] for cls in KINDS}


def test_a_kind_without_a_part_is_caught() -> None:
    class Sparse(StepKind):  # a new kind that forgot most of its parts
        kind: Literal["sparse"]
        silent: ClassVar[bool] = True

        def ways(self) -> list[tuple[str, str]]:
            return []

    missing = missing_parts(Sparse)
    assert "ways" not in missing and "silent" not in missing
    assert {"edges", "states", "act", "at_entry", "let_through", "position", "problems", "channel"} <= set(missing)
    with pytest.raises(NotImplementedError):
        Sparse(id="s", kind="sparse").edges()


class Runner:
    """What a kind's Task may call on JourneySteps, recording which it called."""

    def __init__(self) -> None:
        self.called: list[str] = []
        self.overlay = self
        self.events = self

    def __getattr__(self, name: str) -> Any:
        def record(*args: Any, **kwargs: Any) -> dict[str, Any]:
            self.called.append(name)
            return {"outcome": name}

        return record


@pytest.mark.parametrize("kind", list(EXAMPLES))
def test_each_kind_through_every_part(kind: str) -> None:
    others = [s for k, s in EXAMPLES.items() if k not in (kind, "end", "send_email")]
    steps = [EXAMPLES[kind]] + [EXAMPLES[k] for k in ("send_email", "end") if k != kind] + others
    definition = JourneyDefinition.model_validate({"name": "All", "audience": "s1", "start": EXAMPLES[kind]["id"], "steps": steps})
    step = definition.step(EXAMPLES[kind]["id"])
    now = dt.datetime(2026, 12, 7, 9)

    ways = step.ways()
    assert all(target in {s.id for s in definition.steps} for _, target in ways)
    assert {edge for edge, _ in ways} <= set(step.edges()) or not step.edges()
    states = step.states(Tasks(step_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:step", event=False, windowed=True))
    assert step.id in states and all(name == step.id or name.startswith(f"{step.id}:") for name in states)

    runner = Runner()
    request = StepRequest(step=step.id, journey=JourneyRef(org_id="o1", id="j1", version=1), contact_id="c1", execution="e1")
    journey: Any = type("Journey", (), {"id": "j1", "org_id": "o1"})()
    if step.silent:
        with pytest.raises(NoTask):
            step.act(runner, journey, request, now)  # type: ignore[arg-type]
    else:
        step.act(runner, journey, request, now)  # type: ignore[arg-type]
        assert runner.called, f"{kind}'s Task did nothing"

    timing = step.at_entry(lambda: now)
    assert set(timing) <= {"timeouts", "waits"} and all(list(t) == [step.id] for t in timing.values())
    assert step.field_wait() is None or kind == "wait_until"
    assert step.leaves_by(now) >= now

    tally = Tally({"processed": 5, "sent": 4, "failed": 1, "capped": 0, "outside_window": 0, "opened": 0, "clicked": 2, "bounced": 0},
                  waiting=1, ways=dict.fromkeys(step.edges(), 2), timeouts=3)  # fmt: skip
    assert all(step.let_through(edge, tally) >= 0 for edge, _ in ways)
    assert step.position("processed", "") in {None, step.id, *(t for _, t in ways)}
    assert isinstance(step.holds_arrivals(), bool)
    assert step.channel in (None, "email", "sms") and isinstance(step.randomised, bool)
    assert step.control is None or step.control in step.edges()

    def content(content_id: str) -> Any:
        raise NotFoundError(f"no content {content_id}")

    publishing = Publishing(definition, {s.id: i for i, s in enumerate(definition.steps)}, {s.id for s in definition.steps}, content,
                            lambda s: object(), lambda d: False, None, "tern@example.com", "1 Main St", lambda a, t: False)  # type: ignore[arg-type]  # fmt: skip
    problems = step.problems(publishing)
    assert all(p.path.startswith(f"steps[{publishing.index[step.id]}]") for p in problems)
    if kind in ("send_email", "send_sms", "webhook"):  # what they name is missing here
        assert problems
    assert all(target in publishing.index for _, target in step.references())
    assert [path for path, _ in step.conditions()] == {"split": ["condition"], "multi_split": ["branches[0].condition"]}.get(kind, [])
