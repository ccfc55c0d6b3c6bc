"""Per-step analytics of a journey, from its journey_step events (one query each, on Athena or DuckDB).

For each step: how many contacts were processed, sent, opened, clicked, bounced, stopped, blocked and
exited there, and how many are waiting there now. Where a contact is now follows from its latest
position event (processed, sent, blocked, exited, stopped, and a branch's answer) and the journey's graph:
after a send, at the next step if that is a wait; after "processed" at a branch, at the branch.
Engagement recorded at a send step (a click on that message) counts for the step but moves nobody.

A decision (random_split, holdout, split, multi_split) records `branched` with the way the contact took as
its reason (`held_out` for a holdout's control group): each step's `ways` counts them, and a contact who
took a way to a wait waits there; a split waiting its `after` holds the contacts its predecessor let through.

Waits and `end` run no Lambda and so record no event: a contact has passed one when the step before it let
it through (a send that sent, a branch's answer or timeout, a wait it left), so their `processed` follows
from the graph, in its order.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model
from sqlglot import exp

from tern.engines import QueryEngine
from tern.journeys.kinds import Step
from tern.journeys.kinds.base import ANSWERS, Tally
from tern.journeys.model import Journey, flow_order

OUTCOMES = [
    "deferred", "processed", "sent", "opened", "clicked", "bounced", "stopped", "blocked", "exited", "failed", "held_out", "branched",
    "capped", "outside_window", "no_date", "unsubscribed",
]  # fmt: skip
# What a message's recipient did afterwards: counted at its send step, never where the contact is nor who reached it
REACTIONS = (*ANSWERS, "unsubscribed")


class _Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WayFigures(_Answer):
    """The contacts a decision's way took, and (with a goal) how many of them converted."""

    way: str
    next: str | None
    contacts: int
    converted: int | None = None
    conversion_rate: float | None = None


class _StepBase(_Answer):
    step_id: str
    kind: str
    entered: int
    converted: int | None  # null for a wait or an end (they record nothing), or without a goal
    waiting: int
    exits: dict[str, int]  # why contacts left here (timeout, goal met, an exit event, left the audience)
    ways: list[WayFigures] | None = None  # a decision's


# A step's figures: the contacts with each outcome there (OUTCOMES), who reached it and who waits there now
StepFigures = create_model("StepFigures", __base__=_StepBase, **{outcome: (int, ...) for outcome in OUTCOMES})  # type: ignore[call-overload]


class Variant(_Answer):
    step_id: str
    way: str
    next: str | None
    contacts: int
    converted: int
    conversion_rate: float | None
    lift: float | None = None
    lift_low: float | None = None
    lift_high: float | None = None


class Control(_Answer):
    step_id: str
    contacts: int
    converted: int
    conversion_rate: float | None


class Experiment(_Answer):
    goal: str | None
    control: Control | None
    variants: list[Variant]


class Entered(_Answer):
    contacts: int
    entries: int


class JourneyAnalytics(_Answer):
    """GET /journeys/{id}/analytics: the journey's figures, per step."""

    journey_id: str
    status: str
    entered: Entered
    steps: list[StepFigures]  # type: ignore[valid-type]
    stopped_by_journey_stop: int
    converted: int
    experiment: Experiment | None = None


def _events(engine: QueryEngine) -> exp.Table:
    return exp.table_("events", db=engine.database)


def _scope(journey: Journey) -> exp.Expr:
    """The journey's own events: its org's partitions from the day before it was made (no event of a journey is
    older than the journey: Athena and DuckDB read only those days' files)."""
    since = (journey.created_at - dt.timedelta(days=1)).date().isoformat()  # dt is a string partition: string order is date order
    return exp.and_(
        exp.column("org_id").eq(exp.Literal.string(journey.org_id)),
        exp.GTE(this=exp.column("dt"), expression=exp.Literal.string(since)),
        exp.column("event_type").eq(exp.Literal.string("journey_step")),
        exp.column("journey_id").eq(exp.Literal.string(journey.id)),
    )


