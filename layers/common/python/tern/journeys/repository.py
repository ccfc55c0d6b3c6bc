"""Journeys, content and who entered which journey, in the one table (key design: tern.store).

    journey            ORG#<org>                              JOURNEY#<id>
    content            ORG#<org>                              CONTENT#<id>
    entered            ORG#<org>#ENTERED#<journey>            <contact id>           (each contact enters once)

The engagement state (messages sent, waiting tokens, events seen, suppression) is in tern.journeys.engagement.
"""

from __future__ import annotations

import datetime as dt

from tern.errors import ConflictError
from tern.journeys.content import Content
from tern.journeys.model import Journey
from tern.store.records import Records


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


class ContentRepository(Records[Content]):
    kind, model = "content", Content

    def list_content(self, org_id: str) -> list[Content]:
        return self.all(org_id)
