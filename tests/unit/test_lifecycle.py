"""Segment lifecycle on moto: statuses, schedules on EventBridge Scheduler, readiness, copies, org binding."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tern.aws.dynamodb import Table
from tern.aws.scheduler import EventBridgeScheduler
from tern.engines.duckdb import DuckDBEngine
from tern.errors import ConflictError, NotFoundError
from tern.journeys.lifecycle import JourneyRuns
from tern.journeys.lifecycle import schedule_name as journey_schedule_name
from tern.journeys.model import EventEntry, Journey
from tern.lists.repository import ListRepository
from tern.segments.evaluate import members as evaluate_members
from tern.segments.lifecycle import SegmentDraft, Segments, is_ready, schedule_name
from tern.segments.membership import manifest_prefix
from tern.segments.repository import SegmentRepository
from tern.segments.segment import Evaluation, Every, Segment
from tern_local.generator import generate
from tern_local.template import create_table

NOW = dt.datetime(2026, 11, 22, 12)
REGION = "eu-central-1"
TARGET = f"arn:aws:states:{REGION}:123456789012:stateMachine:tern-segment-refreshes-dev"
ROLE = "arn:aws:iam::123456789012:role/tern-scheduler"
DEAD_LETTERS = "arn:aws:sqs:eu-central-1:123456789012:tern-failures-dev"
DRAFT = SegmentDraft.model_validate({
    "name": "Warsaw", "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"}]},
    "refresh": {"every": 6, "unit": "hours"}, "readiness_hours": 12,
})  # fmt: skip


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> DuckDBEngine:
    root: Path = tmp_path_factory.mktemp("lifecycle-lake")
    generate(root, contacts=400, events_per_contact=5, days=30, org="acme", seed=3, now=NOW)
    return DuckDBEngine(root)


@pytest.fixture()
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name=REGION), "TernTable", "tern")
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="results", CreateBucketConfiguration={"LocationConstraint": REGION})
        scheduler = boto3.client("scheduler", region_name=REGION)
        scheduler.create_schedule_group(Name="tern")
        table = Table(boto3.resource("dynamodb", region_name=REGION).Table("tern"))
        repository = SegmentRepository(table)
        lists = ListRepository(table)
        schedules = EventBridgeScheduler(scheduler, "tern", TARGET, ROLE, DEAD_LETTERS)
        yield {
            "acme": Segments("acme", repository, schedules, lists),
            "globex": Segments("globex", repository, schedules, lists),
            "scheduler": scheduler,
        }


def evaluate(segments: Segments, segment_id: str, engine: DuckDBEngine, now: dt.datetime) -> Segment:
    """What the refresh workflow does to the segment's record: begin (ConflictError unless live), commit."""
    segment = segments.begin_refresh(segments.get(segment_id, now), "e1", now)
    found = evaluate_members(segment.definition(), engine, segments.org_id, now)
    evaluation = Evaluation(
        id="e1", at=now, members=len(found), joined=len(found), left=0, manifest=manifest_prefix(segments.org_id, segment_id, "e1")
    )
    return segments.commit_refresh(segment_id, evaluation)


def schedule_of(aws: dict[str, Any], segment: Any) -> dict[str, Any] | None:
    try:
        found: dict[str, Any] = aws["scheduler"].get_schedule(Name=schedule_name(segment), GroupName="tern")
        return found
    except aws["scheduler"].exceptions.ResourceNotFoundException:
        return None


def test_going_live_schedules_refreshes_and_archiving_removes_them(aws: dict[str, Any]) -> None:
    acme: Segments = aws["acme"]
    draft = acme.create(DRAFT, NOW)
    assert draft.status == "draft" and schedule_of(aws, draft) is None
    live = acme.go_live(draft.id, NOW)
    schedule = schedule_of(aws, live)
    assert schedule is not None
    assert schedule["ScheduleExpression"] == "rate(6 hours)"
    assert schedule["Target"]["DeadLetterConfig"] == {"Arn": DEAD_LETTERS}  # what keeps failing waits in the failures queue
    assert schedule["Target"]["Arn"] == TARGET and schedule["Target"]["RoleArn"] == ROLE
    assert json.loads(schedule["Target"]["Input"]) == {"org_id": "acme", "segment_id": live.id}
    archived = acme.archive(live.id, NOW)
    assert archived.status == "archived" and schedule_of(aws, archived) is None


def test_a_one_time_segment_is_scheduled_once_and_archives_after_its_readiness(aws: dict[str, Any], engine: DuckDBEngine) -> None:
    acme: Segments = aws["acme"]
    segment = acme.go_live(acme.create(DRAFT.model_copy(update={"refresh": "once"}), NOW).id, NOW)
    schedule = schedule_of(aws, segment)
    assert schedule is not None and schedule["ScheduleExpression"] == "at(2026-11-22T12:01:00)"
    done = evaluate(acme, segment.id, engine, NOW)
    assert done.latest is not None and done.latest.members > 0 and done.evaluating_since is None and done.pending_manifests == []
    assert is_ready(done, NOW + dt.timedelta(hours=12))
    assert acme.get(segment.id, NOW + dt.timedelta(hours=11)).status == "live"
    later = acme.get(segment.id, NOW + dt.timedelta(hours=13))
    assert later.status == "archived" and not is_ready(later, NOW + dt.timedelta(hours=13))


