"""Journeys, content and who entered which journey, in the one table (key design: tern.store).

    journey            ORG#<org>                              JOURNEY#<id>
    content            ORG#<org>                              CONTENT#<id>
    entered            ORG#<org>#ENTERED#<journey>            <contact id>           (each contact enters once)
    a run's counts     ORG#<org>                              JOURNEYRUN#<journey>#<run>   (kept RUN_DAYS)

The engagement state (messages sent, waiting tokens, events seen, suppression) is in tern.journeys.engagement.
"""

from __future__ import annotations

import datetime as dt

from tern.errors import ConflictError
from tern.journeys.content import Content
from tern.journeys.model import Journey
from tern.store.records import Records

RUN_DAYS = 90


class JourneyRepository(Records[Journey]):
    kind, model = "journey", Journey

    def list_journeys(self, org_id: str) -> list[Journey]:
        return self.all(org_id)

    # ----- entry: each contact at most once per journey

    def enter(self, org_id: str, journey_id: str, contact_id: str, at: dt.datetime) -> bool:
        """Record that the contact entered; False if it had entered before."""
        try:
            self.table.put(
                {"PK": f"ORG#{org_id}#ENTERED#{journey_id}", "SK": contact_id, "at": at.isoformat()},
                condition="attribute_not_exists(PK)",
            )
        except ConflictError:
            return False
        return True

    def entered(self, org_id: str, journey_id: str) -> set[str]:
        return {str(i["SK"]) for i in self.table.all(f"ORG#{org_id}#ENTERED#{journey_id}")}

    def entered_among(self, org_id: str, journey_id: str, contact_ids: list[str]) -> set[str]:
        """Which of these contacts entered the journey before."""
        return self.table.keys_present(f"ORG#{org_id}#ENTERED#{journey_id}", contact_ids)

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
