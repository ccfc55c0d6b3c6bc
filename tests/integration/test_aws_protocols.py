"""The local stack answers the AWS SDKs people have, whichever protocol their SDK speaks.

Athena moved from JSON 1.1 (`POST /`, `X-Amz-Target: AmazonAthena.<Operation>`) to rest-json
(`POST /query-executions`, `GET /query-executions/{id}/results`, ...) in botocore 1.44.14; an SDK from before
and one from after must both work against `tern serve`. The installed boto3 speaks the new protocol; the old one
is spoken here by a client built from the same model turned back into JSON 1.1 (what botocore 1.44.13 shipped:
every operation `POST /` with its members in the body), and by hand, byte by byte as the Athena API reference
shows the requests. The AWS CLI runs the README's own example. Every other service the stack serves is called
once with the installed SDK, and the protocol each speaks is pinned here, so `make test-latest` reports the next
move.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest

from stack_client import local_stack
from tern_local.generator import generate
from tern_local.stack import LocalStack

REGION = "eu-central-1"
WORKGROUP, DATABASE = "tern-local", "tern_local"
SQL = "SELECT contact_id, consents FROM contacts WHERE org_id = 'acme' ORDER BY contact_id LIMIT 3"
# The protocol the installed botocore speaks to each service the local stack serves (tern_local.protocols bridges
# the ones that moved). A change here is a move: bridge it (tern_local.protocols.MOVED), then update this table.
PROTOCOLS = {
    "athena": "rest-json", "dynamodb": "json", "s3": "rest-xml", "glue": "json", "sqs": "json", "scheduler": "rest-json",
    "iam": "query", "sesv2": "rest-json", "ses": "query", "sns": "query", "stepfunctions": "json", "lambda": "rest-json",
    "events": "json", "cloudfront": "rest-xml", "pinpoint-sms-voice-v2": "json",
}  # fmt: skip


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    lake = tmp_path_factory.mktemp("protocols-lake")
    generate(lake, contacts=40, events_per_contact=2, days=5, org="acme", seed=3)
    with local_stack(lake) as running:
        yield running


def _client(service: str, endpoint: str, session: botocore.session.Session | None = None) -> Any:
    return boto3.Session(botocore_session=session or botocore.session.get_session()).client(
        service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id="local", aws_secret_access_key="local"
    )


def json_1_1_athena(endpoint: str, folder: Path) -> Any:
    """An Athena client speaking JSON 1.1, as botocore did until 1.44.13: the installed model with its metadata
    set back, every operation `POST /`, every member in the body."""
    loader = botocore.session.get_session().get_component("data_loader")
    model = copy.deepcopy(loader.load_service_model("athena", "service-2"))
    model["metadata"].update({"protocol": "json", "protocols": ["json"], "jsonVersion": "1.1", "targetPrefix": "AmazonAthena"})
    for operation in model["operations"].values():
        operation["http"] = {"method": "POST", "requestUri": "/"}
    for shape in model["shapes"].values():
        for member in shape.get("members", {}).values():
            member.pop("location", None)
            member.pop("locationName", None)
    version = folder / "athena" / model["metadata"]["apiVersion"]
    version.mkdir(parents=True)
    (version / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.Session()
    session.get_component("data_loader").search_paths.insert(0, str(folder))
    return _client("athena", endpoint, session)


def _sent(client: Any) -> list[tuple[str, str, str]]:
    """(method, path, X-Amz-Target) of every request the client sends from now on."""
    seen: list[tuple[str, str, str]] = []

    def record(request: Any, **_: Any) -> None:
        target = request.headers.get("X-Amz-Target", b"")
        seen.append(
            (
                request.method,
                request.url.split("://", 1)[1].split("/", 1)[1].split("?")[0],
                target.decode() if isinstance(target, bytes) else target,
            )
        )

    client.meta.events.register("before-send.athena", record)
    return seen


def _finished(client: Any, query_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        execution = client.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        if execution["Status"]["State"] not in ("QUEUED", "RUNNING"):
            return dict(execution)
        time.sleep(0.1)
    raise AssertionError(f"query {query_id} still running")


def _athena_round_trip(client: Any) -> None:
    """Everything Tern and a user inspecting its queries do with Athena, answered from the local Athena."""
    query_id = client.start_query_execution(QueryString=SQL, WorkGroup=WORKGROUP, QueryExecutionContext={"Database": DATABASE})[
        "QueryExecutionId"
    ]
    execution = _finished(client, query_id)
    assert execution["Status"]["State"] == "SUCCEEDED", execution["Status"]
    assert execution["WorkGroup"] == WORKGROUP and execution["Query"] == SQL
    first = client.get_query_results(QueryExecutionId=query_id, MaxResults=2)
    rows = [[d.get("VarCharValue") for d in row["Data"]] for row in first["ResultSet"]["Rows"]]
    assert rows[0] == ["contact_id", "consents"] and len(rows) == 2  # the header row first, a page of two
    rest = client.get_query_results(QueryExecutionId=query_id, NextToken=first["NextToken"])
    assert len(rest["ResultSet"]["Rows"]) == 2 and "NextToken" not in rest
    assert [c["Type"] for c in first["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]] == ["varchar", "array"]
    assert query_id in client.list_query_executions(WorkGroup=WORKGROUP)["QueryExecutionIds"]
    batch = client.batch_get_query_execution(QueryExecutionIds=[query_id, "no-such-query"])
    assert [q["QueryExecutionId"] for q in batch["QueryExecutions"]] == [query_id]
    assert [u["QueryExecutionId"] for u in batch["UnprocessedQueryExecutionIds"]] == ["no-such-query"]
    assert client.get_work_group(WorkGroup=WORKGROUP)["WorkGroup"]["Name"] == WORKGROUP
    with pytest.raises(client.exceptions.InvalidRequestException):
        client.get_query_execution(QueryExecutionId="no-such-query")
    failed = client.start_query_execution(QueryString="SELEC nothing", WorkGroup=WORKGROUP)["QueryExecutionId"]
    assert _finished(client, failed)["Status"]["State"] == "FAILED"


def test_the_sdk_of_today_speaks_rest_json_to_athena(stack: LocalStack) -> None:
    client = _client("athena", stack.endpoint)
    assert client.meta.service_model.protocol == "rest-json"
    sent = _sent(client)
    _athena_round_trip(client)
    assert ("POST", "query-executions", "") in sent and all(target == "" for _, _, target in sent)
    assert any(method == "GET" and path.endswith("/results") for method, path, _ in sent)


def test_an_sdk_from_before_the_move_speaks_json_1_1_to_athena(stack: LocalStack, tmp_path: Path) -> None:
    client = json_1_1_athena(stack.endpoint, tmp_path)
    assert client.meta.service_model.protocol == "json"
    sent = _sent(client)
    _athena_round_trip(client)
    assert sent and all(method == "POST" and path == "" and target.startswith("AmazonAthena.") for method, path, target in sent)


def _raw(stack: LocalStack, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """A request by hand: the credential scope names the service, as SigV4 does (moto checks no signature)."""
    scope = "AWS4-HMAC-SHA256 Credential=local/20261207/eu-central-1/athena/aws4_request, SignedHeaders=host;x-amz-date, Signature=0"
    request = urllib.request.Request(
        stack.endpoint + path, data=json.dumps(body).encode() if body is not None else None, method=method,
        headers={"Authorization": scope, "X-Amz-Date": "20261207T120000Z", **headers},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_both_protocols_on_the_wire_as_the_api_reference_writes_them(stack: LocalStack) -> None:
    old = {"Content-Type": "application/x-amz-json-1.1"}
    status, started = _raw(
        stack, "POST", "/", {"QueryString": SQL, "WorkGroup": WORKGROUP}, {**old, "X-Amz-Target": "AmazonAthena.StartQueryExecution"}
    )
    assert status == 200, started
    query_id = started["QueryExecutionId"]
    _finished(_client("athena", stack.endpoint), query_id)
    status, results = _raw(
        stack, "POST", "/", {"QueryExecutionId": query_id, "MaxResults": 1}, {**old, "X-Amz-Target": "AmazonAthena.GetQueryResults"}
    )
    assert status == 200 and results["ResultSet"]["Rows"][0]["Data"][0] == {"VarCharValue": "contact_id"} and "NextToken" in results
    status, error = _raw(stack, "POST", "/", {"QueryExecutionId": "nope"}, {**old, "X-Amz-Target": "AmazonAthena.GetQueryExecution"})
    assert status == 400 and error["__type"].endswith("InvalidRequestException")
    status, unknown = _raw(stack, "POST", "/", {}, {**old, "X-Amz-Target": "AmazonAthena.NoSuchOperation"})
    assert status == 400 and unknown["__type"] == "UnknownOperationException"
    status, execution = _raw(stack, "GET", f"/query-executions/{query_id}", None, {})
    assert status == 200 and execution["QueryExecution"]["Status"]["State"] == "SUCCEEDED"
    status, page = _raw(stack, "GET", f"/query-executions/{query_id}/results?MaxResults=1", None, {})
    assert status == 200 and len(page["ResultSet"]["Rows"]) == 1
    status, listed = _raw(stack, "GET", f"/query-executions?WorkGroup={WORKGROUP}", None, {})
    assert status == 200 and query_id in listed["QueryExecutionIds"]
    status, error = _raw(stack, "GET", "/query-executions/nope", None, {})
    assert status == 400 and error["__type"].endswith("InvalidRequestException")


def test_the_readme_aws_cli_example_works(stack: LocalStack) -> None:
    aws = Path(sys.executable).parent / "aws"
    assert aws.is_file(), "the AWS CLI is in the dev lock (awscli): `make test` installs it"
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": REGION}
    env.pop("AWS_ENDPOINT_URL", None)

    def cli(*args: str) -> Any:
        done = subprocess.run(
            [str(aws), "--endpoint-url", stack.endpoint, "--output", "json", *args], capture_output=True, text=True, env=env, timeout=120
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout) if done.stdout.strip() else None

    query_id = cli("athena", "start-query-execution", "--work-group", WORKGROUP, "--query-execution-context", f"Database={DATABASE}",
                   "--query-string", SQL)["QueryExecutionId"]  # fmt: skip
    _finished(_client("athena", stack.endpoint), query_id)
    rows = cli("athena", "get-query-results", "--query-execution-id", query_id)["ResultSet"]["Rows"]
    assert len(rows) == 4 and rows[0]["Data"][0]["VarCharValue"] == "contact_id"
    assert "Schedules" in cli("scheduler", "list-schedules", "--group-name", WORKGROUP)


def test_every_service_the_stack_serves_answers_the_installed_sdk(stack: LocalStack) -> None:
    spoken = {name: _client(name, stack.endpoint).meta.service_model.protocol for name in PROTOCOLS}
    assert spoken == PROTOCOLS, "a service moved protocol: bridge it in tern_local.protocols, then update PROTOCOLS"
    calls = {
        "athena": lambda c: c.list_work_groups(), "dynamodb": lambda c: c.list_tables(), "s3": lambda c: c.list_buckets(),
        "glue": lambda c: c.get_databases(), "sqs": lambda c: c.list_queues(), "scheduler": lambda c: c.list_schedule_groups(),
        "iam": lambda c: c.list_roles(), "sesv2": lambda c: c.list_email_identities(), "ses": lambda c: c.list_identities(),
        "sns": lambda c: c.list_topics(), "stepfunctions": lambda c: c.list_state_machines(), "lambda": lambda c: c.list_functions(),
        "events": lambda c: c.list_rules(), "cloudfront": lambda c: c.list_distributions(),
        "pinpoint-sms-voice-v2": lambda c: c.describe_phone_numbers(),  # tern_local.sms: moto has no End User Messaging
    }  # fmt: skip
    for name, call in calls.items():
        answer = call(_client(name, stack.endpoint))
        assert answer["ResponseMetadata"]["HTTPStatusCode"] == 200, name
