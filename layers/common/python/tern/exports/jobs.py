"""Exports and bulk actions as jobs: requested through the API, run by the export function.

    requested --(segment being evaluated)--> planned --(evaluation ends)--> queued --> running --> done | failed
    requested ------------------------------------------------------------> queued --> running --> done | failed

A job reads the members of one evaluation (the latest when it first runs, then fixed), through the engine's
batches (Parquet written by the engine, read back a batch at a time), so its size never sits in memory.
A retried run (Lambda retries an asynchronous invocation that crashed) reads the same rows again: an
export rewrites the same file, a webhook delivery resumes after the last batch it recorded, an action
keeps the counts and change time it recorded and rewrites the same overlay file.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pyarrow as pa
from aws_lambda_powertools import Logger
from pydantic import BaseModel, ConfigDict

from tern import lake
from tern.clock import iso_utc
from tern.errors import ConflictError, DeliveryFailed, GoneError, TernError
from tern.exports import files, query
from tern.exports.model import Action, ActionRequest, Destination, Export, ExportRequest
from tern.exports.repository import ActionRepository, DestinationRepository, ExportRepository, Planned
from tern.exports.webhook import Webhook, signing_secrets
from tern.ports import ResultFiles, SigningSecrets, Trigger
from tern.segments.lifecycle import Segments
from tern.segments.segment import Segment
from tern.store.overlay import ContactOverlay, chunked

logger = Logger(service="tern", child=True, level=logging.NOTSET)  # the level is the function logger's

JobKind = Literal["export", "action", "audience"]  # an audience sync: tern.audiences.sync
URL_SECONDS = 3600  # how long a download link works
EXPORT_DAYS = 7  # how long an export's file is kept (the results bucket's lifecycle rule in template.yaml)
_FILES: dict[str, tuple[str, str]] = {  # format -> (file extension, content type)
    "csv": ("csv", "text/csv"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "audience": ("csv", "text/csv"),
}


class JobRequest(BaseModel):
    """What the export function is invoked with."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    org_id: str
    kind: JobKind
    id: str
    segment_id: str


def new_id(now: dt.datetime) -> str:
    """Ids that sort by time (a segment's actions list in the order they were asked for)."""
    return now.strftime("%Y%m%d%H%M%S%f") + uuid.uuid4().hex[:6]


@dataclass
class Jobs:
    """The jobs of one org. Every call is bound to `org_id`; other orgs' jobs are not found."""

    org_id: str
    segments: Segments
    exports: ExportRepository
    actions: ActionRepository
    destinations: DestinationRepository
    planned: Planned
    results: ResultFiles
    trigger: Trigger  # the export function, invoked asynchronously with a JobRequest
    allow_loopback: bool = False  # webhook destinations on 127.0.0.1 (the local stack and tests only)

    # ----- asking

    def request_export(self, segment_id: str, request: ExportRequest, now: dt.datetime) -> Export:
        segment = self._segment(segment_id, now, "export")
        if request.destination_id:
            self.destinations.get(self.org_id, request.destination_id)  # 404 for another org's
        export = Export(id=new_id(now), org_id=self.org_id, segment_id=segment.id, requested_at=now, **request.model_dump())
        return self._submit(segment, "export", export, self.exports, now)

    def request_action(self, segment_id: str, request: ActionRequest, now: dt.datetime) -> Action:
        segment = self._segment(segment_id, now, "act on")
        action = Action(id=new_id(now), org_id=self.org_id, segment_id=segment.id, requested_at=now, **request.model_dump())
        return self._submit(segment, "action", action, self.actions, now)

    def _segment(self, segment_id: str, now: dt.datetime, doing: str) -> Segment:
        segment = self.segments.get(segment_id, now)
        if segment.status != "live":
            raise ConflictError(f"cannot {doing} segment {segment_id}: it is {segment.status}, not live")
        if segment.latest is None and not segment.evaluating(now):
            raise ConflictError(f"cannot {doing} segment {segment_id}: it has not been evaluated yet")
        return segment

    def _submit(self, segment: Segment, kind: JobKind, job: Any, repository: Any, now: dt.datetime) -> Any:
        if not segment.evaluating(now):
            job = repository.create(job)
            self._start(kind, job.id, segment.id)
            return job
        job = repository.create(job.model_copy(update={"status": "planned"}))
        self.planned.plan(self.org_id, segment.id, kind, job.id)
        if not self.segments.get(segment.id, now).evaluating(now):  # it ended while we planned: nobody else will start it
            self.evaluation_ended(segment.id)
            job = repository.get(self.org_id, repository.key_of(job))
        return job

    def evaluation_ended(self, segment_id: str) -> list[str]:
        """Start the jobs planned while the segment was evaluated; each is started by exactly one caller."""
        started = []
        for kind, job_id in self.planned.waiting(self.org_id, segment_id):
            if not self.planned.take(self.org_id, segment_id, kind, job_id):
                continue
            repository, key = self.stored(kind, segment_id, job_id)  # type: ignore[arg-type]
            repository.save(repository.get(self.org_id, key).model_copy(update={"status": "queued"}))
            self._start(kind, job_id, segment_id)  # type: ignore[arg-type]
            started.append(job_id)
        return started

    def _start(self, kind: JobKind, job_id: str, segment_id: str) -> None:
        self.trigger.invoke(JobRequest(org_id=self.org_id, kind=kind, id=job_id, segment_id=segment_id).model_dump(), f"{kind} {job_id}")

    # ----- reading

    def stored(self, kind: JobKind, segment_id: str, job_id: str) -> tuple[Any, str]:
        """Where a job is kept: its repository and its key there (an action's key leads with its segment)."""
        return (self.exports, job_id) if kind == "export" else (self.actions, f"{segment_id}#{job_id}")

    def export(self, export_id: str, now: dt.datetime) -> dict[str, Any]:
        """The export's status and counts and, when its file is ready, a download URL (410 once expired)."""
        export = self.exports.get(self.org_id, export_id)
        body = export.model_dump(mode="json", exclude={"version", "key"})
        if export.status == "done" and export.key:
            if (export.expires_at and now >= export.expires_at) or not self.results.exists(export.key):
                raise GoneError(f"export {export_id} has expired: its file is kept {EXPORT_DAYS} days; ask for a new export")
            body["url"] = self.results.url(export.key, URL_SECONDS)
            body["url_expires_at"] = iso_utc(now + dt.timedelta(seconds=URL_SECONDS))
        return body

    def actions_of(self, segment_id: str, now: dt.datetime) -> list[Action]:
        self.segments.get(segment_id, now)  # 404 for what the org cannot see
        return self.actions.of_segment(self.org_id, segment_id)