def test_a_recurring_segment_waits_for_its_next_refresh(aws: dict[str, Any], engine: DuckDBEngine) -> None:
    acme: Segments = aws["acme"]
    segment = acme.go_live(acme.create(DRAFT, NOW).id, NOW)
    evaluate(acme, segment.id, engine, NOW)
    later = acme.get(segment.id, NOW + dt.timedelta(hours=13))
    assert later.status == "live" and not is_ready(later, NOW + dt.timedelta(hours=13))


def test_only_drafts_are_edited_and_only_live_segments_evaluated(aws: dict[str, Any], engine: DuckDBEngine) -> None:
    acme: Segments = aws["acme"]
    draft = acme.create(DRAFT, NOW)
    edited = acme.update(draft.id, DRAFT.model_copy(update={"name": "Warsaw, edited"}), NOW)
    assert edited.name == "Warsaw, edited" and edited.version == draft.version + 1
    with pytest.raises(ConflictError, match="it is draft, not live"):
        evaluate(acme, draft.id, engine, NOW)
    acme.go_live(draft.id, NOW)
    with pytest.raises(ConflictError, match="cannot edit segment .*: it is live, not draft"):
        acme.update(draft.id, DRAFT, NOW)
    with pytest.raises(ConflictError):
        acme.go_live(draft.id, NOW)


def test_delete_is_soft_and_restore_brings_back_the_status_and_schedule(aws: dict[str, Any]) -> None:
    acme: Segments = aws["acme"]
    live = acme.go_live(acme.create(DRAFT, NOW).id, NOW)
    deleted = acme.delete(live.id, NOW)
    assert deleted.status == "deleted" and schedule_of(aws, deleted) is None
    assert [s.id for s in acme.list_segments(NOW)] == [] and [s.id for s in acme.list_segments(NOW, include_deleted=True)] == [live.id]
    with pytest.raises(ConflictError):
        acme.delete(live.id, NOW)
    restored = acme.restore(live.id, NOW)
    assert restored.status == "live" and schedule_of(aws, restored) is not None


def test_copy_is_a_new_draft(aws: dict[str, Any]) -> None:
    acme: Segments = aws["acme"]
    live = acme.go_live(acme.create(DRAFT, NOW).id, NOW)
    copy = acme.copy(live.id, NOW)
    assert copy.id != live.id and copy.status == "draft" and copy.name == "Copy of Warsaw"
    assert copy.where == live.where and copy.refresh == Every(every=6, unit="hours")


def test_another_org_finds_nothing(aws: dict[str, Any], engine: DuckDBEngine) -> None:
    acme: Segments = aws["acme"]
    globex: Segments = aws["globex"]
    segment = acme.create(DRAFT, NOW)
    for act in (
        lambda: globex.get(segment.id, NOW),
        lambda: globex.update(segment.id, DRAFT, NOW),
        lambda: globex.go_live(segment.id, NOW),
        lambda: globex.archive(segment.id, NOW),
        lambda: globex.delete(segment.id, NOW),
        lambda: globex.restore(segment.id, NOW),
        lambda: globex.copy(segment.id, NOW),
        lambda: evaluate(globex, segment.id, engine, NOW),
    ):
        with pytest.raises(NotFoundError):
            act()
    assert globex.list_segments(NOW) == []
    assert acme.get(segment.id, NOW).status == "draft"


def test_a_recurring_journey_is_scheduled_until_it_ends_and_an_event_journey_a_little_after(aws: dict[str, Any]) -> None:
    schedules = EventBridgeScheduler(aws["scheduler"], "tern", TARGET, ROLE, DEAD_LETTERS)
    runs = JourneyRuns(machines=None, run_machine_arn=TARGET, scheduler=schedules)  # type: ignore[arg-type]
    body = json.loads((Path(__file__).resolve().parents[2] / "examples" / "journeys" / "classic.json").read_text())
    ends = dt.datetime(2026, 12, 31, 23, 0, tzinfo=dt.UTC)
    weekly = Journey(**{**body, "mode": "recurring", "every": {"every": 7, "unit": "days"}, "ends_at": ends.isoformat()},
                     id="j1", org_id="acme", created_at=NOW, updated_at=NOW)  # fmt: skip
    runs.schedule(weekly, NOW)
    found = aws["scheduler"].get_schedule(Name=journey_schedule_name(weekly), GroupName="tern")
    assert (found["ScheduleExpression"], found["EndDate"]) == ("rate(7 days)", ends)
    by_event = weekly.model_copy(update={"id": "j2", "mode": "one_time", "every": None, "audience": None,
                                         "entry": EventEntry.model_validate({"kind": "event", "event_type": "purchase"})})  # fmt: skip
    runs.schedule(by_event, NOW)
    found = aws["scheduler"].get_schedule(Name=journey_schedule_name(by_event), GroupName="tern")
    assert (found["ScheduleExpression"], found["EndDate"]) == ("rate(1 minute)", ends + dt.timedelta(minutes=5))  # the last in line start
    runs.schedule(weekly.model_copy(update={"id": "j3"}), dt.datetime(2027, 1, 2))  # published after its end: no EndDate in the past
    assert "EndDate" not in aws["scheduler"].get_schedule(
        Name=journey_schedule_name(weekly.model_copy(update={"id": "j3"})), GroupName="tern"
    )