def analytics(journey: Journey, engine: QueryEngine, entered: dict[str, int] | None = None) -> dict[str, Any]:
    """The journey's figures; `entered` (contacts, entries) as the journey's repository counted them."""
    way = exp.Case().when(
        exp.column("outcome").isin(*(exp.Literal.string(o) for o in ("branched", "held_out", "exited"))), exp.column("reason")
    )
    counts_sql = (
        exp.select("step_id", "outcome", exp.alias_(way, "way"), exp.alias_(exp.Count(this=exp.Distinct(expressions=[exp.column("contact_id")])), "contacts"))
        .from_(_events(engine)).where(_scope(journey)).group_by("step_id", "outcome", way)
    )  # fmt: skip
    counts: dict[str, dict[str, int]] = {s.id: dict.fromkeys(OUTCOMES, 0) for s in journey.steps}
    ways: dict[str, dict[str, int]] = {s.id: dict.fromkeys(s.edges(), 0) for s in journey.steps if s.edges()}
    exits: dict[str, dict[str, int]] = {s.id: {} for s in journey.steps}
    stopped_anywhere = converted = 0
    for step_id, outcome, taken, contacts in engine.run(counts_sql.sql(dialect=engine.dialect)).rows:
        if step_id in counts and outcome in counts[step_id]:
            counts[step_id][outcome] += int(contacts)
            if outcome in ("branched", "held_out") and step_id in ways:
                ways[step_id][str(taken)] = ways[step_id].get(str(taken), 0) + int(contacts)
            if outcome == "exited":
                exits[step_id][str(taken or "timeout")] = exits[step_id].get(str(taken or "timeout"), 0) + int(contacts)
        elif not step_id and outcome == "stopped":
            stopped_anywhere = int(contacts)
        elif not step_id and outcome == "converted":
            converted += int(contacts)

    # where each contact is now: its latest position event
    sends = [s.id for s in journey.steps if s.channel]
    moves = exp.not_(exp.and_(exp.column("outcome").isin(*(exp.Literal.string(a) for a in REACTIONS)),
                              exp.column("step_id").isin(*(exp.Literal.string(s) for s in sends)))) if sends else exp.true()  # fmt: skip
    rank = exp.Case()
    for i, outcome in enumerate(OUTCOMES):
        rank = rank.when(exp.column("outcome").eq(exp.Literal.string(outcome)), exp.Literal.number(i))
    latest = (
        exp.select("contact_id", "step_id", "outcome", "reason", exp.alias_(exp.Window(
            this=exp.RowNumber(), partition_by=[exp.column("contact_id")],
            order=exp.Order(expressions=[exp.Ordered(this=exp.column("ts"), desc=True), exp.Ordered(this=rank, desc=True)]),
        ), "n")).from_(_events(engine)).where(exp.and_(_scope(journey), moves))
    )  # fmt: skip
    positions_sql = (
        exp.select("step_id", "outcome", exp.alias_(exp.Count(this=exp.Star()), "contacts"))
        .from_(latest.subquery("latest"))
        .where(exp.column("n").eq(1))
        .group_by("step_id", "outcome")
    )
    waiting: dict[str, int] = dict.fromkeys(counts, 0)
    positions_sql = positions_sql.select(exp.alias_(way, "way")).group_by(way)
    for step_id, outcome, contacts, taken in engine.run(positions_sql.sql(dialect=engine.dialect)).rows:
        at = _position(journey, str(step_id or ""), str(outcome), str(taken or ""))
        if at is not None:
            waiting[at] += int(contacts)
    _passed_silently(journey, counts, waiting, ways, exits)
    reached = _reached(journey, engine, counts)
    steps = [
        {"step_id": s.id, "kind": s.kind, **reached[s.id], **counts[s.id], "waiting": waiting[s.id],
         "exits": exits[s.id],
         **({"ways": [{"way": edge, "next": dict(s.ways()).get(edge), "contacts": n} for edge, n in ways[s.id].items()]} if s.id in ways else {})}
        for s in journey.steps
    ]  # fmt: skip
    result = {"journey_id": journey.id, "status": journey.status, "entered": entered or {"contacts": 0, "entries": 0}, "steps": steps,
              "stopped_by_journey_stop": stopped_anywhere, "converted": converted}  # fmt: skip
    if journey.goal is not None and ways:
        result["experiment"] = experiment(journey, engine, steps)
    return JourneyAnalytics.model_validate(result).model_dump(exclude_unset=True)  # what the API documents, checked


def _if_converted(journey: Journey, engine: QueryEngine) -> exp.Expr:
    """The contact's id if it met the journey's goal, else null (to count distinct converted contacts)."""
    converted_ids = (
        exp.select("contact_id")
        .from_(_events(engine))
        .where(exp.and_(_scope(journey), exp.column("outcome").eq(exp.Literal.string("converted"))))
    )
    return exp.Case().when(exp.column("contact_id").isin(query=converted_ids), exp.column("contact_id"))


def _reached(journey: Journey, engine: QueryEngine, counts: dict[str, dict[str, int]]) -> dict[str, dict[str, int | None]]:
    """Per step, the contacts who reached it (`entered`) and of them those who met the journey's goal (`converted`,
    at any time in the journey). A wait or an end records no event: its `entered` is what the steps before it let
    through, and who of them converted is not known (null)."""
    converted = _if_converted(journey, engine) if journey.goal is not None else exp.null()
    sql = (
        exp.select("step_id", exp.alias_(exp.Count(this=exp.Distinct(expressions=[exp.column("contact_id")])), "entered"),
                   exp.alias_(exp.Count(this=exp.Distinct(expressions=[converted])), "converted"))
        .from_(_events(engine))
        .where(exp.and_(_scope(journey), exp.column("step_id").isin(*(exp.Literal.string(s.id) for s in journey.steps)),
                        exp.not_(exp.column("outcome").isin(*(exp.Literal.string(a) for a in REACTIONS)))))
        .group_by("step_id")
    )  # fmt: skip
    found = {str(step_id): (int(n), int(c)) for step_id, n, c in engine.run(sql.sql(dialect=engine.dialect)).rows}
    reached: dict[str, dict[str, int | None]] = {}
    for s in journey.steps:
        if s.silent:
            reached[s.id] = {"entered": counts[s.id]["processed"], "converted": None}
        else:
            n, c = found.get(s.id, (0, 0))
            reached[s.id] = {"entered": n, "converted": c if journey.goal is not None else None}
    return reached


