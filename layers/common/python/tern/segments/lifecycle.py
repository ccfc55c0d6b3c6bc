"""A segment's life: draft -> live -> archived, deleted (soft, restorable), copies, refreshes, readiness.

    draft --go_live--> live --archive--> archived
      any but deleted --delete--> deleted --restore--> the status it had

Only drafts are edited; only live segments are refreshed. Going live schedules the refreshes (every N
hours or days, or once, now); archiving and deleting remove the schedule. After each evaluation a segment
is ready for actions for `readiness_hours`; then a one-time segment archives.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from dataclasses import dataclass
from typing import Annotated

from pydantic import ConfigDict, Field

from tern.errors import (
    ConflictError,
    DefinitionError,
    EvaluationRunning,
    NotFoundError,
    Problem,
    TernError,
    UnresolvedReference,
)
from tern.lists.repository import ListRepository
from tern.ports import Scheduler
from tern.segments.definition import SegmentDefinition
from tern.segments.membership import manifest_prefix
from tern.segments.repository import SegmentRepository
from tern.segments.segment import Evaluation, Every, Refresh, Segment, Status


class SegmentDraft(SegmentDefinition):
    """What a marketer sends to create or edit a segment."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    refresh: Refresh = "once"
    readiness_hours: Annotated[int, Field(strict=True, ge=1, le=8760)] = 24


