"""Refreshing a segment's stored membership: evaluate, write the manifest, apply only the difference.

The steps, and what a crash between any two of them leaves:

1. evaluate on the engine              -> a failure changes nothing
2. write the manifest to S3            -> an unreferenced object; membership untouched
3. note the manifest as pending        -> (conditional on the version read: one refresh at a time)
4. write joins, delete leaves          -> membership partly moved towards the pending manifest
5. commit: latest = this evaluation, no pending, and the history row, in one transaction

The committed manifest always describes the membership readers were promised. After a crash in step 4
the stored membership M lies between the committed manifest C and the pending ones P1..Pk:
C ∩ P1 ∩ .. ∩ Pk ⊆ M ⊆ C ∪ P1 ∪ .. ∪ Pk. The next refresh to a new set N therefore puts
N − (C ∩ P..) and deletes (C ∪ P..) − N, which lands exactly on N whatever the crash left: it converges.
Joined and left in the history are always against C, the last committed membership.
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass

from tern.engines import QueryEngine
from tern.segments.evaluate import members as evaluate_members
from tern.segments.manifests import Manifests
from tern.segments.repository import SegmentRepository
from tern.segments.segment import Evaluation, Segment


@dataclass(frozen=True)
class Refreshed:
    segment: Segment
    evaluation: Evaluation
    write_requests: int  # membership writes this refresh cost


def plan(committed: set[str], pending: list[set[str]], new: set[str]) -> tuple[set[str], set[str]]:
    """The puts and deletes that take any membership left by a crash (see above) to exactly `new`."""
    surely_in = committed.intersection(*pending) if pending else committed
    maybe_in = committed.union(*pending) if pending else committed
    return new - surely_in, maybe_in - new


def refresh(
    segment: Segment,
    engine: QueryEngine,
    repository: SegmentRepository,
    manifests: Manifests,
    now: dt.datetime,
    evaluation_id: str | None = None,
    memberships: dict[str, str] | None = None,
) -> Refreshed:
    """Evaluate the segment as of `now` and move its stored membership to the result.

    `memberships` names the evaluation to read for each segment an in_segment criterion refers to.
    """
    started = time.perf_counter()
    evaluation_id = evaluation_id or uuid.uuid4().hex
    new = set(evaluate_members(segment.definition(), engine, segment.org_id, now, memberships=memberships))
    key = manifests.write(segment.org_id, segment.id, evaluation_id, sorted(new))

    pending_before = list(segment.pending_manifests)
    segment = repository.save(segment.model_copy(update={"pending_manifests": [*pending_before, key], "updated_at": now}))

    committed = set(manifests.read(segment.latest.manifest)) if segment.latest else set()
    pending = [set(manifests.read(k)) for k in pending_before]
    puts, deletes = plan(committed, pending, new)
    writes = repository.apply_membership(segment.org_id, segment.id, sorted(puts), sorted(deletes), now)

    evaluation = Evaluation(
        id=evaluation_id,
        at=now,
        members=len(new),
        joined=len(new - committed),
        left=len(committed - new),
        manifest=key,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 1),
    )
    segment = repository.commit(
        segment.model_copy(
            update={
                "latest": evaluation,
                "pending_manifests": [],
                "evaluating_since": None,
                "ready_until": now + dt.timedelta(hours=segment.readiness_hours),
                "updated_at": now,
            }
        ),
        evaluation,
    )
    return Refreshed(segment=segment, evaluation=evaluation, write_requests=writes)
