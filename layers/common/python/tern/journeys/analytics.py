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

from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from tern.engines import QueryEngine
from tern.journeys.model import (
    DECISIONS,
    BranchOnEvent,
    End,
    Holdout,
    Journey,
    MultiSplit,
    RandomSplit,
    SendEmail,
    SendSms,
    Split,
    Step,
    WaitFor,
    WaitUntil,
    flow_order,
    successors,
)

OUTCOMES = [
    "deferred", "processed", "sent", "opened", "clicked", "bounced", "stopped", "blocked", "exited", "failed", "held_out", "branched",
    "capped", "outside_window",
]  # fmt: skip
PASSED = ("sent", "failed", "capped", "outside_window")  # a send's outcomes that let the contact go on
ANSWERS = ("opened", "clicked", "bounced")


def _events(engine: QueryEngine) -> exp.Table:
    return exp.table_("events", db=engine.database)


def _scope(journey: Journey) -> exp.Expr:
    return exp.and_(
        exp.column("org_id").eq(exp.Literal.string(journey.org_id)),
        exp.column("event_type").eq(exp.Literal.string("journey_step")),
        exp.column("journey_id").eq(exp.Literal.string(journey.id)),
    )


@dataclass(frozen=True)
class StepFigures:
    step_id: str
    kind: str
    counts: dict[str, int]
    waiting: int


def analytics(journey: Journey, engine: QueryEngine) -> dict[str, Any]:
    way = exp.Case().when(exp.column("outcome").isin(exp.Literal.string("branched"), exp.Literal.string("held_out")), exp.column("reason"))
    counts_sql = (
        exp.select("step_id", "outcome", exp.alias_(way, "way"), exp.alias_(exp.Count(this=exp.Distinct(expressions=[exp.column("contact_id")])), "contacts"))
        .from_(_events(engine)).where(_scope(journey)).group_by("step_id", "outcome", way)
    )  # fmt: skip
    counts: dict[str, dict[str, int]] = {s.id: dict.fromkeys(OUTCOMES, 0) for s in journey.steps}
    ways: dict[str, dict[str, int]] = {s.id: {edge: 0 for edge in edges(s)} for s in journey.steps if isinstance(s, DECISIONS)}
    stopped_anywhere = 0
    for step_id, outcome, taken, contacts in engine.run(counts_sql.sql(dialect=engine.dialect)).rows:
        if step_id in counts and outcome in counts[step_id]:
            counts[step_id][outcome] += int(contacts)
            if outcome in ("branched", "held_out") and step_id in ways:
                ways[step_id][str(taken)] = ways[step_id].get(str(taken), 0) + int(contacts)
        elif not step_id and outcome == "stopped":
            stopped_anywhere = int(contacts)

    # where each contact is now: its latest position event
    sends = [s.id for s in journey.steps if isinstance(s, (SendEmail, SendSms))]
    moves = exp.not_(exp.and_(exp.column("outcome").isin(*(exp.Literal.string(a) for a in ANSWERS)),
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
        .from_(latest.subquery("latest")).where(exp.column("n").eq(1)).group_by("step_id", "outcome")
    )
    waiting: dict[str, int] = dict.fromkeys(counts, 0)
    positions_sql = positions_sql.select(exp.alias_(way, "way")).group_by(way)
    for step_id, outcome, contacts, taken in engine.run(positions_sql.sql(dialect=engine.dialect)).rows:
        at = _position(journey, str(step_id or ""), str(outcome), str(taken or ""))
        if at is not None:
            waiting[at] += int(contacts)
    _passed_silently(journey, counts, waiting, ways)
    steps = [
        {"step_id": s.id, "kind": s.kind, **counts[s.id], "waiting": waiting[s.id],
         **({"ways": [{"way": edge, "next": dict(successors(s)).get(edge), "contacts": n} for edge, n in ways[s.id].items()]} if s.id in ways else {})}
        for s in journey.steps
    ]  # fmt: skip
    return {"journey_id": journey.id, "status": journey.status, "steps": steps, "stopped_by_journey_stop": stopped_anywhere}


def edges(step: Step) -> list[str]:
    """The ways a decision can send a contact, whether or not a step follows them."""
    if isinstance(step, RandomSplit):
        return [f"branches[{i}]" for i in range(len(step.branches))]
    if isinstance(step, Holdout):
        return ["held_out", "next"]
    if isinstance(step, Split):
        return ["yes", "no"]
    if isinstance(step, MultiSplit):
        return [f"branches[{i}]" for i in range(len(step.branches))] + ["else"]
    return []


def _passed_silently(journey: Journey, counts: dict[str, dict[str, int]], waiting: dict[str, int], ways: dict[str, dict[str, int]]) -> None:
    """Fill `processed` of the steps that record no event (waits, end) from what the steps before them let through."""
    for step_id in flow_order(journey):
        step = journey.step(step_id)
        figures = counts[step_id]
        if isinstance(step, (WaitUntil, WaitFor, End)) and step_id != journey.start:
            figures["processed"] = sum(_let_through(journey.step(p), step_id, counts[p], waiting[p], ways.get(p, {})) for p in counts if p != step_id)
        elif isinstance(step, (WaitUntil, WaitFor, End)):  # a journey that starts with a wait: who entered it
            figures["processed"] = max(figures["processed"], waiting[step_id])


def _let_through(step: Step, target: str, figures: dict[str, int], waiting: int, ways: dict[str, int]) -> int:
    """How many contacts `step` sent on to `target`."""
    through = 0
    for edge, to in successors(step):
        if to != target:
            continue
        if isinstance(step, DECISIONS):
            through += ways.get(edge, 0)
        elif isinstance(step, BranchOnEvent):
            through += sum(figures[a] for a in ANSWERS) if edge == "yes" else figures["exited"]
        elif isinstance(step, (WaitUntil, WaitFor)):
            through += max(0, figures["processed"] - waiting)
        elif isinstance(step, (SendEmail, SendSms)):
            through += sum(figures[o] for o in PASSED)
        else:
            through += figures["processed"]
    return through


def _position(journey: Journey, step_id: str, outcome: str, way: str = "") -> str | None:
    """The step a contact waits at after this event, if it waits anywhere."""
    if not step_id or outcome in ("blocked", "stopped"):
        return None
    try:
        step = journey.step(step_id)
    except KeyError:
        return None
    if isinstance(step, BranchOnEvent):
        if outcome == "processed":
            return step.id
        target = step.yes if outcome in ANSWERS else step.no if outcome == "exited" else None
    elif isinstance(step, DECISIONS):
        target = dict(successors(step)).get(way) if outcome == "branched" else None
    elif isinstance(step, End):
        return None
    elif isinstance(step, (SendEmail, SendSms)) and outcome == "deferred":  # waiting for the send window to open
        return step.id
    else:
        target = step.next if outcome in ("processed", *PASSED) else None
    if target is None:
        return None
    following = journey.step(target)
    waits = isinstance(following, (WaitUntil, WaitFor)) or (isinstance(following, (Split, MultiSplit)) and following.after is not None)
    return following.id if waits else None
