"""Segments, their members and their history in the one table (key design: tern.store)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from tern.aws.dynamodb import Table
from tern.errors import NotFoundError
from tern.segments.segment import Evaluation, Segment


def _segment_key(org_id: str, segment_id: str) -> tuple[str, str]:
    return f"ORG#{org_id}", f"SEGMENT#{segment_id}"


def _members_pk(org_id: str, segment_id: str) -> str:
    return f"ORG#{org_id}#MEMBERS#{segment_id}"


def _history_pk(org_id: str, segment_id: str) -> str:
    return f"ORG#{org_id}#HISTORY#{segment_id}"


class SegmentRepository:
    def __init__(self, table: Table):
        self.table = table

    def create(self, segment: Segment) -> Segment:
        pk, sk = _segment_key(segment.org_id, segment.id)
        stored = segment.model_copy(update={"version": 1})
        self.table.put(self._item(stored), condition="attribute_not_exists(PK)")
        return stored

    def get(self, org_id: str, segment_id: str) -> Segment:
        """The org's segment, or NotFoundError (whatever another org holds under that id)."""
        item = self.table.get(*_segment_key(org_id, segment_id))
        if item is None:
            raise NotFoundError(f"segment {segment_id} not found")
        return Segment.model_validate_json(item["body"])

    def list_segments(self, org_id: str) -> list[Segment]:
        return [
            Segment.model_validate_json(item["body"])
            for item in self.table.all(f"ORG#{org_id}")
            if str(item["SK"]).startswith("SEGMENT#")
        ]

    def save(self, segment: Segment) -> Segment:
        """Write a changed segment if nobody else wrote it since it was read (else ConflictError)."""
        stored = segment.model_copy(update={"version": segment.version + 1})
        self.table.put(self._item(stored), condition="version = :read", values={":read": segment.version})
        return stored

    @staticmethod
    def _item(segment: Segment) -> dict[str, Any]:
        pk, sk = _segment_key(segment.org_id, segment.id)
        return {"PK": pk, "SK": sk, "version": segment.version, "status": segment.status, "body": segment.model_dump_json(by_alias=True)}

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
