"""Checks on a journey: its shape when saved, and everything publishing needs.

Saved drafts may be unfinished, but never malformed: step ids are unique and every reference names a
step. Publishing further needs every step reachable, every path to end (no loops), each branch to watch a
send step that comes before it on every path, content that exists, is ready and fits its channel, a live
audience, exclusions that exist, and a schedule exactly when the mode is recurring.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from tern.clock import naive_utc
from tern.errors import DefinitionError, NotFoundError, Problem
from tern.journeys.content import Content
from tern.journeys.kinds.base import Publishing
from tern.journeys.model import JourneyDefinition, flow_order
from tern.journeys.times import EXECUTION_LIMIT
from tern.segments.segment import Segment


def _index(definition: JourneyDefinition) -> dict[str, int]:
    return {s.id: i for i, s in enumerate(definition.steps)}


def check_shape(definition: JourneyDefinition) -> None:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, step in enumerate(definition.steps):
        if step.id in seen:
            problems.append(Problem(f"steps[{i}].id", f"step id {step.id!r} is used twice (also steps[{seen[step.id]}])"))
        seen.setdefault(step.id, i)
    if definition.start not in seen:
        problems.append(Problem("start", f"there is no step {definition.start!r}"))
    for i, step in enumerate(definition.steps):
        for path, target in [*step.ways(), *step.references()]:
            if target not in seen:
                problems.append(Problem(f"steps[{i}].{path}", f"there is no step {target!r}"))
    if definition.mode == "recurring" and definition.every is None:
        problems.append(Problem("every", 'a recurring journey needs a schedule, e.g. {"every": 7, "unit": "days"}'))
    if definition.mode != "recurring" and definition.every is not None:
        problems.append(Problem("every", "only a recurring journey has a schedule"))
    if problems:
        raise DefinitionError(problems)


def check_publishable(
    definition: JourneyDefinition,
    content: Callable[[str], Content],
    segment: Callable[[str], Segment],
    now: dt.datetime,
    destination: Callable[[str], bool] | None = None,
    sender: Callable[[str], object] | None = None,
    default_sender: str | None = None,
    postal_address: str | None = "unchecked",
) -> None:
    """Everything publishing needs; `content` and `segment` look an id up for the org (NotFoundError if absent);
    `now` (naive UTC) is when the first contacts could enter; `sender` checks an e-mail's From address is one of the
    org's verified sending domains (DefinitionError naming it); without a From, content sends as `default_sender`
    (the stack's own, on a single-org install), or cannot be published; every marketing e-mail shows the org's
    `postal_address` (CAN-SPAM): without one (the org's, else the stack's) no e-mail step is published."""
    check_shape(definition)
    problems: list[Problem] = []
    index = _index(definition)

    # every path ends: depth-first over the graph from start, refusing loops
    reached: set[str] = set()
    on_path: list[str] = []

    def walk(step_id: str) -> None:
        if step_id in on_path:
            loop = " -> ".join([*on_path[on_path.index(step_id) :], step_id])
            problems.append(Problem(f"steps[{index[step_id]}]", f"this makes a loop, so a path never ends: {loop}"))
            return
        if step_id in reached:
            return
        reached.add(step_id)
        on_path.append(step_id)
        for _, target in definition.step(step_id).ways():
            walk(target)
        on_path.pop()

    walk(definition.start)
    for i, step in enumerate(definition.steps):
        if step.id not in reached:
            problems.append(Problem(f"steps[{i}]", f"step {step.id!r} cannot be reached from the start"))

    publishing = Publishing(
        definition, index, reached, content, segment, destination, sender, default_sender, postal_address,
        lambda avoid, target: _path_avoiding(definition, avoid, target),
    )  # fmt: skip
    for step in definition.steps:
        problems += step.problems(publishing)

    problems += _longest_paths(definition, now)

    audience = (
        [] if definition.audience_id() is None else [("entry.audience" if definition.by_event() else "audience", definition.audience_id())]
    )
    for path, segment_id in [*audience, *((f"exclusions[{i}]", s) for i, s in enumerate(definition.exclusions))]:
        assert segment_id is not None
        try:
            found_segment = segment(segment_id)
        except NotFoundError:
            problems.append(Problem(path, f"there is no segment {segment_id!r}"))
            continue
        if path in ("audience", "entry.audience") and found_segment.status != "live":
            problems.append(Problem(path, f"segment {segment_id!r} is {found_segment.status}, not live"))
    if problems:
        raise DefinitionError(problems)


def _longest_paths(definition: JourneyDefinition, now: dt.datetime) -> list[Problem]:
    """Problems for steps a contact could reach more than a year after entering (one execution lasts at most a
    year): waits and branch timeouts add up along each path, a wait_until holds until its time."""
    index = _index(definition)
    start = max(now, naive_utc(definition.start_at)) if definition.start_at else now
    latest: dict[str, dt.datetime] = {}
    latest[definition.start] = start
    problems: list[Problem] = []
    for step_id in flow_order(definition):
        if step_id not in latest:
            continue
        step = definition.step(step_id)
        leaves = step.leaves_by(latest[step_id])
        if leaves - start > EXECUTION_LIMIT:
            problems.append(Problem(
                f"steps[{index[step_id]}]",
                f"a contact could still be on its way here {(leaves - start).days} days after entering; a journey's "
                "path runs at most 365 days",
            ))  # fmt: skip
            continue
        for _, target in step.ways():
            latest[target] = max(latest.get(target, leaves), leaves)
    return problems


def _path_avoiding(definition: JourneyDefinition, avoid: str, target: str) -> bool:
    """Is there a path from the start to `target` that does not pass `avoid`?"""
    stack, seen = [definition.start], set()
    while stack:
        current = stack.pop()
        if current == avoid or current in seen:
            continue
        if current == target:
            return True
        seen.add(current)
        stack.extend(t for _, t in definition.step(current).ways())
    return False
