"""The engagement state journeys run on, in the one table (key design: tern.store).

message sent       MSG#<provider message id>              MSG                    (org, journey, step, contact)
sent by a step     ORG#<org>#SENT#<journey>#<contact>     <step id>              (the message id)
waiting token      WAIT#<message id>#<event>              <token digest>         (TTL after the timeout)
engagement seen    SEEN#<message id>                      <event>#<link>#<event time>
suppression        ORG#<org>#SUPPRESS                     <channel>#<address>    (hard bounce, complaint, ...)
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict

from tern.aws.dynamodb import Table
from tern.clock import Instant
from tern.errors import ConflictError


def _epoch(at: dt.datetime) -> int:
    return int((at if at.tzinfo else at.replace(tzinfo=dt.UTC)).timestamp())


class SentMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    message_id: str
    org_id: str
    journey_id: str
    journey_version: int
    step_id: str
    contact_id: str
    channel: str
    address: str
    at: Instant


class Engagement:
    """What journeys wait on: which message each step sent, task tokens waiting for events, events seen."""

    def __init__(self, table: Table):
        self.table = table

    def sent(self, message: SentMessage) -> None:
        self.table.put({"PK": f"MSG#{message.message_id}", "SK": "MSG", "body": message.model_dump_json()})
        self.table.put(
            {
                "PK": f"ORG#{message.org_id}#SENT#{message.journey_id}#{message.contact_id}",
                "SK": message.step_id,
                "message_id": message.message_id,
            }
        )

    def message(self, message_id: str) -> SentMessage | None:
        item = self.table.get(f"MSG#{message_id}", "MSG")
        return SentMessage.model_validate_json(item["body"]) if item else None

    def sent_by(self, org_id: str, journey_id: str, contact_id: str, step_id: str) -> str | None:
        item = self.table.get(f"ORG#{org_id}#SENT#{journey_id}#{contact_id}", step_id)
        return str(item["message_id"]) if item else None

    # ----- task tokens: registered by a branch step, taken by whoever completes them (exactly one taker)

    @staticmethod
    def _digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()[:32]

    def wait(self, message_id: str, event: str, link: str | None, token: str, expires: dt.datetime, context: str) -> None:
        self.table.put({
            "PK": f"WAIT#{message_id}#{event}", "SK": self._digest(token), "token": token, "link": link or "",
            "context": context, "expires_at": _epoch(expires),
        })  # fmt: skip

    def waiting(self, message_id: str, event: str) -> list[dict[str, Any]]:
        return list(self.table.all(f"WAIT#{message_id}#{event}"))

    def take(self, message_id: str, event: str, token: str) -> bool:
        return self.table.take(f"WAIT#{message_id}#{event}", self._digest(token)) is not None

    # ----- engagement events seen (so a branch registered after its event still sees it)

    def seen(self, message_id: str, event: str, link: str | None, event_at: str, at: dt.datetime) -> bool:
        """Note an engagement event; False if this very event (same message, kind, link and time) was noted before."""
        try:
            self.table.put(
                {"PK": f"SEEN#{message_id}", "SK": f"{event}#{link or ''}#{event_at}", "at": at.isoformat()},
                condition="attribute_not_exists(PK)",
            )
        except ConflictError:
            return False
        return True

    def was_seen(self, message_id: str, event: str, link: str | None) -> bool:
        for item in self.table.all(f"SEEN#{message_id}"):
            seen_event, _, rest = str(item["SK"]).partition("#")
            seen_link = rest.rpartition("#")[0]
            if seen_event == event and (link is None or seen_link == link):
                return True
        return False

    # ----- suppression: addresses a channel must not send to again

    def suppress(self, org_id: str, channel: str, address: str, reason: str, at: dt.datetime) -> None:
        self.table.put(
            {"PK": f"ORG#{org_id}#SUPPRESS", "SK": f"{channel}#{address.strip().lower()}", "reason": reason, "at": at.isoformat()}
        )

    def suppressed(self, org_id: str, channel: str, address: str) -> str | None:
        item = self.table.get(f"ORG#{org_id}#SUPPRESS", f"{channel}#{address.strip().lower()}")
        return str(item["reason"]) if item else None
