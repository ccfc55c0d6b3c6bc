"""template.yaml is valid SAM / CloudFormation: cfn-lint finds no errors."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_cfn_lint_passes() -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    done = subprocess.run([str(cfn_lint), str(ROOT / "template.yaml")], capture_output=True, text=True, timeout=300)
    # exit codes: 0 clean, 2 errors, 4 warnings, 8 informational; errors fail the build
    assert done.returncode & 2 == 0, done.stdout + done.stderr


def test_the_layer_ships_what_the_functions_import() -> None:
    """The layer's Makefile builds python/ from tern/ and requirements.lock (compiled from requirements.in): every
    package the layer and the functions import must come from the lock or a layer."""
    import ast
    import re

    from tern_local.template import properties

    layer = ROOT / properties("CommonLayer")["ContentUri"]
    assert (layer / "Makefile").is_file() and (layer / "requirements.in").is_file()
    content = layer / "python"
    assert (content / "tern" / "__init__.py").is_file() and not (content / "requirements.txt").exists()
    locked = set(re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==", (layer / "requirements.lock").read_text(), re.M))
    required = {name.replace("-", "_").lower() for name in locked}
    modules = {
        "phonenumberslite": "phonenumbers",
        "pyyaml": "yaml",
        "python_dateutil": "dateutil",
    }  # distributions whose module has another name
    provided = {modules.get(r, r) for r in required} | {"tern"} | {"pyarrow"}  # pyarrow: SdkForPandasLayer
    sources = [p for p in (content / "tern").rglob("*.py") if p.name != "duckdb.py"] + list((ROOT / "functions").glob("*/app.py"))
    imported = set()
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    missing = sorted(m for m in imported - set(sys.stdlib_module_names) if m.lower() not in provided)
    assert missing == []


def test_exports_expire_after_seven_days_and_the_export_function_may_do_its_work() -> None:
    from tern.exports.jobs import EXPORT_DAYS
    from tern_local.template import properties

    rules = {r["Prefix"]: r for r in properties("ResultsBucket")["LifecycleConfiguration"]["Rules"]}
    assert rules["exports/"]["ExpirationInDays"] == EXPORT_DAYS == 7 and rules["exports/"]["Status"] == "Enabled"
    assert rules["unload/"]["ExpirationInDays"] == 1  # rows Athena unloaded for a job
    export = properties("ExportFunction")
    assert export["CodeUri"] == "functions/export/" and export["Timeout"] == 900
    statements = [s for p in export["Policies"] if "Statement" in p for s in p["Statement"]]
    writes = [s["Resource"] for s in statements if s["Action"] == ["s3:PutObject"]]
    assert writes and all("overlay/*" in str(r) for r in writes)  # in the lake, it writes the overlay and nothing else
    assert "EventInvokeConfig" in export and export["EventInvokeConfig"]["MaximumRetryAttempts"] == 2
    columns = [c["Name"] for c in properties("OverlayTable")["TableInput"]["StorageDescriptor"]["Columns"]]
    from tern import lake

    assert columns == list(lake.OVERLAY)


def test_what_fails_for_good_waits_in_the_failures_queue_and_alarms_say_so() -> None:
    from tern_local.template import template

    resources = template()["Resources"]
    functions = {k: r["Properties"] for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    asynchronous = {"ExportFunction", "IngestEventsFunction"}  # evaluate_segment and journey_run: their state machines retry and catch
    for name in asynchronous:  # invoked by Scheduler, EventBridge or another function: Lambda retries, then the queue
        destination = functions[name]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
        assert destination == {"Type": "SQS", "Destination": {"Fn::GetAtt": ["FailuresQueue", "Arn"]}}, name
    for event in functions["IngestEventsFunction"]["Events"].values():
        assert event["Properties"]["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["FailuresQueue", "Arn"]}}
    scheduler = resources["SchedulerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
    assert any(s["Action"] == "sqs:SendMessage" for s in scheduler)  # a schedule's dead letters (tern.aws.scheduler)
    assert functions["JourneyStepFunction"]["ReservedConcurrentExecutions"] == {"Ref": "JourneyStepConcurrency"}
    logs = {
        r["Properties"]["LogGroupName"]["Fn::Sub"]: r["Properties"]["RetentionInDays"]
        for r in resources.values()
        if r["Type"] == "AWS::Logs::LogGroup"
    }
    for props in functions.values():
        assert logs[f"/aws/lambda/{props['FunctionName']['Fn::Sub']}"] == {"Ref": "LogRetentionDays"}
    for kept in ("TernTable", "UserPool"):
        assert resources[kept]["DeletionPolicy"] == resources[kept]["UpdateReplacePolicy"] == "Retain"
    alarms = {k: r for k, r in resources.items() if r["Type"] == "AWS::CloudWatch::Alarm"}
    assert {f"{f}Errors" for f in functions} | {"FailuresWaiting", "EventsNotConverted", "JourneyExecutionsFailed"} == set(alarms)
    assert all(a["Condition"] == "HasAlarmTopic" and a["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopicArn"}] for a in alarms.values())
    sender = template()["Parameters"]["SenderAddress"]  # optional: orgs send from their own domains, each under its own tenant
    assert (
        sender["Default"] == ""
        and re.fullmatch(sender["AllowedPattern"], "")
        and re.fullmatch(sender["AllowedPattern"], "news@example.com")
    )
    assert resources["SenderIdentity"]["Condition"] == "HasSenderAddress"


def test_a_refresh_mark_outlives_no_refresh() -> None:
    """A segment counts as evaluating while its refresh may still run: as long as the state machine's timeout."""
    import json

    from tern.segments.segment import EVALUATION_LIMIT
    from tern_local.template import template

    machine = template()["Resources"]["RefreshSegmentStateMachine"]["Properties"]
    definition = json.loads((Path(__file__).resolve().parents[2] / machine["DefinitionUri"]).read_text())
    assert definition["TimeoutSeconds"] == EVALUATION_LIMIT.total_seconds()  # an example.com sender can never be verified


def test_cloudfront_passes_every_api_path_to_the_api_and_the_console_files_to_the_bucket(tmp_path: Path) -> None:
    """The console and the API share one origin: each route of the OpenAPI document must match one of the
    distribution's API behaviours (else CloudFront would look for it in the console bucket), and none of the
    console's own files may."""
    from tern.api.app import openapi_document
    from tern_local.console import ConsoleSite
    from tern_local.template import template

    site = ConsoleSite(tmp_path)
    for path in openapi_document()["paths"]:
        concrete = path.replace("{", "").replace("}", "")  # /segments/{segment_id} -> /segments/segment_id
        assert site.is_api(concrete), f"{path}: no CloudFront behaviour sends it to the API"
    for own in ("/", "/index.html", "/config.json", "/assets/index-abc123.js", "/favicon.ico"):
        assert not site.is_api(own), own
    behaviours = template()["Resources"]["ConsoleDistribution"]["Properties"]["DistributionConfig"]["CacheBehaviors"]
    assert len(behaviours) <= 25  # CloudFront's default quota of cache behaviours a distribution
    assert all(b["CachePolicyId"] == CACHING_DISABLED and b["OriginRequestPolicyId"] == ALL_VIEWER_EXCEPT_HOST for b in behaviours)


CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # the managed policies' documented ids
ALL_VIEWER_EXCEPT_HOST = "b689b0a8-53d0-40ab-baf2-68738e2966ac"
