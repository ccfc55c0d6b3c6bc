"""Evaluating a segment on a QueryEngine: live counts and members."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tern.engines import QueryEngine
from tern.segments.compiler import CompiledSegment, compile_segment
from tern.segments.definition import SegmentDefinition


@dataclass(frozen=True)
class CriterionCount:
    path: str
    kind: str
    count: int


@dataclass(frozen=True)
class Counts:
    total: int
    criteria: list[CriterionCount]


def _compiled(definition: SegmentDefinition, engine: QueryEngine, org_id: str, now: dt.datetime, memberships: dict[str, str] | None) -> CompiledSegment:
    return compile_segment(definition, org_id, now, dialect=engine.dialect, database=engine.database, memberships=memberships)  # type: ignore[arg-type]


def count(
    definition: SegmentDefinition, engine: QueryEngine, org_id: str, now: dt.datetime, per_criterion: bool = True,
    memberships: dict[str, str] | None = None,
) -> Counts:
    """The segment's size and, in the same pass, how many contacts each criterion alone matches."""
    compiled = _compiled(definition, engine, org_id, now, memberships)
    return counts_from(engine.run(compiled.count_sql(per_criterion)).rows[0], compiled.leaves if per_criterion else [])


def counts_from(row: tuple[Any, ...], leaves: list[tuple[str, str]]) -> Counts:
    """The counts of a count statement's one row: the total, then each leaf (path, kind) alone."""
    criteria = [CriterionCount(path, kind, int(row[i + 1] or 0)) for i, (path, kind) in enumerate(leaves)]
    return Counts(total=int(row[0] or 0), criteria=criteria)


def statements(
    definition: SegmentDefinition, engine: QueryEngine, org_id: str, now: dt.datetime, limit: int, memberships: dict[str, str] | None = None
) -> tuple[str, str, list[tuple[str, str]]]:
    """What a preview runs: the count statement (total and every leaf), the first `limit` members, the leaves."""
    compiled = _compiled(definition, engine, org_id, now, memberships)
    return compiled.count_sql(True), compiled.members_sql(limit), list(compiled.leaves)


def members(
    definition: SegmentDefinition, engine: QueryEngine, org_id: str, now: dt.datetime, limit: int | None = None,
    memberships: dict[str, str] | None = None,
) -> list[str]:
    """The contact ids of the segment's members, sorted."""
    compiled = _compiled(definition, engine, org_id, now, memberships)
    return [str(r[0]) for r in engine.run(compiled.members_sql(limit)).rows]
