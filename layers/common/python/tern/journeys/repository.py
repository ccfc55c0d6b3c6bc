"""Journeys, content and who entered which journey, in the one table (key design: tern.store).

    journey            ORG#<org>                              JOURNEY#<id>
    content            ORG#<org>                              CONTENT#<id>
    entered            ORG#<org>#ENTERED#<journey>            <contact id>           at, entries (an event journey's reentries)
    waiting to enter   ORG#<org>#PENDING#<journey>            <contact id>           the entering event (event journeys)
    converted          ORG#<org>#CONVERTED#<journey>          <contact id>           the goal met, once
    to leave           ORG#<org>#EXIT#<journey>               <contact id>           why (goal, event, audience)
    entries a day      ORG#<org>#ENTRIES#<journey>            <day>                  entered (limits.entries_per_day)
    a run's counts     ORG#<org>                              JOURNEYRUN#<journey>#<run>   (kept RUN_DAYS)

The engagement state (messages sent, waiting tokens, events seen, suppression) is in tern.journeys.engagement.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from tern.aws.dynamodb import Table
from tern.clock import naive_utc
from tern.errors import ConflictError
from tern.journeys.content import Content
from tern.journeys.model import Journey, Reentry, execution_name
from tern.ports import execution_arn
from tern.store.records import Records

RUN_DAYS = 90
TEST_SENDS_KEPT_DAYS = 90


class JourneyRepository(Records[Journey]):
    kind, model = "journey", Journey

    def list_journeys(self, org_id: str) -> list[Journey]:
        return self.all(org_id)

    # ----- entry: each contact at most once per journey

    def enter(self, org_id: str, journey_id: str, contact_id: str, at: dt.datetime) -> bool:
        """Record that the contact entered, and count it; False if it had entered before."""
        try:
            self.table.put(
                {"PK": f"ORG#{org_id}#ENTERED#{journey_id}", "SK": contact_id, "at": at.isoformat()}, condition="attribute_not_exists(PK)"
            )
        except ConflictError:
            return False
        self.table.add(*self._totals_key(org_id, journey_id), {"contacts": 1, "entries": 1})
        return True

    def totals(self, org_id: str, journey_id: str) -> dict[str, int]:
        """How many contacts entered the journey, and how many entries they made (reentries included). Each is
        counted after its entry record is written (a second write, not a transaction: DynamoDB transactions cost
        twice, and a count is not worth it): an entry is never counted twice, and one whose Lambda died between
        the two writes goes uncounted."""
        item = self.table.get(*self._totals_key(org_id, journey_id)) or {}
        return {"contacts": int(item.get("contacts", 0)), "entries": int(item.get("entries", 0))}

    @staticmethod
    def _totals_key(org_id: str, journey_id: str) -> tuple[str, str]:
        return f"ORG#{org_id}", f"JOURNEYTOTAL#{journey_id}"

    def entered(self, org_id: str, journey_id: str) -> set[str]:
        return {str(i["SK"]) for i in self.table.all(f"ORG#{org_id}#ENTERED#{journey_id}")}

    def entered_among(self, org_id: str, journey_id: str, contact_ids: list[str]) -> set[str]:
        """Which of these contacts entered the journey before."""
        return self.table.keys_present(f"ORG#{org_id}#ENTERED#{journey_id}", contact_ids)

    def enter_again(
        self, org_id: str, journey_id: str, contact_id: str, at: dt.datetime, reentry: Reentry, *, machine: str, run_id: str | None = None,
        on_its_way: Callable[[str], bool] = lambda execution: False,
    ) -> int | None:  # fmt: skip
        """Record one more entry of the contact, if the journey's reentry rules allow and its last entry's execution
        (on state machine `machine`, asked through `on_its_way`) has ended: the entry's number (1 for the first), else
        None. Exact under concurrent runs (a conditional write on the count); a run retrying (`run_id` noted on the
        entry) gets the number it took before; a new entry clears the last one's exit mark."""
        pk = f"ORG#{org_id}#ENTERED#{journey_id}"
        for _ in range(10):
            item = self.table.get(pk, contact_id)
            entries = int(item.get("entries", 1)) if item else 0
            if item is not None and run_id is not None and item.get("run") == run_id:
                return entries
            if item is not None and not reentry.allows(entries, _naive(str(item["at"])), at):
                return None
            if (
                item is not None
                and "machine" in item
                and on_its_way(execution_arn(str(item["machine"]), execution_name(contact_id, entries)))
            ):
                return None
            new = {"PK": pk, "SK": contact_id, "at": at.isoformat(), "entries": entries + 1, "version": entries + 1, "machine": machine,
                   **({"run": run_id} if run_id else {})}  # fmt: skip
            try:
                if item is None:
                    self.table.put(new, condition="attribute_not_exists(PK)")
                else:
                    self.table.put(new, condition="version = :read", values={":read": int(item.get("version", 1))})
            except ConflictError:
                continue
            self.table.add(*self._totals_key(org_id, journey_id), {"contacts": int(item is None), "entries": 1})
            if item is not None:
                self.table.take(f"ORG#{org_id}#EXIT#{journey_id}", contact_id)
            return entries + 1
        raise ConflictError(f"entering {contact_id}: the entry record kept changing")

    # ----- contacts waiting to enter an event-triggered journey (their event is kept until the run starts them)

    def pend(self, org_id: str, journey_id: str, contact_id: str, event: dict[str, Any], at: dt.datetime) -> bool:
        """Keep the contact's entering event until a run starts it; False if one is already waiting (it stays)."""
        try:
            self.table.put({"PK": f"ORG#{org_id}#PENDING#{journey_id}", "SK": contact_id, "event": json.dumps(event, default=str), "at": at.isoformat()},
                           condition="attribute_not_exists(PK)")  # fmt: skip
        except ConflictError:
            return False
        return True

    def pending_entries(self, org_id: str, journey_id: str, limit: int) -> list[str]:
        items, _ = self.table.query(f"ORG#{org_id}#PENDING#{journey_id}", limit=limit)
        return [str(i["SK"]) for i in items]

    def pending_entry(self, org_id: str, journey_id: str, contact_id: str) -> dict[str, Any] | None:
        item = self.table.get(f"ORG#{org_id}#PENDING#{journey_id}", contact_id)
        return (
            None
            if item is None
            else {"event": json.loads(str(item["event"])), "entry": int(item["entry"]) if "entry" in item else None, **{"item": item}}
        )

    def number_pending(self, org_id: str, journey_id: str, contact_id: str, pending: dict[str, Any], entry: int) -> None:
        """Note the entry number taken for a waiting contact, so a retried start reuses it."""
        self.table.put({**pending["item"], "entry": entry})

    def take_pending(self, org_id: str, journey_id: str, contact_id: str) -> None:
        self.table.take(f"ORG#{org_id}#PENDING#{journey_id}", contact_id)

    def entered_times(self, org_id: str, journey_id: str, contact_id: str) -> tuple[int, dt.datetime] | None:
        """How many times the contact entered the journey, and when last (naive UTC); None if never."""
        item = self.table.get(f"ORG#{org_id}#ENTERED#{journey_id}", contact_id)
        return None if item is None else (int(item.get("entries", 1)), _naive(str(item["at"])))

    def entered_at(self, org_id: str, journey_id: str, contact_id: str) -> dt.datetime | None:
        """When the contact entered the journey (naive UTC), if it did."""
        item = self.table.get(f"ORG#{org_id}#ENTERED#{journey_id}", contact_id)
        if item is None:
            return None
        return _naive(str(item["at"]))

    # ----- goals and exits (tern.journeys.triggers marks them; journey_step reads the marks)

    def convert(self, org_id: str, journey_id: str, contact_id: str, at: dt.datetime) -> bool:
        """Record the contact's conversion; False if it converted before (a goal counts once)."""
        try:
            self.table.put(
                {"PK": f"ORG#{org_id}#CONVERTED#{journey_id}", "SK": contact_id, "at": at.isoformat()}, condition="attribute_not_exists(PK)"
            )
        except ConflictError:
            return False
        return True

    def mark_exit(self, org_id: str, journey_id: str, contact_id: str, reason: str, at: dt.datetime) -> int:
        """Mark the contact to leave at its next step (1), unless marked already (0: the first reason stays)."""
        try:
            self.table.put({"PK": f"ORG#{org_id}#EXIT#{journey_id}", "SK": contact_id, "reason": reason, "at": at.isoformat()},
                           condition="attribute_not_exists(PK)")  # fmt: skip
        except ConflictError:
            return 0
        return 1

    def exit_reason(self, org_id: str, journey_id: str, contact_id: str) -> str | None:
        item = self.table.get(f"ORG#{org_id}#EXIT#{journey_id}", contact_id)
        return str(item["reason"]) if item else None

    def admit(self, org_id: str, journey_id: str, day: dt.date, limit: int) -> bool:
        """Count one more entry on `day` unless `limit` entered that day already (exact under concurrent batches)."""
        expires = int(dt.datetime.combine(day + dt.timedelta(days=3), dt.time(), tzinfo=dt.UTC).timestamp())
        return self.table.add_below(f"ORG#{org_id}#ENTRIES#{journey_id}", day.isoformat(), "entered", limit, expires_at=expires)

    # ----- a run's counts: each batch adds its own (kept RUN_DAYS)

    def count_run(self, org_id: str, journey_id: str, run_id: str, counts: dict[str, int]) -> None:
        expires = int((dt.datetime.now(dt.UTC) + dt.timedelta(days=RUN_DAYS)).timestamp())
        self.table.add(f"ORG#{org_id}", f"JOURNEYRUN#{journey_id}#{run_id}", counts, expires_at=expires)

    def run_counts(self, org_id: str, journey_id: str, run_id: str) -> dict[str, int]:
        item = self.table.get(f"ORG#{org_id}", f"JOURNEYRUN#{journey_id}#{run_id}") or {}
        return {k: int(item.get(k, 0)) for k in ("audience", "started", "already_entered", "failed", "over_daily_limit")}


class ContentRepository(Records[Content]):
    kind, model = "content", Content

    def list_content(self, org_id: str) -> list[Content]:
        return self.all(org_id)


def _naive(stamp: str) -> dt.datetime:
    return naive_utc(dt.datetime.fromisoformat(stamp))


class TestSendRepository:
    """The org's test sends of content (tern.usecases.test_send), kept TEST_SENDS_KEPT_DAYS (DynamoDB's TTL removes them)."""

    def __init__(self, table: Table):
        self.table = table

    def put(self, org_id: str, record: dict[str, Any], now: dt.datetime) -> None:
        expires = int((now if now.tzinfo else now.replace(tzinfo=dt.UTC)).timestamp()) + TEST_SENDS_KEPT_DAYS * 86_400
        self.table.put({"PK": f"ORG#{org_id}", "SK": f"TEST#{record['at']}#{record['id']}", **record, "expires_at": expires})

    def recent(self, org_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """The latest test sends, newest first."""
        items, _ = self.table.query(f"ORG#{org_id}", limit=limit, forward=False, prefix="TEST#")
        return [{k: v for k, v in item.items() if k not in ("PK", "SK", "expires_at")} for item in items]
