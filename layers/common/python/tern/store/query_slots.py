"""How many lake queries one org runs at once from the admin API: previews, counts, analytics, list matching.

Every such query scans the org's data in the one Athena workgroup all orgs share (each up to its 100 GiB
cutoff), so one marketer, a script or a stolen token could run up the bill and starve the others. Each org
holds at most `limit` query slots at once. A statement run to its end holds one while it runs (its lease
outlasts the function's timeout); a started one (a preview's count and sample, taken together) holds one until
a poll finds it finished, or until its lease ends (a client that never polls again frees it after
LEASE_SECONDS). Over the limit, a request is refused with TooBusy (429 and Retry-After: when the first slot
frees), never queued.

Taking slots reads the item and writes it back only if its version is still the one read (racing takers
retry, with a jittered pause); giving one back removes its key in place and bumps the version, so it never
conflicts and never loses to a taker's stale copy.

    slots   ORG#<org>   QUERY-SLOTS   held: {holder: until (epoch seconds)}, version
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable, Iterator

import pyarrow as pa

from tern.aws.dynamodb import Table
from tern.engines import QueryEngine, Result
from tern.errors import ConflictError, TooBusy

LEASE_SECONDS = 300  # a started query keeps its slot this long unless a poll sees it finish first
RUN_SECONDS = 90  # a statement run to its end: longer than the api function's timeout
_ATTEMPTS = 10  # takers racing for the one item: each retry reads it again


class QuerySlots:
    def __init__(self, table: Table, limit: int, clock: Callable[[], float] = time.time, pause: Callable[[float], None] = time.sleep):
        self.table, self.limit, self.clock, self.pause = table, limit, clock, pause

    def take(self, org_id: str, holders: list[str], seconds: int = LEASE_SECONDS) -> None:
        """A slot for each holder until `seconds` from now, all or none; TooBusy when the org has too few free."""
        for attempt in range(_ATTEMPTS):
            item = self.table.get(f"ORG#{org_id}", "QUERY-SLOTS")
            now = int(self.clock())
            held = {holder: int(until) for holder, until in (item or {}).get("held", {}).items() if int(until) > now}
            if len(held) + len(holders) > self.limit:
                wait = max(1, min(held.values(), default=now + 1) - now)
                raise TooBusy(f"your organisation is already running {len(held)} counts at once, the most it may", retry_after=wait)
            version = int(item["version"]) if item else 0
            new = {
                "PK": f"ORG#{org_id}",
                "SK": "QUERY-SLOTS",
                "held": {**held, **dict.fromkeys(holders, now + seconds)},
                "version": version + 1,
            }
            try:
                if item is None:
                    self.table.put(new, condition="attribute_not_exists(PK)")
                else:
                    self.table.put(new, condition="version = :read", values={":read": version})
                return
            except ConflictError:
                self.pause(random.uniform(0, 0.02 * (attempt + 1)))
        raise TooBusy("too many requests for your organisation's data at once", retry_after=1)

    def give_back(self, org_id: str, holder: str) -> None:
        self.table.change_map(f"ORG#{org_id}", "QUERY-SLOTS", "held", remove=[holder], version="version")

    def hand_over(self, org_id: str, holder: str, to: str, seconds: int = LEASE_SECONDS) -> None:
        """The holder's slot now held by `to` (a started query, by its id)."""
        until = int(self.clock()) + seconds
        self.table.change_map(f"ORG#{org_id}", "QUERY-SLOTS", "held", remove=[holder], put={to: until}, version="version")


class OrgQueries:
    """The engine as one org's API request uses it: every statement holds a slot of the org's (QuerySlots).
    `at_once` slots are taken together up front, for the statements a request starts side by side."""

    def __init__(self, engine: QueryEngine, slots: QuerySlots, org_id: str, at_once: int = 0):
        self.engine, self.slots, self.org_id = engine, slots, org_id
        self.dialect, self.database = engine.dialect, engine.database
        self._reserved = [f"reserved-{uuid.uuid4().hex}" for _ in range(at_once)]
        if self._reserved:
            slots.take(org_id, self._reserved)

    def run(self, sql: str) -> Result:
        holder = "run-" + uuid.uuid4().hex
        self.slots.take(self.org_id, [holder], RUN_SECONDS)
        try:
            return self.engine.run(sql)
        finally:
            self.slots.give_back(self.org_id, holder)

    def start(self, sql: str) -> str:
        if self._reserved:
            holder = self._reserved.pop()
        else:
            holder = "pending-" + uuid.uuid4().hex
            self.slots.take(self.org_id, [holder])
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
