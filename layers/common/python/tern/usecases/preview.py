"""Previewing a definition while a marketer edits it: the total, a count per criterion, and the first members.

Where the stack has a preview function, the count and the sample go to it together (the quick path,
tern.engines.quick: DuckDB over the function's copy of the org's lake) and the preview answers with them: no Athena
query per pause in typing. When it cannot answer (the org's lake is larger than the function copies, or it cannot be
reached), or where there is none, they start in Athena: the preview answers at once when both finish within
WAIT_SECONDS, otherwise 202 with an id, and the client polls GET /previews/{id} (API Gateway gives a request 29
seconds, and a count over a large lake may take longer).
"""

from __future__ import annotations

import re
import time
import uuid
from dataclasses import asdict
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from tern.engines import QueryEngine, Result
from tern.errors import NotFoundError, NotQuick
from tern.observability import logger
from tern.segments.definition import SegmentDefinition
from tern.segments.evaluate import counts_from, statements
from tern.segments.people import known
from tern.segments.previews import PendingPreview
from tern.services import Services


class NodeCount(BaseModel):
    """The contacts one node of the definition selects on its own (`path` as problems name it: where.all[0])."""

    model_config = ConfigDict(extra="forbid")
    path: str
    kind: str  # the criterion's kind, or all / any / not for a group
    count: int


class Member(BaseModel):
    """A member as a marketer recognises it."""

    model_config = ConfigDict(extra="forbid")
    contact_id: str
    name: str | None  # first and last name, as far as the contact has them
    email: str | None
    city: str | None


Counter = Literal["quick", "athena"]


class Preview(BaseModel):
    """POST /segments/preview, counted: the total, each criterion alone, every node as written, the first members
    (`members`; `sample`: their ids), and what counted them (`quick`: the preview function, as the marketer types;
    `athena`: the lake's engine of record, when the quick path could not)."""

    model_config = ConfigDict(extra="forbid")
    counted_by: Counter
    total: int
    criteria: list[NodeCount]
    nodes: list[NodeCount]
    sample: list[str]
    members: list[Member]


class PreviewStarted(BaseModel):
    """POST /segments/preview, still counting: where to poll."""

    model_config = ConfigDict(extra="forbid")
    preview_id: str
    status: Literal["running"]
    poll: str
    note: str | None = None  # why it is not counted as the marketer types, in their words


class PreviewStatus(BaseModel):
    """GET /previews/{id}: still running, or done with the preview's figures."""

    model_config = ConfigDict(extra="forbid")
    preview_id: str
    status: Literal["running", "done"]
    counted_by: Counter | None = None
    total: int | None = None
    criteria: list[NodeCount] | None = None
    nodes: list[NodeCount] | None = None
    sample: list[str] | None = None
    members: list[Member] | None = None


LARGE_LAKE = "Counted in the background: this audience's data is too large to count as you type."
QUICK_DOWN = "Counted in the background: counting as you type is not available right now."
SAMPLE = 50
WAIT_SECONDS = 5.0  # how long a preview waits for its queries before it answers with an id to poll
_POLL_SECONDS = 0.2
_ID = re.compile(r"[0-9a-f]{32}")


def preview(services: Services, org_id: str, definition: SegmentDefinition) -> tuple[dict[str, Any], bool]:
    """The preview, and whether it is done (else the id to poll, and the preview kept until then)."""
    now = services.clock()
    segments = services.segments(org_id)
    segments.check_references(definition)  # 400 naming the criterion that refers to nothing
    memberships = segments.memberships_for(definition)  # 409 if a referred segment has no membership yet
    quick = services.quick_queries(org_id, memberships)
    note = None
    if quick is not None:
        count_sql, sample_sql, leaves = statements(definition, quick, org_id, now, SAMPLE, memberships)
        try:
            counted, sample = quick.run_all([count_sql, sample_sql])
            return _preview(counted, sample, leaves, "quick"), True
        except NotQuick as e:
            logger.warning("previewing through Athena", extra={"org_id": org_id, "reason": str(e)})
            note = LARGE_LAKE if e.too_large else QUICK_DOWN
    engine = services.queries(org_id, at_once=2)  # the count and the sample: two of the org's slots, until a poll sees each finish
    count_sql, sample_sql, leaves = statements(definition, engine, org_id, now, SAMPLE, memberships)
    pending = PendingPreview(uuid.uuid4().hex, engine.start(count_sql), engine.start(sample_sql), leaves)
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        done = _answer(engine, pending)
        if done is not None:
            return done, True
        time.sleep(_POLL_SECONDS)
    services.previews.put(org_id, pending, int(time.time()))
    started = PreviewStarted(preview_id=pending.id, status="running", poll=f"/previews/{pending.id}", note=note)
    return started.model_dump(exclude_none=True), False


def preview_status(services: Services, org_id: str, preview_id: str) -> dict[str, Any]:
    """A preview that was still counting: running, or done with its counts and sample (NotFoundError for another org's)."""
    if not _ID.fullmatch(preview_id):
        raise NotFoundError(f"preview {preview_id} not found")
    pending = services.previews.get(org_id, preview_id)
    done = _answer(services.queries(org_id), pending)
    answer = (
        PreviewStatus(preview_id=preview_id, status="running")
        if done is None
        else PreviewStatus(preview_id=preview_id, status="done", **done)
    )
    return answer.model_dump(exclude_unset=True)


def _answer(engine: QueryEngine, pending: PendingPreview) -> dict[str, Any] | None:
    counted = engine.poll(pending.count_query)
    if counted is None:
        return None
    sample = engine.poll(pending.sample_query)
    if sample is None:
        return None
    return _preview(counted, sample, pending.leaves, "athena")


def _preview(counted: Result, sample: Result, leaves: list[tuple[str, str]], counter: Counter) -> dict[str, Any]:
    counts = counts_from(counted.rows[0], leaves)
    return Preview(
        counted_by=counter, total=counts.total, criteria=[NodeCount(**asdict(c)) for c in counts.criteria],
        nodes=[NodeCount(**asdict(n)) for n in counts.nodes], sample=[str(r[0]) for r in sample.rows],
        members=[Member(contact_id=c, **person) for c, person in known(sample.rows).items()],
    ).model_dump()  # fmt: skip
