"""Evaluating a segment on a QueryEngine: live counts and members."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from tern.engines import QueryEngine
from tern.segments.compiler import CompiledSegment, compile_segment
from tern.segments.criteria import GROUP_KEYS
from tern.segments.definition import SegmentDefinition


@dataclass(frozen=True)
class CriterionCount:
    path: str
    kind: str
    count: int


@dataclass(frozen=True)
class Counts:
    total: int
    criteria: list[CriterionCount]  # each criterion alone
    nodes: list[CriterionCount]  # every node as written, groups too (kind all / any / not), in document order


def _compiled(
    definition: SegmentDefinition, engine: QueryEngine, org_id: str, now: dt.datetime, memberships: dict[str, str] | None
) -> CompiledSegment:
    return compile_segment(definition, org_id, now, dialect=engine.dialect, database=engine.database, memberships=memberships)  # type: ignore[arg-type]


def count(
    definition: SegmentDefinition,
    engine: QueryEngine,
    org_id: str,
    now: dt.datetime,
    per_criterion: bool = True,
    memberships: dict[str, str] | None = None,
) -> Counts:
    """The segment's size and, in the same pass, how many contacts each node alone matches (each criterion, and
    each group: a `not` counts the contacts it keeps)."""
    compiled = _compiled(definition, engine, org_id, now, memberships)
    return counts_from(engine.run(compiled.count_sql(per_criterion)).rows[0], outline(compiled) if per_criterion else [])


def outline(compiled: CompiledSegment) -> list[tuple[str, str]]:
    return [(path, kind) for path, kind, _ in compiled.outline]


def counts_from(row: tuple[Any, ...], nodes: list[tuple[str, str]]) -> Counts:
    """The counts of a count statement's one row: the total, then each node (path, kind) of the outline alone."""
    counted = [CriterionCount(path, kind, int(row[i + 1] or 0)) for i, (path, kind) in enumerate(nodes)]
    criteria = [c for c in counted if c.kind not in GROUP_KEYS]
    return Counts(total=int(row[0] or 0), criteria=criteria, nodes=counted)


def statements(
    definition: SegmentDefinition, engine: QueryEngine, org_id: str, now: dt.datetime, limit: int, memberships: dict[str, str] | None = None
) -> tuple[str, str, list[tuple[str, str]]]:
    """What a preview runs: the count statement (total and every node), the first `limit` members (each with its name,
    e-mail and city: compiler.PEOPLE), the outline."""
    compiled = _compiled(definition, engine, org_id, now, memberships)
    return compiled.count_sql(True), compiled.sample_sql(limit), outline(compiled)


def members(
    definition: SegmentDefinition,
    engine: QueryEngine,
    org_id: str,
    now: dt.datetime,
    limit: int | None = None,
    memberships: dict[str, str] | None = None,
) -> list[str]:
    """The contact ids of the segment's members, sorted."""
    compiled = _compiled(definition, engine, org_id, now, memberships)
    return [str(r[0]) for r in engine.run(compiled.members_sql(limit)).rows]
