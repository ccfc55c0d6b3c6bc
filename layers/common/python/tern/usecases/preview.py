"""Previewing a definition while a marketer edits it: the total, a count per criterion, and the first members."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from tern.segments.definition import SegmentDefinition
from tern.segments.evaluate import count, members
from tern.services import Services

SAMPLE = 50


def preview(services: Services, org_id: str, definition: SegmentDefinition) -> dict[str, Any]:
    now = services.clock()
    segments = services.segments(org_id)
    segments.check_references(definition)  # 400 naming the criterion that refers to nothing
    memberships = segments.memberships_for(definition)  # 409 if a referred segment has no membership yet
    counts = count(definition, services.engine, org_id, now, memberships=memberships)
    sample = members(definition, services.engine, org_id, now, limit=SAMPLE, memberships=memberships)
    return {"total": counts.total, "criteria": [asdict(c) for c in counts.criteria], "sample": sample}
