"""Stored membership: a refresh puts and deletes only the difference, and converges whatever a failed one left.

The rule is `plan` (the puts and deletes from the committed manifest, the pending ones and the new set); the
refresh workflow runs it as one query over the manifests (`difference_sql`). Here that query runs on DuckDB
over real Parquet manifests and is held to `plan`, over random sets; the workflow around it (UNLOAD, the Map,
commit, a failed batch) runs in the local stack (tests/integration/test_stack_api.py).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from tern.aws.dynamodb import Table
from tern.engines.duckdb import DuckDBEngine
from tern.errors import ConflictError, NotFoundError
from tern.lists.repository import ListRepository
from tern.segments.lifecycle import Segments
from tern.segments.membership import DELETE, PUT, difference_sql, evaluation_of, manifest_prefix, plan
from tern.segments.repository import SegmentRepository
from tern.segments.segment import Evaluation, Segment
from tern_local.generator import generate
from tern_local.template import create_table

NOW = dt.datetime(2026, 11, 22, 12)
ACTIVE_WEEK = {"all": [{"kind": "recency", "op": "within", "days": 7}]}
_ids = itertools.count()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("members-lake")
    generate(root, contacts=50, events_per_contact=2, days=30, org="acme", seed=21, now=NOW)
    return root


@pytest.fixture(scope="module")
def engine(lake: Path) -> DuckDBEngine:
    return DuckDBEngine(lake)


def write_manifest(lake: Path, segment_id: str, evaluation_id: str, ids: set[str]) -> None:
    """A manifest as UNLOAD leaves it (no file at all when there are no members)."""
    if ids:
        folder = lake / manifest_prefix("acme", segment_id, evaluation_id)
        folder.mkdir(parents=True)
        pq.write_table(pa.table({"contact_id": pa.array(sorted(ids), pa.string())}), folder / "part_00000.parquet")


def difference(engine: DuckDBEngine, segment_id: str, new: str, committed: str | None, pending: list[str]) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in engine.run(difference_sql("acme", segment_id, new, committed, pending, "duckdb", None)).rows]


contacts = st.sets(st.sampled_from([f"c{i}" for i in range(12)] + ["c,1", 'c"2', "ç3"]), max_size=10)


@settings(max_examples=150, deadline=None)
@given(committed=st.none() | contacts, pending=st.lists(contacts, max_size=3), new=contacts)
def test_the_difference_query_is_the_plan(
    engine: DuckDBEngine, lake: Path, committed: set[str] | None, pending: list[set[str]], new: set[str]
) -> None:
    segment_id = f"s{next(_ids)}"
    write_manifest(lake, segment_id, "new", new)
    if committed is not None:
        write_manifest(lake, segment_id, "committed", committed)
    for i, p in enumerate(pending):
        write_manifest(lake, segment_id, f"pending{i}", p)
    rows = difference(
        engine, segment_id, "new", "committed" if committed is not None else None, [f"pending{i}" for i in range(len(pending))]
    )

    puts, deletes = plan(committed or set(), pending, new)
    assert {r[0] for r in rows if r[1] == PUT} == puts
    assert {r[0] for r in rows if r[1] == DELETE} == deletes
    assert [r[0] for r in rows] == sorted(r[0] for r in rows)  # sorted, each contact once
    assert len({r[0] for r in rows}) == len(rows)
    anyone = new | (committed or set()) | set().union(*pending)
    if anyone:  # the first row always carries the totals, even when nothing changes
        was = committed or set()
        assert rows[0][2:] == (len(new), len(new - was), len(was - new))
        assert all(r[1] in (PUT, DELETE) for r in rows[1:])
    else:
        assert rows == []


@pytest.mark.parametrize(
    ("committed", "pending", "new", "puts", "deletes"),
    [
        ({"a", "b"}, [], {"b", "c"}, {"c"}, {"a"}),
        ({"a", "b"}, [{"b", "c"}], {"a", "b"}, {"a"}, {"c"}),  # a may have been deleted, c may have been put
        ({"a"}, [{"b"}, {"c"}], {"d"}, {"d"}, {"a", "b", "c"}),
        (set(), [], set(), set(), set()),
    ],
)
def test_plan_covers_every_state_a_crash_can_leave(
    committed: set[str], pending: list[set[str]], new: set[str], puts: set[str], deletes: set[str]
) -> None:
    assert plan(committed, pending, new) == (puts, deletes)


def test_a_manifest_names_its_evaluation() -> None:
    assert evaluation_of(manifest_prefix("o", "s", "e-1")) == "e-1"
    assert evaluation_of("memberships/org_id=o/segment_id=s/evaluation_id=old/members.parquet") == "old"  # as stored before
    with pytest.raises(ValueError):
        evaluation_of("lists/x.parquet")


# ----- the segment's record through a refresh: begin, commit, abandon


@pytest.fixture()
def segments() -> Iterator[dict[str, Segments]]:
    with mock_aws():
        create_table(boto3.client("dynamodb", region_name="eu-central-1"), "TernTable", "tern-test")
        table = Table(boto3.resource("dynamodb", region_name="eu-central-1").Table("tern-test"))
        repository = SegmentRepository(table)
        yield {org: Segments(org, repository, None, ListRepository(table)) for org in ("acme", "globex")}  # type: ignore[arg-type]


def new_segment(segments: Segments) -> Segment:
    segment = Segment(id="s1", org_id=segments.org_id, name="active", where=ACTIVE_WEEK, status="live", created_at=NOW, updated_at=NOW)  # type: ignore[arg-type]
    return segments.repository.create(segment)


def evaluation(id: str, members: int, at: dt.datetime = NOW) -> Evaluation:
    return Evaluation(id=id, at=at, members=members, joined=members, left=0, manifest=manifest_prefix("acme", "s1", id))


def test_one_refresh_at_a_time_and_a_retried_step_answers_as_the_first(segments: dict[str, Segments]) -> None:
    acme = segments["acme"]
    segment = acme.begin_refresh(new_segment(acme), "e1", NOW)
    assert segment.evaluating(NOW) and segment.pending_manifests == [manifest_prefix("acme", "s1", "e1")]
    assert acme.begin_refresh(segment, "e1", NOW) == segment  # the Lambda retried: nothing changes
    with pytest.raises(ConflictError, match="is being evaluated"):
        acme.begin_refresh(acme.get("s1", NOW), "e2", NOW)
    acme.abandon_refresh("s1", "e2")  # the refused one fails: it leaves e1's mark alone
    assert acme.get("s1", NOW).evaluating(NOW)
    committed = acme.commit_refresh("s1", evaluation("e1", 5))
    assert (committed.latest, committed.pending_manifests, committed.evaluating_since) == (evaluation("e1", 5), [], None)
    assert committed.ready_until == NOW + dt.timedelta(hours=committed.readiness_hours)
    assert acme.commit_refresh("s1", evaluation("e1", 5)) == committed  # retried: one history row
    assert [h.id for h in acme.history("s1", NOW, 10)] == ["e1"]


def test_a_failed_refresh_stays_pending_for_the_next_and_clears_its_mark(segments: dict[str, Segments]) -> None:
    acme = segments["acme"]
    segment = acme.begin_refresh(new_segment(acme), "e1", NOW)
    acme.commit_refresh("s1", evaluation("e1", 5))
    acme.begin_refresh(acme.get("s1", NOW), "e2", NOW)
    acme.abandon_refresh("s1", "e2")
    after = acme.get("s1", NOW)
    assert (
        not after.evaluating(NOW)
        and after.latest == evaluation("e1", 5)
        and after.pending_manifests == [manifest_prefix("acme", "s1", "e2")]
    )
    again = acme.begin_refresh(after, "e3", NOW)  # the next refresh reads e2's manifest as pending
    assert again.pending_manifests == [manifest_prefix("acme", "s1", e) for e in ("e2", "e3")]
    assert segment.version < again.version


def test_a_stale_mark_expires_and_other_orgs_see_nothing(segments: dict[str, Segments]) -> None:
    acme, globex = segments["acme"], segments["globex"]
    acme.begin_refresh(new_segment(acme), "e1", NOW)  # its workflow was stopped: no abandon ran
    later = NOW + dt.timedelta(hours=6, minutes=1)  # the refresh state machine's timeout has passed
    assert acme.begin_refresh(acme.get("s1", later), "e2", later).evaluating(later)
    with pytest.raises(NotFoundError):
        globex.begin_refresh(globex.get("s1", NOW), "e3", NOW)
    assert globex.list_segments(NOW) == []
