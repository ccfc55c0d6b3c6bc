"""A segment's audiences on the ad platforms, and the syncs that keep each in step with the segment.

An audience is attached to a live segment with the consent its members need; the platform's audience is made then
(or an existing one named). Each refresh of the segment asks every audience of it for a sync of the changes, and a
marketer may ask for one (a full replace too); each runs in the export function (tern.audiences.sync). A sync asked
for while another holds the audience runs when that one ends: at most one sync an audience at a time.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

from tern.audiences.accounts import AdAccounts, refused
from tern.audiences.model import Audience, AudienceRequest, Sync, SyncKind
from tern.audiences.repository import AudienceRepository, SyncRepository
from tern.clock import Clock, naive_utc, utc_now
from tern.errors import ConflictError, NotFoundError, TernError
from tern.exports.jobs import JobRequest, new_id
from tern.ports import ResultFiles, Trigger
from tern.segments.lifecycle import Segments


def sent_key(org_id: str, audience_id: str) -> str:
    """The audience's record of what the platform holds (hashes only), in the results bucket."""
    return f"audiences/org_id={org_id}/{audience_id}/sent.parquet"


@dataclass
class Audiences:
    """One org's audiences. Every call is bound to `org_id`: another org's audience or segment is not found."""

    org_id: str
    repository: AudienceRepository
    syncs: SyncRepository
    accounts: AdAccounts
    segments: Segments
    trigger: Trigger  # the export function, invoked asynchronously with a JobRequest of kind "audience"
    results: ResultFiles  # where each audience's record of what the platform holds lies (tern.audiences.sync)
    clock: Clock = utc_now

    def attach(self, segment_id: str, request: AudienceRequest) -> Audience:
        """The segment's audience on the account's platform (made now unless an existing one is named), then its first
        sync, which sends every member with the consent, if the segment has been evaluated."""
        now = naive_utc(self.clock())
        segment = self.segments.get(segment_id, now)
        if segment.status not in ("live", "draft"):
            raise ConflictError(f"segment {segment_id} is {segment.status}: only a draft or live segment fills an audience")
        account = self.accounts.get(request.account_id)
        if any(a.account_id == account.id for a in self.repository.of_segment(self.org_id, segment.id)):
            raise ConflictError(f"segment {segment_id} already fills an audience of account {account.id}")
        name = request.name or segment.name
        platform_audience = request.platform_audience_id
        if platform_audience is None:
            try:
                platform_audience = self.accounts.platform(account, waited=True).create(
                    name, f"Tern segment {segment.id}: {segment.name}"[:200]
                )
            except TernError as e:
                raise refused(e, "account_id") from None
        audience = self.repository.create(Audience(
            id=uuid.uuid4().hex[:12], org_id=self.org_id, segment_id=segment.id, account_id=account.id, platform=account.platform,
            platform_audience_id=platform_audience, name=name, consent=request.consent, created_at=now,
        ))  # fmt: skip
        if segment.latest is not None:
            self.request_sync(audience, "changes", now)
        return audience

    def of_segment(self, segment_id: str) -> list[Audience]:
        self.segments.get(segment_id, naive_utc(self.clock()))  # 404 for what the org cannot see
        return self.repository.of_segment(self.org_id, segment_id)

    def get(self, segment_id: str, audience_id: str) -> Audience:
        return self.repository.get(self.org_id, f"{segment_id}#{audience_id}")

    def detach(self, segment_id: str, audience_id: str) -> Audience:
        """Tern stops syncing the audience; the platform's audience stays as it is (the marketer's to delete there)."""
        audience = self.get(segment_id, audience_id)
        self.repository.delete(self.org_id, f"{segment_id}#{audience_id}")
        self.results.delete(sent_key(self.org_id, audience.id))  # the hashes it held: not kept once it is not synced
        return audience

    def sync(self, segment_id: str, audience_id: str, replace: bool) -> Sync:
        """A sync asked for by a marketer (the changes since the last, or a full replace)."""
        now = naive_utc(self.clock())
        segment = self.segments.get(segment_id, now)
        if segment.latest is None:
            raise ConflictError(f"segment {segment_id} has not been evaluated yet: it has no members to sync")
        return self.request_sync(self.get(segment_id, audience_id), "replace" if replace else "changes", now)

    def request_sync(self, audience: Audience, kind: SyncKind, now: dt.datetime, sync_id: str | None = None) -> Sync:
        """The sync recorded, then the export function started on it. With a `sync_id` already recorded (a retried
        refresh), the recorded one is started again only if it never ran."""
        sync = Sync(id=sync_id or new_id(now), org_id=self.org_id, segment_id=audience.segment_id, audience_id=audience.id,
                    kind=kind, requested_at=now)  # fmt: skip
        try:
            sync = self.syncs.create(sync)
        except ConflictError:
            sync = self.syncs.get(self.org_id, sync.key())
            if sync.status != "queued":
                return sync
        self.trigger.invoke(JobRequest(org_id=self.org_id, kind="audience", id=sync.key(), segment_id=audience.segment_id).model_dump(),
                            f"audience sync {sync.id}")  # fmt: skip
        return sync

    def after_refresh(self, segment_id: str, evaluation_id: str) -> list[str]:
        """Each audience of the segment synced with the evaluation just committed (one sync each, however often the
        commit is retried)."""
        now = naive_utc(self.clock())
        return [
            self.request_sync(a, "changes", now, f"refresh-{evaluation_id}").id for a in self.repository.of_segment(self.org_id, segment_id)
        ]

    def get_sync(self, segment_id: str, audience_id: str, sync_id: str) -> Sync:
        sync = self.syncs.get(self.org_id, f"{audience_id}#{sync_id}")
        if sync.segment_id != segment_id:
            raise NotFoundError(f"sync {sync_id} not found")
        return sync