# ------------------------------------------------------------------------------------------- running


@dataclass
class JobRunner:
    """What the export function does with one job."""

    jobs: Jobs
    engine: Any  # tern.engines.QueryEngine
    overlay: ContactOverlay
    clock: Callable[[], dt.datetime]
    secrets: SigningSecrets | None = None  # the destinations' signing secrets (Secrets Manager)
    webhook: Callable[[Destination], Webhook] | None = None  # unset: a signed Webhook to the destination's URL

    def _webhook(self, destination: Destination) -> Webhook:
        if self.webhook:
            return self.webhook(destination)
        if self.secrets is None:
            raise AssertionError("this function has no signing secrets (tern.services)")
        secrets = self.secrets
        keys = lambda: signing_secrets(destination, secrets, time.time())  # noqa: E731 - read at each attempt: a rotation mid-export counts at once
        return Webhook(destination.url, keys, destination.timeout_seconds, allow_loopback=self.jobs.allow_loopback)

    def run(self, request: JobRequest) -> dict[str, Any]:
        repository, key = self.jobs.stored(request.kind, request.segment_id, request.id)
        job = repository.get(request.org_id, key)
        if job.status in ("done", "failed"):
            return {"skipped": f"{request.kind} {request.id} is {job.status}"}
        job = repository.save(job.model_copy(update={"status": "running", "started_at": job.started_at or self.clock()}))
        name = f"{request.kind}-{request.org_id}-{request.id}"
        try:
            job = self._export(job, name) if request.kind == "export" else self._action(job, name)
        except Exception as e:  # noqa: BLE001 - a job ends failed with its reason, never stuck running
            if isinstance(e, (TernError, OSError)):
                reason = str(e)
                logger.warning("job failed", extra={"kind": request.kind, "job_id": request.id, "reason": reason})
            else:
                reason = f"internal error ({type(e).__name__}); the export function's log has the details"
                logger.exception("job failed", extra={"kind": request.kind, "job_id": request.id})
            job = repository.save(
                repository.get(request.org_id, key).model_copy(update={"status": "failed", "error": reason, "finished_at": self.clock()})
            )
        else:
            job = repository.save(job.model_copy(update={"status": "done", "finished_at": self.clock()}))
        self.engine.release(name)
        return job.model_dump(mode="json", exclude={"version"})  # type: ignore[no-any-return]

    def _members(self, job: Export | Action) -> tuple[Segment, str]:
        segment = self.jobs.segments.repository.get(job.org_id, job.segment_id)
        if job.evaluation_id:
            return segment, job.evaluation_id
        if segment.latest is None:
            raise ConflictError(f"segment {job.segment_id} has no members to read: it has not been evaluated")
        return segment, segment.latest.id

    # ----- exports

    def _export(self, export: Export, name: str) -> Export:
        segment, evaluation = self._members(export)
        export = self.jobs.exports.save(export.model_copy(update={"evaluation_id": evaluation}))
        columns = query.AUDIENCE if export.format == "audience" else query.FULL if export.columns == "full" else query.SUMMARY
        sql = query.members(export.org_id, export.segment_id, evaluation, columns, self.engine.database, self.engine.dialect)
        if export.format == "webhook":
            assert export.destination_id is not None
            return self._deliver(export, self.jobs.destinations.get(export.org_id, export.destination_id), sql, name)
        extension, content_type = _FILES[export.format]
        filename = f"{_slug(segment.name)}-{export.id}.{extension}"
        fd, path = tempfile.mkstemp(suffix="." + extension)
        os.close(fd)
        try:
            writer = files.write(export.format, path, self.engine.batches, sql, name, columns)
            key = export_key(export.org_id, export.id, filename)
            self.jobs.results.upload(path, key, content_type, filename)
        finally:
            os.unlink(path)
        now = self.clock()
        return export.model_copy(update={
            "rows": writer.rows, "skipped": getattr(writer, "skipped", 0), "key": key, "filename": filename,
            "expires_at": now + dt.timedelta(days=EXPORT_DAYS),
        })  # fmt: skip

    def _deliver(self, export: Export, destination: Destination, sql: str, name: str) -> Export:
        hook = self._webhook(destination)
        delivered = export.rows  # after a crash: the batches recorded as delivered are not sent again
        seen = 0
        for members in _chunks(self.engine.batches(sql, name), destination.batch_size):
            seen += len(members)
            if seen <= delivered:
                continue
            number = export.batches + 1
            body = json.dumps(
                {"export_id": export.id, "segment_id": export.segment_id, "batch": number, "members": members},
                default=_json_value,
                separators=(",", ":"),
            ).encode()
            try:
                attempts = hook.post(body, f"{export.id}:{number}")
            except DeliveryFailed as e:
                export = self.jobs.exports.save(export.model_copy(update={"attempts": export.attempts + e.attempts}))
                raise DeliveryFailed(
                    f"{e}; {export.batches} batches ({export.rows} members) were delivered before it", e.attempts
                ) from None
            export = self.jobs.exports.save(export.model_copy(update={
                "rows": export.rows + len(members), "batches": number, "attempts": export.attempts + attempts,
            }))  # fmt: skip
        return export

    # ----- bulk actions

    def _action(self, action: Action, name: str) -> Action:
        segment, evaluation = self._members(action)
        if segment.status != "live":
            raise ConflictError(f"segment {segment.id} is {segment.status}: the action was not applied")
        column = lake.OVERLAY_KINDS[action.kind]
        sql = query.members(
            action.org_id,
            action.segment_id,
            evaluation,
            ["contact_id"],
            self.engine.database,
            self.engine.dialect,
            has=(column, action.value),
        )
        wanted = action.action == "add"
        if action.at is None:  # count once; a retry keeps these counts and the change time
            members = already = 0
            for batch in self.engine.batches(sql, name):
                members += batch.num_rows
                already += sum(1 for has in batch.column("has").to_pylist() if has == wanted)
            action = self.jobs.actions.save(action.model_copy(update={
                "evaluation_id": evaluation, "at": self.clock(), "members": members, "already": already, "changed": members - already,
            }))  # fmt: skip
        assert action.at is not None

        def changing() -> Iterator[str]:
            for batch in self.engine.batches(sql, name):
                for contact_id, has in zip(batch.column("contact_id").to_pylist(), batch.column("has").to_pylist(), strict=True):
                    if has != wanted:
                        yield contact_id

        self.overlay.write(action.org_id, f"action-{action.id}", action.kind, action.value, action.action, changing(), action.at)
        return action


def export_key(org_id: str, export_id: str, filename: str) -> str:
    """Where an export's file lies in the results bucket: under its org's prefix."""
    return f"exports/org_id={org_id}/{export_id}/{filename}"


def _chunks(batches: Iterator[pa.RecordBatch], size: int) -> Iterator[list[dict[str, Any]]]:
    """The rows as JSON-ready dicts (attributes as an object), `size` at a time."""

    def rows() -> Iterator[dict[str, Any]]:
        for batch in batches:
            for row in batch.to_pylist():
                if row.get("attributes") is not None:
                    row["attributes"] = dict(row["attributes"])
                yield row

    return chunked(rows(), size)


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:60] or "segment"
