"""The local Athena (tern_local.athena) speaks Athena's wire format, and Tern's Athena engine reads it right.

Athena renders every value as a string: arrays `[a, b]` and maps `{k=v}` with the strings inside unquoted,
timestamps with milliseconds, doubles as Java prints them, NULL as a datum with no value, the column names
as the first row of a SELECT. These tests hold the local Athena to that, and hold Tern to never splitting
those strings: a contact's consents and attributes full of commas, brackets and equals signs come back
exact through the engine (they did not, when Tern parsed the rendering).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from local_athena import REGION, athena_engine, local_athena
from tern.aws.s3 import S3ResultFiles
from tern.engines.athena import AthenaEngine
from tern.errors import QueryError
from tern.journeys.entry import SNAPSHOT, plan, rows_in
from tern.parquet import CONTACTS_SCHEMA
from tern.segments.compiler import compile_segment
from tern.segments.definition import parse_definition
from tern_local.athena import render

NOW = dt.datetime(2026, 11, 22, 12)
HOSTILE_CONSENTS = ["email_marketing", "a, b", "[x]", "k=v", "{y}", ""]
HOSTILE_ATTRIBUTES = {"note": "a, b", "k=v": "{y}", "list": "[1, 2]", "empty": ""}


def _contacts(root: Path) -> None:
    rows = [
        {"contact_id": "h1", "email": "h1@example.com", "consents": HOSTILE_CONSENTS, "attributes": list(HOSTILE_ATTRIBUTES.items()),
         "lead_score": 42, "created_at": dt.datetime(2026, 11, 22, 10, 0, 0, 123456), "birth_date": dt.date(1990, 5, 10), "latitude": 12345678.0},
        {"contact_id": "h2", "email": None, "consents": [], "attributes": [], "lead_score": None, "created_at": None, "latitude": 0.5},
    ]  # fmt: skip
    folder = root / "contacts" / "org_id=acme"
    folder.mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pylist([{name: row.get(name) for name in CONTACTS_SCHEMA.names} for row in rows], schema=CONTACTS_SCHEMA),
        folder / "part-0.parquet",
    )


@pytest.fixture()
def lake(tmp_path: Path) -> Path:
    _contacts(tmp_path)
    return tmp_path


@pytest.fixture()
def athena(lake: Path) -> Iterator[Any]:
    with local_athena(lake) as client:
        yield client


def run(client: Any, sql: str) -> str:
    query_id = client.start_query_execution(QueryString=sql, WorkGroup="tern-test", QueryExecutionContext={"Database": "tern"})[
        "QueryExecutionId"
    ]
    for _ in range(200):
        if client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["State"] not in ("QUEUED", "RUNNING"):
            break
    return str(query_id)


def test_values_are_rendered_as_athena_renders_them(athena: Any) -> None:
    query_id = run(athena, "SELECT contact_id, consents, attributes, lead_score, created_at, birth_date, latitude, email IS NULL AS no_email "
                           "FROM tern.contacts WHERE org_id = 'acme' ORDER BY contact_id")  # fmt: skip
    result = athena.get_query_results(QueryExecutionId=query_id)["ResultSet"]
    header, h1, h2 = ([d.get("VarCharValue") for d in row["Data"]] for row in result["Rows"])
    assert header == ["contact_id", "consents", "attributes", "lead_score", "created_at", "birth_date", "latitude", "no_email"]
    assert h1 == ["h1", "[email_marketing, a, b, [x], k=v, {y}, ]", "{note=a, b, k=v={y}, list=[1, 2], empty=}", "42",
                  "2026-11-22 10:00:00.123", "1990-05-10", "1.2345678E7", "false"]  # fmt: skip
    assert h2 == ["h2", "[]", "{}", None, None, None, "0.5", "true"]
    assert result["Rows"][2]["Data"][3] == {}  # a NULL is a datum with no value
    types = [c["Type"] for c in result["ResultSetMetadata"]["ColumnInfo"]]
    assert types == ["varchar", "array", "map", "bigint", "timestamp", "date", "double", "boolean"]


def test_tern_reads_lists_and_maps_exactly_however_hostile(athena: Any) -> None:
    definition = parse_definition(
        {"name": "all", "where": {"all": [{"kind": "attribute", "field": "contact_id", "op": "eq", "value": "h1"}]}}
    )
    sql = compile_segment(definition, "acme", NOW, dialect="athena", database="tern").contact_rows_sql(SNAPSHOT)
    (contact,) = athena_engine(athena).run(sql).rows[0][1:]  # through GetQueryResults
    query_id = run(athena, sql)  # and as a journey's run reads it: the CSV result, by byte ranges
    files = S3ResultFiles(boto3.client("s3", region_name=REGION), "results")
    csv_key = f"athena/{query_id}.csv"
    (row,) = [r for one in plan(files.size(csv_key)) for r in rows_in(files, csv_key, one["start"], one["end"])]
    for read in (contact, row):
        assert read["consents"] == HOSTILE_CONSENTS and read["attributes"] == HOSTILE_ATTRIBUTES and read["lead_score"] == 42


def test_types_come_back_typed(athena: Any) -> None:
    result = athena_engine(athena).run("SELECT created_at, birth_date, latitude, lead_score FROM tern.contacts WHERE contact_id = 'h1'")
    assert result.rows == [(dt.datetime(2026, 11, 22, 10, 0, 0, 123000), dt.date(1990, 5, 10), 12345678.0, 42)]


def test_pages_of_a_thousand_rows_joined_by_next_token(athena: Any) -> None:
    sql = "SELECT n FROM UNNEST(sequence(1, 2500)) AS t(n) ORDER BY n"
    query_id = run(athena, sql)
    first = athena.get_query_results(QueryExecutionId=query_id, MaxResults=1000)
    assert (
        len(first["ResultSet"]["Rows"]) == 1000 and first["ResultSet"]["Rows"][0]["Data"][0]["VarCharValue"] == "n" and first["NextToken"]
    )
    assert [r[0] for r in athena_engine(athena, page_size=1000).run(sql).rows] == list(range(1, 2501))
    other = base64.urlsafe_b64encode(f"{run(athena, 'SELECT 1')}:1000".encode()).decode()
    for forged in (
        "not-a-token",
        other,
        base64.urlsafe_b64encode(f"{query_id}:-5".encode()).decode(),
    ):  # garbage, another query's, negative
        with pytest.raises(athena.exceptions.InvalidRequestException):
            athena.get_query_results(QueryExecutionId=query_id, NextToken=forged)


def test_results_are_written_as_csv_to_the_workgroup_location(athena: Any) -> None:
    query_id = run(athena, "SELECT contact_id, email, lead_score FROM tern.contacts ORDER BY contact_id")
    execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert execution["ResultConfiguration"]["OutputLocation"] == f"s3://results/athena/{query_id}.csv"
    body = boto3.client("s3", region_name=REGION).get_object(Bucket="results", Key=f"athena/{query_id}.csv")["Body"].read().decode()
    assert body == '"contact_id","email","lead_score"\n"h1","h1@example.com","42"\n"h2",,\n'


def test_a_failing_statement_fails_the_query_with_a_reason(athena: Any) -> None:
    query_id = run(athena, "SELECT no_such_column FROM tern.contacts")
    status = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]
    assert status["State"] == "FAILED" and "no_such_column" in status["StateChangeReason"]
    with pytest.raises(QueryError, match="failed"):
        athena_engine(athena).run("SELECT no_such_column FROM tern.contacts")
    with pytest.raises(athena.exceptions.InvalidRequestException):
        athena.get_query_results(QueryExecutionId=query_id)


def test_unload_writes_parquet_once_and_refuses_a_location_that_is_not_empty(athena: Any) -> None:
    sql = "SELECT contact_id, consents FROM tern.contacts ORDER BY contact_id"
    rows = [row for batch in athena_engine(athena).batches(sql, "job-1") for row in batch.to_pylist()]
    assert rows == [{"contact_id": "h1", "consents": HOSTILE_CONSENTS}, {"contact_id": "h2", "consents": []}]
    query_id = run(athena, f"UNLOAD ({sql}) TO 's3://results/unload/job-1/' WITH (format = 'PARQUET', compression = 'SNAPPY')")
    assert (
        "HIVE_PATH_ALREADY_EXISTS" in athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]["Status"]["StateChangeReason"]
    )


def test_doubles_and_nested_values_render_as_java_and_trino_print_them() -> None:
    assert [render(v, "double") for v in (1.5, 100.0, 1e7, 1e-4, 0.001, -2.5e-7)] == ["1.5", "100.0", "1.0E7", "1.0E-4", "0.001", "-2.5E-7"]
    assert render([["a", None], []], "array") == "[[a, null], []]"
    assert render({"a": 1}, "json") == '{"a":1}' and render('["x"]', "json") == '["x"]'
    assert json.loads(render('{"k": "v=1"}', "json") or "") == {"k": "v=1"}


def test_a_query_over_the_workgroups_bytes_cutoff_is_cancelled(athena: Any, lake: Path) -> None:
    size = sum(f.stat().st_size for f in (lake / "contacts").glob("**/*.parquet"))
    from moto.athena.models import athena_backends

    for name, cutoff in (("tern-roomy", size), ("tern-capped", size - 1)):
        athena.create_work_group(Name=name, Configuration={
            "EnforceWorkGroupConfiguration": True, "ResultConfiguration": {"OutputLocation": "s3://results/athena/"},
            "BytesScannedCutoffPerQuery": 10_000_000,  # the least AWS takes: set below to fit this tiny lake
        })  # fmt: skip
        athena_backends["123456789012"][REGION].work_groups[name].configuration["BytesScannedCutoffPerQuery"] = cutoff
    roomy = AthenaEngine(athena, "tern-roomy", "tern", first_poll_s=0.01)
    assert roomy.run("SELECT count(*) FROM tern.contacts").rows == [(2,)]
    with pytest.raises(QueryError, match="Bytes scanned limit was exceeded"):
        AthenaEngine(athena, "tern-capped", "tern", first_poll_s=0.01).run("SELECT count(*) FROM tern.contacts")
    query_id = athena.start_query_execution(QueryString="SELECT count(*) FROM tern.contacts", WorkGroup="tern-capped")["QueryExecutionId"]
    execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
    assert execution["Status"]["State"] == "CANCELLED" and execution["Statistics"]["DataScannedInBytes"] == size
