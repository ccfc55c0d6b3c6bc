"""The two ad platforms behind one face: what a member is to each (its hashed identifiers, as JSON text, so that a
sync can tell what changed by comparing text), and one batch of adds, removes or a replace.

Meta (tern.exports.meta): a batch is a call in a session whose id follows from the sync and the operation, so a
retried run carries on the same session. Google (tern.exports.google, the Data Manager API): a batch is one ingest
or remove request; a replace empties the list first (removeAll) and then ingests.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from tern.exports.google import GoogleAudiences, Outcome  # what a platform says of its requests: Google's words serve both
from tern.exports.matching import Member, google_identifiers, meta_row
from tern.exports.meta import MetaAudiences, Session

Op = Literal["add", "remove", "replace"]


@dataclass(frozen=True)
class Reply:
    """What the platform said of one batch."""

    attempts: int
    invalid: int = 0  # records refused (Meta says so at once)
    request_id: str | None = None  # Google says later, through requestStatus


class Platform(Protocol):
    batch_size: int

    def check(self) -> str:
        """The account's name as the platform knows it; the platform's refusal (a TernError in words) otherwise."""
        ...

    def create(self, name: str, description: str) -> str: ...

    def payload(self, member: Member) -> str | None:
        """The member as the platform matches it (hashes only), as JSON text; None: nothing to match on."""
        ...

    def send(self, audience_id: str, op: Op, payloads: list[str], batch: int, last: bool, total: int, sync_id: str) -> Reply: ...

    def outcome(self, request_ids: list[str]) -> Outcome: ...


def session_id(sync_id: str, op: Op) -> int:
    """A sync's session for one operation: the same on every run of it (a retry resumes the session)."""
    return int.from_bytes(hashlib.sha256(f"{sync_id}:{op}".encode()).digest()[:7], "big") + 1


@dataclass
class Meta:
    client: MetaAudiences
    batch_size: int = 10_000

    def check(self) -> str:
        account = self.client.account()
        return str(account.get("name") or f"act_{self.client.ad_account}")

    def create(self, name: str, description: str) -> str:
        return self.client.create(name, description)

    def payload(self, member: Member) -> str | None:
        row = meta_row(member)
        return None if row is None else json.dumps(row, separators=(",", ":"))

    def send(self, audience_id: str, op: Op, payloads: list[str], batch: int, last: bool, total: int, sync_id: str) -> Reply:
        rows = [json.loads(p) for p in payloads]
        sent = self.client.send(audience_id, op, rows, Session(session_id(sync_id, op), batch, last, total))
        return Reply(sent.attempts, sent.invalid)

    def outcome(self, request_ids: list[str]) -> Outcome:
        return Outcome(0, None, {})  # Meta says at once (num_invalid_entries), nothing later


@dataclass
class Google:
    client: GoogleAudiences
    batch_size: int = 10_000

    def check(self) -> str:
        return self.client.account()

    def create(self, name: str, description: str) -> str:
        return self.client.create(name, description)

    def payload(self, member: Member) -> str | None:
        found = google_identifiers(member)
        return json.dumps(found, separators=(",", ":"), sort_keys=True) if found else None

    def send(self, audience_id: str, op: Op, payloads: list[str], batch: int, last: bool, total: int, sync_id: str) -> Reply:
        members: list[list[dict[str, Any]]] = [json.loads(p) for p in payloads]
        attempts = 0
        if op == "replace" and batch == 1:  # the list emptied, then filled: a retry of this batch empties it again
            attempts += self.client.remove_all(audience_id).attempts
        if not members:
            return Reply(attempts)
        sent = self.client.remove(audience_id, members) if op == "remove" else self.client.add(audience_id, members)
        return Reply(attempts + sent.attempts, request_id=sent.request_id)

    def outcome(self, request_ids: list[str]) -> Outcome:
        return self.client.outcome(request_ids) if request_ids else Outcome(0, None, {})
