"""Segments, their members and their history in the one table (key design: tern.store)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from tern.segments.segment import Evaluation, Segment
from tern.store.records import Records


def _members_pk(org_id: str, segment_id: str) -> str:
    return f"ORG#{org_id}#MEMBERS#{segment_id}"


def _history_pk(org_id: str, segment_id: str) -> str:
    return f"ORG#{org_id}#HISTORY#{segment_id}"


class SegmentRepository(Records[Segment]):
    """Segments as records (tern.store.records), their status also an attribute of the item; and their members
    and history under partitions of their own."""

    kind, model = "segment", Segment

    def list_segments(self, org_id: str) -> list[Segment]:
        return self.all(org_id)

    def _item(self, segment: Segment) -> dict[str, Any]:
        return {**super()._item(segment), "status": segment.status, "body": segment.model_dump_json(by_alias=True)}

    # ----- membership

    def apply_membership(self, org_id: str, segment_id: str, joined: Iterable[str], left: Iterable[str], at: dt.datetime) -> int:
        """Write who joined and delete who left; returns the write requests it took."""
        pk = _members_pk(org_id, segment_id)
        stamp = at.isoformat()
        return self.table.write_batch(
            puts=({"PK": pk, "SK": contact_id, "joined_at": stamp} for contact_id in joined),
            deletes=((pk, contact_id) for contact_id in left),
        )

    def members(self, org_id: str, segment_id: str, limit: int, cursor: str | None = None) -> tuple[list[dict[str, str]], str | None]:
        """A page of current members (contact_id, joined_at), in contact_id order, and the cursor of the next."""
        items, last = self.table.query(_members_pk(org_id, segment_id), limit=limit, start=cursor)
        return [{"contact_id": str(i["SK"]), "joined_at": str(i["joined_at"])} for i in items], last

    def is_member(self, org_id: str, segment_id: str, contact_id: str) -> bool:
        """Whether the contact is in the segment's stored membership now (one read)."""
        return self.table.get(_members_pk(org_id, segment_id), contact_id) is not None

    # ----- history

    def commit(self, segment: Segment, evaluation: Evaluation) -> Segment:
        """Save the segment and append the evaluation to its history, both or neither."""
        stored = segment.model_copy(update={"version": segment.version + 1})
        history = {
            "PK": _history_pk(segment.org_id, segment.id),
            "SK": f"{evaluation.at.isoformat()}#{evaluation.id}",
            "body": evaluation.model_dump_json(),
        }
        self.table.put_together((self._item(stored), "version = :read", {":read": segment.version}), history)
        return stored

    def history(self, org_id: str, segment_id: str, limit: int = 100) -> list[Evaluation]:
        """The latest evaluations, newest first."""
        items, _ = self.table.query(_history_pk(org_id, segment_id), limit=limit, forward=False)
        return [Evaluation.model_validate(json.loads(i["body"])) for i in items]