def experiment(journey: Journey, engine: QueryEngine, steps: list[dict[str, Any]]) -> dict[str, Any]:
    """Each decision way's conversion (contacts who took it and met the goal), and for a random split's
    branches and a holdout's treated contacts, the lift over the holdout's control group with a 95% interval."""
    converted = _if_converted(journey, engine)
    taken = exp.column("outcome").isin(exp.Literal.string("branched"), exp.Literal.string("held_out"))
    sql = (
        exp.select("step_id", "reason", exp.alias_(exp.Count(this=exp.Distinct(expressions=[exp.column("contact_id")])), "contacts"),
                   exp.alias_(exp.Count(this=exp.Distinct(expressions=[converted])), "converted"))
        .from_(_events(engine)).where(exp.and_(_scope(journey), taken)).group_by("step_id", "reason")
    )  # fmt: skip
    found = {(str(s), str(r)): (int(n), int(c)) for s, r, n, c in engine.run(sql.sql(dialect=engine.dialect)).rows}
    for figures in steps:
        for way in figures.get("ways", []):
            n, c = found.get((figures["step_id"], way["way"]), (0, 0))
            way["converted"], way["conversion_rate"] = c, (c / n if n else None)
    holdout = next((journey.step(s) for s in flow_order(journey) if journey.step(s).control), None)
    control = found.get((holdout.id, str(holdout.control)), (0, 0)) if holdout else None
    variants = []
    for step_id in flow_order(journey):
        step = journey.step(step_id)
        if step.randomised:
            for edge in step.edges():
                if edge == step.control:
                    continue
                n, c = found.get((step.id, edge), (0, 0))
                variants.append({"step_id": step.id, "way": edge, "next": dict(step.ways()).get(edge), "contacts": n, "converted": c,
                                 "conversion_rate": c / n if n else None, **(lift(c, n, control[1], control[0]) if control else {})})  # fmt: skip
    return {
        "goal": journey.goal.event_type if journey.goal else None,
        "control": {"step_id": holdout.id, "contacts": control[0], "converted": control[1], "conversion_rate": control[1] / control[0] if control[0] else None}
        if holdout and control else None,
        "variants": variants,
    }  # fmt: skip


def lift(converted: int, contacts: int, control_converted: int, control_contacts: int) -> dict[str, float | None]:
    """The relative lift of a group's conversion rate over the control's, (p1 - p0) / p0, and its 95% interval from
    the log of the rate ratio (Katz): exp(ln(p1/p0) ± 1.96 √(1/x1 - 1/n1 + 1/x0 - 1/n0)) - 1. None where a
    group has no conversions (the ratio is then 0 or undefined)."""
    if not (converted and contacts and control_converted and control_contacts):
        return {"lift": None, "lift_low": None, "lift_high": None}
    ratio = (converted / contacts) / (control_converted / control_contacts)
    spread = 1.959964 * math.sqrt(1 / converted - 1 / contacts + 1 / control_converted - 1 / control_contacts)
    return {"lift": ratio - 1, "lift_low": math.exp(math.log(ratio) - spread) - 1, "lift_high": math.exp(math.log(ratio) + spread) - 1}


def _passed_silently(
    journey: Journey,
    counts: dict[str, dict[str, int]],
    waiting: dict[str, int],
    ways: dict[str, dict[str, int]],
    exits: dict[str, dict[str, int]],
) -> None:
    """Fill `processed` of the steps that record no event (waits, end) from what the steps before them let through."""
    for step_id in flow_order(journey):
        step = journey.step(step_id)
        figures = counts[step_id]
        if step.silent and step_id != journey.start:
            figures["processed"] = sum(
                _let_through(journey.step(p), step_id, Tally(counts[p], waiting[p], ways.get(p, {}), exits[p].get("timeout", 0)))
                for p in counts
                if p != step_id
            )
        elif step.silent:  # a journey that starts with a wait: who entered it
            figures["processed"] = max(figures["processed"], waiting[step_id])


def _let_through(step: Step, target: str, tally: Tally) -> int:
    """How many contacts `step` sent on to `target`."""
    return sum(step.let_through(edge, tally) for edge, to in step.ways() if to == target)


def _position(journey: Journey, step_id: str, outcome: str, way: str = "") -> str | None:
    """The step a contact waits at after this event, if it waits anywhere."""
    if not step_id or outcome in ("blocked", "stopped"):
        return None
    try:
        step = journey.step(step_id)
    except KeyError:
        return None
    target = step.position(outcome, way)
    if target is None or target == step.id:
        return target
    following = journey.step(target)
    return following.id if following.holds_arrivals() else None
