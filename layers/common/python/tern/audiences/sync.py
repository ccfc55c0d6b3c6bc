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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from aws_lambda_powertools import Logger

from tern.audiences.accounts import AdAccounts
from tern.audiences.audiences import Audiences
from tern.audiences.model import Audience, Sync, SyncReport
from tern.audiences.platforms import Op, Platform
from tern.errors import ConflictError, NotFoundError, TernError
from tern.exports import query
from tern.exports.jobs import JobRequest
from tern.exports.matching import Member
from tern.ports import ResultFiles

logger = Logger(service="tern", child=True, level=logging.NOTSET)

MATCHED_ON = ["contact_id", "email", "phone", "first_name", "last_name", "city", "postal_code", "country"]
STALE = dt.timedelta(hours=1)  # a sync holding its audience longer has died for good (Lambda's retries are long over)
PAIRS = pa.schema([("contact_id", pa.string()), ("payload", pa.string())])
PLAN = pa.schema([("op", pa.string()), ("payload", pa.string())])


def sent_key(org_id: str, audience_id: str) -> str:
    return f"audiences/org_id={org_id}/{audience_id}/sent.parquet"


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
            return {"skipped": f"sync {sync.id} is {sync.status}"}
        if sync.status == "queued":
            try:
                sync = syncs.save(sync.model_copy(update={"status": "running", "started_at": self.clock()}))
            except ConflictError:  # started twice: the other run has it
                return {"skipped": f"sync {sync.id} is running"}
        try:
            audience = self.audiences.get(sync.segment_id, sync.audience_id)
        except NotFoundError:
            return self._end(sync, "skipped", "the audience was removed before its sync ran").model_dump(mode="json")
        holder = self._hold(audience, sync)
        if holder is not None:
            return self._end(sync, "skipped", f"sync {holder} was running: this one runs again when it ends").model_dump(mode="json")
        name = f"audience-{request.org_id}-{sync.id}"
        try:
            sync = self._sync(sync, audience, name)
        except Exception as e:  # noqa: BLE001 - a sync ends failed with its reason, never holding its audience
            if isinstance(e, (TernError, OSError)):
                reason = str(e)
                logger.warning("audience sync failed", extra={"sync_id": sync.id, "reason": reason})
            else:
                reason = f"internal error ({type(e).__name__}); the export function's log has the details"
                logger.exception("audience sync failed", extra={"sync_id": sync.id})
            sync = self._end(syncs.get(sync.org_id, sync.key()), "failed", reason)
        else:
            sync = self._end(sync, "done", None)
        self.engine.release(name)
        return sync.model_dump(mode="json", exclude={"version"})

    # ----- holding the audience: one sync at a time

    def _hold(self, audience: Audience, sync: Sync) -> str | None:
        """Hold the audience for `sync`; the id of the sync holding it instead (which then runs another when it ends)."""
        for _ in range(5):
            now = self.clock()
            held = audience.running not in (None, sync.id) and audience.running_since is not None and now - audience.running_since < STALE
            update: dict[str, Any] = (
                {"again": True, "again_replace": audience.again_replace or sync.kind == "replace"}
                if held
                else {"running": sync.id, "running_since": now}
            )
            try:
                self.audiences.repository.save(audience.model_copy(update=update))
                return audience.running if held else None
            except ConflictError:
                audience = self.audiences.get(audience.segment_id, audience.id)
        raise ConflictError(f"audience {audience.id} kept changing while sync {sync.id} tried to start")

    def _end(self, sync: Sync, status: str, error: str | None) -> Sync:
        report = SyncReport(
            sync_id=sync.id, kind=sync.kind, status=status, finished_at=self.clock(), evaluation_id=sync.evaluation_id,  # type: ignore[arg-type]
            added=sync.added, removed=sync.removed, members=sync.members, without_consent=sync.without_consent,
            unmatchable=sync.unmatchable, matched=sync.report.matched if sync.report else None,
            pending=sync.report.pending if sync.report else 0,
            errors=sync.report.errors if sync.report else ({"invalid": sync.invalid} if sync.invalid else {}), error=error,
        )  # fmt: skip
        sync = self.audiences.syncs.save(sync.model_copy(update={"status": status, "finished_at": report.finished_at, "error": error,
                                                                  "report": report}))  # fmt: skip
        self._release(sync, report)
        return sync

    def _release(self, sync: Sync, report: SyncReport) -> None:
        """The audience let go (its last sync's report kept), and the sync asked for meanwhile started."""
        for _ in range(5):
            try:
                audience = self.audiences.get(sync.segment_id, sync.audience_id)
            except NotFoundError:
                return
            if audience.running != sync.id:  # skipped: the holder reports, and runs the next
                return
            again, replace = audience.again, audience.again_replace
            try:
                audience = self.audiences.repository.save(audience.model_copy(update={
                    "running": None, "running_since": None, "again": False, "again_replace": False, "last_sync": report,
                }))  # fmt: skip
            except ConflictError:
                continue
            if again:
                self.audiences.request_sync(audience, "replace" if replace else "changes", self.clock())
            return

    # ----- the sync

    def _sync(self, sync: Sync, audience: Audience, name: str) -> Sync:
        platform = self.accounts.platform(self.accounts.get(audience.account_id))
        prefix = sync_prefix(sync.org_id, audience.id, sync.id)
        if not sync.planned:
            sync = self._plan(sync, audience, platform, prefix, name)
        plan = pq.read_table(io.BytesIO(self._read(prefix + "plan.parquet") or b""), schema=PLAN)
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
        outcome = platform.outcome(sync.request_ids)
        errors = dict(outcome.errors or {})
        if sync.invalid:
            errors["invalid"] = errors.get("invalid", 0) + sync.invalid
        desired = self._read(prefix + "desired.parquet")
        assert desired is not None, "a planned sync has its desired members"
        self.results.put(sent_key(sync.org_id, audience.id), desired, "application/vnd.apache.parquet")
        report = SyncReport(sync_id=sync.id, kind=sync.kind, status="done", matched=outcome.matched, pending=outcome.pending, errors=errors)
        return self.audiences.syncs.save(sync.model_copy(update={"report": report}))

    def _plan(self, sync: Sync, audience: Audience, platform: Platform, prefix: str, name: str) -> Sync:
        segment = self.audiences.segments.repository.get(sync.org_id, sync.segment_id)
        if segment.latest is None:
            raise ConflictError(f"segment {sync.segment_id} has not been evaluated: it has no members to sync")
        evaluation = segment.latest.id
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
        before = self._read(sent_key(sync.org_id, audience.id))
        sent = pq.read_table(io.BytesIO(before), schema=PAIRS) if before else PAIRS.empty_table()
        keys = ["contact_id", "payload"]
        if sync.kind == "replace" and desired.num_rows:
            removes, adds, op = PAIRS.empty_table(), desired, "replace"
        else:  # a replace with no one to keep removes whom the platform holds
            removes = sent.join(desired, keys=keys, join_type="left anti")
            adds = desired.join(sent, keys=keys, join_type="left anti")
            op = "add"
        plan = pa.table({
            "op": ["remove"] * removes.num_rows + [op] * adds.num_rows,
            "payload": removes.column("payload").to_pylist() + adds.column("payload").to_pylist(),
        }, schema=PLAN)  # fmt: skip
        self._write(prefix + "desired.parquet", desired)
        self._write(prefix + "plan.parquet", plan)
        batches = sum(-(-n // platform.batch_size) for n in (removes.num_rows, adds.num_rows))
        return self.audiences.syncs.save(sync.model_copy(update={
            "planned": True, "evaluation_id": evaluation, "added": adds.num_rows, "removed": removes.num_rows,
            "members": desired.num_rows, "without_consent": without_consent, "unmatchable": unmatchable, "batches": batches,
        }))  # fmt: skip

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
