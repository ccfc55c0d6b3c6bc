"""How many lake queries one org runs at once from the admin API: previews, counts, analytics, list matching.

Every such query scans the org's data in the one Athena workgroup all orgs share (each up to its 100 GiB
cutoff), so one marketer, a script or a stolen token could run up the bill and starve the others. Each org
holds at most `limit` query slots at once. A statement run to its end holds one while it runs; a started one
(a preview's count and sample) holds one until a poll finds it finished, or until its lease ends (a client
that never polls again frees it after LEASE_SECONDS). Over the limit, a request is refused with TooBusy
(429 and Retry-After: when the first slot frees), never queued.

    slots   ORG#<org>   QUERY-SLOTS   held: {holder: until (epoch seconds)}, version
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import pyarrow as pa

from tern.aws.dynamodb import Table
from tern.engines import QueryEngine, Result
from tern.errors import ConflictError, TooBusy

LEASE_SECONDS = 300  # the longest a query keeps its slot unless a poll sees it finish first
_ATTEMPTS = 8  # writers racing for the one item: each retry reads it again


class QuerySlots:
    def __init__(self, table: Table, limit: int, clock: Callable[[], float] = time.time):
        self.table, self.limit, self.clock = table, limit, clock

    def _update(self, org_id: str, change: Callable[[dict[str, int], int], dict[str, int]]) -> None:
        for _ in range(_ATTEMPTS):
            item = self.table.get(f"ORG#{org_id}", "QUERY-SLOTS")
            now = int(self.clock())
            held = {holder: int(until) for holder, until in (item or {}).get("held", {}).items() if int(until) > now}
            version = int(item["version"]) if item else 0
            new = change(held, now)
            try:
                self.table.put(
                    {"PK": f"ORG#{org_id}", "SK": "QUERY-SLOTS", "held": new, "version": version + 1, "expires_at": now + 2 * LEASE_SECONDS},
                    condition="version = :read" if item else "attribute_not_exists(PK)", values={":read": version} if item else None,
                )  # fmt: skip
                return
            except ConflictError:
                continue
        raise TooBusy("too many requests for your organisation's data at once", retry_after=1)

    def take(self, org_id: str, holder: str, seconds: int = LEASE_SECONDS) -> None:
        """A slot for `holder` until `seconds` from now, or TooBusy when the org holds them all."""

        def add(held: dict[str, int], now: int) -> dict[str, int]:
            if len(held) >= self.limit:
                wait = max(1, min(held.values()) - now)
                raise TooBusy(f"your organisation is already running {len(held)} counts at once, the most it may", retry_after=wait)
            return {**held, holder: now + seconds}

        self._update(org_id, add)

    def give_back(self, org_id: str, holder: str) -> None:
        self._update(org_id, lambda held, now: {h: u for h, u in held.items() if h != holder})

    def hand_over(self, org_id: str, holder: str, to: str) -> None:
        """The holder's slot, until the same time, held by `to` (a started query, by its id)."""
        self._update(
            org_id, lambda held, now: {**{h: u for h, u in held.items() if h != holder}, to: held.get(holder, now + LEASE_SECONDS)}
        )


class OrgQueries:
    """The engine as one org's API requests use it: every statement holds a slot of the org's (QuerySlots)."""

    def __init__(self, engine: QueryEngine, slots: QuerySlots, org_id: str):
        self.engine, self.slots, self.org_id = engine, slots, org_id
        self.dialect, self.database = engine.dialect, engine.database

    def run(self, sql: str) -> Result:
        holder = "run-" + uuid.uuid4().hex
        self.slots.take(self.org_id, holder)
        try:
            return self.engine.run(sql)
        finally:
            self.slots.give_back(self.org_id, holder)

    def start(self, sql: str) -> str:
        holder = "pending-" + uuid.uuid4().hex
        self.slots.take(self.org_id, holder)
        try:
            query_id = self.engine.start(sql)
        except BaseException:
            self.slots.give_back(self.org_id, holder)
            raise
        self.slots.hand_over(self.org_id, holder, query_id)
        return query_id

    def poll(self, query_id: str) -> Result | None:
        try:
            found = self.engine.poll(query_id)
        except BaseException:
            self.slots.give_back(self.org_id, query_id)
            raise
        if found is not None:
            self.slots.give_back(self.org_id, query_id)
        return found

    def has_org(self, org_id: str) -> bool:
        return self.engine.has_org(org_id)

    def batches(self, sql: str, name: str) -> Iterator[pa.RecordBatch]:
        return self.engine.batches(sql, name)

    def release(self, name: str) -> None:
        self.engine.release(name)

    def result_location(self, query_id: str) -> tuple[str, str]:
        return self.engine.result_location(query_id)
