"""Audience syncs (tern.audiences) in process, over the in-memory table and a recording platform: what each sync
sends as the segment's members and their consents change, resuming after the instance dies, one sync an audience
at a time (the one asked for meanwhile runs when the holder ends), and a replace. The platforms' own wire is held
by test_meta_audiences.py, test_google_audiences.py and the local stack's tests (test_exports.py)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from tern.audiences.accounts import AdAccounts
from tern.audiences.audiences import Audiences
from tern.audiences.model import AudienceRequest, MetaAccountRequest
from tern.audiences.platforms import Op, Outcome, Reply
from tern.audiences.repository import AdAccountRepository, AudienceRepository, SyncRepository
from tern.audiences.sync import AudienceSyncs
from tern.exports.jobs import JobRequest
from tern.exports.matching import Member
from tern.exports.meta import MetaRefused
from tern.lists.repository import ListRepository
from tern.segments.lifecycle import Segments
from tern.segments.repository import SegmentRepository
from tern.segments.segment import Evaluation, Segment

from fakes import MemoryScheduler, MemorySecrets, MemoryTable, MemoryTrigger, RowsEngine

NOW = dt.datetime(2026, 12, 1, 12, 0)


class Died(BaseException):
    """The instance stopped mid-run: nothing in Tern catches it."""


@dataclass
class Recording:
    """A platform that matches on e-mail alone, takes two members a batch, and may die after `die_after` batches."""

    batch_size: int = 2
    sent: list[tuple[Op, list[str], int, bool]] = field(default_factory=list)
    die_after: int | None = None
    fail_after: int | None = None
    meanwhile: Any = None  # called once, as the first batch is sent

    def check(self) -> str:
        return "Test account"

    def create(self, name: str, description: str) -> str:
        return "9001"

    def payload(self, member: Member) -> str | None:
        return json.dumps([member.email]) if member.email else None

    def send(self, audience_id: str, op: Op, payloads: list[str], batch: int, last: bool, total: int, sync_id: str) -> Reply:
        if self.die_after is not None and len(self.sent) == self.die_after:
            self.die_after = None
            raise Died
        if self.meanwhile is not None:
            self.meanwhile, meanwhile = None, self.meanwhile
            meanwhile()
        if self.fail_after is not None and len(self.sent) == self.fail_after:
            self.fail_after = None
            raise MetaRefused("Meta refused a field of the request: (#100) Invalid parameter")
        self.sent.append((op, [json.loads(p)[0] for p in payloads], batch, last))
        return Reply(1)

    def outcome(self, request_ids: list[str]) -> Outcome:
        return Outcome(0, None, {})

    def taken(self, op: Op) -> list[str]:
        return sorted(e for o, emails, _, _ in self.sent if o == op for e in emails)


class MemoryResults:
    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def upload(self, path: str, key: str, content_type: str, filename: str) -> None:
        with open(path, "rb") as f:
            self.files[key] = f.read()

    def exists(self, key: str) -> bool:
        return key in self.files

    def size(self, key: str) -> int:
        return len(self.files[key])

    def read(self, key: str, start: int, end: int) -> bytes:
        return self.files[key][start:end]

    def put(self, key: str, body: bytes, content_type: str) -> None:
        self.files[key] = body

    def delete(self, key: str) -> None:
        self.files.pop(key, None)


def row(n: int, consent: bool = True, email: str | None = "") -> dict[str, Any]:
    return {"contact_id": f"c{n}", "email": f"c{n}@example.com" if email == "" else email, "phone": None, "first_name": None, "last_name": None,
            "city": None, "postal_code": None, "country": None, "has": consent}  # fmt: skip


class World:
    def __init__(self) -> None:
        self.table, self.trigger, self.platform, self.results = MemoryTable(), MemoryTrigger(), Recording(), MemoryResults()
        self.segments = SegmentRepository(self.table)
        self.segments.create(Segment.model_validate({
            "id": "s1", "org_id": "acme", "name": "Fans", "where": {"all": []}, "status": "live", "created_at": NOW, "updated_at": NOW,
            "latest": Evaluation(id="ev1", at=NOW, members=0, joined=0, left=0, manifest="m"), "ready_until": NOW + dt.timedelta(days=1),
        }))  # fmt: skip
        self.accounts = AdAccounts("acme", AdAccountRepository(self.table), AudienceRepository(self.table), MemorySecrets(),
                                   "tern-test-adaccount", platforms=lambda *args: self.platform, clock=lambda: NOW)  # fmt: skip
        self.audiences = Audiences("acme", AudienceRepository(self.table), SyncRepository(self.table), self.accounts,
                                   Segments("acme", self.segments, MemoryScheduler(), ListRepository(self.table)), self.trigger,
                                   self.results, lambda: NOW)  # fmt: skip
        account = self.accounts.add(MetaAccountRequest(platform="meta", name="Ads", ad_account_id="act_1", access_token="EAAB-token"))
        self.audience = self.audiences.attach("s1", AudienceRequest(account_id=account.id, consent="ads"))

    def run(self, rows: list[dict[str, Any]], request: dict[str, Any] | None = None) -> dict[str, Any]:
        request = request or self.trigger.invoked[-1]
        return AudienceSyncs(self.audiences, self.accounts, RowsEngine(rows), self.results, lambda: NOW).run(
            JobRequest.model_validate(request)
        )

    def refreshed(self, evaluation: str) -> dict[str, Any]:
        (sync_id,) = self.audiences.after_refresh("s1", evaluation)
        return self.trigger.invoked[-1] | {"id": f"{self.audience.id}#{sync_id}"}


def test_each_sync_sends_the_changes_in_members_consents_and_identifiers_and_resumes_after_dying() -> None:
    world = World()
    first = world.run([row(1), row(2), row(3, consent=False), row(4), row(5, email=None)])  # attached to an evaluated segment: synced
    assert first["status"] == "done" and (first["added"], first["removed"], first["without_consent"], first["unmatchable"]) == (3, 0, 1, 1)
    assert world.platform.taken("add") == ["c1@example.com", "c2@example.com", "c4@example.com"]
    assert [(b, last) for _, _, b, last in world.platform.sent] == [(1, False), (2, True)]  # two a batch, the last flagged

    # c1 leaves, c2 withdraws the consent, c4's e-mail changes, c3 gives the consent, c6 joins; the instance dies after
    # the first batch and Lambda runs the event again
    world.platform.sent.clear()
    world.platform.die_after = 1
    request = world.refreshed("ev2")
    changed = [row(2, consent=False), row(3), row(4, email="new4@example.com"), row(6)]
    with pytest.raises(Died):
        world.run(changed, request)
    again = world.run(changed, request)
    assert again["status"] == "done" and (again["added"], again["removed"], again["members"]) == (3, 3, 3)
    assert world.platform.taken("remove") == ["c1@example.com", "c2@example.com", "c4@example.com"]  # each once
    assert world.platform.taken("add") == ["c3@example.com", "c6@example.com", "new4@example.com"]
    assert world.platform.sent[0][0] == "remove"  # removes first: a changed identifier is never held twice
    audience = world.audiences.get("s1", world.audience.id)
    assert audience.running is None and audience.last_sync is not None and audience.last_sync.sync_id == "refresh-ev2"

    # a refresh retried: the same sync, not started again; nothing changed: nothing sent
    assert world.refreshed("ev2")["id"] == request["id"] and world.run(changed, request)["skipped"]
    world.platform.sent.clear()
    assert world.run(changed, world.refreshed("ev3"))["added"] == 0 and world.platform.sent == []


def test_a_sync_asked_for_while_another_holds_the_audience_runs_when_it_ends_and_a_replace_sends_everyone() -> None:
    world = World()
    holder = world.trigger.invoked[-1]
    asked = world.audiences.sync("s1", world.audience.id, replace=True)
    waiting = world.trigger.invoked[-1]
    audience = world.audiences.get("s1", world.audience.id)
    world.audiences.repository.save(audience.model_copy(update={"running": holder["id"].split("#")[1], "running_since": NOW}))
    skipped = world.run([row(1)], waiting)
    assert skipped["status"] == "skipped" and asked.id == skipped["id"]
    ran = world.run([row(1), row(2)], holder)  # planned after the replace was asked for: it is that replace
    assert ran["status"] == "done" and ran["kind"] == "replace"
    assert world.platform.taken("replace") == ["c1@example.com", "c2@example.com"]
    follow = world.trigger.invoked[-1]
    assert follow["id"].endswith(f"#after-{holder['id'].split('#')[1]}")  # the holder started the one asked for meanwhile
    world.platform.sent.clear()
    after = world.run([row(1), row(2)], follow)
    assert (after["status"], after["kind"], world.platform.sent) == ("done", "changes", [])
    assert world.audiences.get("s1", world.audience.id).running is None


def test_a_sync_that_fails_halfway_is_followed_by_a_replace_and_a_second_run_of_one_sync_leaves_it_to_the_first() -> None:
    world = World()
    first = world.trigger.invoked[-1]
    world.platform.fail_after = 1  # the platform refuses the second batch for good
    failed = world.run([row(1), row(2), row(3), row(4)], first)
    assert failed["status"] == "failed" and "refused" in failed["error"]
    audience = world.audiences.get("s1", world.audience.id)
    assert audience.running is None and audience.owed_replace
    # c3 and c4 were never added, c1 leaves: the next sync replaces, and the platform holds exactly c2, c3, c4
    world.platform.sent.clear()
    again = world.run([row(2), row(3), row(4)], world.refreshed("ev2"))
    assert again["kind"] == "replace" and world.platform.taken("replace") == ["c2@example.com", "c3@example.com", "c4@example.com"]
    assert not world.audiences.get("s1", world.audience.id).owed_replace

    # two runs of one sync at once (a delivery twice): the second takes it over, and the first quits without ending it
    request = world.refreshed("ev3")
    syncs = world.audiences.syncs

    def second_run() -> None:
        running = syncs.get("acme", request["id"])
        syncs.save(running.model_copy(update={"runner": "the-second-run"}))

    world.platform.meanwhile = second_run
    assert "being run again" in world.run([row(2), row(5)], request)["skipped"]
    left = syncs.get("acme", request["id"])
    assert (left.status, left.runner) == ("running", "the-second-run")  # not failed, not released: the second run has it
    assert world.audiences.get("s1", world.audience.id).running == left.id
    assert world.run([row(2), row(5)], request)["status"] == "done"  # ...and finishes it
    assert world.audiences.get("s1", world.audience.id).running is None