@dataclass
class Segments:
    """The segment operations of one org. Every call is bound to `org_id`; other orgs' segments are not found."""

    org_id: str
    repository: SegmentRepository
    scheduler: Scheduler  # starts the refresh workflow with {org_id, segment_id}
    lists: ListRepository

    def create(self, draft: SegmentDraft, now: dt.datetime) -> Segment:
        self.check_references(draft)
        segment = Segment(
            id=uuid.uuid4().hex[:12], org_id=self.org_id, created_at=now, updated_at=now,
            **draft.model_dump(by_alias=True, exclude_none=True),
        )  # fmt: skip
        return self.repository.create(segment)

    def get(self, segment_id: str, now: dt.datetime) -> Segment:
        return self._settled(self.repository.get(self.org_id, segment_id), now)

    def list_segments(self, now: dt.datetime, include_deleted: bool = False) -> list[Segment]:
        found = [self._settled(s, now) for s in self.repository.list_segments(self.org_id)]
        return sorted((s for s in found if include_deleted or s.status != "deleted"), key=lambda s: (s.created_at, s.id))

    def update(self, segment_id: str, draft: SegmentDraft, now: dt.datetime) -> Segment:
        segment = self.get(segment_id, now)
        self._require(segment, "draft", "edit")
        self.check_references(draft, own_id=segment_id)
        return self.repository.save(segment.model_copy(update={**dict(draft), "updated_at": now}))

    def copy(self, segment_id: str, now: dt.datetime) -> Segment:
        source = self.get(segment_id, now)
        draft = SegmentDraft(
            name=f"Copy of {source.name}"[:200], description=source.description, where=source.where,
            refresh=source.refresh, readiness_hours=source.readiness_hours,
        )  # fmt: skip
        return self.create(draft, now)

    def go_live(self, segment_id: str, now: dt.datetime) -> Segment:
        segment = self.get(segment_id, now)
        self._require(segment, "draft", "put live")
        live = self.repository.save(segment.model_copy(update={"status": "live", "updated_at": now}))
        self._schedule(live, now)
        return live

    def archive(self, segment_id: str, now: dt.datetime) -> Segment:
        segment = self.get(segment_id, now)
        self._require(segment, "live", "archive")
        return self._archived(segment, now)

    def delete(self, segment_id: str, now: dt.datetime) -> Segment:
        segment = self.get(segment_id, now)
        if segment.status == "deleted":
            raise ConflictError(f"segment {segment_id} is already deleted")
        self.scheduler.delete(schedule_name(segment))
        return self.repository.save(
            segment.model_copy(update={"status": "deleted", "status_before_delete": segment.status, "updated_at": now})
        )

    def restore(self, segment_id: str, now: dt.datetime) -> Segment:
        segment = self.get(segment_id, now)
        self._require(segment, "deleted", "restore")
        status: Status = segment.status_before_delete or "draft"
        restored = self.repository.save(segment.model_copy(update={"status": status, "status_before_delete": None, "updated_at": now}))
        if status == "live":
            self._schedule(restored, now)
        return restored

    def begin_refresh(self, segment: Segment, evaluation_id: str, now: dt.datetime) -> Segment:
        """Mark the segment evaluating and note evaluation `evaluation_id`'s manifest pending (tern.segments.membership).

        ConflictError unless the segment is live and no other evaluation runs; a retried call for the same
        evaluation answers as the first did."""
        prefix = manifest_prefix(self.org_id, segment.id, evaluation_id)
        if segment.status == "live" and segment.evaluating(now) and prefix in segment.pending_manifests:
            return segment  # a retry: this evaluation began already
        self.require_refreshable(segment, now)
        update = {"evaluating_since": now, "pending_manifests": [*segment.pending_manifests, prefix], "updated_at": now}
        return self.repository.save(segment.model_copy(update=update))  # jobs asked for meanwhile wait

    def require_refreshable(self, segment: Segment, now: dt.datetime) -> None:
        """ConflictError unless the segment is live and no evaluation of it runs."""
        self._require(segment, "live", "evaluate")
        if segment.evaluating(now):
            raise EvaluationRunning(f"segment {segment.id} is being evaluated (since {segment.evaluating_since:%Y-%m-%d %H:%M:%S} UTC)")

    def commit_refresh(self, segment_id: str, evaluation: Evaluation) -> Segment:
        """The evaluation's membership is stored: it becomes the latest, in the history, and nothing is pending."""
        segment = self.repository.get(self.org_id, segment_id)
        if segment.latest is not None and segment.latest.id == evaluation.id:
            return segment  # a retry: committed already
        update = {
            "latest": evaluation, "pending_manifests": [], "evaluating_since": None, "updated_at": evaluation.at,
            "ready_until": evaluation.at + dt.timedelta(hours=segment.readiness_hours),
        }  # fmt: skip
        return self.repository.commit(segment.model_copy(update=update), evaluation)

    def abandon_refresh(self, segment_id: str, evaluation_id: str) -> None:
        """An evaluation failed: it is no longer running (its manifest stays pending, for the next to converge).
        One that failed before it began leaves alone the mark of another that runs."""
        segment = self.repository.get(self.org_id, segment_id)
        if manifest_prefix(self.org_id, segment_id, evaluation_id) in segment.pending_manifests:
            self._not_evaluating(segment_id)

    def members(self, segment_id: str, now: dt.datetime, limit: int, cursor: str | None) -> tuple[list[dict[str, str]], str | None]:
        """A page of the current members (contact_id, joined_at) and the cursor of the next."""
        self.get(segment_id, now)  # not found for what the org cannot see
        return self.repository.members(self.org_id, segment_id, limit, cursor)

    def history(self, segment_id: str, now: dt.datetime, limit: int) -> list[Evaluation]:
        """The latest evaluations, newest first."""
        self.get(segment_id, now)
        return self.repository.history(self.org_id, segment_id, limit)

    def _not_evaluating(self, segment_id: str) -> None:
        """Clear the evaluation mark after a failed evaluation (best effort: a stale mark expires by itself)."""
        try:
            segment = self.repository.get(self.org_id, segment_id)
            if segment.evaluating_since is not None:
                self.repository.save(segment.model_copy(update={"evaluating_since": None}))
        except TernError:
            pass

    # ----- references to other segments and lists

    def memberships_for(self, definition: SegmentDefinition) -> dict[str, str]:
        """For each segment the definition refers to, the evaluation whose members it reads: the latest."""
        found: dict[str, str] = {}
        for path, referenced in definition.segments_referenced():
            try:
                other = self.repository.get(self.org_id, referenced)
            except NotFoundError:
                raise UnresolvedReference(f"{path}.segment_id: there is no segment {referenced}") from None
            if other.latest is None:
                raise UnresolvedReference(f"{path}.segment_id: segment {referenced} has not been evaluated yet")
            found[referenced] = other.latest.id
        return found

    def check_references(self, definition: SegmentDefinition, own_id: str | None = None) -> None:
        """Refuse references to segments or lists the org does not have, and cycles (A in B in A)."""
        problems = []
        for path, referenced in definition.segments_referenced():
            chain = self._path_back(referenced, own_id, [referenced]) if own_id else None
            if referenced == own_id:
                problems.append(Problem(f"{path}.segment_id", "a segment cannot refer to itself"))
            elif not self._exists(referenced):
                problems.append(Problem(f"{path}.segment_id", f"there is no segment {referenced}"))
            elif chain:
                problems.append(Problem(f"{path}.segment_id", "this would make a cycle: " + " -> ".join([own_id or "", *chain])))
        for path, list_id in definition.lists_referenced():
            try:
                self.lists.get(self.org_id, list_id)
            except NotFoundError:
                problems.append(Problem(f"{path}.list_id", f"there is no list {list_id}"))
        if problems:
            raise DefinitionError(problems)

    def _exists(self, segment_id: str) -> bool:
        try:
            self.repository.get(self.org_id, segment_id)
        except NotFoundError:
            return False
        return True

    def _path_back(self, start: str, target: str | None, chain: list[str], seen: set[str] | None = None) -> list[str] | None:
        """The chain of references from `start` back to `target`, if there is one."""
        seen = seen if seen is not None else set()
        if start in seen:
            return None
        seen.add(start)
        try:
            segment = self.repository.get(self.org_id, start)
        except NotFoundError:
            return None
        for _, next_id in segment.segments_referenced():
            if next_id == target:
                return [*chain, next_id]
            found = self._path_back(next_id, target, [*chain, next_id], seen)
            if found:
                return found
        return None

    def _schedule(self, segment: Segment, now: dt.datetime) -> None:
        # a one-time refresh runs a minute from now: at() must not lie in the past when it arrives
        expression = schedule_expression(segment.refresh, now + dt.timedelta(minutes=1))
        payload = {"org_id": segment.org_id, "segment_id": segment.id}
        description = f"refresh segment {segment.id} of org {segment.org_id}"
        self.scheduler.put(schedule_name(segment), expression, payload, description, once=segment.refresh == "once")

    # ----- rules

    @staticmethod
    def _require(segment: Segment, status: Status, action: str) -> None:
        if segment.status != status:
            raise ConflictError(f"cannot {action} segment {segment.id}: it is {segment.status}, not {status}")

    def _archived(self, segment: Segment, now: dt.datetime) -> Segment:
        self.scheduler.delete(schedule_name(segment))
        return self.repository.save(segment.model_copy(update={"status": "archived", "updated_at": now}))

    def _settled(self, segment: Segment, now: dt.datetime) -> Segment:
        """The segment as of `now`: a one-time segment whose readiness ran out is archived."""
        expired = segment.ready_until is not None and segment.ready_until < now
        if segment.status == "live" and segment.refresh == "once" and expired:
            return self._archived(segment, now)
        return segment


def is_ready(segment: Segment, now: dt.datetime) -> bool:
    """Whether actions may run on the segment's members now."""
    return segment.status == "live" and segment.ready_until is not None and now <= segment.ready_until


def schedule_name(segment: Segment) -> str:
    """The segment's refresh schedule. Scheduler names allow [0-9a-zA-Z-_.]{1,64}; ids may hold anything."""
    return "segment-" + hashlib.sha256(f"{segment.org_id}\n{segment.id}".encode()).hexdigest()[:40]


def schedule_expression(refresh: Refresh, now: dt.datetime) -> str:
    """EventBridge Scheduler's expression for a refresh: rate(N hours|days), or at(now) for once."""
    if isinstance(refresh, Every):
        unit = refresh.unit if refresh.every != 1 else refresh.unit.rstrip("s")
        return f"rate({refresh.every} {unit})"
    return f"at({now.strftime('%Y-%m-%dT%H:%M:%S')})"
