"""A sync of one audience, as the export function runs it.

What the platform holds is known: after each sync, the members sent (each with its identifiers as the platform took
them, hashed) are written as the audience's `sent.parquet` in the results bucket. A sync compares that with the
segment's latest members who have the audience's consent, by contact and identifiers, and so sends

- as removes: who left the segment, who withdrew the consent, and a member's old identifiers when they changed;
- as adds: who joined, who gave the consent, and a member's new identifiers.

A replace sends every member (Meta's usersreplace session; Google's removeAll, then ingests). The plan (removes,
then adds) is written before the first batch; each batch's acknowledgement is recorded before the next is sent,
so a retried run (Lambda retries a crashed asynchronous invocation) starts after the last one recorded. A batch
the platform took just before a crash is sent again: an audience is a set, so its members are the same.

    audiences/org_id=<org>/<audience>/sent.parquet                      contact_id, payload   (kept while it exists)
    audience-syncs/org_id=<org>/<audience>/<sync>/plan.parquet         op, payload           (7 days)
    audience-syncs/org_id=<org>/<audience>/<sync>/desired.parquet      contact_id, payload   (7 days)
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from aws_lambda_powertools import Logger

from tern.audiences.accounts import AdAccounts
from tern.audiences.audiences import Audiences, sent_key
from tern.audiences.model import Audience, Sync, SyncReport
from tern.audiences.platforms import Op, Outcome, Platform
from tern.errors import ConflictError, NotFoundError, StoreError, TernError
from tern.exports import query
from tern.exports.jobs import JobRequest
from tern.exports.matching import Member
from tern.ports import ResultFiles

logger = Logger(service="tern", child=True, level=logging.NOTSET)

MATCHED_ON = ["contact_id", "email", "phone", "first_name", "last_name", "city", "postal_code", "country"]
STALE = dt.timedelta(hours=1)  # a sync holding its audience longer has died for good (Lambda's retries are long over)
PAIRS = pa.schema([("contact_id", pa.string()), ("payload", pa.string())])
PLAN = pa.schema([("op", pa.string()), ("payload", pa.string())])


def sync_prefix(org_id: str, audience_id: str, sync_id: str) -> str:
    return f"audience-syncs/org_id={org_id}/{audience_id}/{sync_id}/"


@dataclass
class AudienceSyncs:
    """What the export function does with an audience sync."""

    audiences: Audiences
    accounts: AdAccounts
    engine: Any  # tern.engines.QueryEngine
    results: ResultFiles
    clock: Callable[[], dt.datetime]

    def run(self, request: JobRequest) -> dict[str, Any]:
        syncs = self.audiences.syncs
        sync = syncs.get(request.org_id, request.id)
        if sync.status in ("done", "failed", "skipped"):
            self._release(sync, sync.report, owe=sync.status == "failed" and sync.planned)  # it ended, then died before letting go
            return {"skipped": f"sync {sync.id} is {sync.status}"}
        token = uuid.uuid4().hex  # this run's: a second run of the same sync takes it over, and this one then quits
        try:
            sync = syncs.save(sync.model_copy(update={"status": "running", "runner": token, "started_at": sync.started_at or self.clock()}))
        except ConflictError:
            return {"skipped": f"sync {sync.id} is being run"}
        try:
            audience = self.audiences.get(sync.segment_id, sync.audience_id)
        except NotFoundError:
            return self._end(sync, "skipped", "the audience was removed before its sync ran").model_dump(mode="json")
        holder = self._hold(audience, sync)
        if holder is not None:
            return self._end(sync, "skipped", f"sync {holder} was running: this one runs again when it ends").model_dump(mode="json")
        name = f"audience-{request.org_id}-{audience.id}-{sync.id}"  # the engine's rows: this audience's, with its consent
        try:
            sync = self._sync(sync, audience, name)
        except Exception as e:  # noqa: BLE001 - a sync ends failed with its reason, never holding its audience
            latest = syncs.get(sync.org_id, sync.key())
            if latest.runner != token:  # another run of it took over: it goes on, this one leaves everything to it
                return {"skipped": f"sync {sync.id} is being run again"}
            if isinstance(e, (TernError, OSError)):
                reason = str(e)
                logger.warning("audience sync failed", extra={"sync_id": sync.id, "reason": reason})
            else:
                reason = f"internal error ({type(e).__name__}); the export function's log has the details"
                logger.exception("audience sync failed", extra={"sync_id": sync.id})
            sync = self._end(latest, "failed", reason, owe=latest.planned)  # it may have changed the platform: the next replaces
        else:
            sync = self._end(sync, "done", None)
        self.engine.release(name)
        return sync.model_dump(mode="json", exclude={"version", "runner"})

    # ----- holding the audience: one sync at a time

    def _hold(self, audience: Audience, sync: Sync) -> str | None:
        """Hold the audience for `sync`; the id of the sync holding it instead (which then runs another when it ends).
        A hold older than STALE is taken over: its sync died for good, maybe halfway, so this one replaces."""
        for _ in range(5):
            now = self.clock()
            other = audience.running if audience.running not in (None, sync.id) else None
            held = other is not None and audience.running_since is not None and now - audience.running_since < STALE
            update: dict[str, Any] = (
                {"again": True, "owed_replace": audience.owed_replace or sync.kind == "replace"}
                if held
                else {"running": sync.id, "running_since": now, "owed_replace": audience.owed_replace or other is not None}
            )
            try:
                self.audiences.repository.save(audience.model_copy(update=update))
            except ConflictError:
                audience = self.audiences.get(audience.segment_id, audience.id)
                continue
            if held:
                return other
            if other is not None:
                self._abandoned(sync, other)
            return None
        raise ConflictError(f"audience {audience.id} kept changing while sync {sync.id} tried to start")

    def _abandoned(self, sync: Sync, other: str) -> None:
        """The sync whose hold was taken over recorded as failed (its run stopped for good)."""
        try:
            dead = self.audiences.syncs.get(sync.org_id, f"{sync.audience_id}#{other}")
            if dead.status in ("queued", "running"):
                self.audiences.syncs.save(dead.model_copy(update={
                    "status": "failed", "finished_at": self.clock(), "error": f"its run stopped; sync {sync.id} took over",
                }))  # fmt: skip
        except (NotFoundError, ConflictError):
            pass

    def _end(self, sync: Sync, status: str, error: str | None, owe: bool = False) -> Sync:
        report = SyncReport(
            sync_id=sync.id, kind=sync.kind, status=status, finished_at=self.clock(), evaluation_id=sync.evaluation_id,  # type: ignore[arg-type]
            added=sync.added, removed=sync.removed, members=sync.members, without_consent=sync.without_consent,
            unmatchable=sync.unmatchable, matched=sync.report.matched if sync.report else None,
            pending=sync.report.pending if sync.report else 0,
            errors=sync.report.errors if sync.report else ({"invalid": sync.invalid} if sync.invalid else {}), error=error,
        )  # fmt: skip
        sync = self.audiences.syncs.save(sync.model_copy(update={"status": status, "finished_at": report.finished_at, "error": error,
                                                                  "report": report}))  # fmt: skip
        self._release(sync, report, owe)
        return sync

    def _release(self, sync: Sync, report: SyncReport | None, owe: bool) -> None:
        """The audience let go, with its last sync's report; or, when a sync was asked for meanwhile, handed to that
        sync (`after-<this sync>`, recorded and started after the hand-over: a retry of this run finds it and starts it)."""
        after = f"after-{sync.id}"
        for _ in range(5):
            try:
                audience = self.audiences.get(sync.segment_id, sync.audience_id)
            except NotFoundError:
                return
            if audience.running == after:  # handed over already; started, unless this run died before
                self.audiences.request_sync(audience, "replace" if audience.owed_replace else "changes", self.clock(), after)
                return
            if audience.running != sync.id:  # skipped: the holder reports, and runs the next
                return
            replaced = sync.status == "done" and sync.kind == "replace"
            owed = owe or (audience.owed_replace and not replaced)
            update: dict[str, Any] = {"again": False, "owed_replace": owed, "running": None, "running_since": None}
            if report is not None:
                update["last_sync"] = report
            if audience.again:
                update |= {"running": after, "running_since": self.clock()}
            try:
                audience = self.audiences.repository.save(audience.model_copy(update=update))
            except ConflictError:
                continue
            if audience.running == after:
                self.audiences.request_sync(audience, "replace" if owed else "changes", self.clock(), after)
            return
        logger.warning("audience sync could not let go of its audience", extra={"sync_id": sync.id})  # stale after STALE: taken over

    # ----- the sync

    def _sync(self, sync: Sync, audience: Audience, name: str) -> Sync:
        platform = self.accounts.platform(self.accounts.get(audience.account_id))
        prefix = sync_prefix(sync.org_id, audience.id, sync.id)
        if not sync.planned:
            sync = self._plan(sync, audience, platform, prefix, name)
        plan = self._table(prefix + "plan.parquet", PLAN, required=True)
        if not sync.widened:
            # Until it ends, what the platform may hold is what it held and what this sends: a sync that fails halfway
            # leaves a record from which the next (a replace) still removes whoever must go. Widening twice adds the
            # same rows twice, which changes nothing (syncs compare by payload).
            desired = self._table(prefix + "desired.parquet", PAIRS, required=True)
            sending = plan.filter(pc.not_equal(plan.column("op"), "remove")).column("payload")
            held = self._table(sent_key(sync.org_id, audience.id), PAIRS)
            widened = pa.concat_tables([held, desired.filter(pc.is_in(desired.column("payload"), value_set=sending))])
            self._write(sent_key(sync.org_id, audience.id), widened)
            sync = self.audiences.syncs.save(sync.model_copy(update={"widened": True}))
        number = 0
        for op, payloads in _ops(plan):
            batches = [payloads[i : i + platform.batch_size] for i in range(0, len(payloads), platform.batch_size)] or [[]]
            for seq, batch in enumerate(batches, start=1):
                number += 1
                if number <= sync.sent_batches:
                    continue
                reply = platform.send(audience.platform_audience_id, op, batch, seq, seq == len(batches), len(payloads), sync.id)
                sync = self.audiences.syncs.save(sync.model_copy(update={
                    "sent_batches": number, "attempts": sync.attempts + reply.attempts, "invalid": sync.invalid + reply.invalid,
                    "request_ids": sync.request_ids + ([reply.request_id] if reply.request_id else []),
                }))  # fmt: skip
        desired = self._read(prefix + "desired.parquet")
        assert desired is not None, "a planned sync has its desired members"
        self.results.put(sent_key(sync.org_id, audience.id), desired, "application/vnd.apache.parquet")  # exactly these now
        try:
            outcome = platform.outcome(sync.request_ids)
        except TernError as e:  # what the platform made of them is a report, not the sync: it is done
            logger.warning("audience sync's outcome unknown", extra={"sync_id": sync.id, "reason": str(e)})
            outcome = Outcome(len(sync.request_ids), None, {})
        errors = dict(outcome.errors)
        if sync.invalid:
            errors["invalid"] = errors.get("invalid", 0) + sync.invalid
        report = SyncReport(sync_id=sync.id, kind=sync.kind, status="done", matched=outcome.matched, pending=outcome.pending, errors=errors)
        return self.audiences.syncs.save(sync.model_copy(update={"report": report}))

    def _plan(self, sync: Sync, audience: Audience, platform: Platform, prefix: str, name: str) -> Sync:
        segment = self.audiences.segments.repository.get(sync.org_id, sync.segment_id)
        if segment.latest is None:
            raise ConflictError(f"segment {sync.segment_id} has not been evaluated: it has no members to sync")
        evaluation = segment.latest.id
        kind = "replace" if sync.kind == "replace" or audience.owed_replace else "changes"
        sql = query.members(sync.org_id, sync.segment_id, evaluation, MATCHED_ON, self.engine.database, self.engine.dialect,
                            has=("consents", audience.consent))  # fmt: skip
        contacts: list[str] = []
        payloads: list[str] = []
        without_consent = unmatchable = 0
        for batch in self.engine.batches(sql, name):
            for row in batch.to_pylist():
                if not row["has"]:
                    without_consent += 1
                    continue
                payload = platform.payload(Member(**{k: row[k] for k in MATCHED_ON[1:]}))
                if payload is None:
                    unmatchable += 1
                    continue
                contacts.append(row["contact_id"])
                payloads.append(payload)
        desired = pa.table({"contact_id": contacts, "payload": payloads}, schema=PAIRS)
        sent = self._table(sent_key(sync.org_id, audience.id), PAIRS)
        # by what the platform matches on, the payload: two contacts with the same identifiers are one user there
        wanted, held = pc.unique(desired.column("payload")), pc.unique(sent.column("payload"))
        removes = held.filter(pc.invert(pc.is_in(held, value_set=wanted)))
        adds = wanted.filter(pc.invert(pc.is_in(wanted, value_set=held)))
        op = "add"
        if kind == "replace" and len(wanted):
            removes, adds, op = pa.array([], pa.string()), wanted, "replace"
        plan = pa.table({
            "op": ["remove"] * len(removes) + [op] * len(adds), "payload": removes.to_pylist() + adds.to_pylist(),
        }, schema=PLAN)  # fmt: skip
        self._write(prefix + "desired.parquet", desired)
        self._write(prefix + "plan.parquet", plan)
        batches = sum(-(-n // platform.batch_size) for n in (len(removes), len(adds)))
        return self.audiences.syncs.save(sync.model_copy(update={
            "planned": True, "kind": kind, "evaluation_id": evaluation, "added": len(adds), "removed": len(removes),
            "members": desired.num_rows, "without_consent": without_consent, "unmatchable": unmatchable, "batches": batches,
        }))  # fmt: skip

    def _table(self, key: str, schema: pa.Schema, required: bool = False) -> pa.Table:
        """A Parquet file of the results bucket; an absent one is empty, or StoreError when `required`."""
        found = self._read(key)
        if found is None:
            if required:
                raise StoreError(f"{key} is missing from the results bucket")
            return schema.empty_table()
        return pq.read_table(io.BytesIO(found), schema=schema)

    def _read(self, key: str) -> bytes | None:
        if not self.results.exists(key):
            return None
        return self.results.read(key, 0, self.results.size(key))

    def _write(self, key: str, table: pa.Table) -> None:
        fd, path = tempfile.mkstemp(suffix=".parquet")
        os.close(fd)
        try:
            pq.write_table(table, path)
            self.results.upload(path, key, "application/vnd.apache.parquet", key.rsplit("/", 1)[-1])
        finally:
            os.unlink(path)


def _ops(plan: pa.Table) -> list[tuple[Op, list[str]]]:
    """The plan's runs of one operation, in order: removes first, then adds (or the replace)."""
    runs: list[tuple[Op, list[str]]] = []
    for op, payload in zip(plan.column("op").to_pylist(), plan.column("payload").to_pylist(), strict=True):
        if not runs or runs[-1][0] != op:
            runs.append((op, []))
        runs[-1][1].append(payload)
    return runs
