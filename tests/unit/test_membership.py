"""Stored membership: each refresh writes a manifest and only the difference, survives crashes, converges."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tern.aws.dynamodb import Table
from tern.aws.s3 import S3LakeFiles
from tern.engines.duckdb import DuckDBEngine
from tern.errors import ConflictError, NotFoundError, QueryError
from tern.segments import membership
from tern.segments.definition import parse_definition
from tern.segments.evaluate import members as evaluate_members
from tern.segments.manifests import Manifests
from tern.segments.membership import plan, refresh
from tern.segments.repository import SegmentRepository
from tern.segments.segment import Segment
from tern_local.generator import generate
from tern_local.template import create_table

NOW = dt.datetime(2026, 11, 22, 12)
ACTIVE_WEEK = {"all": [{"kind": "recency", "op": "within", "days": 7}]}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("members-lake")
    generate(root, contacts=1500, events_per_contact=12, days=90, org="acme", seed=21, now=NOW)
    return root


@pytest.fixture(scope="module")
def engine(lake: Path) -> DuckDBEngine:
    return DuckDBEngine(lake)


@pytest.fixture()
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="eu-central-1")
        create_table(dynamodb, "TernTable", "tern-test")
        s3 = boto3.client("s3", region_name="eu-central-1")
        s3.create_bucket(Bucket="tern-results", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
        table = Table(boto3.resource("dynamodb", region_name="eu-central-1").Table("tern-test"))
        yield {"repository": SegmentRepository(table), "manifests": Manifests(S3LakeFiles(s3, "tern-results")), "table": table}


def new_segment(repository: SegmentRepository, where: dict[str, Any] = ACTIVE_WEEK, org: str = "acme", id: str = "s1") -> Segment:
    return repository.create(Segment(id=id, org_id=org, name="active this week", where=where, status="live", created_at=NOW, updated_at=NOW))  # type: ignore[arg-type]


def stored(repository: SegmentRepository, org: str = "acme", id: str = "s1") -> set[str]:
    ids: list[str] = []
    cursor = None
    while True:
        page, cursor = repository.members(org, id, limit=500, cursor=cursor)
        ids += [m["contact_id"] for m in page]
        if cursor is None:
            return set(ids)


def expected(engine: DuckDBEngine, now: dt.datetime, where: dict[str, Any] = ACTIVE_WEEK) -> set[str]:
    return set(evaluate_members(parse_definition({"name": "x", "where": where}), engine, "acme", now))


def test_first_refresh_stores_every_member_and_a_history_row(aws: dict[str, Any], engine: DuckDBEngine) -> None:
    repository: SegmentRepository = aws["repository"]
    done = refresh(new_segment(repository), engine, repository, aws["manifests"], NOW, "e1")
    members = expected(engine, NOW)
    assert 0 < len(members) < 1500
    assert stored(repository) == members
    assert done.write_requests == len(members)
    assert (done.evaluation.members, done.evaluation.joined, done.evaluation.left) == (len(members), len(members), 0)
    assert set(aws["manifests"].read(done.evaluation.manifest)) == members
    assert [h.id for h in repository.history("acme", "s1")] == ["e1"]
    assert repository.get("acme", "s1").latest == done.evaluation
    assert done.segment.ready_until == NOW + dt.timedelta(hours=24)


def test_a_refresh_writes_only_the_difference(aws: dict[str, Any], engine: DuckDBEngine) -> None:
    repository: SegmentRepository = aws["repository"]
    first = refresh(new_segment(repository), engine, repository, aws["manifests"], NOW, "e1")
    later = NOW + dt.timedelta(days=1)
    second = refresh(first.segment, engine, repository, aws["manifests"], later, "e2")
    before, after = expected(engine, NOW), expected(engine, later)
    assert stored(repository) == after
    assert (second.evaluation.joined, second.evaluation.left) == (len(after - before), len(before - after))
    assert second.write_requests == len(after - before) + len(before - after) < len(after)
    assert [h.id for h in repository.history("acme", "s1")] == ["e2", "e1"]


def test_a_failed_evaluation_leaves_membership_whole(aws: dict[str, Any], engine: DuckDBEngine, monkeypatch: pytest.MonkeyPatch) -> None:
    repository: SegmentRepository = aws["repository"]
    first = refresh(new_segment(repository), engine, repository, aws["manifests"], NOW, "e1")

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise QueryError("the engine went away")

    monkeypatch.setattr(membership, "evaluate_members", broken)
    with pytest.raises(QueryError):
        refresh(first.segment, engine, repository, aws["manifests"], NOW + dt.timedelta(days=1), "e2")
    assert stored(repository) == expected(engine, NOW)
    assert repository.get("acme", "s1") == first.segment


@pytest.mark.parametrize("crash_after", [0, 7, 10_000])
def test_a_crash_mid_write_keeps_the_committed_state_and_the_next_refresh_converges(
    aws: dict[str, Any], engine: DuckDBEngine, monkeypatch: pytest.MonkeyPatch, crash_after: int
) -> None:
    repository: SegmentRepository = aws["repository"]
    first = refresh(new_segment(repository), engine, repository, aws["manifests"], NOW, "e1")
    real_apply = repository.apply_membership

    def crashing(org: str, sid: str, joined: list[str], left: list[str], at: dt.datetime) -> int:
        # the Lambda dies after some writes: the first `crash_after` of the joins and leaves land
        n = real_apply(org, sid, joined[:crash_after], left[:crash_after], at)
        raise TimeoutError("Task timed out")
        return n

    monkeypatch.setattr(repository, "apply_membership", crashing)
    with pytest.raises(TimeoutError):
        refresh(first.segment, engine, repository, aws["manifests"], NOW + dt.timedelta(days=3), "crashed")
    after_crash = repository.get("acme", "s1")
    assert after_crash.latest == first.evaluation  # readers still see the committed evaluation
    assert len(after_crash.pending_manifests) == 1
    assert [h.id for h in repository.history("acme", "s1")] == ["e1"]

    monkeypatch.setattr(repository, "apply_membership", real_apply)
    later = NOW + dt.timedelta(days=5)
    done = refresh(after_crash, engine, repository, aws["manifests"], later, "e3")
    assert stored(repository) == expected(engine, later)
    assert done.segment.pending_manifests == []
    before = expected(engine, NOW)
    assert (done.evaluation.joined, done.evaluation.left) == (len(expected(engine, later) - before), len(before - expected(engine, later)))


def test_two_refreshes_from_one_read_conflict(aws: dict[str, Any], engine: DuckDBEngine) -> None:
    repository: SegmentRepository = aws["repository"]
    segment = new_segment(repository)
    refresh(segment, engine, repository, aws["manifests"], NOW, "e1")
    with pytest.raises(ConflictError):
        refresh(segment, engine, repository, aws["manifests"], NOW, "e2")


def test_another_org_cannot_read_the_segment_or_its_members(aws: dict[str, Any], engine: DuckDBEngine) -> None:
    repository: SegmentRepository = aws["repository"]
    refresh(new_segment(repository), engine, repository, aws["manifests"], NOW, "e1")
    with pytest.raises(NotFoundError):
        repository.get("globex", "s1")
    assert stored(repository, org="globex") == set()
    assert repository.list_segments("globex") == []
    assert [s.id for s in repository.list_segments("acme")] == ["s1"]


@pytest.mark.parametrize(
    ("committed", "pending", "new", "puts", "deletes"),
    [
        ({"a", "b"}, [], {"b", "c"}, {"c"}, {"a"}),
        ({"a", "b"}, [{"b", "c"}], {"a", "b"}, {"a"}, {"c"}),  # a may have been deleted, c may have been put
        ({"a"}, [{"b"}, {"c"}], {"d"}, {"d"}, {"a", "b", "c"}),
        (set(), [], set(), set(), set()),
    ],
)
def test_plan_covers_every_state_a_crash_can_leave(committed: set[str], pending: list[set[str]], new: set[str], puts: set[str], deletes: set[str]) -> None:
    assert plan(committed, pending, new) == (puts, deletes)
