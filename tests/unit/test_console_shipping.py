"""The console as built and as shipped: its first load within budget, and `tern console publish` putting it in a
deployed stack's bucket with the sign-in config the app reads (moto as the account)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tern.api.app import openapi_document
from tern_local.console import DIST, first_load_kb
from tern_local.publish import PublishFailed, publish

BUDGET_KB = 350
ANY = re.compile(r":\s*any\b|<any>|\bas any\b|\bany\[\]|,\s*any>")  # `any` as a type
WORDS = re.compile(r'"[^"]*"|`[^`]*`|//.*$')  # words in quotes and comments, which may say "any"  # the first load's JavaScript, gzipped


def test_the_first_load_stays_within_its_budget_and_the_canvas_and_charts_load_later() -> None:
    kb, files = first_load_kb()  # the measure bench/console.py prints
    assert 0 < kb <= BUDGET_KB, f"{kb:.1f} KB gzipped: {files}"
    assert not any("Canvas" in f or "charts" in f for f in files), files  # route-split: loaded when a page needs them


@mock_aws
def test_publish_uploads_the_build_and_the_sign_in_config(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text('<script type="module" src="/assets/index-abc.js"></script>')
    (dist / "assets" / "index-abc.js").write_text("console.log(1)")
    session = boto3.session.Session(region_name="eu-central-1")
    session.client("s3").create_bucket(Bucket="console-bucket", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    outputs = {"ConsoleBucketName": "console-bucket", "SignInDomain": "tern-dev-1.auth.eu-central-1.amazoncognito.com",
               "UserPoolClientId": "client123", "ConsoleUrl": "https://d111.cloudfront.net/"}  # fmt: skip
    template = {"Resources": {"Nothing": {"Type": "AWS::SQS::Queue"}}, "Outputs": {k: {"Value": v} for k, v in outputs.items()}}
    session.client("cloudformation").create_stack(StackName="tern-dev", TemplateBody=json.dumps(template))

    done = publish("tern-dev", dist, session)

    s3 = session.client("s3")
    assert done["bucket"] == "console-bucket" and done["url"] == "https://d111.cloudfront.net/"
    config = json.loads(s3.get_object(Bucket="console-bucket", Key="config.json")["Body"].read())
    assert config == {"auth": "cognito", "domain": outputs["SignInDomain"], "client_id": "client123"}
    asset = s3.get_object(Bucket="console-bucket", Key="assets/index-abc.js")
    assert asset["CacheControl"].endswith("immutable") and asset["ContentType"] == "text/javascript"
    index = s3.get_object(Bucket="console-bucket", Key="index.html")
    assert index["CacheControl"] == "no-cache" and index["ContentType"] == "text/html"


@mock_aws
def test_publish_refuses_a_stack_without_the_console(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("x")
    session = boto3.session.Session(region_name="eu-central-1")
    with pytest.raises(PublishFailed, match="cannot read stack nowhere"):
        publish("nowhere", tmp_path, session)
    template = {"Resources": {"Nothing": {"Type": "AWS::SQS::Queue"}}, "Outputs": {"ApiUrl": {"Value": "https://x"}}}
    session.client("cloudformation").create_stack(StackName="old", TemplateBody=json.dumps(template))
    with pytest.raises(PublishFailed, match="no output ConsoleBucketName"):
        publish("old", tmp_path, session)
    with pytest.raises(PublishFailed, match="no built console"):
        publish("old", tmp_path / "missing", session)


def test_the_console_is_built() -> None:
    assert (DIST / "index.html").is_file(), "make test builds console/dist (make console)"


def _renamed_destination_field(schemas: dict[str, Any], paths: dict[str, Any]) -> None:
    fields = schemas["Destination"]["properties"]
    fields["overlap_ends_at"] = fields.pop("previous_secret_until")


def _new_step_kind(schemas: dict[str, Any], paths: dict[str, Any]) -> None:
    schemas["Pause"] = {"type": "object", "required": ["id", "kind"], "properties": {"id": {"type": "string"}, "kind": {"const": "pause"}}}
    for model in ("JourneyDefinition", "Journey"):
        items = schemas[model]["properties"]["steps"]["items"]
        items["oneOf"].append({"$ref": "#/components/schemas/Pause"})
        items["discriminator"]["mapping"]["pause"] = "#/components/schemas/Pause"


def _renamed_analytics_field(schemas: dict[str, Any], paths: dict[str, Any]) -> None:
    schemas["JourneyAnalytics"]["properties"]["entries"] = schemas["JourneyAnalytics"]["properties"].pop("entered")


def _moved_route(schemas: dict[str, Any], paths: dict[str, Any]) -> None:
    paths["/segments/{segment_id}/evaluations"] = paths.pop("/segments/{segment_id}/history")


@pytest.mark.parametrize(
    ("change", "named", "where"),
    [
        (_renamed_destination_field, "previous_secret_until", "Settings.tsx"),
        (_new_step_kind, "pause", "model.ts"),  # every Record and switch over the step kinds must handle it
        (_renamed_analytics_field, "entered", "Journey.tsx"),
        (_moved_route, "/segments/{segment_id}/history", "Segment"),
    ],
)
def test_an_api_change_the_console_does_not_follow_fails_its_type_check(
    tmp_path: Path, change: Callable[[dict[str, Any], dict[str, Any]], None], named: str, where: str
) -> None:
    """The console's API types come from the API's own OpenAPI document, in the build, and every call goes through
    them (openapi-fetch): change what the console reads (a field, a step kind, an answer, a route) and `tsc` refuses
    the console, naming it."""
    console = Path(__file__).resolve().parents[2] / "console"
    copy = tmp_path / "console"
    shutil.copytree(console / "src", copy / "src", ignore=shutil.ignore_patterns("api"))
    shutil.copy(console / "tsconfig.json", copy / "tsconfig.json")
    (copy / "node_modules").symlink_to(console / "node_modules")
    document = openapi_document()
    change(document["components"]["schemas"], document["paths"])
    (copy / "src" / "api").mkdir()
    (copy / "src" / "api" / "openapi.json").write_text(json.dumps(document))
    bin_ = console / "node_modules" / ".bin"
    generated = subprocess.run([str(bin_ / "openapi-typescript"), "src/api/openapi.json", "--output", "src/api/schema.d.ts"], cwd=copy,
                               capture_output=True, text=True, timeout=120)  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    checked = subprocess.run([str(bin_ / "tsc"), "--noEmit", "-p", "."], cwd=copy, capture_output=True, text=True, timeout=300)
    assert checked.returncode != 0 and named in checked.stdout and where in checked.stdout, checked.stdout[-2000:]


def test_the_console_reads_api_data_through_its_types_never_any() -> None:
    """No `any` in the console's own code: what it reads from the API is typed by the API's schemas."""
    source = Path(__file__).resolve().parents[2] / "console" / "src"
    found = [
        f"{path.relative_to(source)}:{number}: {line.strip()}"
        for path in sorted(source.rglob("*.ts*"))
        if path.name != "schema.d.ts"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if ANY.search(WORDS.sub('""', line))
    ]
    assert found == []
