"""The Athena engine against moto's Athena: start in the workgroup, poll with backoff, paged results, failures."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.athena.models import QueryResults, athena_backends
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_api import state_manager

from tern.engines.athena import AthenaEngine
from tern.errors import QueryError
from tern.segments.definition import parse_definition
from tern.segments.evaluate import members
from tern_local.template import properties

REGION = "eu-central-1"


@pytest.fixture()
def athena() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("athena", region_name=REGION)
        work_group = properties("AthenaWorkGroup")
        client.create_work_group(
            Name="tern-test",
            Configuration={"ResultConfiguration": {"OutputLocation": "s3://tern-results/athena/"}},
            Description=work_group["Description"],
        )
        yield client
        state_manager.unset_transition("athena::execution")


def backend() -> Any:
    return athena_backends[DEFAULT_ACCOUNT_ID][REGION]


def queue(columns: list[tuple[str, str]], rows: list[list[str | None]]) -> None:
    header = {"Data": [{"VarCharValue": name} for name, _ in columns]}
    data = [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows]
    backend().query_results_queue.append(QueryResults(rows=[header, *data], column_info=[{"Name": n, "Type": t} for n, t in columns]))


class Paged:
    """moto answers get_query_results in one page; this slices its answer into pages with NextToken."""

    def __init__(self, client: Any, size: int):
        self._client, self.size, self.pages_read = client, size, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def get_query_results(self, QueryExecutionId: str, MaxResults: int, NextToken: str | None = None) -> dict[str, Any]:
        full = self._client.get_query_results(QueryExecutionId=QueryExecutionId)
        start = int(NextToken or 0)
        rows = full["ResultSet"]["Rows"]
        page = {"ResultSet": {**full["ResultSet"], "Rows": rows[start : start + self.size]}}
        if start + self.size < len(rows):
            page["NextToken"] = str(start + self.size)
        self.pages_read += 1
        return page


def test_a_query_runs_in_the_workgroup_and_its_rows_are_typed(athena: Any) -> None:
    queue(
        [("contact_id", "varchar"), ("n", "bigint"), ("ok", "boolean"), ("x", "double")],
        [["c1", "3", "true", "1.5"], ["c2", None, "false", None]],
    )
    engine = AthenaEngine(athena, "tern-test", "tern_dev", sleep=lambda s: None)
    result = engine.run("SELECT 1")
    assert result.columns == ["contact_id", "n", "ok", "x"]
    assert result.rows == [("c1", 3, True, 1.5), ("c2", None, False, None)]
    (query_id,) = backend().executions
    assert backend().executions[query_id].workgroup.name == "tern-test"
    assert backend().executions[query_id].context == {"Database": "tern_dev"}


def test_polling_backs_off_until_the_query_succeeds(athena: Any) -> None:
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 4})
    queue([("contact_id", "varchar")], [["c1"]])
    waits: list[float] = []
    engine = AthenaEngine(athena, "tern-test", "tern_dev", first_poll_s=0.2, max_poll_s=0.5, sleep=waits.append)
    assert engine.run("SELECT 1").rows == [("c1",)]
    assert len(waits) >= 2 and waits[0] == 0.2 and waits == sorted(waits) and max(waits) <= 0.5


def test_results_are_read_page_by_page(athena: Any) -> None:
    queue([("contact_id", "varchar")], [[f"c{i:04d}"] for i in range(2500)])
    paged = Paged(athena, size=1000)
    engine = AthenaEngine(paged, "tern-test", "tern_dev", sleep=lambda s: None)  # type: ignore[arg-type]
    rows = engine.run("SELECT contact_id FROM contacts").rows
    assert [r[0] for r in rows] == [f"c{i:04d}" for i in range(2500)]
    assert paged.pages_read == 3


@pytest.mark.parametrize("end", ["FAILED", "CANCELLED"])
def test_a_failed_or_cancelled_query_is_a_clear_error(athena: Any, end: str) -> None:
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 50})

    def meanwhile(seconds: float) -> None:
        (query_id,) = backend().executions
        if end == "CANCELLED":
            athena.stop_query_execution(QueryExecutionId=query_id)
        else:
            backend().executions[query_id].status = "FAILED"

    engine = AthenaEngine(athena, "tern-test", "tern_dev", sleep=meanwhile)
    with pytest.raises(QueryError, match=rf"Athena query [0-9a-f-]+ {end.lower()}"):
        engine.run("SELECT 1")


def test_a_query_that_runs_too_long_is_cancelled(athena: Any) -> None:
    state_manager.set_transition("athena::execution", {"progression": "manual", "times": 10_000})
    engine = AthenaEngine(athena, "tern-test", "tern_dev", timeout_s=1, first_poll_s=0.4, sleep=lambda s: None)
    with pytest.raises(QueryError, match="did not finish in 1 s"):
        engine.run("SELECT 1")
    (execution,) = backend().executions.values()
    assert execution.status == "CANCELLED"


def test_segment_members_through_athena(athena: Any) -> None:
    queue([("contact_id", "varchar")], [["c1"], ["c7"]])
    engine = AthenaEngine(athena, "tern-test", "tern_dev", sleep=lambda s: None)
    definition = parse_definition(
        {"name": "s", "where": {"all": [{"kind": "attribute", "field": "city", "op": "eq", "value": "Warszawa"}]}}
    )
    assert members(definition, engine, "acme", dt.datetime(2026, 11, 22)) == ["c1", "c7"]
    (execution,) = backend().executions.values()
    assert "FROM tern_dev.contacts AS c" in execution.query and "c.org_id = 'acme'" in execution.query


def test_batches_unload_to_the_results_bucket_once_and_read_back(athena: Any) -> None:
    import pyarrow as pa

    from tern.parquet import parquet_bytes

    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket="tern-results", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="tern-results", Key="unload/job-1/stale-part", Body=b"left by a failed attempt")
    engine = AthenaEngine(athena, "tern-test", "tern", first_poll_s=0, sleep=lambda s: None, s3_client=s3, results_bucket="tern-results")
    assert list(engine.batches("SELECT contact_id FROM tern.contacts", "job-1")) == []  # moto's UNLOAD writes no rows
    started = [e.query for e in backend().executions.values()]
    assert started == [
        "UNLOAD (SELECT contact_id FROM tern.contacts) TO 's3://tern-results/unload/job-1/' WITH (format = 'PARQUET', compression = 'SNAPPY')"
    ]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="tern-results", Prefix="unload/job-1/")["Contents"]]
    assert keys == ["unload/job-1/_done"]  # the stale part went before UNLOAD (it wants an empty location)

    # what Athena writes: parts, read back a batch at a time; a second call does not run the query again
    s3.put_object(Bucket="tern-results", Key="unload/job-1/part-0", Body=parquet_bytes(pa.table({"contact_id": ["a", "b"]})))
    s3.put_object(Bucket="tern-results", Key="unload/job-1/part-1", Body=parquet_bytes(pa.table({"contact_id": ["c"]})))
    rows = [r for b in engine.batches("SELECT contact_id FROM tern.contacts", "job-1") for r in b.column("contact_id").to_pylist()]
    assert rows == ["a", "b", "c"] and len(backend().executions) == 1
    engine.release("job-1")
    assert "Contents" not in s3.list_objects_v2(Bucket="tern-results", Prefix="unload/job-1/")
